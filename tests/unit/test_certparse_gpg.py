"""The OpenPGP public key parser: armour, packets, fingerprints, sub types and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from argocd_server.errors import ArgoError
from argocd_server.services.gpgkeys import (
    KeyParseError,
    armor,
    crc24,
    dearmor,
    iter_packets,
    key_sub_type,
    normalize_key_id,
    parse_public_keys,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gpg"
ED25519 = (FIXTURES / "ed25519.asc").read_text()
RSA = (FIXTURES / "rsa2048.asc").read_text()
# A v4 RSA key packet body: version, creation time, algorithm 1, MPI n (4096 bits), MPI e (65537).
RSA_4096_BODY = (
    bytes([4, 0, 0, 0, 0, 1]) + (4096).to_bytes(2, "big") + b"\xff" * 512 + (17).to_bytes(2, "big") + b"\x01\x00\x01"
)


def test_crc24_known_value() -> None:
    # RFC 4880's CRC-24 of no data is its initial value.
    assert crc24(b"") == 0xB704CE
    assert crc24(b"123456789") == 0x21CF02


def test_fixture_keys() -> None:
    (ed,) = parse_public_keys(ED25519)
    assert (ed.key_id, ed.sub_type, ed.owner) == (
        "C0C771615506A645",
        "ed25519",
        "Fixture Ed25519 <ed25519@example.invalid>",
    )
    assert ed.fingerprint == "9DFCF2E14A5AFAA7F980C342C0C771615506A645"
    # Re-armouring the key's packets gives back exactly what gpg exported.
    assert ed.key_data == ED25519
    (rsa,) = parse_public_keys(RSA)
    assert (rsa.key_id, rsa.sub_type) == ("2514C9FE29DFA682", "rsa2048")


def test_several_keys_and_armour_headers() -> None:
    with_headers = RSA.replace("-----\n\n", "-----\nComment: exported for a test\nVersion: 1\n\n", 1)
    keys = parse_public_keys("some text before\n" + with_headers + "\n" + ED25519)
    assert [k.key_id for k in keys] == ["2514C9FE29DFA682", "C0C771615506A645"]


def test_new_format_packet_headers() -> None:
    data = dearmor(ED25519)
    packets = list(iter_packets(data))
    # gpg writes old-format headers; the same packets with new-format headers must parse the same.
    rewritten = b""
    for tag, body, _raw in packets:
        assert len(body) < 192
        rewritten += bytes([0xC0 | tag, len(body)]) + body
    (key,) = parse_public_keys(armor(rewritten))
    assert key.key_id == "C0C771615506A645"


def test_refusals() -> None:
    data = dearmor(ED25519)
    packets = list(iter_packets(data))
    primary_raw = packets[0][2]
    with pytest.raises(KeyParseError, match="no user ID"):
        parse_public_keys(armor(primary_raw))
    body = packets[0][1]
    v3 = bytes([0x98, len(body)]) + bytes([3]) + body[1:]
    with pytest.raises(KeyParseError, match="unsupported public key version 3"):
        parse_public_keys(armor(v3 + packets[1][2]))
    secret = bytes([0x94, len(body)]) + body
    with pytest.raises(KeyParseError, match="secret keys"):
        parse_public_keys(armor(secret))
    with pytest.raises(KeyParseError, match="no public key packet"):
        parse_public_keys(armor(packets[1][2]))
    with pytest.raises(KeyParseError, match="truncated"):
        parse_public_keys(armor(data[:-10]))
    with pytest.raises(KeyParseError, match="no valid OpenPGP data"):
        parse_public_keys("hello")
    with pytest.raises(KeyParseError, match="unexpected end"):
        parse_public_keys(ED25519.split("=")[0])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            bytes([4, 0, 0, 0, 0, 1])
            + (4096).to_bytes(2, "big")
            + b"\xff" * 512
            + (17).to_bytes(2, "big")
            + b"\x01\x00\x01",
            "rsa4096",
        ),
        (bytes([4, 0, 0, 0, 0, 19, 8]) + bytes.fromhex("2a8648ce3d030107") + b"\x00", "nistp256"),
        (bytes([4, 0, 0, 0, 0, 22, 9]) + bytes.fromhex("2b06010401da470f01") + b"\x00", "ed25519"),
        (bytes([4, 0, 0, 0, 0, 27]) + b"\x00" * 32, "ed25519"),
    ],
)
def test_sub_types(body: bytes, expected: str) -> None:
    assert key_sub_type(body) == expected


def test_unknown_algorithm_and_curve() -> None:
    with pytest.raises(KeyParseError, match="unsupported public key algorithm 99"):
        key_sub_type(bytes([4, 0, 0, 0, 0, 99]))
    with pytest.raises(KeyParseError, match="unsupported curve"):
        key_sub_type(bytes([4, 0, 0, 0, 0, 19, 2, 1, 2]))


def test_normalize_key_id() -> None:
    assert normalize_key_id("C0C771615506A645") == "C0C771615506A645"
    assert normalize_key_id("9DFCF2E14A5AFAA7F980C342C0C771615506A645") == "C0C771615506A645"
    with pytest.raises(ArgoError, match="is not a valid GnuPG key ID"):
        normalize_key_id("C0C7")
