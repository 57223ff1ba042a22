"""CertificateService: SSH known-host keys and TLS certificates of repository servers (upstream server/certificate,
util/db/certificate.go, util/cert).

Upstream keeps these in two ConfigMaps (``argocd-ssh-known-hosts-cm``, ``argocd-tls-certs-cm``); here each SSH key
and each PEM block is one row. SSH keys are checked by decoding and loading the key blob; TLS data is split into
PEM blocks the way upstream's line scanner does and every block must be an X.509 certificate. ``certInfo`` follows
upstream: ``SHA256:<fingerprint>`` for SSH keys in listings (the bare fingerprint in create responses, as upstream
answers), the subject in Go's ``pkix.Name.String()`` form for TLS certificates.

Input that cannot be parsed is InvalidArgument (400); upstream returns these as plain errors (500). A conflicting
entry without ``upsert`` stays a plain error (500) as upstream answers it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding, load_ssh_public_key
from pydantic import ValidationError
from sqlalchemy.orm import Session

from argocd_server.db.models import CertificateRow
from argocd_server.db.stores.certificates import CertificateStore
from argocd_server.errors import ArgoError, InvalidArgument
from argocd_server.schemas.certificate import RepositoryCertificate, RepositoryCertificateList
from argocd_server.schemas.common import to_wire
from argocd_server.services.access import Access
from argocd_server.services.objects import utcnow

CERT_BEGIN: Final = "-----BEGIN CERTIFICATE-----"
CERT_END: Final = "-----END CERTIFICATE-----"
MAX_CERT_LINES: Final = 128
MAX_ENTRIES: Final = 256

# Hostname and IPv6 patterns of upstream util/cert; the IPv6 one is unanchored there, so it is searched.
_HOSTNAME: Final = re.compile(
    r"^([a-zA-Z0-9]|[a-zA-Z0-9_][a-zA-Z0-9-_]{0,61}[a-zA-Z0-9_])(\.([a-zA-Z0-9]|[a-zA-Z0-9_][a-zA-Z0-9-_]{0,61}"
    r"[a-zA-Z0-9]))*(\.){0,1}$"
)
_IPV6: Final = re.compile(
    r"(([0-9a-fA-F]{1,4}:){7,7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:|([0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}|"
    r"([0-9a-fA-F]{1,4}:){1,5}(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}(:[0-9a-fA-F]{1,4}){1,3}|"
    r"([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]{1,4}:){1,2}(:[0-9a-fA-F]{1,4}){1,5}|"
    r"[0-9a-fA-F]{1,4}:((:[0-9a-fA-F]{1,4}){1,6})|:((:[0-9a-fA-F]{1,4}){1,7}|:)|fe80:(:[0-9a-fA-F]{0,4}){0,4}"
    r"%[0-9a-zA-Z]{1,}|::(ffff(:0{1,4}){0,1}:){0,1}((25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])\.){3,3}"
    r"(25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])|([0-9a-fA-F]{1,4}:){1,4}:((25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])"
    r"\.){3,3}(25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9]))"
)
_BRACKETED_PORT: Final = re.compile(r"^\[(.*)]:\d+$")

# Go x509 PublicKeyAlgorithm names (lower-cased as upstream lists them); anything else prints as "0".
_KEY_ALGORITHMS: Final = {
    "1.2.840.113549.1.1.1": "rsa",
    "1.2.840.10040.4.1": "dsa",
    "1.2.840.10045.2.1": "ecdsa",
    "1.3.101.112": "ed25519",
}

# Go pkix attribute type names; other attributes print as `<oid>=#<hex DER>`.
_GO_ATTR_NAMES: Final = {
    "2.5.4.6": "C",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.3": "CN",
    "2.5.4.5": "SERIALNUMBER",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.9": "STREET",
    "2.5.4.17": "POSTALCODE",
}
# Order in which Go's Name.ToRDNSequence rebuilds the multi-valued standard attributes.
_GO_RDN_ORDER: Final = ("2.5.4.6", "2.5.4.8", "2.5.4.7", "2.5.4.9", "2.5.4.17", "2.5.4.10", "2.5.4.11")
_CN: Final = "2.5.4.3"
_SERIAL: Final = "2.5.4.5"
_PRINTABLE: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 '()+,-./:=?")


# --------------------------------------------------------------------------------------------------
# Pure parsing helpers


def is_valid_hostname(hostname: str) -> bool:
    """Upstream IsValidHostname(hostname, false): a DNS-ish name or (anywhere in it) an IPv6 address."""
    return bool(_HOSTNAME.match(hostname) or _IPV6.search(hostname))


def match_host_name(hostname: str, pattern: str) -> bool:
    """Upstream MatchHostName: a file-system glob (``*``, ``?``, ``\\`` escapes; brackets literal); empty matches."""
    if not pattern:
        return True
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\":
            if i + 1 >= len(pattern):
                return False  # a dangling escape is a bad pattern, which matches nothing
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return re.fullmatch("".join(out), hostname, re.DOTALL) is not None


@dataclass(frozen=True)
class SshHostKey:
    """A validated SSH public host key."""

    key_type: str
    data: str
    fingerprint: str
    """Base64 SHA-256 of the key blob without padding (no ``SHA256:`` prefix)."""


def ssh_fingerprint(blob: bytes) -> str:
    return base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def parse_ssh_host_key(data: str) -> SshHostKey:
    """Validate known-hosts key data (``<base64 blob> [comment]``) by loading the key it encodes."""
    fields = data.split()
    if not fields:
        raise InvalidArgument("ssh: no key found")
    try:
        blob = base64.b64decode(fields[0], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument("ssh: illegal base64 data in key") from None
    if len(blob) < 4:
        raise InvalidArgument("ssh: short read")
    (length,) = struct.unpack(">I", blob[:4])
    key_type = blob[4 : 4 + length].decode("ascii", errors="replace")
    if length == 0 or len(blob) < 4 + length:
        raise InvalidArgument("ssh: short read")
    try:
        load_ssh_public_key(f"{key_type} {fields[0]}".encode())
    except UnsupportedAlgorithm:
        raise InvalidArgument(f"ssh: unknown key algorithm: {key_type}") from None
    except ValueError:
        raise InvalidArgument(f"ssh: invalid {key_type} public key data") from None
    return SshHostKey(key_type=key_type, data=data.strip(), fingerprint=ssh_fingerprint(blob))


def split_pem_certificates(data: str) -> list[str]:
    """PEM certificate blocks in ``data``, found line by line as upstream's scanner does (other text ignored)."""
    blocks: list[str] = []
    current: list[str] = []
    inside = False
    for line in data.splitlines():
        if not inside:
            if line.startswith(CERT_BEGIN):
                inside = True
                current = [line]
        else:
            current.append(line)
            if line.startswith(CERT_END):
                inside = False
                blocks.append("\n".join(current) + "\n")
                if len(blocks) > MAX_ENTRIES:
                    raise InvalidArgument("limit exceeded")
                current = []
        if inside and len(current) > MAX_CERT_LINES:
            raise InvalidArgument("maximum number of lines exceeded during certificate parsing")
    return blocks


