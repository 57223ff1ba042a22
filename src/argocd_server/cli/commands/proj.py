"""``proj``: projects, their sources, destinations, resource lists, roles, tokens and sync windows."""

from __future__ import annotations

import argparse
import copy
from datetime import UTC, datetime
from typing import Any

from argocd_server.cli import output
from argocd_server.cli.client import esc
from argocd_server.cli.commands._util import (
    add_output,
    command,
    csv_join,
    group,
    items_of,
    parse_duration,
)
from argocd_server.cli.errors import CliError, UsageError
from argocd_server.cli.parser import ArgParser, Context, add_bool

PROJECTS = "/api/v1/projects"


def register(sub: argparse._SubParsersAction[ArgParser], common: ArgParser) -> None:
    _, proj = group(sub, common, "proj", "Manage projects", aliases=("project", "projects"))
    p = command(proj, common, "create", "Create a project", create)
    p.add_argument("project", metavar="PROJECT", nargs="?")
    p.add_argument("-f", "--file", default=None, help="project manifest file")
    add_bool(p, "--upsert", help="overwrite an existing project with a different spec")
    _spec_flags(p)

    p = command(proj, common, "get", "Show a project", get)
    p.add_argument("project", metavar="PROJECT")
    add_output(p, "json|yaml|wide", default="wide")

    p = command(proj, common, "list", "List projects", list_projects, aliases=("ls",))
    add_output(p, "json|yaml|wide|name", default="wide")

    p = command(proj, common, "delete", "Delete projects", delete, aliases=("rm",))
    p.add_argument("projects", metavar="PROJECT", nargs="+")

    p = command(proj, common, "set", "Change a project", set_project)
    p.add_argument("project", metavar="PROJECT")
    _spec_flags(p)

    for name, handler, text in (
        ("add-source", add_source, "Allow a source repository"),
        ("remove-source", remove_source, "Disallow a source repository"),
    ):
        p = command(proj, common, name, text, handler)
        p.add_argument("project", metavar="PROJECT")
        p.add_argument("url", metavar="URL")
    p = command(proj, common, "add-source-namespaces", "Allow application namespaces", add_source_namespaces)
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("namespaces", metavar="NAMESPACES")

    for name, handler, text in (
        ("add-destination", add_destination, "Allow a destination cluster and namespace"),
        ("remove-destination", remove_destination, "Disallow a destination"),
    ):
        p = command(proj, common, name, text, handler)
        p.add_argument("project", metavar="PROJECT")
        p.add_argument("server", metavar="SERVER")
        p.add_argument("namespace", metavar="NAMESPACE")
        add_bool(p, "--name", help="SERVER is a cluster name", dest="by_name")

    for name, key, allow, text in (
        ("allow-cluster-resource", "cluster", True, "Allow a cluster-scoped resource kind"),
        ("deny-cluster-resource", "cluster", False, "Deny a cluster-scoped resource kind"),
        ("allow-namespace-resource", "namespace", True, "Allow a namespaced resource kind"),
        ("deny-namespace-resource", "namespace", False, "Deny a namespaced resource kind"),
    ):
        p = command(proj, common, name, text, resource_rule)
        p.add_argument("project", metavar="PROJECT")
        p.add_argument("group_name", metavar="GROUP")
        p.add_argument("kind", metavar="KIND")
        p.add_argument("-l", "--list", dest="list_kind", default="", help="allow or deny list to change")
        p.set_defaults(scope=key, allow=allow)

    _, role = group(proj, common, "role", "Manage project roles")
    p = command(role, common, "create", "Create a role", role_create)
    _role_args(p)
    p.add_argument("-d", "--description", default="", help="description")
    p = command(role, common, "delete", "Delete a role", role_delete)
    _role_args(p)
    p = command(role, common, "list", "List roles", role_list)
    p.add_argument("project", metavar="PROJECT")
    add_output(p, "json|yaml|name|wide", default="wide")
    p = command(role, common, "get", "Show a role", role_get)
    _role_args(p)
    add_output(p, "json|yaml|wide", default="wide")
    for name, handler in (("add-policy", role_add_policy), ("remove-policy", role_remove_policy)):
        p = command(role, common, name, f"{name.split('-')[0].capitalize()} a policy line of a role", handler)
        _role_args(p)
        p.add_argument("-a", "--action", default="", help="action, e.g. get or sync")
        p.add_argument("-o", "--object", default="*", help="object inside the project (app name or glob)")
        p.add_argument("-p", "--permission", default="allow", help="allow or deny")
        p.add_argument("-r", "--resource", default="applications", help="resource")
    for name, handler in (("add-group", role_add_group), ("remove-group", role_remove_group)):
        p = command(role, common, name, f"{name.split('-')[0].capitalize()} an SSO group of a role", handler)
        _role_args(p)
        p.add_argument("group_claim", metavar="GROUP-CLAIM")
    p = command(role, common, "create-token", "Create a token for a role", role_create_token)
    _role_args(p)
    p.add_argument("-e", "--expires-in", default="0s", help="lifetime; 0s = never expires")
    p.add_argument("-i", "--id", default="", help="token id")
    add_bool(p, "-t", "--token-only", help="print only the token")
    p = command(role, common, "delete-token", "Delete a role's token by its issue time", role_delete_token)
    _role_args(p)
    p.add_argument("iat", metavar="ISSUED-AT")
    p = command(role, common, "list-tokens", "List a role's tokens", role_list_tokens)
    _role_args(p)
    add_bool(p, "-u", "--unixtime", help="print times as Unix seconds")

    _, windows = group(proj, common, "windows", "Manage sync windows", aliases=("sw",))
    p = command(windows, common, "add", "Add a sync window", windows_add)
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("-k", "--kind", default="", help="allow or deny")
    p.add_argument("--schedule", default="", help="cron schedule, e.g. '0 22 * * *'")
    p.add_argument("--duration", default="", help="how long it stays open, e.g. 1h")
    p.add_argument("--applications", action="append", default=None, help="application globs")
    p.add_argument("--namespaces", action="append", default=None, help="namespace globs")
    p.add_argument("--clusters", action="append", default=None, help="cluster globs")
    add_bool(p, "--manual-sync", help="allow manual syncs while active")
    p.add_argument("--time-zone", default="UTC", help="time zone of the schedule")
    p.add_argument("--description", default="", help="description")
    add_bool(p, "--use-and-operator", help="require every target list to match")
    p = command(windows, common, "list", "List sync windows", windows_list)
    p.add_argument("project", metavar="PROJECT")
    add_output(p, "json|yaml|wide", default="wide")
    p = command(windows, common, "delete", "Delete a sync window by id", windows_delete)
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("window_id", type=int, metavar="ID")
    for name, value in (("enable-manual-sync", True), ("disable-manual-sync", False)):
        p = command(windows, common, name, f"Set manualSync={str(value).lower()} on a window", windows_manual)
        p.add_argument("project", metavar="PROJECT")
        p.add_argument("window_id", type=int, metavar="ID")
        p.set_defaults(manual=value)


