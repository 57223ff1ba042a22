"""The secret box and local JWTs."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from argocd_server.auth.jwt import issue_token, verify_token
from argocd_server.auth.passwords import hash_password, verify_password
from argocd_server.auth.secretbox import SecretBox, load_or_create_key
from argocd_server.errors import Internal, InvalidArgument, Unauthenticated


def test_secret_box_round_trip_and_purpose_binding() -> None:
    box = SecretBox(b"k" * 32)
    sealed = box.seal(b"hunter2", purpose="repo.password")
    assert b"hunter2" not in sealed
    assert box.open(sealed, purpose="repo.password") == b"hunter2"
    assert box.seal(b"hunter2", purpose="repo.password") != sealed  # fresh nonce
    with pytest.raises(Internal) as err:
        box.open(sealed, purpose="cluster.token")
    assert "hunter2" not in str(err.value)
    with pytest.raises(Internal):
        SecretBox(b"x" * 32).open(sealed, purpose="repo.password")
    assert "k" * 8 not in repr(box)


def test_key_file_is_created_once_with_0600(tmp_path: Path) -> None:
    key = load_or_create_key(data_dir=tmp_path, key_text=None, key_file=None)
    path = tmp_path / "server.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(data_dir=tmp_path, key_text=None, key_file=None) == key
    given = base64.b64encode(b"z" * 32).decode()
    assert load_or_create_key(data_dir=tmp_path, key_text=given, key_file=None) == b"z" * 32
    with pytest.raises(ValueError, match="base64 of 32 bytes"):
        load_or_create_key(data_dir=tmp_path, key_text="short", key_file=None)


def test_jwt_expiry_and_signature() -> None:
    key = b"s" * 32
    token, claims = issue_token(key, subject="admin:login", expires_in=60, now=1000)
    assert claims["exp"] == 1060
    assert verify_token(key, token, now=1059)["sub"] == "admin:login"
    with pytest.raises(Unauthenticated, match="token is expired"):
        verify_token(key, token, now=1060)
    with pytest.raises(Unauthenticated, match="signature is invalid"):
        verify_token(b"o" * 32, token, now=1000)
    with pytest.raises(Unauthenticated, match="malformed"):
        verify_token(key, "a.b.c")


def test_verified_tokens_are_remembered_without_their_time_checks_or_shared_claims() -> None:
    key = b"s" * 32
    token, _ = issue_token(key, subject="admin:login", expires_in=60, now=1000)
    first = verify_token(key, token, now=1001)
    first["sub"] = "mallory:login"
    assert verify_token(key, token, now=1002)["sub"] == "admin:login"
    with pytest.raises(Unauthenticated, match="token is not valid yet"):
        verify_token(key, token, now=999)
    with pytest.raises(Unauthenticated, match="token is expired"):
        verify_token(key, token, now=1060)
    with pytest.raises(Unauthenticated, match="signature is invalid"):
        verify_token(b"o" * 32, token, now=1001)


def test_passwords() -> None:
    hashed = hash_password("correct horse")
    assert hashed.startswith("$2b$10$")
    assert verify_password("correct horse", hashed)
    assert not verify_password("wrong", hashed)
    assert not verify_password("x" * 100, hashed)
    assert not verify_password("anything", None)
    with pytest.raises(InvalidArgument):
        hash_password("y" * 73)
