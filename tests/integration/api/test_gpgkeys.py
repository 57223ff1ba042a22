"""GnuPG public keys over the REST API, checked against committed fixture keys and, when present, real gpg."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from argocd_server.main import create_app
from argocd_server.services.gpgkeys import parse_public_keys
from tests.conftest import ADMIN_PASSWORD, SettingsFactory, bearer, login
from tests.support.configmaps import write_configmaps

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gpg"
ED25519 = (FIXTURES / "ed25519.asc").read_text()
RSA = (FIXTURES / "rsa2048.asc").read_text()
ED25519_ID = "C0C771615506A645"
RSA_ID = "2514C9FE29DFA682"
VIEWER_PASSWORD = "viewer-password-1"


def headers(token: str) -> dict[str, str]:
    return {**bearer(token), "Content-Type": "application/json"}


@pytest.fixture
def rbac_client(make_settings: SettingsFactory, tmp_path: Path) -> Iterator[TestClient]:
    maps = write_configmaps(
        tmp_path / "cm",
        argocd_cm={"accounts.viewer": "login"},
        argocd_rbac_cm={"policy.csv": "g, viewer, role:readonly"},
    )
    with TestClient(create_app(make_settings(configmaps=maps))) as client:
        admin = login(client)
        response = client.put(
            "/api/v1/account/password",
            json={"name": "viewer", "currentPassword": ADMIN_PASSWORD, "newPassword": VIEWER_PASSWORD},
            headers=bearer(admin),
        )
        assert response.status_code == 200, response.text
        yield client


def test_create_list_get_delete(client: TestClient) -> None:
    admin = login(client)
    assert client.get("/api/v1/gpgkeys", headers=bearer(admin)).json() == {"metadata": {}, "items": None}

    created = client.post("/api/v1/gpgkeys", json={"keyData": RSA + ED25519}, headers=headers(admin))
    assert created.status_code == 200, created.text
    body = created.json()
    assert "skipped" not in body
    assert body["created"]["items"] == [
        {
            "keyID": RSA_ID,
            "fingerprint": "E3836ABE5E6B39120C2183532514C9FE29DFA682",
            "owner": "Fixture RSA (test key) <rsa@example.invalid>",
            "trust": "unknown",
            "subType": "rsa2048",
            "keyData": RSA,
        },
        {
            "keyID": ED25519_ID,
            "fingerprint": "9DFCF2E14A5AFAA7F980C342C0C771615506A645",
            "owner": "Fixture Ed25519 <ed25519@example.invalid>",
            "trust": "unknown",
            "subType": "ed25519",
            "keyData": ED25519,
        },
    ]

    listed = client.get("/api/v1/gpgkeys?keyID=ignored", headers=bearer(admin)).json()
    assert [k["keyID"] for k in listed["items"]] == [RSA_ID, ED25519_ID]
    assert all("keyData" not in k for k in listed["items"])

    one = client.get(f"/api/v1/gpgkeys/{ED25519_ID}", headers=bearer(admin)).json()
    assert one["keyData"] == ED25519
    by_fingerprint = client.get("/api/v1/gpgkeys/9DFCF2E14A5AFAA7F980C342C0C771615506A645", headers=bearer(admin))
    assert by_fingerprint.json()["keyID"] == ED25519_ID

    again = client.post("/api/v1/gpgkeys?upsert=true", json={"keyData": ED25519}, headers=headers(admin)).json()
    assert again == {"created": {"metadata": {}, "items": []}, "skipped": [ED25519_ID]}

    gone = client.request("DELETE", f"/api/v1/gpgkeys?keyID={ED25519_ID}", headers=headers(admin))
    assert gone.status_code == 200
    assert gone.json() == {}
    assert [k["keyID"] for k in client.get("/api/v1/gpgkeys", headers=bearer(admin)).json()["items"]] == [RSA_ID]


def test_errors(client: TestClient) -> None:
    admin = login(client)

    def post(body: dict[str, Any]) -> tuple[int, str]:
        response = client.post("/api/v1/gpgkeys", json=body, headers=headers(admin))
        return response.status_code, response.json()["message"]

    assert post({}) == (500, "submitted key data is empty")
    assert post({"keyData": "   "}) == (500, "submitted key data is empty")
    status, message = post({"keyData": "not a key"})
    assert (status, message) == (500, "error validating PGP keys from input: no valid OpenPGP data found")
    corrupted = ED25519.replace("mDMEawu5", "mDMEawu6", 1)
    assert post({"keyData": corrupted}) == (500, "error validating PGP keys from input: invalid armor: CRC error")
    private = "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nAAAA\n-----END PGP PRIVATE KEY BLOCK-----\n"
    assert post({"keyData": private})[1].endswith("secret keys are not accepted")
    status, message = post({"keyData": 42})
    assert status == 400
    assert "keyData" in message

    unknown = client.get("/api/v1/gpgkeys/0123456789ABCDEF", headers=bearer(admin))
    assert unknown.status_code == 500
    assert unknown.json()["message"] == "no such key: 0123456789ABCDEF"
    invalid = client.get("/api/v1/gpgkeys/xyz", headers=bearer(admin))
    assert invalid.status_code == 500
    assert invalid.json()["message"] == "'xyz' is not a valid GnuPG key ID"
    delete = client.request("DELETE", "/api/v1/gpgkeys?keyID=0123456789ABCDEF", headers=headers(admin))
    assert delete.status_code == 500
    assert delete.json()["message"] == "no such key configured: 0123456789ABCDEF"


def test_rbac(rbac_client: TestClient) -> None:
    admin = login(rbac_client)
    assert rbac_client.post("/api/v1/gpgkeys", json={"keyData": RSA}, headers=headers(admin)).status_code == 200
    viewer = login(rbac_client, "viewer", VIEWER_PASSWORD)
    assert rbac_client.get(f"/api/v1/gpgkeys/{RSA_ID}", headers=bearer(viewer)).status_code == 200
    denied = rbac_client.post("/api/v1/gpgkeys", json={"keyData": ED25519}, headers=headers(viewer))
    assert denied.status_code == 403
    assert denied.json()["message"].startswith("permission denied: gpgkeys, create, , sub: viewer, iat: ")
    delete = rbac_client.request("DELETE", f"/api/v1/gpgkeys?keyID={RSA_ID}", headers=headers(viewer))
    assert delete.status_code == 403
    assert rbac_client.get("/api/v1/gpgkeys").status_code == 401


GPG = shutil.which("gpg")


@pytest.mark.skipif(GPG is None, reason="gpg is not installed")
@pytest.mark.parametrize(("algo", "expected_sub_type"), [("ed25519", "ed25519"), ("rsa3072", "rsa3072")])
def test_parser_agrees_with_gpg(tmp_path: Path, algo: str, expected_sub_type: str) -> None:
    assert GPG is not None
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = {"GNUPGHOME": str(home), "HOME": str(tmp_path), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}

    def gpg(*args: str) -> str:
        done = subprocess.run(
            [GPG, "--batch", "--no-tty", *args], env=env, capture_output=True, text=True, timeout=60, check=True
        )
        return done.stdout

    uid = f"Generated {algo} <{algo}@example.invalid>"
    try:
        gpg("--passphrase", "", "--quick-gen-key", uid, algo, "sign", "never")
        colons = gpg("--with-colons", "--fingerprint", "--list-keys")
        fingerprint = next(line.split(":")[9] for line in colons.splitlines() if line.startswith("fpr:"))
        exported = gpg("--armor", "--export", fingerprint)
    finally:
        # Key generation starts a gpg-agent daemon for this home; it must not outlive the test.
        gpgconf = shutil.which("gpgconf")
        if gpgconf:
            subprocess.run([gpgconf, "--kill", "gpg-agent"], env=env, capture_output=True, timeout=30, check=False)

    (key,) = parse_public_keys(exported)
    assert key.fingerprint == fingerprint
    assert key.key_id == fingerprint[24:]
    assert key.owner == uid
    assert key.sub_type == expected_sub_type
    assert key.key_data == exported