def _role_args(p: ArgParser) -> None:
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("role", metavar="ROLE-NAME")


def _spec_flags(p: ArgParser) -> None:
    p.add_argument("--description", default=None, help="description")
    p.add_argument("-d", "--dest", action="append", default=None, help="destination SERVER,NAMESPACE (repeatable)")
    p.add_argument("-s", "--src", action="append", default=None, help="allowed source repository (repeatable)")
    p.add_argument("--source-namespaces", action="append", default=None, help="allowed application namespaces")
    p.add_argument("--signature-keys", action="append", default=None, help="GnuPG key ids commits must be signed by")
    p.add_argument("--allow-cluster-resource", action="append", default=None, help="GROUP/KIND (repeatable)")
    p.add_argument("--deny-cluster-resource", action="append", default=None, help="GROUP/KIND (repeatable)")
    p.add_argument("--allow-namespaced-resource", action="append", default=None, help="GROUP/KIND (repeatable)")
    p.add_argument("--deny-namespaced-resource", action="append", default=None, help="GROUP/KIND (repeatable)")
    add_bool(p, "--orphaned-resources", help="monitor orphaned resources", default=None)  # type: ignore[arg-type]
    add_bool(p, "--orphaned-resources-warn", help="warn about orphaned resources", default=None)  # type: ignore[arg-type]


def _group_kind(text: str) -> dict[str, str]:
    if "/" not in text:
        raise UsageError(f"expected GROUP/KIND, got {text!r}")
    group_name, kind = text.split("/", 1)
    return {"group": group_name, "kind": kind}


