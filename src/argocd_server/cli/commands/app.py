"""``app``: create, inspect, change, sync, wait, diff, roll back and delete applications."""

from __future__ import annotations

import argparse
import copy
import difflib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from argocd_server.cli import output
from argocd_server.cli.client import ApiClient, esc
from argocd_server.cli.commands import _appview as view
from argocd_server.cli.commands._appspec import add_spec_flags, add_unset_flags, apply_spec_flags, apply_unset_flags
from argocd_server.cli.commands._util import add_output, command, group, items_of, key_values
from argocd_server.cli.errors import ApiError, CliError, UsageError
from argocd_server.cli.parser import ArgParser, Context, add_bool, confirm

APPS = "/api/v1/applications"


def register(sub: argparse._SubParsersAction[ArgParser], common: ArgParser) -> None:
    _, app = group(sub, common, "app", "Manage applications", aliases=("apps", "application", "applications"))

    p = command(app, common, "create", "Create an application from flags or a file", create)
    p.add_argument("app_name", nargs="?", metavar="APPNAME")
    p.add_argument("--name", dest="legacy_name", default=None, help=argparse.SUPPRESS)
    p.add_argument("-f", "--file", default=None, help="application manifest file (YAML or JSON; '-' for stdin)")
    p.add_argument("-N", "--app-namespace", default="", help="namespace the application lives in")
    p.add_argument("-l", "--label", action="append", default=None, help="label key=value (repeatable)")
    p.add_argument("--annotations", action="append", default=None, help="annotation key=value (repeatable)")
    add_bool(p, "--upsert", help="overwrite an existing application with a different spec")
    add_bool(p, "--set-finalizer", help="add the cascading-delete finalizer")
    add_spec_flags(p, for_set=False)

    p = command(app, common, "get", "Show an application", get)
    p.add_argument("app_name", metavar="APPNAME")
    _ns(p)
    add_output(p, "json|yaml|wide|tree|tree=detailed", default="wide")
    add_bool(p, "--refresh", help="refresh from the source before showing")
    add_bool(p, "--hard-refresh", help="refresh, bypassing the manifest cache")
    add_bool(p, "--show-operation", help="show the last operation")
    add_bool(p, "--show-params", help="show Helm parameters and Kustomize images")
    p.add_argument("--source-position", type=int, default=0, help=argparse.SUPPRESS)

    p = command(app, common, "list", "List applications", list_apps, aliases=("ls",))
    add_output(p, "json|yaml|wide|name", default="wide")
    p.add_argument("-p", "--project", action="append", default=None, help="only these projects")
    p.add_argument("-l", "--selector", default="", help="label selector")
    p.add_argument("-r", "--repo", default="", help="only apps from this repository")
    p.add_argument("-N", "--app-namespace", default="", help="only apps in this namespace")
    p.add_argument("--cluster", default="", help="only apps deployed to this cluster (server or name)")

    p = command(app, common, "set", "Change an application's source, destination or sync settings", set_app)
    p.add_argument("app_name", metavar="APPNAME")
    _ns(p)
    add_spec_flags(p, for_set=True)

    p = command(app, common, "unset", "Remove source parameters of an application", unset_app)
    p.add_argument("app_name", metavar="APPNAME")
    _ns(p)
    add_unset_flags(p)

    p = command(app, common, "delete", "Delete applications", delete, aliases=("rm",))
    p.add_argument("app_names", nargs="*", metavar="APPNAME")
    _ns(p)
    add_bool(p, "--cascade", help="also delete the application's resources (server default: true)", default=None)  # type: ignore[arg-type]
    p.add_argument("-p", "--propagation-policy", default=None, help="foreground or background")
    add_bool(p, "-y", "--yes", help="do not ask for confirmation")
    p.add_argument("-l", "--selector", default="", help="delete every app matching this label selector")
    add_bool(p, "--wait", help="wait until the applications are gone")

    p = command(app, common, "sync", "Sync applications to their target state", sync)
    p.add_argument("app_names", nargs="*", metavar="APPNAME")
    _ns(p)
    add_bool(p, "--prune", help="delete resources no longer in the source")
    add_bool(p, "--dry-run", help="preview without applying")
    p.add_argument("--revision", default="", help="sync to this revision")
    p.add_argument("--resource", action="append", default=None, help="GROUP:KIND:[NAMESPACE/]NAME (repeatable)")
    p.add_argument("-l", "--selector", default="", help="sync every app matching this label selector")
    p.add_argument("--label", action="append", default=None, help="only resources with this label key=value")
    p.add_argument("--strategy", default="", help="apply or hook")
    add_bool(p, "--force", help="force-replace resources that cannot be patched")
    add_bool(p, "--replace", help="use replace instead of apply")
    add_bool(p, "--server-side", help="use server-side apply")
    add_bool(p, "--apply-out-of-sync-only", help="apply only out-of-sync resources")
    add_bool(p, "--prune-last", help=argparse.SUPPRESS)
    p.add_argument("--sync-option", action="append", default=None, help="sync option Key=Value (repeatable)")
    p.add_argument("--info", action="append", default=None, help="operation info name=value")
    add_bool(p, "--async", help="do not wait for the sync to finish", dest="async_")
    add_bool(p, "--preview-changes", help=argparse.SUPPRESS)
    add_bool(p, "--assumeYes", help=argparse.SUPPRESS)
    p.add_argument("--timeout", type=int, default=0, help="seconds to wait (0 = no limit)")
    p.add_argument("--retry-limit", type=int, default=0, help="retries when the sync fails")
    p.add_argument("--retry-backoff-duration", default="5s", help="first retry delay")
    p.add_argument("--retry-backoff-factor", type=int, default=2, help="retry delay multiplier")
    p.add_argument("--retry-backoff-max-duration", default="3m0s", help="longest retry delay")
    add_bool(p, "--retry-refresh", help="refresh between retries when the target changed")
    p.add_argument("--source-positions", action="append", type=int, default=None, help="1-based source positions")
    p.add_argument("--revisions", action="append", default=None, help="revisions for --source-positions")
    add_output(p, "json|yaml|wide", default="wide")

    p = command(app, common, "wait", "Wait until applications are synced, healthy, or done operating", wait)
    p.add_argument("app_names", nargs="*", metavar="APPNAME")
    _ns(p)
    add_bool(p, "--sync", help="wait for Synced")
    add_bool(p, "--health", help="wait for Healthy")
    add_bool(p, "--operation", help="wait for the running operation to end")
    add_bool(p, "--suspended", help="wait for Suspended")
    add_bool(p, "--degraded", help="wait for Degraded")
    add_bool(p, "--delete", help="wait for the application to be deleted")
    p.add_argument("-l", "--selector", default="", help="wait for every app matching this label selector")
    p.add_argument("--resource", action="append", default=None, help="GROUP:KIND:[NAMESPACE/]NAME (repeatable)")
    p.add_argument("--timeout", type=int, default=0, help="seconds to wait (0 = no limit)")
    add_output(p, "json|yaml|wide", default="wide")

    p = command(app, common, "diff", "Show differences between live and target state (exit 1 when different)", diff)
    p.add_argument("app_name", metavar="APPNAME")
    _ns(p)
    add_bool(p, "--refresh", help="refresh before comparing")
    add_bool(p, "--hard-refresh", help="refresh, bypassing the manifest cache")
    add_bool(p, "--exit-code", help="exit 1 when different (default true)", default=True)
    p.add_argument("--revision", default="", help=argparse.SUPPRESS)

    p = command(app, common, "history", "Show the deployment history", history)
    p.add_argument("app_name", metavar="APPNAME")
    _ns(p)
    add_output(p, "wide|id", default="wide")

    p = command(
        app, common, "rollback", "Roll back to a deployment of the history (default: the previous one)", rollback
    )
    p.add_argument("app_name", metavar="APPNAME")
    p.add_argument("history_id", nargs="?", type=int, metavar="ID")
    _ns(p)
    add_bool(p, "--prune", help="delete resources not in that deployment")
    add_bool(p, "--dry-run", help="preview without applying")
    p.add_argument("--timeout", type=int, default=0, help="seconds to wait (0 = no limit)")
    add_output(p, "json|yaml|wide", default="wide")

    p = command(app, common, "manifests", "Print an application's manifests", manifests)
    p.add_argument("app_name", metavar="APPNAME")
    _ns(p)
    p.add_argument("--source", default="git", help="git (rendered target) or live")
    p.add_argument("--revision", default="", help="revision to render (git only)")

    p = command(app, common, "resources", "List an application's resources", resources)
    p.add_argument("app_name", metavar="APPNAME")
    _ns(p)
    add_bool(p, "--orphaned", help="only orphaned resources")
    add_output(p, "json|yaml|wide|tree", default="")

    _, actions = group(app, common, "actions", "List and run resource actions")
    p = command(actions, common, "list", "List the actions of an application's resources", actions_list)
    p.add_argument("app_name", metavar="APPNAME")
    _ns(p)
    _resource_filter(p)
    add_output(p, "json|yaml", default="")
    p = command(actions, common, "run", "Run a resource action", actions_run)
    p.add_argument("app_name", metavar="APPNAME")
    p.add_argument("action", metavar="ACTION")
    _ns(p)
    _resource_filter(p)
    add_bool(p, "--all", help="run on every matching resource")

    p = command(app, common, "logs", "Print the logs of an application's pods", logs)
    p.add_argument("app_name", metavar="APPNAME")
    _ns(p)
    p.add_argument("--group", default="", help="resource group")
    p.add_argument("--kind", default="", help="resource kind")
    p.add_argument("--name", default="", help="resource name")
    p.add_argument("--namespace", default="", help="resource namespace")
    p.add_argument("-c", "--container", default="", help="container")
    p.add_argument("--tail", type=int, default=0, help="lines from the end")
    p.add_argument("--since-seconds", type=int, default=0, help="only lines newer than this many seconds")
    p.add_argument("--until-time", default="", help="only lines before this RFC 3339 time")
    p.add_argument("--filter", default="", help="only lines containing this (prefix ! to invert)")
    add_bool(p, "--match-case", help="case-sensitive --filter")
    add_bool(p, "-f", "--follow", help="keep streaming")
    add_bool(p, "-p", "--previous", help="logs of the previous container instance")

    p = command(app, common, "terminate-op", "Stop the running operation", terminate_op)
    p.add_argument("app_name", metavar="APPNAME")
    _ns(p)

    p = command(app, common, "patch", "Patch an application (JSON patch or merge patch)", patch)
    p.add_argument("app_name", metavar="APPNAME")
    _ns(p)
    p.add_argument("--patch", default="", help="the patch document")
    p.add_argument("--type", dest="patch_type", default="json", help="json or merge")

    p = command(app, common, "patch-resource", "Patch a live resource of an application", patch_resource)
    p.add_argument("app_name", metavar="APPNAME")
    _ns(p)
    _resource_filter(p, required_kind=True)
    p.add_argument("--patch", default="", help="the patch document")
    p.add_argument("--patch-type", default="application/merge-patch+json", help="Kubernetes patch content type")
    add_bool(p, "--all", help="patch every matching resource")

    p = command(app, common, "delete-resource", "Delete a live resource of an application", delete_resource)
    p.add_argument("app_name", metavar="APPNAME")
    _ns(p)
    _resource_filter(p, required_kind=True)
    add_bool(p, "--force", help="delete immediately (no grace period)")
    add_bool(p, "--orphan", help="leave dependents in place")
    add_bool(p, "--all", help="delete every matching resource")


