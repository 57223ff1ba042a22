"""GPGKeyService: the GnuPG public keys used to verify commit signatures (upstream server/gpgkey, util/db/gpgkeys.go).

Upstream imports submitted keys into a throw-away GnuPG keyring and reads ``gpg --list-public-keys`` back. Here the
ASCII-armoured OpenPGP data is parsed directly (RFC 4880 packets), which needs no binary: every v4 public key packet
starts a key; its fingerprint is SHA-1 over ``0x99 || length || packet body``, the key id the last 16 hex digits,
the sub type is named as gpg names it (``rsa4096``, ``ed25519``, ``nistp256`` ...), the owner is the first user id
and the trust ``unknown`` (a fresh keyring trusts nothing). Each key is stored re-armoured on its own, as upstream
stores gpg's per-key export. Self-signatures are not verified cryptographically; secret keys, v3 and v5/v6 keys and
keys without a user id are refused.

Errors copy upstream: they are plain errors (Unknown, HTTP 500), including ``no such key`` on Get.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import ValidationError
from sqlalchemy.orm import Session

from argocd_server.db.models import GpgKeyRow
from argocd_server.db.stores.gpgkeys import GpgKeyStore
from argocd_server.errors import ArgoError, InvalidArgument
from argocd_server.schemas.common import to_wire
from argocd_server.schemas.gpgkey import GnuPGPublicKey, GnuPGPublicKeyCreateResponse, GnuPGPublicKeyList
from argocd_server.services.access import Access
from argocd_server.services.objects import utcnow

ARMOR_BEGIN: Final = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
ARMOR_END: Final = "-----END PGP PUBLIC KEY BLOCK-----"
TRUST_UNKNOWN: Final = "unknown"

_TAG_SECRET_KEY: Final = 5
_TAG_PUBLIC_KEY: Final = 6
_TAG_SECRET_SUBKEY: Final = 7
_TAG_TRUST: Final = 12
_TAG_USER_ID: Final = 13

# Curve OIDs (DER body, without tag and length) to gpg's short curve names.
_CURVES: Final = {
    bytes.fromhex("2a8648ce3d030107"): "nistp256",
    bytes.fromhex("2b81040022"): "nistp384",
    bytes.fromhex("2b81040023"): "nistp521",
    bytes.fromhex("2b8104000a"): "secp256k1",
    bytes.fromhex("2b2403030208010107"): "brainpoolP256r1",
    bytes.fromhex("2b240303020801010b"): "brainpoolP384r1",
    bytes.fromhex("2b240303020801010d"): "brainpoolP512r1",
    bytes.fromhex("2b06010401da470f01"): "ed25519",
    bytes.fromhex("2b060104019755010501"): "cv25519",
    bytes.fromhex("2b6571"): "ed448",
    bytes.fromhex("2b656f"): "cv448",
}


class KeyParseError(ArgoError):
    """Submitted key data is not a usable OpenPGP public key (a plain error upstream)."""


@dataclass(frozen=True)
class ParsedKey:
    key_id: str
    fingerprint: str
    sub_type: str
    owner: str
    key_data: str
    """The key's own packets, ASCII-armoured."""


@dataclass
class _Key:
    primary: bytes
    packets: list[bytes] = field(default_factory=list)
    user_ids: list[bytes] = field(default_factory=list)


def crc24(data: bytes) -> int:
    """The OpenPGP armour checksum (RFC 4880 section 6.1)."""
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def dearmor(text: str) -> bytes:
    """The binary OpenPGP data of every public key block in ``text``, concatenated."""
    if "-----BEGIN PGP PRIVATE KEY BLOCK-----" in text:
        raise KeyParseError("secret keys are not accepted")
    lines = [line.strip() for line in text.splitlines()]
    out = b""
    i = 0
    found = False
    while i < len(lines):
        if lines[i] != ARMOR_BEGIN:
            i += 1
            continue
        found = True
        i += 1
        # Optional armour headers ("Key: value") end at the first blank line.
        start = i
        while i < len(lines) and lines[i] and ":" in lines[i]:
            i += 1
        if i < len(lines) and not lines[i]:
            i += 1
        elif i != start:
            raise KeyParseError("invalid armor header")
        body: list[str] = []
        checksum = ""
        while i < len(lines) and lines[i] != ARMOR_END:
            if lines[i].startswith("=") and len(lines[i]) == 5:
                checksum = lines[i][1:]
            elif lines[i]:
                body.append(lines[i])
            i += 1
        if i >= len(lines):
            raise KeyParseError("unexpected end of armored data")
        try:
            data = base64.b64decode("".join(body), validate=True)
            expected = int.from_bytes(base64.b64decode(checksum, validate=True), "big") if checksum else None
        except (binascii.Error, ValueError):
            raise KeyParseError("invalid armor: bad base64 data") from None
        if expected is not None and expected != crc24(data):
            raise KeyParseError("invalid armor: CRC error")
        out += data
        i += 1
    if not found:
        raise KeyParseError("no valid OpenPGP data found")
    return out