def _apply_spec(spec: dict[str, Any], ctx: Context) -> None:
    if ctx.description is not None:
        spec["description"] = ctx.description
    if ctx.dest is not None:
        dests = []
        for entry in ctx.dest:
            parts = entry.split(",")
            if len(parts) != 2:
                raise UsageError(f"destination should be SERVER,NAMESPACE: {entry}")
            dests.append({"server": parts[0], "namespace": parts[1]})
        spec["destinations"] = dests
    if ctx.src is not None:
        spec["sourceRepos"] = list(ctx.src)
    if ctx.source_namespaces is not None:
        spec["sourceNamespaces"] = list(ctx.source_namespaces)
    if ctx.signature_keys is not None:
        spec["signatureKeys"] = [{"keyID": k} for k in ctx.signature_keys]
    for flag, key in (
        ("allow_cluster_resource", "clusterResourceWhitelist"),
        ("deny_cluster_resource", "clusterResourceBlacklist"),
        ("allow_namespaced_resource", "namespaceResourceWhitelist"),
        ("deny_namespaced_resource", "namespaceResourceBlacklist"),
    ):
        values = getattr(ctx.args, flag)
        if values is not None:
            spec[key] = [_group_kind(v) for v in values]
    if ctx.orphaned_resources is not None or ctx.orphaned_resources_warn is not None:
        if ctx.orphaned_resources is False:
            spec.pop("orphanedResources", None)
        else:
            orphaned = dict(spec.get("orphanedResources") or {})
            if ctx.orphaned_resources_warn is not None:
                orphaned["warn"] = ctx.orphaned_resources_warn
            spec["orphanedResources"] = orphaned


def _get(ctx: Context, name: str) -> dict[str, Any]:
    answer = ctx.client.get(f"{PROJECTS}/{esc(name)}")
    return answer if isinstance(answer, dict) else {}


def _update(ctx: Context, proj: dict[str, Any]) -> dict[str, Any]:
    name = (proj.get("metadata") or {}).get("name", "")
    answer = ctx.client.put(f"{PROJECTS}/{esc(name)}", {"project": proj})
    return answer if isinstance(answer, dict) else {}


def create(ctx: Context) -> int:
    if ctx.file:
        from argocd_server.cli.commands.app import _load_manifests

        docs = _load_manifests(ctx.file)
    else:
        if not ctx.project:
            raise UsageError("a project name is required")
        docs = [{"metadata": {"name": ctx.project}, "spec": {}}]
    for proj in docs:
        if ctx.project:
            proj.setdefault("metadata", {})["name"] = ctx.project
        _apply_spec(proj.setdefault("spec", {}), ctx)
        ctx.client.post(PROJECTS, {"project": proj, "upsert": ctx.upsert})
    return 0


def _dest_text(dest: dict[str, Any]) -> str:
    return f"{dest.get('server') or dest.get('name', '')},{dest.get('namespace', '')}"


def _gk_list(items: Any) -> str:
    return ", ".join(f"{i.get('group', '')}/{i.get('kind', '')}" for i in items or []) or "<none>"


def get(ctx: Context) -> int:
    proj = _get(ctx, ctx.project)
    if output.print_object(proj, ctx.output):
        return 0
    spec = proj.get("spec") or {}
    w = 29

    def line(label: str, values: list[str]) -> None:
        if not values:
            print(output.kv(label, "<none>", width=w))
            return
        print(output.kv(label, values[0], width=w))
        for value in values[1:]:
            print(output.kv("", value, width=w))

    print(output.kv("Name:", (proj.get("metadata") or {}).get("name", ""), width=w))
    print(output.kv("Description:", spec.get("description", ""), width=w))
    line("Destinations:", [_dest_text(d) for d in spec.get("destinations") or []])
    line("Repositories:", list(spec.get("sourceRepos") or []))
    line("Source Namespaces:", list(spec.get("sourceNamespaces") or []))
    line("Allowed Cluster Resources:", [_gk_list([i]) for i in spec.get("clusterResourceWhitelist") or []])
    line("Denied Cluster Resources:", [_gk_list([i]) for i in spec.get("clusterResourceBlacklist") or []])
    line("Allowed Namespaced Resources:", [_gk_list([i]) for i in spec.get("namespaceResourceWhitelist") or []])
    line("Denied Namespaced Resources:", [_gk_list([i]) for i in spec.get("namespaceResourceBlacklist") or []])
    line("Signature keys:", [k.get("keyID", "") for k in spec.get("signatureKeys") or []])
    orphaned = spec.get("orphanedResources")
    if orphaned is None:
        print(output.kv("Orphaned Resources:", "disabled", width=w))
    else:
        print(output.kv("Orphaned Resources:", f"enabled (warn={str(bool(orphaned.get('warn'))).lower()})", width=w))
    return 0


