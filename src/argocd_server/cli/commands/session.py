"""``login``, ``logout``, ``context``, ``relogin`` and ``version``."""

from __future__ import annotations

import argparse
import platform
import sys
from typing import Any

from argocd_server.cli import output
from argocd_server.cli.client import ApiClient, Connection, base_url_for
from argocd_server.cli.commands._util import add_output, command, jwt_claims
from argocd_server.cli.config import LocalConfig
from argocd_server.cli.errors import CliError, UsageError
from argocd_server.cli.parser import ArgParser, Context, add_bool, prompt
from argocd_server.version import server_version


def register(sub: argparse._SubParsersAction[ArgParser], common: ArgParser) -> None:
    p = command(sub, common, "login", "Log in to an API server and save the session in a config context", login)
    p.add_argument("server_addr", nargs="?", metavar="SERVER")
    p.add_argument("--username", default="", help="user name")
    p.add_argument("--password", default="", help="password")
    p.add_argument("--name", default="", help="name of the context to write (default: the server address)")
    add_bool(p, "--sso", help="single sign-on (not supported here)")
    p.add_argument("--sso-port", type=int, default=8085, help=argparse.SUPPRESS)
    p.add_argument("--sso-launch-browser", default="true", help=argparse.SUPPRESS)
    add_bool(p, "--skip-test-tls", help="accepted for compatibility")
    add_bool(p, "--use-device-code", help=argparse.SUPPRESS)

    p = command(sub, common, "relogin", "Log in again with the current context's user", relogin)
    p.add_argument("--password", default="", help="password")

    p = command(sub, common, "logout", "Forget the token of a context", logout)
    p.add_argument("context_name", metavar="CONTEXT")

    p = command(sub, common, "context", "List contexts, or switch to one", context, aliases=("ctx",))
    p.add_argument("context_name", nargs="?", metavar="CONTEXT")
    add_bool(p, "--delete", help="delete the named context")

    p = command(sub, common, "version", "Print the client's and the server's version", version)
    add_bool(p, "--client", help="the client's version only", dest="client_only")
    add_bool(p, "--short", help="versions only")
    add_output(p, "json|yaml|short", default="")


def _logged_in_as(token: str) -> str:
    claims = jwt_claims(token)
    return str(claims.get("email") or claims.get("name") or claims.get("sub") or "")


def _session_token(conn: Connection, username: str, password: str) -> str:
    with ApiClient(conn) as client:
        answer = client.post("/api/v1/session", {"username": username, "password": password})
    token = str(answer.get("token") or "")
    if not token:
        raise CliError("the server answered no session token")
    return token


def login(ctx: Context) -> int:
    if ctx.sso:
        raise CliError("--sso is not supported by this client; log in with --username and --password", exit_code=1)
    server = ctx.server_addr or ""
    if not server:
        raise UsageError('accepts 1 arg(s), received 0 (the server address, e.g. "argocd.example.com:443")')
    ctx.refuse_unsupported()
    insecure = bool(ctx.flag("insecure"))
    plaintext = bool(ctx.flag("plaintext"))
    grpc_web = bool(ctx.flag("grpc_web"))
    root_path = str(ctx.flag("grpc_web_root_path") or "")
    conn = Connection(
        server=server,
        base_url=base_url_for(server, plaintext=plaintext, root_path=root_path),
        insecure=insecure,
        plaintext=plaintext,
        headers=ctx.headers(),
        client_cert=str(ctx.flag("client_crt") or ""),
        client_key=str(ctx.flag("client_crt_key") or ""),
        ca_file=str(ctx.flag("server_crt") or ""),
    )
    username = ctx.username or prompt("Username: ")
    password = ctx.password or prompt("Password: ", secret=True)
    token = _session_token(conn, username, password)
    name = ctx.name or server
    cfg = ctx.local_config() or LocalConfig()
    server_entry: dict[str, Any] = {"server": server}
    if insecure:
        server_entry["insecure"] = True
    if plaintext:
        server_entry["plain-text"] = True
    if grpc_web:
        server_entry["grpc-web"] = True
    if root_path:
        server_entry["grpc-web-root-path"] = root_path
    existing = cfg.server(server)
    if existing is not None:
        for key in ("insecure", "plain-text", "grpc-web", "grpc-web-root-path", "core"):
            existing.pop(key, None)
    cfg.upsert(cfg.servers, "server", server_entry)
    cfg.upsert(cfg.users, "name", {"name": name, "auth-token": token})
    cfg.upsert(cfg.contexts, "name", {"name": name, "server": server, "user": name})
    cfg.current_context = name
    cfg.write(ctx.config_path)
    print(f"'{_logged_in_as(token)}' logged in successfully")
    print(f"Context '{name}' updated")
    return 0


