"""The secret box: authenticated encryption (AES-256-GCM) of every credential stored at rest.

The key is 32 random bytes, created on first start as ``<data_dir>/server.key`` (mode 0600) unless given through
``ARGOCD_SERVER_SECRET_KEY`` (base64) or ``ARGOCD_SERVER_SECRET_KEY_FILE``. Several replicas must share it. Each
value gets a fresh 96-bit nonce; the associated data binds a ciphertext to its purpose so one field's ciphertext
cannot be replayed into another.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from argocd_server.errors import Internal

_VERSION = b"\x01"
KEY_BYTES = 32


class SecretBox:
    """Encrypts and decrypts small secrets; the key never leaves this object."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("the secret box key must be 32 bytes")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(<redacted>)"

    def seal(self, plaintext: bytes, *, purpose: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, purpose.encode())

    def open(self, sealed: bytes, *, purpose: str) -> bytes:
        if len(sealed) < 1 + 12 + 16 or sealed[:1] != _VERSION:
            raise Internal("stored secret is malformed")
        try:
            return self._aead.decrypt(sealed[1:13], sealed[13:], purpose.encode())
        except InvalidTag:
            # Never include the ciphertext or key material: the message is all the caller may see.
            raise Internal("stored secret cannot be decrypted with this server key") from None

    def seal_text(self, plaintext: str, *, purpose: str) -> str:
        return base64.b64encode(self.seal(plaintext.encode(), purpose=purpose)).decode()

    def open_text(self, sealed: str, *, purpose: str) -> str:
        return self.open(base64.b64decode(sealed), purpose=purpose).decode()


def _decode_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the server key must be base64 of 32 bytes") from None
    if len(key) != KEY_BYTES:
        raise ValueError("the server key must be base64 of 32 bytes")
    return key


def load_or_create_key(*, data_dir: Path, key_text: str | None, key_file: Path | None) -> bytes:
    """The server key from env text, a key file, or ``<data_dir>/server.key`` (created 0600 if missing)."""
    if key_text:
        return _decode_key(key_text)
    path = key_file or data_dir / "server.key"
    if path.exists():
        return _decode_key(path.read_text())
    if key_file is not None:
        raise ValueError(f"server key file {key_file} does not exist")
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    # O_EXCL: two processes starting at once must not both write (and disagree on) the key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _decode_key(path.read_text())
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(key).decode())
    return key