def _count(items: list[Any], single: str, noun: str) -> str:
    if not items:
        return "<none>"
    return single if len(items) == 1 else f"{len(items)} {noun}"


def list_projects(ctx: Context) -> int:
    projects = items_of(ctx.client.get(PROJECTS))
    if output.print_object(projects, ctx.output):
        return 0
    if ctx.output == "name":
        for proj in projects:
            print((proj.get("metadata") or {}).get("name", ""))
        return 0
    if ctx.output not in ("", "wide"):
        raise UsageError(f"unknown output format: {ctx.output}")
    rows = [
        [
            "NAME",
            "DESCRIPTION",
            "DESTINATIONS",
            "SOURCES",
            "CLUSTER-RESOURCE-WHITELIST",
            "NAMESPACE-RESOURCE-BLACKLIST",
            "SIGNATURE-KEYS",
            "ORPHANED-RESOURCES",
            "DESTINATION-SERVICE-ACCOUNTS",
        ]
    ]
    for proj in projects:
        spec = proj.get("spec") or {}
        dests = spec.get("destinations") or []
        repos = spec.get("sourceRepos") or []
        white = spec.get("clusterResourceWhitelist") or []
        black = spec.get("namespaceResourceBlacklist") or []
        keys = spec.get("signatureKeys") or []
        accounts = spec.get("destinationServiceAccounts") or []
        orphaned = spec.get("orphanedResources")
        rows.append(
            [
                str((proj.get("metadata") or {}).get("name", "")),
                str(spec.get("description", "")),
                _count(dests, _dest_text(dests[0]) if dests else "", "destinations"),
                _count(repos, str(repos[0]) if repos else "", "repos"),
                _count(white, _gk_list(white[:1]), "resources"),
                _count(black, _gk_list(black[:1]), "resources"),
                _count(keys, str(keys[0].get("keyID", "")) if keys else "", "keys"),
                "disabled" if orphaned is None else f"enabled (warn={str(bool(orphaned.get('warn'))).lower()})",
                _count(
                    accounts,
                    f"{accounts[0].get('server', '')},{accounts[0].get('namespace', '')}" if accounts else "",
                    "destinationServiceAccounts",
                ),
            ]
        )
    output.table(rows)
    return 0


def delete(ctx: Context) -> int:
    for name in ctx.projects:
        ctx.client.delete(f"{PROJECTS}/{esc(name)}")
    return 0


def set_project(ctx: Context) -> int:
    proj = _get(ctx, ctx.project)
    spec = proj.setdefault("spec", {})
    _apply_spec(spec, ctx)
    _update(ctx, proj)
    return 0


def add_source(ctx: Context) -> int:
    proj = _get(ctx, ctx.project)
    spec = proj.setdefault("spec", {})
    repos = list(spec.get("sourceRepos") or [])
    if ctx.url in repos:
        print(f"Source repository '{ctx.url}' already allowed in project")
        return 0
    spec["sourceRepos"] = [*repos, ctx.url]
    _update(ctx, proj)
    return 0


def remove_source(ctx: Context) -> int:
    proj = _get(ctx, ctx.project)
    spec = proj.setdefault("spec", {})
    repos = list(spec.get("sourceRepos") or [])
    if ctx.url not in repos:
        print(f"Source repository '{ctx.url}' does not exist in project")
        return 0
    spec["sourceRepos"] = [r for r in repos if r != ctx.url]
    _update(ctx, proj)
    return 0


def add_source_namespaces(ctx: Context) -> int:
    proj = _get(ctx, ctx.project)
    spec = proj.setdefault("spec", {})
    current = list(spec.get("sourceNamespaces") or [])
    for namespace in ctx.namespaces.split(","):
        if namespace and namespace not in current:
            current.append(namespace)
    spec["sourceNamespaces"] = current
    _update(ctx, proj)
    return 0


def _dest_matches(dest: dict[str, Any], ctx: Context) -> bool:
    key = "name" if ctx.by_name else "server"
    return bool(dest.get(key) == ctx.server and dest.get("namespace", "") == ctx.namespace)