def armor(data: bytes) -> str:
    """ASCII armour as ``gpg --armor --export`` writes it (no headers, 64 columns, CRC-24 line)."""
    encoded = base64.b64encode(data).decode()
    lines = [encoded[i : i + 64] for i in range(0, len(encoded), 64)]
    checksum = base64.b64encode(crc24(data).to_bytes(3, "big")).decode()
    return "\n".join([ARMOR_BEGIN, "", *lines, f"={checksum}", ARMOR_END]) + "\n"


def iter_packets(data: bytes) -> Iterator[tuple[int, bytes, bytes]]:
    """``(tag, body, raw packet)`` for each packet; partial lengths are refused (key packets never use them)."""
    pos = 0
    while pos < len(data):
        start = pos
        ctb = data[pos]
        if not ctb & 0x80:
            raise KeyParseError("invalid packet header")
        pos += 1
        if ctb & 0x40:  # new format
            tag = ctb & 0x3F
            if pos >= len(data):
                raise KeyParseError("truncated packet")
            first = data[pos]
            if first < 192:
                length, pos = first, pos + 1
            elif first < 224:
                if pos + 1 >= len(data):
                    raise KeyParseError("truncated packet")
                length, pos = ((first - 192) << 8) + data[pos + 1] + 192, pos + 2
            elif first == 255:
                length, pos = int.from_bytes(data[pos + 1 : pos + 5], "big"), pos + 5
            else:
                raise KeyParseError("partial body lengths are not valid in key data")
        else:
            tag = (ctb >> 2) & 0x0F
            size = {0: 1, 1: 2, 2: 4}.get(ctb & 0x03)
            if size is None:
                length = len(data) - pos  # indeterminate: the rest of the data
            else:
                length, pos = int.from_bytes(data[pos : pos + size], "big"), pos + size
        if pos + length > len(data):
            raise KeyParseError("truncated packet")
        yield tag, data[pos : pos + length], data[start : pos + length]
        pos += length


def _mpi_bits(body: bytes, pos: int) -> tuple[int, int]:
    """Bit count of the MPI at ``pos`` and the offset after it."""
    if pos + 2 > len(body):
        raise KeyParseError("truncated key material")
    bits = int.from_bytes(body[pos : pos + 2], "big")
    end = pos + 2 + (bits + 7) // 8
    if end > len(body):
        raise KeyParseError("truncated key material")
    return bits, end


def _curve(body: bytes, pos: int) -> str:
    if pos >= len(body):
        raise KeyParseError("truncated key material")
    size = body[pos]
    oid = body[pos + 1 : pos + 1 + size]
    if size in (0, 0xFF) or len(oid) != size:
        raise KeyParseError("invalid curve identifier")
    name = _CURVES.get(oid)
    if name is None:
        raise KeyParseError("unsupported curve")
    return name


def key_sub_type(body: bytes) -> str:
    """gpg's name for a v4 public key's algorithm and size (``rsa4096``, ``dsa2048``, ``ed25519``, ``nistp256``)."""
    if len(body) < 6:
        raise KeyParseError("truncated public key packet")
    algorithm = body[5]
    if algorithm in (1, 2, 3):
        bits, pos = _mpi_bits(body, 6)
        _mpi_bits(body, pos)
        return f"rsa{bits}"
    if algorithm == 17:
        return f"dsa{_mpi_bits(body, 6)[0]}"
    if algorithm in (16, 20):
        return f"elg{_mpi_bits(body, 6)[0]}"
    if algorithm in (18, 19, 22):
        return _curve(body, 6)
    named = {25: "cv25519", 26: "cv448", 27: "ed25519", 28: "ed448"}.get(algorithm)
    if named is None:
        raise KeyParseError(f"unsupported public key algorithm {algorithm}")
    return named