def _ns(p: ArgParser) -> None:
    p.add_argument("-N", "--app-namespace", default="", help="namespace the application lives in")


def _resource_filter(p: ArgParser, *, required_kind: bool = False) -> None:
    p.add_argument("--kind", default="", required=required_kind, help="resource kind")
    p.add_argument("--group", default="", help="resource group")
    p.add_argument("--resource-name", default="", help="resource name")
    p.add_argument("--namespace", default="", help="resource namespace")


# -- helpers --------------------------------------------------------------------------------------------------------


def split_name(name: str, app_namespace: str) -> tuple[str, str]:
    """``ns/name`` names an app in another namespace, as upstream's qualified names do."""
    if "/" in name:
        namespace, _, plain = name.partition("/")
        return plain, namespace
    return name, app_namespace


def _params(app_ns: str, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {k: v for k, v in extra.items() if v not in (None, "")}
    if app_ns:
        params["appNamespace"] = app_ns
    return params


def get_app(client: ApiClient, name: str, app_ns: str, *, refresh: str = "") -> dict[str, Any]:
    answer = client.get(f"{APPS}/{esc(name)}", _params(app_ns, refresh=refresh))
    return answer if isinstance(answer, dict) else {}


def _sync_windows(ctx: Context, name: str, app_ns: str) -> dict[str, Any] | None:
    # The windows endpoint may be missing on this server; the summary then simply leaves the line out.
    try:
        answer = ctx.client.get(f"{APPS}/{esc(name)}/syncwindows", _params(app_ns))
    except ApiError:
        return None
    return answer if isinstance(answer, dict) else None


def _check_output(out: str, allowed: tuple[str, ...]) -> None:
    if out not in allowed:
        raise UsageError(f"unknown output format: {out}")


def _select_names(ctx: Context, names: list[str], selector: str) -> list[str]:
    if names and selector:
        raise UsageError("give application names or --selector, not both")
    if selector:
        apps = items_of(ctx.client.get(APPS, {"selector": selector}))
        if not apps:
            raise CliError(f"no apps match selector {selector}")
        return [view.qualified_name(a) for a in apps]
    if not names:
        raise UsageError("at least one application name (or --selector) is required")
    return names


def _load_manifests(path: str) -> list[dict[str, Any]]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as exc:
        raise CliError(str(exc)) from exc
    try:
        docs = [d for d in yaml.safe_load_all(text) if d]
    except yaml.YAMLError as exc:
        raise CliError(f"error parsing {path}: {exc}") from exc
    if not all(isinstance(d, dict) for d in docs):
        raise CliError(f"{path} does not hold Application manifests")
    return docs


# -- create / get / list / set / unset / delete ----------------------------------------------------------------------


def create(ctx: Context) -> int:
    name = ctx.app_name or ctx.legacy_name or ""
    if ctx.file:
        apps = _load_manifests(ctx.file)
        if len(apps) > 1 and name:
            raise UsageError("an application name cannot be given together with a file holding several applications")
    else:
        if not name:
            raise UsageError("an application name is required")
        apps = [{"metadata": {"name": name}, "spec": {}}]
    for app in apps:
        meta = app.setdefault("metadata", {})
        if name:
            meta["name"] = name
        app_name, app_ns = split_name(str(meta.get("name", "")), ctx.app_namespace or str(meta.get("namespace") or ""))
        meta["name"] = app_name
        if app_ns:
            meta["namespace"] = app_ns
        app.setdefault("apiVersion", "argoproj.io/v1alpha1")
        app.setdefault("kind", "Application")
        if ctx.label:
            meta["labels"] = {**(meta.get("labels") or {}), **key_values(ctx.label, "--label")}
        if ctx.annotations:
            meta["annotations"] = {**(meta.get("annotations") or {}), **key_values(ctx.annotations, "--annotations")}
        if ctx.set_finalizer:
            finalizers = list(meta.get("finalizers") or [])
            if "resources-finalizer.argocd.argoproj.io" not in finalizers:
                finalizers.append("resources-finalizer.argocd.argoproj.io")
            meta["finalizers"] = finalizers
        spec = app.setdefault("spec", {})
        apply_spec_flags(spec, ctx)
        if not spec.get("destination"):
            spec.pop("destination", None)
        existing: dict[str, Any] | None
        try:
            existing = get_app(ctx.client, app_name, app_ns)
        except ApiError:
            existing = None
        created = ctx.client.post(APPS, app, {"upsert": ctx.upsert, "validate": ctx.validate})
        if existing is None:
            action = "created"
        elif _same_app(existing, created):
            action = "unchanged"
        else:
            action = "updated"
        print(f"application '{(created.get('metadata') or {}).get('name', app_name)}' {action}")
    return 0


def _same_app(before: dict[str, Any], after: dict[str, Any]) -> bool:
    keys = ("labels", "annotations", "finalizers")
    meta_b, meta_a = before.get("metadata") or {}, after.get("metadata") or {}
    return before.get("spec") == after.get("spec") and all(meta_b.get(k) == meta_a.get(k) for k in keys)


def get(ctx: Context) -> int:
    out = ctx.output
    _check_output(out, ("", "wide", "json", "yaml", "tree", "tree=detailed"))
    name, app_ns = split_name(ctx.app_name, ctx.app_namespace)
    refresh = "hard" if ctx.hard_refresh else ("normal" if ctx.refresh else "")
    app = get_app(ctx.client, name, app_ns, refresh=refresh)
    if output.print_object(app, out):
        return 0
    windows = _sync_windows(ctx, name, app_ns)
    view.print_summary(app, conn=ctx.client.conn, windows=windows)
    if ctx.show_operation and (app.get("status") or {}).get("operationState"):
        print()
        view.print_operation((app.get("status") or {}).get("operationState"))
    if ctx.show_params:
        view.print_params(app)
    if out.startswith("tree"):
        tree = ctx.client.get(f"{APPS}/{esc(name)}/resource-tree", _params(app_ns))
        view.print_tree(app, tree, detailed=out == "tree=detailed")
    else:
        view.print_resources(app)
    return 0


def list_apps(ctx: Context) -> int:
    out = ctx.output
    _check_output(out, ("", "wide", "json", "yaml", "name"))
    params: dict[str, Any] = {"selector": ctx.selector, "repo": ctx.repo, "appNamespace": ctx.app_namespace}
    if ctx.project:
        params["projects"] = ctx.project
    apps = items_of(ctx.client.get(APPS, {k: v for k, v in params.items() if v}))
    if ctx.cluster:
        apps = [
            a
            for a in apps
            if ctx.cluster
            in (
                ((a.get("spec") or {}).get("destination") or {}).get("server"),
                ((a.get("spec") or {}).get("destination") or {}).get("name"),
            )
        ]
    if output.print_object(apps, out):
        return 0
    view.print_app_list(apps, out)
    return 0


def set_app(ctx: Context) -> int:
    name, app_ns = split_name(ctx.app_name, ctx.app_namespace)
    app = get_app(ctx.client, name, app_ns)
    spec = copy.deepcopy(app.get("spec") or {})
    apply_spec_flags(spec, ctx)
    ctx.client.put(f"{APPS}/{esc(name)}/spec", spec, _params(app_ns, validate="true" if ctx.validate else "false"))
    return 0


def unset_app(ctx: Context) -> int:
    name, app_ns = split_name(ctx.app_name, ctx.app_namespace)
    app = get_app(ctx.client, name, app_ns)
    spec = copy.deepcopy(app.get("spec") or {})
    if not apply_unset_flags(spec, ctx):
        return 0
    ctx.client.put(f"{APPS}/{esc(name)}/spec", spec, _params(app_ns))
    return 0


def delete(ctx: Context) -> int:
    names = _select_names(ctx, list(ctx.app_names), ctx.selector)
    if ctx.cascade is False and ctx.propagation_policy:
        raise CliError("cannot set propagation policy when cascading is disabled")
    for qualified in names:
        name, app_ns = split_name(qualified, ctx.app_namespace)
        if not ctx.yes:
            what = f"'{qualified}' and all its resources" if ctx.cascade is not False else f"'{qualified}'"
            if not confirm(f"Are you sure you want to delete {what}? [y/n] "):
                print(f"The command to delete '{qualified}' was cancelled.")
                continue
        params = _params(app_ns)
        if ctx.cascade is not None:
            params["cascade"] = "true" if ctx.cascade else "false"
        if ctx.propagation_policy:
            params["propagationPolicy"] = ctx.propagation_policy
        ctx.client.delete(f"{APPS}/{esc(name)}", params)
        if ctx.wait:
            _wait_deleted(ctx, name, app_ns, timeout=0)
        print(f"application '{qualified}' deleted")
    return 0


def _wait_deleted(ctx: Context, name: str, app_ns: str, *, timeout: int) -> None:
    deadline = time.monotonic() + timeout if timeout else None
    while True:
        try:
            get_app(ctx.client, name, app_ns)
        except ApiError as exc:
            if exc.code in (5, 7):
                return
            raise
        if deadline and time.monotonic() > deadline:
            raise CliError(f"timed out ({timeout}s) waiting for app {name!r} to be deleted")
        time.sleep(1)


# -- sync / wait / rollback ------------------------------------------------------------------------------------------


def parse_resource_filters(values: list[str] | None) -> list[dict[str, str]]:
    filters: list[dict[str, str]] = []
    for raw in values or []:
        fields = raw.split(":")
        if len(fields) != 3:
            raise CliError(f"Resource should have GROUP:KIND:NAME, but instead got: {raw}")
        group_name, kind, name = fields
        namespace = ""
        if "/" in name:
            namespace, _, name = name.partition("/")
        filters.append({"group": group_name, "kind": kind, "name": name, "namespace": namespace})
    return filters


def _glob_match(pattern: str, value: str) -> bool:
    import fnmatch

    return pattern in ("", "*") or fnmatch.fnmatchcase(value, pattern)


def _expand_filters(app: dict[str, Any], filters: list[dict[str, str]]) -> list[dict[str, str]]:
    """Wildcards and ``!`` exclusions resolved against the app's resources; plain filters pass as they are."""
    if not any("*" in "".join(f.values()) or f["group"].startswith("!") for f in filters):
        return filters
    include = [f for f in filters if not f["group"].startswith("!")]
    exclude = [{**f, "group": f["group"][1:]} for f in filters if f["group"].startswith("!")]
    chosen: list[dict[str, str]] = []
    for res in (app.get("status") or {}).get("resources") or []:
        key = {k: str(res.get(k, "")) for k in ("group", "kind", "name", "namespace")}

        def hit(f: dict[str, str], key: dict[str, str] = key) -> bool:
            return all(_glob_match(f[k], key[k]) for k in ("group", "kind", "name")) and (
                not f["namespace"] or _glob_match(f["namespace"], key["namespace"])
            )

        if (not include or any(hit(f) for f in include)) and not any(hit(f) for f in exclude):
            chosen.append(key)
    if not chosen:
        raise CliError("No matching resources found for the given --resource filters")
    return chosen


def sync(ctx: Context) -> int:
    out = ctx.output
    _check_output(out, ("", "wide", "json", "yaml"))
    names = _select_names(ctx, list(ctx.app_names), ctx.selector)
    filters = parse_resource_filters(ctx.resource)
    options = list(ctx.sync_option or [])
    for flag, option in (
        ("apply_out_of_sync_only", "ApplyOutOfSyncOnly=true"),
        ("server_side", "ServerSideApply=true"),
        ("replace", "Replace=true"),
        ("prune_last", "PruneLast=true"),
    ):
        if getattr(ctx.args, flag):
            options.append(option)
    failures = 0
    for qualified in names:
        name, app_ns = split_name(qualified, ctx.app_namespace)
        body: dict[str, Any] = {"name": name, "prune": ctx.prune, "dryRun": ctx.dry_run}
        if app_ns:
            body["appNamespace"] = app_ns
        if ctx.revision:
            body["revision"] = ctx.revision
        if ctx.source_positions:
            body["sourcePositions"] = ctx.source_positions
            body["revisions"] = ctx.revisions or []
        if filters or ctx.label:
            app = get_app(ctx.client, name, app_ns)
            chosen = _expand_filters(app, filters) if filters else []
            if ctx.label:
                chosen += _resources_with_labels(ctx, app, name, app_ns, key_values(ctx.label, "--label"))
            if not chosen:
                raise CliError("No matching resources found for the given --label selectors")
            body["resources"] = chosen
        strategy = ctx.strategy or "apply"
        if strategy not in ("apply", "hook"):
            raise CliError(f"Unknown sync strategy: '{ctx.strategy}'")
        if ctx.strategy or ctx.force:
            body["strategy"] = {strategy: {"force": True} if ctx.force else {}}
        if options:
            body["syncOptions"] = {"items": options}
        if ctx.info:
            body["infos"] = [{"name": k, "value": v} for k, v in key_values(ctx.info, "--info").items()]
        if ctx.retry_limit > 0:
            body["retryStrategy"] = {
                "limit": ctx.retry_limit,
                "backoff": {
                    "duration": ctx.retry_backoff_duration,
                    "maxDuration": ctx.retry_backoff_max_duration,
                    "factor": ctx.retry_backoff_factor,
                },
                **({"refresh": True} if ctx.retry_refresh else {}),
            }
        ctx.client.post(f"{APPS}/{esc(name)}/sync", body)
        if ctx.async_:
            continue
        app, op_state = wait_on_app(
            ctx,
            name,
            app_ns,
            watch=Watch(operation=True),
            timeout=ctx.timeout,
            out=out,
            filters=body.get("resources"),
            requested=not ctx.dry_run,
        )
        phase = str((op_state or {}).get("phase", ""))
        if phase != "Succeeded":
            output.log_line("fatal", f"Operation has completed with phase: {phase}", log_format=ctx.log_format)
            failures += 1
    return 1 if failures else 0


def _resources_with_labels(
    ctx: Context, app: dict[str, Any], name: str, app_ns: str, labels: dict[str, str]
) -> list[dict[str, str]]:
    answer = ctx.client.get(f"{APPS}/{esc(name)}/managed-resources", _params(app_ns))
    chosen: list[dict[str, str]] = []
    for item in items_of(answer):
        target = _state(item.get("targetState"))
        if not isinstance(target, dict):
            continue
        have = (target.get("metadata") or {}).get("labels") or {}
        if all(have.get(k) == v for k, v in labels.items()):
            chosen.append({k: str(item.get(k, "")) for k in ("group", "kind", "name", "namespace")})
    return chosen


class Watch:
    """Which conditions ``wait`` waits for."""

    def __init__(
        self,
        *,
        sync: bool = False,
        health: bool = False,
        operation: bool = False,
        suspended: bool = False,
        degraded: bool = False,
    ) -> None:
        self.sync = sync
        self.health = health
        self.operation = operation
        self.suspended = suspended
        self.degraded = degraded


def _health_ok(watch: Watch, health: str) -> bool:
    wanted: set[str] = set()
    if watch.health:
        wanted.add("Healthy")
    if watch.suspended:
        wanted.add("Suspended")
    if watch.degraded:
        wanted.add("Degraded")
    return not wanted or health in wanted


def _is_dry_run(operation: Any) -> bool:
    return bool(((operation or {}).get("sync") or {}).get("dryRun"))


def _operation_in_progress(app: dict[str, Any]) -> bool:
    """As upstream's wait: an operation is in progress while requested or unfinished, and a finished (non dry-run)
    one still counts until the controller has reconciled the app once after it (``reconciledAt >= finishedAt``), so
    the sync status printed at the end, and what ``app diff`` shows next, are no older than the sync."""
    if app.get("operation"):
        return True
    status = app.get("status") or {}
    op_state = status.get("operationState") or {}
    if not op_state:
        return False
    if op_state.get("phase") in ("Running", "Terminating"):
        return True
    finished = output.parse_time(op_state.get("finishedAt"))
    if finished is None:
        return True
    if _is_dry_run(op_state.get("operation")):
        return False
    reconciled = output.parse_time(status.get("reconciledAt"))
    return reconciled is None or reconciled < finished


def _selected_states(app: dict[str, Any], filters: list[dict[str, str]] | None) -> list[dict[str, str]]:
    rows = view.resource_states(app)
    if not filters:
        return rows
    wanted = {(f.get("group", ""), f.get("kind", ""), f.get("name", "")) for f in filters}
    return [r for r in rows if (r["group"], r["kind"], r["name"]) in wanted]


def wait_on_app(
    ctx: Context,
    name: str,
    app_ns: str,
    *,
    watch: Watch,
    timeout: int,
    out: str,
    filters: list[dict[str, str]] | None = None,
    requested: bool = False,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Polls the app until the watched conditions hold, printing each resource change as it happens.

    ``requested``: this command has just asked for an operation (not a dry run); its final state is read with a
    refresh even when the operation was over before the first look. Timestamps have whole seconds: a comparison made
    just before a fast operation finished can carry the same second as its end and pass for the one after it."""
    deadline = time.monotonic() + timeout if timeout > 0 else None
    seen: dict[tuple[str, str, str, str, str], tuple[str, ...]] = {}
    printed_header = False
    progress = sys.stdout if out in ("", "wide") else sys.stderr
    refresh = requested
    while True:
        app = get_app(ctx.client, name, app_ns)
        status = app.get("status") or {}
        if app.get("operation") and not _is_dry_run(app["operation"]):
            # Seen running: the final state is read with a refresh, as upstream does.
            refresh = True
        rows = _selected_states(app, filters)
        for row in rows:
            key = (row["group"], row["kind"], row["namespace"], row["name"], row["hook"])
            state = tuple(row[f] for f in view.RESOURCE_FIELDS)
            if seen.get(key) == state:
                continue
            seen[key] = state
            if not printed_header:
                progress.write(
                    f"{'TIMESTAMP':<27}{'GROUP':<14}{'KIND':<20}{'NAMESPACE':<18}{'NAME':<28}"
                    f"{'STATUS':<12}{'HEALTH':<13}{'HOOK':<10}MESSAGE\n"
                )
                printed_header = True
            stamp = datetime.now().astimezone().isoformat(timespec="seconds")
            progress.write(
                f"{stamp:<27}{row['group']:<14}{row['kind']:<20}{row['namespace']:<18}{row['name']:<28}"
                f"{row['status']:<12}{row['health']:<13}{row['hook']:<10}{row['message']}\n"
            )
            progress.flush()
        in_progress = _operation_in_progress(app)
        if filters:
            synced = all(r["status"] == "Synced" for r in rows if not r["hook"]) or not watch.sync
            healthy = all(_health_ok(watch, r["health"]) for r in rows if not r["hook"])
        else:
            synced = not watch.sync or (status.get("sync") or {}).get("status") == "Synced"
            healthy = _health_ok(watch, str((status.get("health") or {}).get("status", "")))
        operational = not watch.operation or not in_progress
        if synced and healthy and operational:
            # The outcome is the operation state that met the conditions; the printed app may be fresher.
            op_state = status.get("operationState")
            if refresh:
                app = get_app(ctx.client, name, app_ns, refresh="normal")
            _print_final(ctx, app, out, operation=watch.operation)
            return app, op_state
        if deadline is not None and time.monotonic() > deadline:
            raise CliError(f"timed out ({timeout}s) waiting for app {name!r} match desired state")
        time.sleep(1)


def _print_final(ctx: Context, app: dict[str, Any], out: str, *, operation: bool) -> None:
    if output.print_object(app, out):
        return
    print()
    view.print_summary(app, conn=ctx.client.conn, windows=None)
    op_state = (app.get("status") or {}).get("operationState")
    if operation and op_state:
        print()
        view.print_operation(op_state)
    view.print_resources(app)


def wait(ctx: Context) -> int:
    out = ctx.output
    _check_output(out, ("", "wide", "json", "yaml"))
    names = _select_names(ctx, list(ctx.app_names), ctx.selector)
    watch = Watch(
        sync=ctx.sync,
        health=ctx.health,
        operation=ctx.operation,
        suspended=ctx.suspended,
        degraded=ctx.degraded,
    )
    if not any((watch.sync, watch.health, watch.operation, watch.suspended, watch.degraded)):
        watch = Watch(sync=True, health=True, operation=True)
    filters = parse_resource_filters(ctx.resource) or None
    for qualified in names:
        name, app_ns = split_name(qualified, ctx.app_namespace)
        if ctx.delete:
            _wait_deleted(ctx, name, app_ns, timeout=ctx.timeout)
            continue
        wait_on_app(ctx, name, app_ns, watch=watch, timeout=ctx.timeout, out=out, filters=filters)
    return 0


def rollback(ctx: Context) -> int:
    out = ctx.output
    _check_output(out, ("", "wide", "json", "yaml"))
    name, app_ns = split_name(ctx.app_name, ctx.app_namespace)
    app = get_app(ctx.client, name, app_ns)
    history_id = ctx.history_id
    if history_id is None:
        entries = (app.get("status") or {}).get("history") or []
        if len(entries) < 2:
            raise CliError(f"Application '{name}' should have at least two successful deployments")
        history_id = int(entries[-2].get("id", 0))
    body: dict[str, Any] = {"name": name, "id": history_id, "dryRun": ctx.dry_run, "prune": ctx.prune}
    if app_ns:
        body["appNamespace"] = app_ns
    ctx.client.post(f"{APPS}/{esc(name)}/rollback", body)
    _app, op_state = wait_on_app(
        ctx, name, app_ns, watch=Watch(operation=True), timeout=ctx.timeout, out=out, requested=not ctx.dry_run
    )
    phase = str((op_state or {}).get("phase", ""))
    if phase != "Succeeded":
        raise CliError(f"Operation has completed with phase: {phase}", exit_code=1)
    return 0


# -- diff / history / manifests / resources -------------------------------------------------------------------------


def _state(text: Any) -> Any:
    if not text or text == "null":
        return None
    if isinstance(text, dict):
        return text
    try:
        return json.loads(str(text))
    except ValueError:
        return None


def _print_diff(name: str, live: Any, target: Any) -> None:
    live_text = "" if live is None else output.to_yaml(live)
    target_text = "" if target is None else output.to_yaml(target)
    external = os.environ.get("KUBECTL_EXTERNAL_DIFF", "")
    if external:
        with tempfile.TemporaryDirectory(prefix="argocd-diff") as tmp:
            live_path = Path(tmp) / f"{name}-live.yaml"
            target_path = Path(tmp) / name
            live_path.write_text(live_text)
            target_path.write_text(target_text)
            subprocess.run([*shlex.split(external), str(live_path), str(target_path)], check=False)
        return
    lines = difflib.unified_diff(
        live_text.splitlines(keepends=True),
        target_text.splitlines(keepends=True),
        fromfile=f"{name}-live.yaml",
        tofile=name,
    )
    sys.stdout.writelines(line if line.endswith("\n") else line + "\n" for line in lines)


def diff(ctx: Context) -> int:
    try:
        return _diff(ctx)
    except UsageError:
        raise
    except CliError as exc:
        # Upstream's diff reserves 1 for "differences found", so every failure exits 2.
        raise CliError(exc.message, exit_code=2) from exc


def _diff(ctx: Context) -> int:
    name, app_ns = split_name(ctx.app_name, ctx.app_namespace)
    if ctx.refresh or ctx.hard_refresh:
        get_app(ctx.client, name, app_ns, refresh="hard" if ctx.hard_refresh else "normal")
    answer = ctx.client.get(f"{APPS}/{esc(name)}/managed-resources", _params(app_ns))
    found = False
    for item in items_of(answer):
        if item.get("hook"):
            continue
        live = _state(item.get("normalizedLiveState")) or _state(item.get("liveState"))
        target = _state(item.get("targetState"))
        if live is None and target is None:
            continue
        if live is not None and target is not None:
            predicted = _state(item.get("predictedLiveState"))
            target = predicted if predicted is not None else target
            if not item.get("modified") and live == target:
                continue
        print(
            f"\n===== {item.get('group', '')}/{item.get('kind', '')} "
            f"{item.get('namespace', '')}/{item.get('name', '')} ======"
        )
        sys.stdout.flush()
        _print_diff(str(item.get("name", "")), live, target)
        sys.stdout.flush()
        found = True
    return 1 if found and ctx.exit_code else 0


def history(ctx: Context) -> int:
    _check_output(ctx.output, ("", "wide", "id"))
    name, app_ns = split_name(ctx.app_name, ctx.app_namespace)
    view.print_history(get_app(ctx.client, name, app_ns), ctx.output)
    return 0


def manifests(ctx: Context) -> int:
    name, app_ns = split_name(ctx.app_name, ctx.app_namespace)
    docs: list[Any] = []
    if ctx.source == "git":
        answer = ctx.client.get(f"{APPS}/{esc(name)}/manifests", _params(app_ns, revision=ctx.revision))
        docs = [_state(m) for m in answer.get("manifests") or []]
    elif ctx.source == "live":
        answer = ctx.client.get(f"{APPS}/{esc(name)}/managed-resources", _params(app_ns))
        docs = [_state(item.get("liveState")) for item in items_of(answer)]
    else:
        raise CliError(f"Unknown source type '{ctx.source}'")
    for doc in docs:
        if doc is None:
            continue
        print("---")
        sys.stdout.write(output.to_yaml(doc))
    return 0


def resources(ctx: Context) -> int:
    out = ctx.output
    _check_output(out, ("", "wide", "json", "yaml", "tree", "tree=detailed"))
    name, app_ns = split_name(ctx.app_name, ctx.app_namespace)
    tree = ctx.client.get(f"{APPS}/{esc(name)}/resource-tree", _params(app_ns))
    if output.print_object(tree, out):
        return 0
    if out.startswith("tree"):
        view.print_tree(get_app(ctx.client, name, app_ns), tree, detailed=out == "tree=detailed")
        return 0
    managed = {
        view.resource_key(r): r for r in (get_app(ctx.client, name, app_ns).get("status") or {}).get("resources") or []
    }
    rows = [["GROUP", "KIND", "NAMESPACE", "NAME", "ORPHANED"]]
    if not ctx.orphaned:
        for node in tree.get("nodes") or []:
            if view.resource_key(node) in managed:
                rows.append([*view.resource_key(node), "No"])
    for node in tree.get("orphanedNodes") or []:
        rows.append([*view.resource_key(node), "Yes"])
    output.table(rows)
    return 0


# -- actions / logs / operation / patches ---------------------------------------------------------------------------


def _matching_resources(ctx: Context, app: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for res in (app.get("status") or {}).get("resources") or []:
        if ctx.kind and res.get("kind") != ctx.kind:
            continue
        if ctx.group and res.get("group", "") != ctx.group:
            continue
        if ctx.resource_name and res.get("name") != ctx.resource_name:
            continue
        if ctx.namespace and res.get("namespace", "") != ctx.namespace:
            continue
        found.append(res)
    return found


def _resource_query(res: dict[str, Any], app_ns: str) -> dict[str, Any]:
    return _params(
        app_ns,
        namespace=res.get("namespace", ""),
        resourceName=res.get("name", ""),
        version=res.get("version", ""),
        group=res.get("group", ""),
        kind=res.get("kind", ""),
    )


def _targets(ctx: Context, name: str, app_ns: str) -> list[dict[str, Any]]:
    app = get_app(ctx.client, name, app_ns)
    found = _matching_resources(ctx, app)
    if not found and ctx.kind and ctx.resource_name:
        # Not in the managed list (e.g. a Pod): let the server decide whether it belongs to the app.
        found = [{"kind": ctx.kind, "group": ctx.group, "name": ctx.resource_name, "namespace": ctx.namespace}]
    if not found:
        raise CliError(f"No matching resource found for application '{name}'")
    if len(found) > 1 and not getattr(ctx.args, "all", False):
        raise CliError(f"Multiple resources match; use --all to select all of them ({len(found)} found)")
    return found


def actions_list(ctx: Context) -> int:
    name, app_ns = split_name(ctx.app_name, ctx.app_namespace)
    app = get_app(ctx.client, name, app_ns)
    collected: list[dict[str, Any]] = []
    for res in _matching_resources(ctx, app):
        answer = ctx.client.get(f"{APPS}/{esc(name)}/resource/actions", _resource_query(res, app_ns))
        for action in answer.get("actions") or []:
            collected.append({"resource": res, "action": action})
    if output.print_object([c["action"] | {"kind": c["resource"].get("kind")} for c in collected], ctx.output):
        return 0
    rows = [["GROUP", "KIND", "NAME", "ACTION", "DISABLED"]]
    for entry in collected:
        res, action = entry["resource"], entry["action"]
        rows.append(
            [
                str(res.get("group", "")),
                str(res.get("kind", "")),
                str(res.get("name", "")),
                str(action.get("name", "")),
                "true" if action.get("disabled") else "false",
            ]
        )
    output.table(rows)
    return 0


def actions_run(ctx: Context) -> int:
    name, app_ns = split_name(ctx.app_name, ctx.app_namespace)
    for res in _targets(ctx, name, app_ns):
        body: dict[str, Any] = {
            "name": name,
            "namespace": res.get("namespace", ""),
            "resourceName": res.get("name", ""),
            "version": res.get("version", ""),
            "group": res.get("group", ""),
            "kind": res.get("kind", ""),
            "action": ctx.action,
        }
        if app_ns:
            body["appNamespace"] = app_ns
        ctx.client.post(f"{APPS}/{esc(name)}/resource/actions/v2", body)
    return 0


def logs(ctx: Context) -> int:
    name, app_ns = split_name(ctx.app_name, ctx.app_namespace)
    params = _params(
        app_ns,
        namespace=ctx.namespace,
        kind=ctx.kind,
        group=ctx.group,
        resourceName=ctx.name,
        container=ctx.container,
        tailLines=ctx.tail or None,
        sinceSeconds=ctx.since_seconds or None,
        untilTime=ctx.until_time,
        filter=ctx.filter,
    )
    if ctx.follow:
        params["follow"] = "true"
    if ctx.previous:
        params["previous"] = "true"
    if ctx.match_case:
        params["matchCase"] = "true"
    for entry in ctx.client.stream(f"{APPS}/{esc(name)}/logs", params):
        if entry.get("last"):
            break
        print(entry.get("content", ""), flush=True)
    return 0


def terminate_op(ctx: Context) -> int:
    name, app_ns = split_name(ctx.app_name, ctx.app_namespace)
    ctx.client.delete(f"{APPS}/{esc(name)}/operation", _params(app_ns))
    print(f"Application '{name}' operation terminating")
    return 0


def patch(ctx: Context) -> int:
    if ctx.patch_type not in ("json", "merge"):
        raise CliError(f"Patch type '{ctx.patch_type}' is not supported")
    if not ctx.patch:
        raise UsageError("--patch is required")
    name, app_ns = split_name(ctx.app_name, ctx.app_namespace)
    body: dict[str, Any] = {"name": name, "patch": ctx.patch, "patchType": ctx.patch_type}
    if app_ns:
        body["appNamespace"] = app_ns
    patched = ctx.client.patch(f"{APPS}/{esc(name)}", body)
    sys.stdout.write(output.to_yaml(patched) + "\n")
    return 0


def patch_resource(ctx: Context) -> int:
    if not ctx.patch:
        raise UsageError("--patch is required")
    name, app_ns = split_name(ctx.app_name, ctx.app_namespace)
    for res in _targets(ctx, name, app_ns):
        params = _resource_query(res, app_ns)
        params["patchType"] = ctx.patch_type
        ctx.client.call("POST", f"{APPS}/{esc(name)}/resource", params=params, body=ctx.patch, has_body=True)
        print(f"Resource '{res.get('name', '')}' patched")
    return 0


def delete_resource(ctx: Context) -> int:
    name, app_ns = split_name(ctx.app_name, ctx.app_namespace)
    for res in _targets(ctx, name, app_ns):
        params = _resource_query(res, app_ns)
        if ctx.force:
            params["force"] = "true"
        if ctx.orphan:
            params["orphan"] = "true"
        ctx.client.delete(f"{APPS}/{esc(name)}/resource", params)
        print(f"Resource '{res.get('name', '')}' deleted")
    return 0