def add_destination(ctx: Context) -> int:
    proj = _get(ctx, ctx.project)
    spec = proj.setdefault("spec", {})
    dests = list(spec.get("destinations") or [])
    if any(_dest_matches(d, ctx) for d in dests):
        raise CliError("Specified destination is already defined in project")
    dests.append({"name" if ctx.by_name else "server": ctx.server, "namespace": ctx.namespace})
    spec["destinations"] = dests
    _update(ctx, proj)
    return 0


def remove_destination(ctx: Context) -> int:
    proj = _get(ctx, ctx.project)
    spec = proj.setdefault("spec", {})
    dests = list(spec.get("destinations") or [])
    kept = [d for d in dests if not _dest_matches(d, ctx)]
    if len(kept) == len(dests):
        raise CliError("Specified destination does not exist in project")
    spec["destinations"] = kept
    _update(ctx, proj)
    return 0


def resource_rule(ctx: Context) -> int:
    """allow/deny on cluster or namespaced kinds, changing the allow list or the deny list as upstream does."""
    proj = _get(ctx, ctx.project)
    spec = proj.setdefault("spec", {})
    scope = "cluster" if ctx.scope == "cluster" else "namespace"
    default_list = "allow" if scope == "cluster" else "deny"
    which = ctx.list_kind or default_list
    if which not in ("allow", "deny", "white", "black"):
        raise UsageError(f"--list must be allow or deny, got {which!r}")
    is_allow_list = which in ("allow", "white")
    key = {
        ("cluster", True): "clusterResourceWhitelist",
        ("cluster", False): "clusterResourceBlacklist",
        ("namespace", True): "namespaceResourceWhitelist",
        ("namespace", False): "namespaceResourceBlacklist",
    }[(scope, is_allow_list)]
    entry = {"group": ctx.group_name, "kind": ctx.kind}
    items = [dict(i) for i in spec.get(key) or []]
    present = any(i.get("group") == entry["group"] and i.get("kind") == entry["kind"] for i in items)
    # Allowing adds to an allow list or removes from a deny list; denying does the reverse.
    add = ctx.allow == is_allow_list
    label = f"{entry['group']}/{entry['kind']}"
    if add:
        if present:
            print(f"Group '{entry['group']}' and kind '{entry['kind']}' already present in {which} list")
            return 0
        items.append(entry)
    else:
        if not present:
            print(f"Group '{entry['group']}' and kind '{entry['kind']}' not in {which} list")
            return 0
        items = [i for i in items if not (i.get("group") == entry["group"] and i.get("kind") == entry["kind"])]
    if items:
        spec[key] = items
    else:
        spec.pop(key, None)
    _update(ctx, proj)
    print(
        f"Group '{entry['group']}' and kind '{entry['kind']}' is {'added to' if add else 'removed from'} {which} list"
    )
    del label
    return 0


def _roles(proj: dict[str, Any]) -> list[dict[str, Any]]:
    roles: list[dict[str, Any]] = proj.setdefault("spec", {}).setdefault("roles", [])
    return roles


def _role(proj: dict[str, Any], name: str) -> dict[str, Any]:
    for role in _roles(proj):
        if role.get("name") == name:
            return role
    project = (proj.get("metadata") or {}).get("name", "")
    raise CliError(f"project '{project}' does not have role '{name}'")


def role_create(ctx: Context) -> int:
    proj = _get(ctx, ctx.project)
    if any(r.get("name") == ctx.role for r in _roles(proj)):
        print(f"Role '{ctx.role}' already exists")
        return 0
    role: dict[str, Any] = {"name": ctx.role}
    if ctx.description:
        role["description"] = ctx.description
    _roles(proj).append(role)
    _update(ctx, proj)
    print(f"Role '{ctx.role}' created")
    return 0


def role_delete(ctx: Context) -> int:
    proj = _get(ctx, ctx.project)
    roles = _roles(proj)
    if not any(r.get("name") == ctx.role for r in roles):
        print(f"Role '{ctx.role}' does not exist in project")
        return 0
    proj["spec"]["roles"] = [r for r in roles if r.get("name") != ctx.role]
    _update(ctx, proj)
    print(f"Role '{ctx.role}' deleted")
    return 0


def role_list(ctx: Context) -> int:
    roles = _roles(_get(ctx, ctx.project))
    if output.print_object(roles, ctx.output):
        return 0
    if ctx.output == "name":
        for role in roles:
            print(role.get("name", ""))
        return 0
    output.table(
        [["ROLE-NAME", "DESCRIPTION"]] + [[str(r.get("name", "")), str(r.get("description", ""))] for r in roles]
    )
    return 0


