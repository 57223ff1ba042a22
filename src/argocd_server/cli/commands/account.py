"""``account``: user info, password change, API tokens, RBAC checks, account listing."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from argocd_server.cli import output
from argocd_server.cli.client import esc
from argocd_server.cli.commands._util import add_output, command, group, items_of, parse_duration
from argocd_server.cli.errors import CliError, UsageError
from argocd_server.cli.parser import ArgParser, Context, prompt


def register(sub: argparse._SubParsersAction[ArgParser], common: ArgParser) -> None:
    _, acc = group(sub, common, "account", "Manage accounts")
    p = command(acc, common, "get-user-info", "Show who the current token belongs to", get_user_info)
    add_output(p, "json|yaml")
    p = command(acc, common, "update-password", "Change an account's password", update_password)
    p.add_argument("--account", default="", help="account to change (default: the logged-in user)")
    p.add_argument("--current-password", default="", help="password of the logged-in user")
    p.add_argument("--new-password", default="", help="the new password")
    p = command(acc, common, "generate-token", "Create an API token for an account", generate_token)
    p.add_argument("-a", "--account", default="", help="account (default: the logged-in user)")
    p.add_argument("-e", "--expires-in", default="0s", help="lifetime, e.g. 24h; 0s = never expires")
    p.add_argument("--id", default="", help="token id (default: a random UUID)")
    p = command(acc, common, "delete-token", "Delete an account's API token", delete_token)
    p.add_argument("token_id", metavar="ID")
    p.add_argument("-a", "--account", default="", help="account (default: the logged-in user)")
    p = command(acc, common, "can-i", "Ask whether an action is allowed (prints yes or no)", can_i)
    p.add_argument("action", metavar="ACTION")
    p.add_argument("resource", metavar="RESOURCE")
    p.add_argument("subresource", metavar="SUBRESOURCE")
    p = command(acc, common, "list", "List accounts", list_accounts)
    add_output(p, "json|yaml|name|wide")
    p = command(acc, common, "get", "Show an account and its tokens", get_account)
    p.add_argument("-a", "--account", default="", help="account (default: the logged-in user)")
    add_output(p, "json|yaml")


def _user_info(ctx: Context) -> dict[str, Any]:
    answer = ctx.client.get("/api/v1/session/userinfo")
    return answer if isinstance(answer, dict) else {}


def _current_user(ctx: Context) -> str:
    info = _user_info(ctx)
    if not info.get("loggedIn"):
        raise CliError("not logged in; run 'argocd login' first")
    return str(info.get("username") or "")


def get_user_info(ctx: Context) -> int:
    info = _user_info(ctx)
    if output.print_object(info, ctx.output):
        return 0
    print(f"Logged In: {'true' if info.get('loggedIn') else 'false'}")
    if info.get("loggedIn"):
        print(f"Username: {info.get('username', '')}")
        print(f"Issuer: {info.get('iss', '')}")
        print(f"Groups: {','.join(info.get('groups') or [])}")
    return 0


def update_password(ctx: Context) -> int:
    me = _current_user(ctx)
    account = ctx.account or me
    current = ctx.current_password or prompt(f"*** Enter password of currently logged in user ({me}): ", secret=True)
    new = ctx.new_password
    if not new:
        new = prompt(f"*** Enter new password for user {account}: ", secret=True)
        if prompt(f"*** Confirm new password for user {account}: ", secret=True) != new:
            raise CliError("Passwords do not match")
    body = {"currentPassword": current, "newPassword": new, "name": account}
    ctx.client.put("/api/v1/account/password", body)
    print("Password updated")
    if account == me:
        # The server invalidates older tokens of this user: refresh the saved session like upstream does.
        cfg = ctx.local_config()
        conn = ctx.connection()
        resolved = cfg.resolve(str(ctx.flag("argocd_context") or "")) if cfg else None
        if cfg is not None and resolved is not None and resolved.user.get("auth-token") == conn.token:
            answer = ctx.client.post("/api/v1/session", {"username": me, "password": new})
            resolved.user["auth-token"] = str(answer.get("token") or "")
            cfg.upsert(cfg.users, "name", resolved.user)
            cfg.write(ctx.config_path)
            print(f"Context '{resolved.name}' updated")
    return 0


def generate_token(ctx: Context) -> int:
    account = ctx.account or _current_user(ctx)
    body: dict[str, Any] = {"expiresIn": int(parse_duration(ctx.expires_in))}
    if ctx.id:
        body["id"] = ctx.id
    answer = ctx.client.post(f"/api/v1/account/{esc(account)}/token", body)
    print(answer.get("token", ""))
    return 0


def delete_token(ctx: Context) -> int:
    account = ctx.account or _current_user(ctx)
    ctx.client.delete(f"/api/v1/account/{esc(account)}/token/{esc(ctx.token_id)}")
    return 0


def can_i(ctx: Context) -> int:
    answer = ctx.client.get(
        f"/api/v1/account/can-i/{esc(ctx.resource)}/{esc(ctx.action)}/{ctx.subresource.lstrip('/')}"
    )
    print(answer.get("value", ""))
    return 0


def list_accounts(ctx: Context) -> int:
    items = items_of(ctx.client.get("/api/v1/account"))
    if output.print_object(items, ctx.output):
        return 0
    if ctx.output == "name":
        for item in items:
            print(item.get("name", ""))
        return 0
    if ctx.output not in ("", "wide"):
        raise UsageError(f"unknown output format: {ctx.output}")
    rows = [["NAME", "ENABLED", "CAPABILITIES"]]
    for item in items:
        rows.append(
            [
                str(item.get("name", "")),
                "true" if item.get("enabled") else "false",
                ", ".join(item.get("capabilities") or []),
            ]
        )
    output.table(rows)
    return 0


def _unix(value: Any) -> str:
    try:
        return datetime.fromtimestamp(int(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        return ""


def get_account(ctx: Context) -> int:
    name = ctx.account or _current_user(ctx)
    acc = ctx.client.get(f"/api/v1/account/{esc(name)}")
    if output.print_object(acc, ctx.output):
        return 0
    print(output.kv("Name:", acc.get("name", "")))
    print(output.kv("Enabled:", "true" if acc.get("enabled") else "false"))
    print(output.kv("Capabilities:", ", ".join(acc.get("capabilities") or [])))
    print("\nTokens:")
    tokens = acc.get("tokens") or []
    if not tokens:
        print("NONE")
        return 0
    rows = [["ID", "ISSUED AT", "EXPIRING AT"]]
    for token in tokens:
        expires = token.get("expiresAt")
        rows.append([str(token.get("id", "")), _unix(token.get("issuedAt")), _unix(expires) if expires else "never"])
    output.table(rows)
    return 0
