"""``repo`` and ``repocreds``: repositories and credential templates."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from argocd_server.cli import output
from argocd_server.cli.client import esc
from argocd_server.cli.commands._util import add_output, command, group, items_of
from argocd_server.cli.errors import CliError, UsageError
from argocd_server.cli.parser import ArgParser, Context, add_bool, prompt


def register(sub: argparse._SubParsersAction[ArgParser], common: ArgParser) -> None:
    _, repo = group(sub, common, "repo", "Manage repositories", aliases=("repos", "repository"))
    p = command(repo, common, "add", "Register a repository", add)
    p.add_argument("url", metavar="REPOURL")
    _cred_flags(p)
    p.add_argument("--name", default="", help="name (required for Helm repositories)")
    p.add_argument("--project", default="", help="project the repository belongs to")
    add_bool(p, "--insecure-skip-server-verification", help="skip TLS and SSH host key verification")
    add_bool(p, "--insecure-ignore-host-key", help=argparse.SUPPRESS)
    add_bool(p, "--enable-lfs", help="fetch Git LFS objects")
    p.add_argument("--depth", type=int, default=0, help="shallow clone depth")
    add_bool(p, "--upsert", help="overwrite an existing repository with different settings")

    p = command(repo, common, "list", "List repositories", list_repos, aliases=("ls",))
    add_output(p, "json|yaml|wide|url", default="wide")
    p.add_argument("--refresh", default="", help="hard: re-test every connection")

    p = command(repo, common, "get", "Show a repository", get)
    p.add_argument("url", metavar="REPOURL")
    add_output(p, "json|yaml|wide|url", default="wide")
    p.add_argument("--project", default="", help="project of a project-scoped repository")
    p.add_argument("--refresh", default="", help="hard: re-test the connection")

    p = command(repo, common, "rm", "Remove repositories", remove, aliases=("remove", "delete"))
    p.add_argument("urls", metavar="REPOURL", nargs="+")
    p.add_argument("--project", default="", help="project of a project-scoped repository")

    _, creds = group(sub, common, "repocreds", "Manage repository credential templates")
    p = command(creds, common, "add", "Add a credential template for URLs starting with a prefix", creds_add)
    p.add_argument("url", metavar="REPOURL")
    _cred_flags(p)
    add_bool(p, "--upsert", help="overwrite an existing template with different settings")
    p = command(creds, common, "list", "List credential templates", creds_list, aliases=("ls",))
    add_output(p, "json|yaml|wide|url", default="wide")
    p = command(creds, common, "rm", "Remove credential templates", creds_remove, aliases=("remove", "delete"))
    p.add_argument("urls", metavar="CREDSURL", nargs="+")


def _cred_flags(p: ArgParser) -> None:
    p.add_argument("--username", default="", help="user name")
    p.add_argument("--password", default="", help="password or access token")
    p.add_argument("--ssh-private-key-path", default="", help="file with the SSH private key")
    p.add_argument("--tls-client-cert-path", default="", help="file with the TLS client certificate")
    p.add_argument("--tls-client-cert-key-path", default="", help="file with the TLS client key")
    p.add_argument("--bearer-token", default="", help="bearer token (Bitbucket Data Center)")
    p.add_argument("--type", default="", help="git, helm or oci")
    add_bool(p, "--enable-oci", help="the Helm repository is an OCI registry")
    add_bool(p, "--force-http-basic-auth", help="always send basic auth")
    p.add_argument("--proxy", default="", help="HTTP/HTTPS proxy")
    p.add_argument("--no-proxy", default="", help="hosts that bypass the proxy")
    p.add_argument("--github-app-id", type=int, default=0, help="GitHub App id")
    p.add_argument("--github-app-installation-id", type=int, default=0, help="GitHub App installation id")
    p.add_argument("--github-app-private-key-path", default="", help="file with the GitHub App private key")
    p.add_argument("--github-app-enterprise-base-url", default="", help="GitHub Enterprise API URL")


def _read(path: str, what: str) -> str:
    try:
        return Path(path).expanduser().read_text()
    except OSError as exc:
        raise CliError(f"could not read {what} from {path}: {exc}") from exc


def _cred_body(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    if ctx.username:
        body["username"] = ctx.username
        body["password"] = ctx.password or prompt("Password: ", secret=True)
    elif ctx.password:
        body["password"] = ctx.password
    if ctx.ssh_private_key_path:
        body["sshPrivateKey"] = _read(ctx.ssh_private_key_path, "the SSH private key")
    if ctx.tls_client_cert_path:
        body["tlsClientCertData"] = _read(ctx.tls_client_cert_path, "the TLS client certificate")
    if ctx.tls_client_cert_key_path:
        body["tlsClientCertKey"] = _read(ctx.tls_client_cert_key_path, "the TLS client key")
    if bool(ctx.tls_client_cert_path) != bool(ctx.tls_client_cert_key_path):
        raise UsageError("--tls-client-cert-path and --tls-client-cert-key-path must be given together")
    if ctx.github_app_private_key_path:
        body["githubAppPrivateKey"] = _read(ctx.github_app_private_key_path, "the GitHub App private key")
    for flag, key in (
        ("bearer_token", "bearerToken"),
        ("type", "type"),
        ("proxy", "proxy"),
        ("no_proxy", "noProxy"),
        ("github_app_id", "githubAppID"),
        ("github_app_installation_id", "githubAppInstallationID"),
        ("github_app_enterprise_base_url", "githubAppEnterpriseBaseUrl"),
    ):
        value = getattr(ctx.args, flag)
        if value:
            body[key] = value
    if ctx.enable_oci:
        body["enableOCI"] = True
    if ctx.force_http_basic_auth:
        body["forceHttpBasicAuth"] = True
    return body


def add(ctx: Context) -> int:
    body = _cred_body(ctx, {"repo": ctx.url})
    if ctx.name:
        body["name"] = ctx.name
    if ctx.project:
        body["project"] = ctx.project
    if ctx.insecure_skip_server_verification:
        body["insecure"] = True
        body["insecureIgnoreHostKey"] = True
    if ctx.insecure_ignore_host_key:
        body["insecureIgnoreHostKey"] = True
    if ctx.enable_lfs:
        body["enableLfs"] = True
    if ctx.depth:
        body["depth"] = ctx.depth
    if body.get("type") == "helm" and not ctx.name:
        raise CliError("Must specify --name for repos of type 'helm'")
    ctx.client.post("/api/v1/repositories", body, {"upsert": "true" if ctx.upsert else "false"})
    print(f"Repository '{ctx.url}' added")
    return 0


def _repo_rows(repos: list[dict[str, Any]]) -> list[list[str]]:
    rows = [["TYPE", "NAME", "REPO", "INSECURE", "OCI", "LFS", "CREDS", "STATUS", "MESSAGE", "PROJECT"]]
    for repo in repos:
        state = repo.get("connectionState") or {}
        creds = bool(repo.get("username")) or bool(repo.get("inheritedCreds"))
        rows.append(
            [
                str(repo.get("type") or "git"),
                str(repo.get("name", "")),
                str(repo.get("repo", "")),
                str(bool(repo.get("insecure"))).lower(),
                str(bool(repo.get("enableOCI"))).lower(),
                str(bool(repo.get("enableLfs"))).lower(),
                str(creds).lower(),
                str(state.get("status", "")),
                str(state.get("message", "")),
                str(repo.get("project", "")),
            ]
        )
    return rows


def _print_repos(repos: list[dict[str, Any]], out: str, *, single: bool = False) -> None:
    if output.print_object(repos[0] if single and repos else repos, out):
        return
    if out == "url":
        for repo in repos:
            print(repo.get("repo", ""))
        return
    if out not in ("", "wide"):
        raise UsageError(f"unknown output format: {out}")
    output.table(_repo_rows(repos))


def list_repos(ctx: Context) -> int:
    params = {"forceRefresh": "true"} if ctx.refresh == "hard" else None
    _print_repos(items_of(ctx.client.get("/api/v1/repositories", params)), ctx.output)
    return 0


def get(ctx: Context) -> int:
    params: dict[str, Any] = {}
    if ctx.project:
        params["appProject"] = ctx.project
    if ctx.refresh == "hard":
        params["forceRefresh"] = "true"
    repo = ctx.client.get(f"/api/v1/repositories/{esc(ctx.url)}", params)
    _print_repos([repo], ctx.output, single=True)
    return 0


def remove(ctx: Context) -> int:
    for url in ctx.urls:
        params = {"appProject": ctx.project} if ctx.project else None
        ctx.client.delete(f"/api/v1/repositories/{esc(url)}", params)
        print(f"Repository '{url}' removed")
    return 0


def creds_add(ctx: Context) -> int:
    body = _cred_body(ctx, {"url": ctx.url})
    ctx.client.post("/api/v1/repocreds", body, {"upsert": "true" if ctx.upsert else "false"})
    print(f"Repository credentials for '{ctx.url}' added")
    return 0


def creds_list(ctx: Context) -> int:
    items = items_of(ctx.client.get("/api/v1/repocreds"))
    if output.print_object(items, ctx.output):
        return 0
    if ctx.output == "url":
        for item in items:
            print(item.get("url", ""))
        return 0
    rows = [["URL PATTERN", "USERNAME", "SSH_CREDS", "TLS_CREDS"]]
    for item in items:
        rows.append([str(item.get("url", "")), str(item.get("username", "")) or "-", "-", "-"])
    output.table(rows)
    return 0


def creds_remove(ctx: Context) -> int:
    for url in ctx.urls:
        ctx.client.delete(f"/api/v1/repocreds/{esc(url)}")
        print(f"Repository credentials for '{url}' removed")
    return 0