def role_get(ctx: Context) -> int:
    proj = _get(ctx, ctx.project)
    role = _role(proj, ctx.role)
    if output.print_object(role, ctx.output):
        return 0
    print(output.kv("Role Name:", ctx.role))
    print(output.kv("Description:", role.get("description", "")))
    print("Policies:")
    for policy in role.get("policies") or []:
        print(policy)
    print("Groups:")
    for grp in role.get("groups") or []:
        print(grp)
    print("JWT Tokens:")
    _print_tokens(proj, ctx.role, unix=False)
    return 0


def _policy(ctx: Context) -> str:
    if not ctx.action:
        raise UsageError("--action is required")
    return (
        f"p, proj:{ctx.project}:{ctx.role}, {ctx.resource}, {ctx.action}, {ctx.project}/{ctx.object}, {ctx.permission}"
    )


def role_add_policy(ctx: Context) -> int:
    proj = _get(ctx, ctx.project)
    role = _role(proj, ctx.role)
    line = _policy(ctx)
    policies = list(role.get("policies") or [])
    if line not in policies:
        policies.append(line)
    role["policies"] = policies
    _update(ctx, proj)
    return 0


def role_remove_policy(ctx: Context) -> int:
    proj = _get(ctx, ctx.project)
    role = _role(proj, ctx.role)
    line = _policy(ctx)
    policies = [p for p in role.get("policies") or [] if p.replace(" ", "") != line.replace(" ", "")]
    role["policies"] = policies
    _update(ctx, proj)
    return 0


def role_add_group(ctx: Context) -> int:
    proj = _get(ctx, ctx.project)
    role = _role(proj, ctx.role)
    groups = list(role.get("groups") or [])
    if ctx.group_claim in groups:
        print(f"Group '{ctx.group_claim}' already present in role '{ctx.role}'")
        return 0
    role["groups"] = [*groups, ctx.group_claim]
    _update(ctx, proj)
    print(f"Group '{ctx.group_claim}' added to role '{ctx.role}'")
    return 0


def role_remove_group(ctx: Context) -> int:
    proj = _get(ctx, ctx.project)
    role = _role(proj, ctx.role)
    groups = list(role.get("groups") or [])
    if ctx.group_claim not in groups:
        print(f"Group '{ctx.group_claim}' not present in role '{ctx.role}'")
        return 0
    role["groups"] = [g for g in groups if g != ctx.group_claim]
    _update(ctx, proj)
    print(f"Group '{ctx.group_claim}' removed from role '{ctx.role}'")
    return 0


