"""``cluster``: register clusters from a kubeconfig context, list, show, change and remove them."""

from __future__ import annotations

import argparse
import base64
import os
from pathlib import Path
from typing import Any

import yaml

from argocd_server.cli import output
from argocd_server.cli.client import esc
from argocd_server.cli.commands._util import add_output, command, group, items_of, key_values
from argocd_server.cli.errors import CliError, UsageError
from argocd_server.cli.parser import ArgParser, Context, add_bool, confirm

CLUSTERS = "/api/v1/clusters"
IN_CLUSTER = "https://kubernetes.default.svc"


def register(sub: argparse._SubParsersAction[ArgParser], common: ArgParser) -> None:
    _, cluster = group(sub, common, "cluster", "Manage clusters", aliases=("clusters", "cl"))
    p = command(cluster, common, "add", "Register the cluster of a kubeconfig context", add)
    p.add_argument("context_name", metavar="CONTEXT", nargs="?")
    p.add_argument("--kubeconfig", default="", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    p.add_argument("--name", default="", help="cluster name (default: the context name)")
    p.add_argument("--namespace", action="append", default=None, help="restrict to this namespace (repeatable)")
    add_bool(p, "--cluster-resources", help="manage cluster-scoped resources despite --namespace")
    p.add_argument("--project", default="", help="project the cluster belongs to")
    p.add_argument("--label", action="append", default=None, help="label key=value")
    p.add_argument("--annotation", action="append", default=None, help="annotation key=value")
    p.add_argument("--shard", type=int, default=-1, help="controller shard")
    add_bool(p, "--in-cluster", help="register the in-cluster address instead of the kubeconfig server")
    add_bool(p, "--upsert", help="overwrite an existing cluster with different settings")
    add_bool(p, "-y", "--yes", help="do not ask for confirmation")
    p.add_argument("--system-namespace", default="kube-system", help=argparse.SUPPRESS)
    p.add_argument("--service-account", default="", help=argparse.SUPPRESS)
    add_bool(p, "--exec-command", help=argparse.SUPPRESS)

    p = command(cluster, common, "list", "List clusters", list_clusters, aliases=("ls",))
    add_output(p, "json|yaml|wide|server", default="wide")
    p = command(cluster, common, "get", "Show a cluster (by server URL or name)", get)
    p.add_argument("selector", metavar="SERVER/NAME")
    add_output(p, "json|yaml|wide|server", default="yaml")
    p = command(cluster, common, "rm", "Remove clusters (by server URL or name)", remove, aliases=("remove", "delete"))
    p.add_argument("selectors", metavar="SERVER/NAME", nargs="+")
    add_bool(p, "-y", "--yes", help="do not ask for confirmation")
    p = command(cluster, common, "set", "Change a cluster's name or namespaces", set_cluster)
    p.add_argument("selector", metavar="NAME")
    p.add_argument("--name", default=None, help="new name")
    p.add_argument("--namespace", action="append", default=None, help="namespaces (repeatable; '' clears)")


def _selector_query(selector: str) -> tuple[str, dict[str, str]]:
    """Server URLs address clusters by server, anything else by name (upstream's rule)."""
    if "://" in selector:
        return esc(selector), {}
    return esc(selector), {"id.type": "name"}


def _kubeconfig_path(flag: str) -> Path:
    if flag:
        return Path(flag).expanduser()
    env = os.environ.get("KUBECONFIG", "")
    if env:
        return Path(env.split(os.pathsep)[0]).expanduser()
    return Path.home() / ".kube" / "config"


def _file_b64(path: str, base: Path) -> str:
    full = Path(path).expanduser()
    if not full.is_absolute():
        full = base / full
    try:
        return base64.b64encode(full.read_bytes()).decode()
    except OSError as exc:
        raise CliError(f"could not read {full}: {exc}") from exc


def _named(items: Any, name: str, what: str) -> dict[str, Any]:
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name:
            found: dict[str, Any] = item.get(what) or {}
            return found
    raise CliError(f"{what} '{name}' not found in kubeconfig")


def cluster_from_kubeconfig(path: Path, context_name: str) -> tuple[str, str, dict[str, Any]]:
    """(context name, server, config) of a kubeconfig context, credentials inlined as upstream stores them."""
    try:
        kubeconfig = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CliError(f"could not read kubeconfig {path}: {exc}") from exc
    name = context_name or str(kubeconfig.get("current-context") or "")
    if not name:
        raise CliError("no context given and the kubeconfig has no current-context")
    context = _named(kubeconfig.get("contexts"), name, "context")
    cluster = _named(kubeconfig.get("clusters"), str(context.get("cluster", "")), "cluster")
    user = _named(kubeconfig.get("users"), str(context.get("user", "")), "user") if context.get("user") else {}
    base = path.parent
    tls: dict[str, Any] = {"insecure": bool(cluster.get("insecure-skip-tls-verify"))}
    if cluster.get("certificate-authority-data"):
        tls["caData"] = cluster["certificate-authority-data"]
    elif cluster.get("certificate-authority"):
        tls["caData"] = _file_b64(str(cluster["certificate-authority"]), base)
    if cluster.get("tls-server-name"):
        tls["serverName"] = cluster["tls-server-name"]
    if user.get("client-certificate-data"):
        tls["certData"] = user["client-certificate-data"]
    elif user.get("client-certificate"):
        tls["certData"] = _file_b64(str(user["client-certificate"]), base)
    if user.get("client-key-data"):
        tls["keyData"] = user["client-key-data"]
    elif user.get("client-key"):
        tls["keyData"] = _file_b64(str(user["client-key"]), base)
    config: dict[str, Any] = {"tlsClientConfig": tls}
    token = user.get("token")
    if not token and user.get("tokenFile"):
        try:
            token = Path(str(user["tokenFile"])).expanduser().read_text().strip()
        except OSError as exc:
            raise CliError(f"could not read token file: {exc}") from exc
    if token:
        config["bearerToken"] = token
    if user.get("username"):
        config["username"] = user["username"]
        config["password"] = user.get("password", "")
    if user.get("exec"):
        exec_cfg = user["exec"]
        config["execProviderConfig"] = {
            "command": exec_cfg.get("command", ""),
            "args": exec_cfg.get("args") or [],
            "env": {e.get("name"): e.get("value") for e in exec_cfg.get("env") or []},
            "apiVersion": exec_cfg.get("apiVersion", ""),
            "installHint": exec_cfg.get("installHint", ""),
        }
    if cluster.get("proxy-url"):
        config["proxyUrl"] = cluster["proxy-url"]
    return name, str(cluster.get("server", "")), config


def add(ctx: Context) -> int:
    name, server, config = cluster_from_kubeconfig(_kubeconfig_path(ctx.kubeconfig), ctx.context_name or "")
    if ctx.in_cluster:
        server = IN_CLUSTER
    body: dict[str, Any] = {"server": server, "name": ctx.name or name, "config": config}
    if ctx.namespace:
        body["namespaces"] = [n for raw in ctx.namespace for n in raw.split(",") if n]
    if ctx.cluster_resources:
        body["clusterResources"] = True
    if ctx.project:
        body["project"] = ctx.project
    if ctx.label:
        body["labels"] = key_values(ctx.label, "--label")
    if ctx.annotation:
        body["annotations"] = key_values(ctx.annotation, "--annotation")
    if ctx.shard >= 0:
        body["shard"] = ctx.shard
    created = ctx.client.post(CLUSTERS, body, {"upsert": "true" if ctx.upsert else "false"})
    print(f"Cluster '{created.get('server', server)}' added")
    return 0


def _cluster_rows(clusters: list[dict[str, Any]]) -> list[list[str]]:
    rows = [["SERVER", "NAME", "VERSION", "STATUS", "MESSAGE", "PROJECT"]]
    for cluster in clusters:
        info = cluster.get("info") or {}
        state = info.get("connectionState") or cluster.get("connectionState") or {}
        rows.append(
            [
                str(cluster.get("server", "")),
                str(cluster.get("name", "")),
                str(info.get("serverVersion") or cluster.get("serverVersion") or ""),
                str(state.get("status", "")),
                str(state.get("message", "")),
                str(cluster.get("project", "")),
            ]
        )
    return rows


def list_clusters(ctx: Context) -> int:
    clusters = items_of(ctx.client.get(CLUSTERS))
    if output.print_object(clusters, ctx.output):
        return 0
    if ctx.output == "server":
        for cluster in clusters:
            print(cluster.get("server", ""))
        return 0
    if ctx.output not in ("", "wide"):
        raise UsageError(f"unknown output format: {ctx.output}")
    output.table(_cluster_rows(clusters))
    return 0


def _get(ctx: Context, selector: str) -> dict[str, Any]:
    path, params = _selector_query(selector)
    answer = ctx.client.get(f"{CLUSTERS}/{path}", params)
    return answer if isinstance(answer, dict) else {}


def get(ctx: Context) -> int:
    cluster = _get(ctx, ctx.selector)
    if output.print_object(cluster, ctx.output):
        return 0
    if ctx.output == "server":
        print(cluster.get("server", ""))
        return 0
    if ctx.output not in ("", "wide"):
        raise UsageError(f"unknown output format: {ctx.output}")
    output.table(_cluster_rows([cluster]))
    return 0


def remove(ctx: Context) -> int:
    for selector in ctx.selectors:
        if not ctx.yes and not confirm(
            f"Are you sure you want to remove '{selector}'? Any Apps deploying to this cluster will go to "
            "health status Unknown.[y/n] "
        ):
            print(f"The command to remove '{selector}' was cancelled.")
            continue
        path, params = _selector_query(selector)
        ctx.client.delete(f"{CLUSTERS}/{path}", params)
        print(f"Cluster '{selector}' removed")
    return 0


def set_cluster(ctx: Context) -> int:
    cluster = _get(ctx, ctx.selector)
    fields: list[str] = []
    if ctx.name is not None:
        cluster["name"] = ctx.name
        fields.append("name")
    if ctx.namespace is not None:
        cluster["namespaces"] = [n for raw in ctx.namespace for n in raw.split(",") if n]
        fields.append("namespaces")
    if not fields:
        raise UsageError("nothing to change: give --name or --namespace")
    path, params = _selector_query(ctx.selector)
    ctx.client.put(f"{CLUSTERS}/{path}", cluster, {**params, "updatedFields": fields})
    print(f"Cluster '{ctx.selector}' updated.")
    return 0