def relogin(ctx: Context) -> int:
    cfg = ctx.local_config()
    resolved = cfg.resolve(str(ctx.flag("argocd_context") or "")) if cfg else None
    if cfg is None or resolved is None:
        raise CliError("No context is current; log in first")
    conn = ctx.connection()
    claims = jwt_claims(conn.token)
    username = str(claims.get("sub") or "").split(":", 1)[0]
    if not username:
        raise CliError("the current token names no local user; log in again with 'argocd login'")
    password = ctx.password or prompt("Password: ", secret=True)
    conn.token = ""
    token = _session_token(conn, username, password)
    resolved.user["auth-token"] = token
    cfg.upsert(cfg.users, "name", resolved.user)
    cfg.write(ctx.config_path)
    print(f"Context '{resolved.name}' updated")
    return 0


def logout(ctx: Context) -> int:
    cfg = ctx.local_config()
    name = ctx.context_name
    if cfg is None or cfg.context(name) is None:
        raise CliError(f"Nothing to logout from: context '{name}' does not exist")
    resolved = cfg.resolve(name)
    token = str(resolved.user.get("auth-token") or "") if resolved else ""
    if resolved and token:
        # Best effort, as upstream: the token is forgotten locally even when the server cannot be reached.
        conn = Connection(
            server=str(resolved.server.get("server")),
            base_url=base_url_for(
                str(resolved.server.get("server")),
                plaintext=bool(resolved.server.get("plain-text")),
                root_path=str(resolved.server.get("grpc-web-root-path") or ""),
            ),
            token=token,
            insecure=bool(resolved.server.get("insecure")),
        )
        try:
            with ApiClient(conn, timeout=10) as client:
                client.delete("/api/v1/session")
        except CliError:
            pass
    entry = cfg.context(name) or {}
    cfg.remove_token(str(entry.get("user") or name))
    cfg.write(ctx.config_path)
    print(f"Logged out from '{name}'")
    return 0


def context(ctx: Context) -> int:
    cfg = ctx.local_config() or LocalConfig()
    name = ctx.context_name
    if ctx.delete:
        if not name:
            raise UsageError("--delete needs the name of a context")
        if not cfg.remove_context(name):
            raise CliError(f"Context {name} does not exist")
        cfg.write(ctx.config_path)
        print(f"Context '{name}' deleted")
        return 0
    if not name:
        rows: list[list[str]] = [["CURRENT", "NAME", "SERVER"]]
        for entry in sorted(cfg.contexts, key=lambda c: str(c.get("name", ""))):
            marker = "*" if entry.get("name") == cfg.current_context else ""
            rows.append([marker, str(entry.get("name", "")), str(entry.get("server", ""))])
        output.table(rows)
        return 0
    if name == "-":
        previous = str(cfg.data.get("prev-context") or "")
        if not previous:
            raise CliError("No previous context")
        name = previous
    if cfg.context(name) is None:
        raise CliError(f"Context '{name}' does not exist")
    if cfg.current_context == name:
        print(f"Already at context '{name}'")
        return 0
    if cfg.current_context:
        cfg.data["prev-context"] = cfg.current_context
    cfg.current_context = name
    cfg.write(ctx.config_path)
    print(f"Switched to context '{name}'")
    return 0


def _client_version() -> dict[str, str]:
    return {
        "Version": server_version(),
        "BuildDate": "",
        "GitCommit": "",
        "GitTreeState": "",
        "GoVersion": f"python{platform.python_version()}",
        "Compiler": platform.python_implementation().lower(),
        "Platform": f"{sys.platform}/{platform.machine().lower()}",
    }


def _print_version(label: str, info: dict[str, Any], *, short: bool) -> None:
    print(f"{label}: {info.get('Version', '')}")
    if short:
        return
    names = {
        "KustomizeVersion": "Kustomize Version",
        "HelmVersion": "Helm Version",
        "KubectlVersion": "Kubectl Version",
        "JsonnetVersion": "Jsonnet Version",
        "ExtraBuildInfo": "ExtraBuildInfo",
    }
    for key in (
        "BuildDate",
        "GitCommit",
        "GitTag",
        "GitTreeState",
        "GoVersion",
        "Compiler",
        "Platform",
        "KustomizeVersion",
        "HelmVersion",
        "KubectlVersion",
        "JsonnetVersion",
        "ExtraBuildInfo",
    ):
        value = info.get(key)
        if value:
            print(f"  {names.get(key, key)}: {value}")


def version(ctx: Context) -> int:
    out = ctx.output or ""
    if out not in ("", "wide", "json", "yaml", "short"):
        raise UsageError(f"unknown output format: {out}")
    short = ctx.short or out == "short"
    client_info = _client_version()
    server_info: dict[str, Any] | None = None
    if not ctx.client_only:
        answer = ctx.client.get("/api/version")
        server_info = answer if isinstance(answer, dict) else {}
    if out in ("json", "yaml"):
        doc: dict[str, Any] = {"client": {"Version": client_info["Version"]} if short else client_info}
        if server_info is not None:
            doc["server"] = {"Version": server_info.get("Version", "")} if short else server_info
        output.print_object(doc, out)
        return 0
    _print_version("argocd", client_info, short=short)
    if server_info is not None:
        _print_version("argocd-server", server_info, short=short)
    return 0