def _fmt_unix(value: Any, *, unix: bool) -> str:
    if not value:
        return "<none>"
    if unix:
        return str(value)
    return datetime.fromtimestamp(int(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _print_tokens(proj: dict[str, Any], role_name: str, *, unix: bool) -> None:
    tokens = list(_role(proj, role_name).get("jwtTokens") or [])
    by_role = ((proj.get("status") or {}).get("jwtTokensByRole") or {}).get(role_name) or {}
    for token in by_role.get("items") or []:
        if not any(t.get("iat") == token.get("iat") for t in tokens):
            tokens.append(token)
    if not tokens:
        print("<none>")
        return
    rows = [["ID", "ISSUED AT", "EXPIRES AT"]]
    for token in tokens:
        rows.append(
            [str(token.get("id", "")), _fmt_unix(token.get("iat"), unix=unix), _fmt_unix(token.get("exp"), unix=unix)]
        )
    output.table(rows)


def role_list_tokens(ctx: Context) -> int:
    _print_tokens(_get(ctx, ctx.project), ctx.role, unix=ctx.unixtime)
    return 0


def role_create_token(ctx: Context) -> int:
    body: dict[str, Any] = {"expiresIn": int(parse_duration(ctx.expires_in))}
    if ctx.id:
        body["id"] = ctx.id
    answer = ctx.client.post(f"{PROJECTS}/{esc(ctx.project)}/roles/{esc(ctx.role)}/token", body)
    token = str(answer.get("token", ""))
    if ctx.token_only:
        print(token)
        return 0
    from argocd_server.cli.commands._util import jwt_claims

    claims = jwt_claims(token)
    print(f"Create token succeeded for {claims.get('sub', f'proj:{ctx.project}:{ctx.role}')}.")
    print(f"  ID: {claims.get('jti', ctx.id)}")
    print(f"  Issued At: {_fmt_unix(claims.get('iat'), unix=False)}")
    print(f"  Expires At: {_fmt_unix(claims.get('exp'), unix=False) if claims.get('exp') else 'Never'}")
    print(f"  Token: {token}")
    return 0


def role_delete_token(ctx: Context) -> int:
    try:
        iat = int(ctx.iat)
    except ValueError as exc:
        raise UsageError(f"ISSUED-AT must be Unix seconds, got {ctx.iat!r}") from exc
    ctx.client.delete(f"{PROJECTS}/{esc(ctx.project)}/roles/{esc(ctx.role)}/token/{iat}")
    return 0


def _window_active(window: dict[str, Any]) -> bool:
    try:
        from zoneinfo import ZoneInfo

        from croniter import croniter

        zone = ZoneInfo(str(window.get("timeZone") or "UTC"))
        now = datetime.now(zone)
        last = croniter(str(window.get("schedule", "")), now).get_prev(datetime)
        open_seconds = parse_duration(str(window.get("duration", "0s")))
        elapsed: float = (now - last).total_seconds()
        return elapsed <= open_seconds
    except Exception:  # a window this client cannot evaluate is shown as inactive
        return False


def windows_add(ctx: Context) -> int:
    if ctx.kind not in ("allow", "deny"):
        raise UsageError("--kind must be allow or deny")
    proj = _get(ctx, ctx.project)
    window: dict[str, Any] = {"kind": ctx.kind, "schedule": ctx.schedule, "duration": ctx.duration}
    for key in ("applications", "namespaces", "clusters"):
        values = [v for raw in getattr(ctx.args, key) or [] for v in raw.split(",") if v]
        if values:
            window[key] = values
    if ctx.manual_sync:
        window["manualSync"] = True
    if ctx.time_zone:
        window["timeZone"] = ctx.time_zone
    if ctx.description:
        window["description"] = ctx.description
    if ctx.use_and_operator:
        window["andOperator"] = True
    spec = proj.setdefault("spec", {})
    spec["syncWindows"] = [*(spec.get("syncWindows") or []), window]
    _update(ctx, proj)
    return 0


def windows_list(ctx: Context) -> int:
    windows = list((_get(ctx, ctx.project).get("spec") or {}).get("syncWindows") or [])
    if output.print_object(windows, ctx.output):
        return 0
    rows = [
        [
            "ID",
            "STATUS",
            "KIND",
            "SCHEDULE",
            "DURATION",
            "APPLICATIONS",
            "NAMESPACES",
            "CLUSTERS",
            "MANUALSYNC",
            "TIMEZONE",
            "USEANDOPERATOR",
        ]
    ]
    for index, window in enumerate(windows):
        rows.append(
            [
                str(index),
                "Active" if _window_active(window) else "Inactive",
                str(window.get("kind", "")),
                str(window.get("schedule", "")),
                str(window.get("duration", "")),
                csv_join(window.get("applications")) or "-",
                csv_join(window.get("namespaces")) or "-",
                csv_join(window.get("clusters")) or "-",
                "Enabled" if window.get("manualSync") else "Disabled",
                str(window.get("timeZone", "")),
                "Enabled" if window.get("andOperator") else "Disabled",
            ]
        )
    output.table(rows)
    return 0


def _window_edit(ctx: Context) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    proj = _get(ctx, ctx.project)
    windows = [copy.deepcopy(w) for w in (proj.get("spec") or {}).get("syncWindows") or []]
    if not 0 <= ctx.window_id < len(windows):
        raise CliError(f"window with id '{ctx.window_id}' not found")
    return proj, windows


def windows_delete(ctx: Context) -> int:
    proj, windows = _window_edit(ctx)
    del windows[ctx.window_id]
    if windows:
        proj["spec"]["syncWindows"] = windows
    else:
        proj["spec"].pop("syncWindows", None)
    _update(ctx, proj)
    return 0


def windows_manual(ctx: Context) -> int:
    proj, windows = _window_edit(ctx)
    if ctx.manual:
        windows[ctx.window_id]["manualSync"] = True
    else:
        windows[ctx.window_id].pop("manualSync", None)
    proj["spec"]["syncWindows"] = windows
    _update(ctx, proj)
    return 0
