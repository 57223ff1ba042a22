"""``cert`` (TLS certificates and SSH known hosts of repository servers) and ``gpg`` (GnuPG public keys)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from argocd_server.cli import output
from argocd_server.cli.client import esc
from argocd_server.cli.commands._util import add_output, b64, command, group, items_of
from argocd_server.cli.errors import CliError, UsageError
from argocd_server.cli.parser import ArgParser, Context, add_bool

CERTS = "/api/v1/certificates"
GPG = "/api/v1/gpgkeys"
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def register(sub: argparse._SubParsersAction[ArgParser], common: ArgParser) -> None:
    _, cert = group(sub, common, "cert", "Manage repository certificates and SSH known hosts", aliases=("certs",))
    p = command(cert, common, "add-tls", "Add TLS certificates (PEM) for a repository server", add_tls)
    p.add_argument("server_name", metavar="SERVERNAME")
    p.add_argument("--from", dest="source", default="", help="PEM file (default: standard input)")
    add_bool(p, "--upsert", help="replace existing certificates of that server")
    p = command(cert, common, "add-ssh", "Add SSH known-host entries", add_ssh)
    add_bool(p, "--batch", help="read known_hosts lines non-interactively")
    p.add_argument("--from", dest="source", default="", help="known_hosts file (default: standard input)")
    add_bool(p, "--upsert", help="replace existing entries")
    p = command(cert, common, "list", "List certificates", list_certs, aliases=("ls",))
    p.add_argument("--hostname-pattern", default="", help="glob of server names")
    p.add_argument("--cert-type", default="", help="ssh or https")
    p.add_argument("--cert-sub-type", default="", help="key type, e.g. ssh-rsa")
    p.add_argument("--sort", default="", help="hostname or type")
    add_output(p, "json|yaml|wide", default="wide")
    p = command(cert, common, "rm", "Remove certificates of a server", remove_certs, aliases=("remove", "delete"))
    p.add_argument("hostname_pattern", metavar="HOSTNAME")
    p.add_argument("--cert-type", default="", help="ssh or https")
    p.add_argument("--cert-sub-type", default="", help="key type, e.g. ssh-rsa")

    _, gpg = group(sub, common, "gpg", "Manage GnuPG public keys for commit verification")
    p = command(gpg, common, "add", "Add GnuPG public keys", gpg_add)
    p.add_argument("-f", "--from", dest="source", default="", required=True, help="ASCII-armoured key file")
    add_bool(p, "--upsert", help="replace existing keys")
    p = command(gpg, common, "list", "List GnuPG public keys", gpg_list, aliases=("ls",))
    add_output(p, "json|yaml|wide", default="wide")
    p = command(gpg, common, "get", "Show a GnuPG public key", gpg_get)
    p.add_argument("key_id", metavar="KEYID")
    add_output(p, "json|yaml|wide", default="wide")
    p = command(gpg, common, "rm", "Remove a GnuPG public key", gpg_remove, aliases=("remove", "delete"))
    p.add_argument("key_id", metavar="KEYID")


def _read_source(source: str) -> str:
    if not source or source == "-":
        return sys.stdin.read()
    try:
        return Path(source).expanduser().read_text()
    except OSError as exc:
        raise CliError(f"could not read {source}: {exc}") from exc


def add_tls(ctx: Context) -> int:
    pems = _PEM.findall(_read_source(ctx.source))
    if not pems:
        raise CliError("No valid PEM certificates found in input")
    item = {"serverName": ctx.server_name, "certType": "https", "certData": b64("\n".join(pems).encode())}
    answer = ctx.client.post(CERTS, {"items": [item]}, {"upsert": "true" if ctx.upsert else "false"})
    created = items_of(answer)
    print(f"Created entry with {len(pems)} PEM certificates for repository server {ctx.server_name}")
    del created
    return 0


def add_ssh(ctx: Context) -> int:
    items: list[dict[str, Any]] = []
    for raw in _read_source(ctx.source).splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) < 3:
            raise CliError(f"invalid known_hosts entry: {line}")
        # certData carries the known_hosts key text itself (bytes on the wire, hence base64 once more).
        items.append(
            {"serverName": parts[0], "certType": "ssh", "certSubType": parts[1], "certData": b64(parts[2].encode())}
        )
    if not items:
        raise CliError("No valid SSH known host entries found in input")
    ctx.client.post(CERTS, {"items": items}, {"upsert": "true" if ctx.upsert else "false"})
    print(f"Successfully created {len(items)} SSH known host entries")
    return 0


def list_certs(ctx: Context) -> int:
    params = {
        "hostNamePattern": ctx.hostname_pattern,
        "certType": ctx.cert_type,
        "certSubType": ctx.cert_sub_type,
    }
    certs = items_of(ctx.client.get(CERTS, {k: v for k, v in params.items() if v}))
    if ctx.sort == "hostname":
        certs.sort(key=lambda c: str(c.get("serverName", "")))
    elif ctx.sort == "type":
        certs.sort(key=lambda c: str(c.get("certType", "")))
    if output.print_object(certs, ctx.output):
        return 0
    if ctx.output not in ("", "wide"):
        raise UsageError(f"unknown output format: {ctx.output}")
    rows = [["HOSTNAME", "TYPE", "SUBTYPE", "INFO"]]
    for cert in certs:
        rows.append(
            [
                str(cert.get("serverName", "")),
                str(cert.get("certType", "")),
                str(cert.get("certSubType", "")),
                str(cert.get("certInfo", "")),
            ]
        )
    output.table(rows)
    return 0


def remove_certs(ctx: Context) -> int:
    params = {"hostNamePattern": ctx.hostname_pattern, "certType": ctx.cert_type, "certSubType": ctx.cert_sub_type}
    answer = ctx.client.delete(CERTS, {k: v for k, v in params.items() if v})
    print(f"Removed {len(items_of(answer))} certificates")
    return 0


def gpg_add(ctx: Context) -> int:
    answer = ctx.client.post(GPG, {"keyData": _read_source(ctx.source)}, {"upsert": "true" if ctx.upsert else "false"})
    for key in items_of(answer.get("created")):
        print(f"Created GnuPG key with key ID {key.get('keyID', '')}")
    for key_id in answer.get("skipped") or []:
        print(f"Skipped existing GnuPG key with key ID {key_id}")
    return 0


def gpg_list(ctx: Context) -> int:
    keys = items_of(ctx.client.get(GPG))
    if output.print_object(keys, ctx.output):
        return 0
    rows = [["KEYID", "TYPE", "IDENTITY"]]
    rows += [[str(k.get("keyID", "")), str(k.get("subType", "")), str(k.get("owner", ""))] for k in keys]
    output.table(rows)
    return 0


def gpg_get(ctx: Context) -> int:
    key = ctx.client.get(f"{GPG}/{esc(ctx.key_id)}")
    if output.print_object(key, ctx.output):
        return 0
    print(output.kv("Key ID:", key.get("keyID", "")))
    print(output.kv("Key fingerprint:", key.get("fingerprint", "")))
    print(output.kv("Key subtype:", key.get("subType", "")))
    print(output.kv("Key owner:", key.get("owner", "")))
    print("Key data follows until EOF:")
    print(key.get("keyData", ""))
    return 0


def gpg_remove(ctx: Context) -> int:
    ctx.client.delete(GPG, {"keyID": ctx.key_id})
    print(f"Deleted key with key ID {ctx.key_id}")
    return 0