def parse_public_keys(text: str) -> list[ParsedKey]:
    """Every public key in ASCII-armoured ``text``."""
    keys: list[_Key] = []
    for tag, body, raw in iter_packets(dearmor(text)):
        if tag in (_TAG_SECRET_KEY, _TAG_SECRET_SUBKEY):
            raise KeyParseError("secret keys are not accepted")
        if tag == _TAG_PUBLIC_KEY:
            keys.append(_Key(primary=body))
        elif not keys:
            raise KeyParseError("no public key packet found before other packets")
        if tag == _TAG_TRUST:
            continue  # keyring-local, never exported
        if tag == _TAG_USER_ID:
            keys[-1].user_ids.append(body)
        keys[-1].packets.append(raw)
    if not keys:
        raise KeyParseError("no valid OpenPGP data found")
    return [_parsed(key) for key in keys]


def _parsed(key: _Key) -> ParsedKey:
    body = key.primary
    version = body[0] if body else 0
    if version != 4:
        raise KeyParseError(f"unsupported public key version {version}")
    sub_type = key_sub_type(body)
    fingerprint = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body, usedforsecurity=False).hexdigest()
    fingerprint = fingerprint.upper()
    if not key.user_ids:
        raise KeyParseError(f"key {fingerprint[24:]}: no user ID")
    return ParsedKey(
        key_id=fingerprint[24:],
        fingerprint=fingerprint,
        sub_type=sub_type,
        owner=key.user_ids[0].decode("utf-8", errors="replace"),
        key_data=armor(b"".join(key.packets)),
    )


def normalize_key_id(value: str) -> str:
    """Upstream sourceintegrity.KeyID: a 16-hex-digit key id as is, or a 40-digit fingerprint's last 16."""
    is_hex = all(c in "0123456789abcdefABCDEF" for c in value)
    if is_hex and len(value) == 40:
        return value[24:]
    if is_hex and len(value) == 16:
        return value
    raise ArgoError(f"'{value}' is not a valid GnuPG key ID")


def _wire(row: GpgKeyRow, *, with_data: bool) -> GnuPGPublicKey:
    return GnuPGPublicKey(
        key_id=row.key_id,
        fingerprint=row.fingerprint,
        owner=row.owner,
        trust=row.trust,
        sub_type=row.sub_type,
        key_data=row.key_data if with_data else "",
    )


class GpgKeyService:
    def __init__(self, *, session: Session, access: Access) -> None:
        self._session = session
        self._access = access
        self._store = GpgKeyStore(session)

    def list(self) -> dict[str, Any]:
        """All keys without their data; ``items`` is ``null`` when there is none (upstream ignores ``keyID``)."""
        self._access.check("gpgkeys", "get", "")
        items = [_wire(row, with_data=False) for row in self._store.list()]
        return to_wire(GnuPGPublicKeyList(items=items or None))

    def get(self, key_id: str) -> dict[str, Any]:
        self._access.check("gpgkeys", "get", "")
        wanted = normalize_key_id(key_id)
        row = self._store.get(wanted)
        if row is None:
            raise ArgoError(f"no such key: {wanted}")
        return to_wire(_wire(row, with_data=True))

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Add every key in ``keyData``; keys already configured are skipped (upstream ignores ``upsert``)."""
        self._access.check("gpgkeys", "create", "")
        try:
            request = GnuPGPublicKey.from_wire(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise InvalidArgument(
                f"json: cannot unmarshal into Go struct field GnuPGPublicKey.{where}: {first.get('msg', 'invalid')}"
            ) from None
        if not request.key_data.strip():
            raise ArgoError("submitted key data is empty")
        try:
            parsed = parse_public_keys(request.key_data)
        except KeyParseError as exc:
            raise ArgoError(f"error validating PGP keys from input: {exc.message}") from None
        created: dict[str, GpgKeyRow] = {}
        skipped: list[str] = []
        for key in parsed:
            if key.key_id in created or self._store.get(key.key_id) is not None:
                if key.key_id not in skipped and key.key_id not in created:
                    skipped.append(key.key_id)
                continue
            row = GpgKeyRow(
                key_id=key.key_id,
                fingerprint=key.fingerprint,
                owner=key.owner,
                trust=TRUST_UNKNOWN,
                sub_type=key.sub_type,
                key_data=key.key_data,
                created_at=utcnow(),
            )
            self._store.add(row)
            created[key.key_id] = row
        self._session.commit()
        items = [_wire(created[kid], with_data=True) for kid in sorted(created)]
        return to_wire(GnuPGPublicKeyCreateResponse(created=GnuPGPublicKeyList(items=items), skipped=skipped))

    def delete(self, key_id: str) -> None:
        self._access.check("gpgkeys", "delete", "")
        row = self._store.get(key_id)
        if row is None:
            raise ArgoError(f"no such key configured: {key_id}")
        self._store.delete(row)
        self._session.commit()
