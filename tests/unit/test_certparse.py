"""Pure certificate helpers: hostname checks, host globs, SSH host keys, PEM splitting and Go-style subjects."""

from __future__ import annotations

import base64
import datetime
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from argocd_server.errors import InvalidArgument
from argocd_server.services.certificates import (
    certificate_sub_type,
    decode_pem_certificate,
    go_name_string,
    is_valid_hostname,
    match_host_name,
    parse_ssh_host_key,
    split_pem_certificates,
)

GITHUB_ED25519 = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
GITHUB_ED25519_FP = "+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU"


def make_cert(subject: x509.Name, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None) -> str:
    private = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(private, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def openssh(public: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> tuple[str, str]:
    text = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    key_type, data = text.split()
    return key_type, data


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("github.com", True),
        ("my_host.example.com.", True),
        ("localhost", True),
        ("fe80::1", True),
        ("2001:db8::8a2e:370:7334", True),
        ("bad host", False),
        ("-leading.example.com", False),
        ("", False),
        ("a" * 64 + ".com", False),
    ],
)
def test_is_valid_hostname(name: str, valid: bool) -> None:
    assert is_valid_hostname(name) is valid


@pytest.mark.parametrize(
    ("hostname", "pattern", "matches"),
    [
        ("a.example.com", "", True),
        ("a.example.com", "*.example.com", True),
        ("example.com", "*.example.com", False),
        ("github.com", "git?ub.com", True),
        ("[host]:22", "[host]:22", True),
        ("hostX", "host[X]", False),
        ("a*b", "a\\*b", True),
        ("axb", "a\\*b", False),
        ("anything", "x\\", False),
    ],
)
def test_match_host_name(hostname: str, pattern: str, matches: bool) -> None:
    assert match_host_name(hostname, pattern) is matches


def test_ssh_known_vector() -> None:
    key = parse_ssh_host_key(GITHUB_ED25519)
    assert key.key_type == "ssh-ed25519"
    assert key.fingerprint == GITHUB_ED25519_FP
    assert parse_ssh_host_key(f"  {GITHUB_ED25519} a comment ").data == f"{GITHUB_ED25519} a comment"


@pytest.mark.parametrize(
    ("public", "expected_type"),
    [
        (ed25519.Ed25519PrivateKey.generate().public_key(), "ssh-ed25519"),
        (rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key(), "ssh-rsa"),
        (ec.generate_private_key(ec.SECP256R1()).public_key(), "ecdsa-sha2-nistp256"),
        (ec.generate_private_key(ec.SECP384R1()).public_key(), "ecdsa-sha2-nistp384"),
    ],
)
def test_ssh_key_types(
    public: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey, expected_type: str
) -> None:
    key_type, data = openssh(public)
    parsed = parse_ssh_host_key(data)
    assert parsed.key_type == key_type == expected_type
    digest = hashlib.sha256(base64.b64decode(data)).digest()
    assert parsed.fingerprint == base64.b64encode(digest).decode().rstrip("=")


@pytest.mark.parametrize(
    "data",
    [
        "",
        "not-base64!!",
        base64.b64encode(b"\x00\x00").decode(),
        base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20short").decode(),
        base64.b64encode(b"\x00\x00\x00\x07ssh-foo\x00\x00\x00\x01x").decode(),
        GITHUB_ED25519[:-8],
    ],
)
def test_ssh_invalid_keys(data: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_ssh_host_key(data)


def test_split_and_decode_pem() -> None:
    first = make_cert(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "one")]))
    second = make_cert(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "two")]))
    bundle = f"leading noise\n{first}between\n{second.replace(chr(10), chr(13) + chr(10))}trailing"
    blocks = split_pem_certificates(bundle)
    assert blocks == [first, second]
    assert [go_name_string(decode_pem_certificate(b).subject) for b in blocks] == ["CN=one", "CN=two"]
    assert split_pem_certificates("no certificates here") == []


def test_pem_errors() -> None:
    with pytest.raises(InvalidArgument, match="could not decode PEM data from input"):
        decode_pem_certificate("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n")
    garbage = base64.b64encode(b"not a certificate").decode()
    with pytest.raises(InvalidArgument, match="could not parse X509 data from input"):
        decode_pem_certificate(f"-----BEGIN CERTIFICATE-----\n{garbage}\n-----END CERTIFICATE-----\n")
    long_block = "-----BEGIN CERTIFICATE-----\n" + "AAAA\n" * 200 + "-----END CERTIFICATE-----\n"
    with pytest.raises(InvalidArgument, match="maximum number of lines exceeded"):
        split_pem_certificates(long_block)


def test_go_subject_string_order_escaping_and_extra_attributes() -> None:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, "x@y"),
            x509.NameAttribute(NameOID.COMMON_NAME, " a,b#"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "a"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "b"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Org+Co"),
            x509.NameAttribute(NameOID.LOCALITY_NAME, "SF"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "CA"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "42"),
            x509.NameAttribute(NameOID.POSTAL_CODE, "94000"),
        ]
    )
    assert go_name_string(subject) == (
        "SERIALNUMBER=42,CN=\\ a\\,b#,OU=a+OU=b,O=Org\\+Co,POSTALCODE=94000,L=SF,ST=CA,C=US,"
        "1.2.840.113549.1.9.1=#0c03784079"
    )


def test_certificate_sub_types() -> None:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "h")])
    ec_cert = decode_pem_certificate(make_cert(name))
    rsa_cert = decode_pem_certificate(make_cert(name, rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    assert certificate_sub_type(ec_cert) == "ecdsa"
    assert certificate_sub_type(rsa_cert) == "rsa"