def decode_pem_certificate(block: str) -> x509.Certificate:
    """One PEM block as an X.509 certificate, with upstream's two error texts."""
    lines = [line.strip() for line in block.strip().splitlines()]
    body = [line for line in lines[1:-1] if line and ":" not in line]
    try:
        der = base64.b64decode("".join(body), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument("could not decode PEM data from input") from None
    if not der:
        raise InvalidArgument("could not decode PEM data from input")
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise InvalidArgument("could not parse X509 data from input") from None


def certificate_sub_type(cert: x509.Certificate) -> str:
    return _KEY_ALGORITHMS.get(cert.public_key_algorithm_oid.dotted_string, "0")


def _der_string(value: str) -> bytes:
    # Go marshals a string as PrintableString when it can (no '*' or '&'), else as UTF8String.
    raw = value.encode()
    tag = 0x13 if all(c in _PRINTABLE for c in value) else 0x0C
    size = len(raw)
    if size < 0x80:
        header = bytes([tag, size])
    else:
        octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
        header = bytes([tag, 0x80 | len(octets)]) + octets
    return header + raw


def _escape_dn_value(value: str) -> str:
    raw_len = len(value.encode())
    out: list[str] = []
    offset = 0
    for char in value:
        escape = char in ',+"\\<>;' or (char == " " and offset in (0, raw_len - 1)) or (char == "#" and offset == 0)
        out.append("\\" + char if escape else char)
        offset += len(char.encode())
    return "".join(out)


def _format_attribute(oid: str, value: str) -> str:
    name = _GO_ATTR_NAMES.get(oid)
    if name is None:
        return f"{oid}=#{_der_string(value).hex()}"
    return f"{name}={_escape_dn_value(value)}"


def go_name_string(name: x509.Name) -> str:
    """A distinguished name as Go's ``pkix.Name.String()`` prints a parsed certificate's subject.

    Go regroups the standard attributes into a fixed order and puts any other attribute first in the sequence,
    then prints the sequence reversed (RFC 2253 style).
    """
    rdns: list[list[tuple[str, str]]] = []
    multi: dict[str, list[str]] = {}
    common_name = serial = ""
    for attr in name:
        oid = attr.oid.dotted_string
        value = attr.value if isinstance(attr.value, str) else attr.value.hex()
        if oid == _CN:
            common_name = value
        elif oid == _SERIAL:
            serial = value
        elif oid in _GO_ATTR_NAMES:
            multi.setdefault(oid, []).append(value)
        else:
            rdns.append([(oid, value)])
    for oid in _GO_RDN_ORDER:
        if multi.get(oid):
            rdns.append([(oid, v) for v in multi[oid]])
    if common_name:
        rdns.append([(_CN, common_name)])
    if serial:
        rdns.append([(_SERIAL, serial)])
    return ",".join("+".join(_format_attribute(oid, v) for oid, v in rdn) for rdn in reversed(rdns))


# --------------------------------------------------------------------------------------------------
# The service


@dataclass(frozen=True)
class _Selector:
    host_name_pattern: str
    cert_type: str
    cert_sub_type: str

    def wants_ssh(self) -> bool:
        return self.cert_type in ("", "*", "ssh")

    def wants_https(self) -> bool:
        return self.cert_type in ("", "*", "https", "tls")

    def sub_type_matches(self, sub_type: str) -> bool:
        return self.cert_sub_type in ("", "*") or self.cert_sub_type == sub_type


class CertificateService:
    def __init__(self, *, session: Session, access: Access) -> None:
        self._session = session
        self._access = access
        self._store = CertificateStore(session)

    def list(self, *, host_name_pattern: str, cert_type: str, cert_sub_type: str) -> dict[str, Any]:
        self._access.check("certificates", "get", "")
        sel = _Selector(host_name_pattern, cert_type, cert_sub_type)
        items: list[RepositoryCertificate] = []
        if sel.wants_ssh():
            items.extend(
                RepositoryCertificate(
                    server_name=row.server_name,
                    cert_type="ssh",
                    cert_sub_type=row.cert_sub_type,
                    cert_info=row.cert_info,
                )
                for row in self._store.list(cert_type="ssh")
                if match_host_name(row.server_name, sel.host_name_pattern) and sel.sub_type_matches(row.cert_sub_type)
            )
        if sel.wants_https():
            # Upstream applies no sub-type filter to TLS certificates.
            items.extend(
                RepositoryCertificate(
                    server_name=row.server_name,
                    cert_type="https",
                    cert_sub_type=row.cert_sub_type,
                    cert_info=row.cert_info,
                )
                for row in self._store.list(cert_type="https")
                if match_host_name(row.server_name, sel.host_name_pattern)
            )
        return to_wire(RepositoryCertificateList(items=items))

    def create(self, body: dict[str, Any], *, upsert: bool) -> dict[str, Any]:
        self._access.check("certificates", "create", "")
        try:
            request = RepositoryCertificateList.from_wire(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise InvalidArgument(
                f"json: cannot unmarshal into Go struct field RepositoryCertificateList.{where}: "
                f"{first.get('msg', 'invalid value')}"
            ) from None
        created: list[RepositoryCertificate] = []
        for cert in request.items or []:
            self._check_server_name(cert)
            if cert.cert_type == "ssh":
                created.extend(self._create_ssh(cert, upsert=upsert))
            elif cert.cert_type == "https":
                created.extend(self._create_https(cert, upsert=upsert))
            else:
                raise InvalidArgument(f"unknown certificate type: {cert.cert_type}")
        self._session.commit()
        return to_wire(RepositoryCertificateList(items=created))

    def delete(self, *, host_name_pattern: str, cert_type: str, cert_sub_type: str) -> dict[str, Any]:
        self._access.check("certificates", "delete", "")
        sel = _Selector(host_name_pattern, cert_type, cert_sub_type)
        removed: list[RepositoryCertificate] = []
        doomed: list[CertificateRow] = []
        if sel.wants_ssh():
            for row in self._store.list(cert_type="ssh"):
                if match_host_name(row.server_name, sel.host_name_pattern) and sel.sub_type_matches(row.cert_sub_type):
                    removed.append(
                        RepositoryCertificate(
                            server_name=row.server_name,
                            cert_type="ssh",
                            cert_sub_type=row.cert_sub_type,
                            cert_data=row.cert_data.encode(),
                        )
                    )
                    doomed.append(row)
        if sel.wants_https():
            for row in self._store.list(cert_type="https"):
                if match_host_name(row.server_name, sel.host_name_pattern):
                    removed.append(
                        RepositoryCertificate(
                            server_name=row.server_name, cert_type="https", cert_data=row.cert_data.encode()
                        )
                    )
                    doomed.append(row)
        for row in doomed:
            self._store.delete(row)
        self._session.commit()
        return to_wire(RepositoryCertificateList(items=removed))

    def _check_server_name(self, cert: RepositoryCertificate) -> None:
        if cert.cert_type == "https" and not is_valid_hostname(cert.server_name):
            raise InvalidArgument(f"invalid hostname in request: {cert.server_name}")
        if cert.cert_type == "ssh":
            bracketed = _BRACKETED_PORT.match(cert.server_name)
            hostname = bracketed.group(1) if bracketed else cert.server_name
            if not is_valid_hostname(hostname):
                raise InvalidArgument(f"invalid hostname in request: {hostname}")

    def _create_ssh(self, cert: RepositoryCertificate, *, upsert: bool) -> Sequence[RepositoryCertificate]:
        data = (cert.cert_data or b"").decode("utf-8", errors="replace")
        key = parse_ssh_host_key(data)
        sub_type = cert.cert_sub_type or key.key_type
        if sub_type != key.key_type:
            raise InvalidArgument(f"certSubType '{sub_type}' does not match the key type '{key.key_type}'")
        existing = next(
            (r for r in self._store.for_server(cert.server_name, cert_type="ssh") if r.cert_sub_type == sub_type),
            None,
        )
        if existing is not None:
            if existing.cert_data == key.data:
                return []
            if not upsert:
                raise ArgoError(
                    f"key for '{cert.server_name}' (subtype: '{sub_type}') already exists, and upsert was not specified"
                )
            existing.cert_data = key.data
            existing.fingerprint = f"SHA256:{key.fingerprint}"
            existing.cert_info = f"SHA256:{key.fingerprint}"
            self._session.flush()
        else:
            self._store.add(
                CertificateRow(
                    server_name=cert.server_name,
                    cert_type="ssh",
                    cert_sub_type=sub_type,
                    fingerprint=f"SHA256:{key.fingerprint}",
                    cert_data=key.data,
                    cert_info=f"SHA256:{key.fingerprint}",
                    created_at=utcnow(),
                )
            )
        # Upstream answers the request entry with the bare fingerprint as certInfo (no "SHA256:" prefix).
        return [cert.model_copy(update={"cert_sub_type": sub_type, "cert_info": key.fingerprint})]

    def _create_https(self, cert: RepositoryCertificate, *, upsert: bool) -> Sequence[RepositoryCertificate]:
        blocks = split_pem_certificates((cert.cert_data or b"").decode("utf-8", errors="replace"))
        if not blocks:
            raise InvalidArgument("no valid PEM data received")
        unique: dict[str, tuple[str, x509.Certificate]] = {}
        for block in blocks:
            parsed = decode_pem_certificate(block)
            # The same certificate twice in one bundle is stored once.
            unique.setdefault(hashlib.sha256(parsed.public_bytes(Encoding.DER)).hexdigest(), (block, parsed))
        existing = self._store.for_server(cert.server_name, cert_type="https")
        if existing:
            if [r.cert_data for r in existing] == [block for block, _ in unique.values()]:
                return []
            if not upsert:
                raise ArgoError(
                    f"TLS certificate for server '{cert.server_name}' already exists, and upsert was not specified"
                )
            for row in existing:
                self._store.delete(row)
        for digest, (block, parsed) in unique.items():
            self._store.add(
                CertificateRow(
                    server_name=cert.server_name,
                    cert_type="https",
                    cert_sub_type=certificate_sub_type(parsed),
                    fingerprint=digest,
                    cert_data=block,
                    cert_info=go_name_string(parsed.subject),
                    created_at=utcnow(),
                )
            )
        # One entry per PEM block of the request, so callers see every certificate that was processed.
        return [
            RepositoryCertificate(server_name=cert.server_name, cert_type="https", cert_data=block.encode())
            for block in blocks
        ]
