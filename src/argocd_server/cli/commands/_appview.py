"""How applications are printed: the summary block, resource tables, the resource tree, operation results."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from argocd_server.cli import output
from argocd_server.cli.client import Connection

_SHA = re.compile(r"^[0-9a-f]{40}$")
_SHORT_SHA = re.compile(r"^[0-9a-f]{7,39}$")


def qualified_name(app: dict[str, Any]) -> str:
    meta = app.get("metadata") or {}
    namespace = meta.get("namespace") or ""
    return f"{namespace}/{meta.get('name', '')}" if namespace else str(meta.get("name", ""))


def sources_of(spec: dict[str, Any]) -> list[dict[str, Any]]:
    if spec.get("sources"):
        return list(spec["sources"])
    return [spec["source"]] if spec.get("source") else []


def first_source(spec: dict[str, Any]) -> dict[str, Any]:
    found = sources_of(spec)
    return found[0] if found else {}


def destination_server(app: dict[str, Any]) -> str:
    dest = (app.get("spec") or {}).get("destination") or {}
    return str(dest.get("server") or dest.get("name") or "")


def sync_policy_label(spec: dict[str, Any], *, long: bool) -> str:
    """``Manual``/``Automated (Prune)`` for the summary, ``Manual``/``Auto``/``Auto-Prune`` for the list."""
    automated = (spec.get("syncPolicy") or {}).get("automated")
    if automated is None or automated.get("enabled") is False:
        return "Manual"
    if long:
        return "Automated (Prune)" if automated.get("prune") else "Automated"
    return "Auto-Prune" if automated.get("prune") else "Auto"


def conditions_summary(app: dict[str, Any]) -> str:
    counts: dict[str, int] = {}
    for condition in (app.get("status") or {}).get("conditions") or []:
        counts[str(condition.get("type", ""))] = counts.get(str(condition.get("type", "")), 0) + 1
    if not counts:
        return "<none>"
    return ",".join(f"{k}({v})" if v > 1 else k for k, v in sorted(counts.items()))


def app_url(conn: Connection, app: dict[str, Any]) -> str:
    base = conn.base_url or ""
    return f"{base}/applications/{(app.get('metadata') or {}).get('name', '')}"


def go_duration(seconds: float) -> str:
    """A duration printed as Go does (``1m5s``, ``2h0m0s``, ``0s``)."""
    total = int(seconds)
    if total <= 0:
        return "0s"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def _sync_status_line(app: dict[str, Any]) -> str:
    spec = app.get("spec") or {}
    sync = (app.get("status") or {}).get("sync") or {}
    status = str(sync.get("status") or "")
    target = str(first_source(spec).get("targetRevision") or "HEAD")
    text = status
    if status == "Synced":
        text += f" to {target}"
    elif status == "OutOfSync":
        text += f" from {target}"
    revision = str(sync.get("revision") or "")
    if not _SHA.match(target) and not _SHORT_SHA.match(target) and len(revision) > 7:
        text += f" ({revision[:7]})"
    return text


def _print_source(source: dict[str, Any]) -> None:
    print(output.kv("- Repo:", source.get("repoURL", "")))
    print(output.kv("  Target:", source.get("targetRevision", "")))
    if source.get("path"):
        print(output.kv("  Path:", source["path"]))
    if source.get("chart"):
        print(output.kv("  Chart:", source["chart"]))
    if source.get("ref"):
        print(output.kv("  Ref:", source["ref"]))
    helm = source.get("helm") or {}
    if helm.get("valueFiles"):
        print(output.kv("  Helm Values:", ",".join(helm["valueFiles"])))
    kustomize = source.get("kustomize") or {}
    if kustomize.get("namePrefix"):
        print(output.kv("  Name Prefix:", kustomize["namePrefix"]))
    if kustomize.get("nameSuffix"):
        print(output.kv("  Name Suffix:", kustomize["nameSuffix"]))


def print_summary(app: dict[str, Any], *, conn: Connection, windows: dict[str, Any] | None) -> None:
    spec = app.get("spec") or {}
    status = app.get("status") or {}
    print(output.kv("Name:", qualified_name(app)))
    print(output.kv("Project:", spec.get("project") or "default"))
    print(output.kv("Server:", destination_server(app)))
    print(output.kv("Namespace:", (spec.get("destination") or {}).get("namespace", "")))
    print(output.kv("URL:", app_url(conn, app)))
    sources = sources_of(spec)
    print("Sources:" if len(sources) > 1 or spec.get("sources") else "Source:")
    for source in sources:
        _print_source(source)
    if windows is not None:
        label = "Sync Allowed" if windows.get("canSync", True) else "Sync Denied"
        if windows.get("activeWindows") and windows.get("canSync", True):
            label = "Sync Allowed"
        print(output.kv("SyncWindow:", label))
    print(output.kv("Sync Policy:", sync_policy_label(spec, long=True)))
    print(output.kv("Sync Status:", _sync_status_line(app)))
    health = status.get("health") or {}
    health_text = str(health.get("status") or "")
    if health.get("message"):
        health_text += f" ({health['message']})"
    print(output.kv("Health Status:", health_text))
    conditions = status.get("conditions") or []
    if conditions:
        print()
        rows = [["CONDITION", "MESSAGE", "LAST TRANSITION"]]
        for condition in conditions:
            rows.append(
                [
                    str(condition.get("type", "")),
                    str(condition.get("message", "")),
                    output.go_time(condition.get("lastTransitionTime")),
                ]
            )
        output.table(rows)


def print_operation(op_state: dict[str, Any] | None) -> None:
    if not op_state:
        return
    result = op_state.get("syncResult")
    if result is not None:
        print(output.kv("Operation:", "Sync"))
        if result.get("sources") and result.get("revisions"):
            print(output.kv("Sync Revision:", ", ".join(result["revisions"])))
        else:
            print(output.kv("Sync Revision:", result.get("revision", "")))
    print(output.kv("Phase:", op_state.get("phase", "")))
    print(output.kv("Start:", output.go_time(op_state.get("startedAt"))))
    print(output.kv("Finished:", output.go_time(op_state.get("finishedAt"))))
    started = output.parse_time(op_state.get("startedAt"))
    finished = output.parse_time(op_state.get("finishedAt")) or datetime.now(UTC)
    print(output.kv("Duration:", go_duration((finished - started).total_seconds()) if started else "0s"))
    if op_state.get("message"):
        print(output.kv("Message:", op_state["message"]))


def resource_key(res: dict[str, Any]) -> tuple[str, str, str, str]:
    return (
        str(res.get("group", "")),
        str(res.get("kind", "")),
        str(res.get("namespace", "")),
        str(res.get("name", "")),
    )


def resource_states(app: dict[str, Any]) -> list[dict[str, str]]:
    """Rows of the resource table: managed resources with their sync message, then hooks of the last sync."""
    status = app.get("status") or {}
    results = ((status.get("operationState") or {}).get("syncResult") or {}).get("resources") or []
    messages: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for res in results:
        if not res.get("hookType"):
            messages[resource_key(res)] = res
    rows: list[dict[str, str]] = []
    for res in status.get("resources") or []:
        if res.get("hook"):
            continue
        result = messages.get(resource_key(res), {})
        rows.append(
            {
                "group": str(res.get("group", "")),
                "kind": str(res.get("kind", "")),
                "namespace": str(res.get("namespace", "")),
                "name": str(res.get("name", "")),
                "status": str(res.get("status", "")),
                "health": str((res.get("health") or {}).get("status", "")),
                "hook": "",
                "message": str(result.get("message", "")),
            }
        )
    for res in results:
        if res.get("hookType"):
            rows.append(
                {
                    "group": str(res.get("group", "")),
                    "kind": str(res.get("kind", "")),
                    "namespace": str(res.get("namespace", "")),
                    "name": str(res.get("name", "")),
                    "status": str(res.get("hookPhase", "")),
                    "health": "",
                    "hook": str(res.get("hookType", "")),
                    "message": str(res.get("message", "")),
                }
            )
    return rows


RESOURCE_HEADERS = ["GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "HOOK", "MESSAGE"]
RESOURCE_FIELDS = ["group", "kind", "namespace", "name", "status", "health", "hook", "message"]


def print_resources(app: dict[str, Any]) -> None:
    rows = resource_states(app)
    if not rows:
        return
    print()
    output.table([RESOURCE_HEADERS] + [[r[f] for f in RESOURCE_FIELDS] for r in rows])


def print_params(app: dict[str, Any]) -> None:
    source = first_source(app.get("spec") or {})
    helm = source.get("helm") or {}
    if helm.get("parameters"):
        print()
        rows = [["NAME", "VALUE"]]
        rows += [[str(p.get("name", "")), str(p.get("value", ""))] for p in helm["parameters"]]
        output.table(rows)
    images = (source.get("kustomize") or {}).get("images") or []
    if images:
        print()
        output.table([["IMAGE"]] + [[str(i)] for i in images])


def print_tree(app: dict[str, Any], tree: dict[str, Any], *, detailed: bool) -> None:
    """The resource tree, parents before children, drawn with box characters."""
    nodes = list(tree.get("nodes") or [])
    by_uid = {n.get("uid"): n for n in nodes if n.get("uid")}
    children: dict[str, list[dict[str, Any]]] = {}
    roots: list[dict[str, Any]] = []
    for node in nodes:
        parents = [p.get("uid") for p in node.get("parentRefs") or [] if p.get("uid") in by_uid]
        if parents:
            children.setdefault(str(parents[0]), []).append(node)
        else:
            roots.append(node)
    states = {resource_key(r): r for r in (app.get("status") or {}).get("resources") or []}
    headers = ["KIND/NAME", "STATUS", "HEALTH", "MESSAGE"]
    if detailed:
        headers = ["KIND/NAME", "AGE", "STATUS", "HEALTH", "REASON"]
    rows: list[list[str]] = [headers]

    def visit(node: dict[str, Any], prefix: str, last: bool, depth: int) -> None:
        state = states.get(resource_key(node), {})
        branch = "" if depth == 0 else prefix + ("└─" if last else "├─")
        label = f"{branch}{node.get('kind', '')}/{node.get('name', '')}"
        health = (node.get("health") or {}).get("status") or (state.get("health") or {}).get("status", "")
        message = (node.get("health") or {}).get("message", "")
        if detailed:
            rows.append([label, output.human_age(node.get("createdAt")), str(state.get("status", "")), str(health), ""])
        else:
            rows.append([label, str(state.get("status", "")), str(health), str(message)])
        kids = sorted(children.get(str(node.get("uid")), []), key=lambda n: (n.get("kind", ""), n.get("name", "")))
        next_prefix = "" if depth == 0 else prefix + ("   " if last else "│  ")
        for index, kid in enumerate(kids):
            visit(kid, next_prefix, index == len(kids) - 1, depth + 1)

    for root in sorted(roots, key=lambda n: (n.get("kind", ""), n.get("name", ""))):
        visit(root, "", True, 0)
    print()
    output.table(rows)


def print_app_list(apps: list[dict[str, Any]], out: str) -> None:
    if out == "name":
        for app in apps:
            print(qualified_name(app))
        return
    wide = out in ("wide", "")
    headers = ["NAME", "CLUSTER", "NAMESPACE", "PROJECT", "STATUS", "HEALTH", "SYNCPOLICY", "CONDITIONS"]
    if wide:
        headers += ["REPO", "PATH", "TARGET"]
    rows: list[list[str]] = [headers]
    for app in apps:
        spec = app.get("spec") or {}
        status = app.get("status") or {}
        row = [
            qualified_name(app),
            destination_server(app),
            str((spec.get("destination") or {}).get("namespace", "")),
            str(spec.get("project", "")),
            str((status.get("sync") or {}).get("status", "")),
            str((status.get("health") or {}).get("status", "")),
            sync_policy_label(spec, long=False),
            conditions_summary(app),
        ]
        if wide:
            source = first_source(spec)
            row += [str(source.get("repoURL", "")), str(source.get("path", "")), str(source.get("targetRevision", ""))]
        rows.append(row)
    output.table(rows)


def print_history(app: dict[str, Any], out: str) -> None:
    history = (app.get("status") or {}).get("history") or []
    if out == "id":
        for entry in history:
            print(entry.get("id", 0))
        return
    grouped: dict[str, list[list[str]]] = {}
    for entry in history:
        if entry.get("sources"):
            for index, source in enumerate(entry["sources"]):
                revs = entry.get("revisions") or []
                rev = str(source.get("targetRevision", ""))
                if index < len(revs) and len(revs[index]) >= 7:
                    rev = f"{rev} ({revs[index][:7]})"
                grouped.setdefault(str(source.get("repoURL", "")), []).append(
                    [str(entry.get("id", 0)), output.go_time(entry.get("deployedAt")), rev]
                )
            continue
        source = entry.get("source") or {}
        rev = str(source.get("targetRevision", ""))
        revision = str(entry.get("revision") or "")
        if len(revision) >= 7:
            rev = f"{rev} ({revision[:7]})"
        grouped.setdefault(str(source.get("repoURL", "")), []).append(
            [str(entry.get("id", 0)), output.go_time(entry.get("deployedAt")), rev]
        )
    first = True
    for repo, entries in grouped.items():
        if not first:
            print()
        first = False
        output.table([["SOURCE", repo], ["ID", "DATE", "REVISION"], *entries])
