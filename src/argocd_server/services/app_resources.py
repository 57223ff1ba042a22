"""ApplicationService operations on an application's live resources (upstream ``server/application/application.go``):
ListResourceEvents, GetResource, PatchResource, DeleteResource, ListResourceActions, RunResourceAction(V2),
PodLogs, ListLinks, ListResourceLinks and GetApplicationSyncWindows.

Every resource operation resolves the app with the existence-hiding lookup and then requires the resource to be a
node of the app's resource tree (else InvalidArgument ``<kind> <group> <name> not found as part of application
<app>``). Fine-grained RBAC follows API reference §3.6: patch and delete need ``update|delete/<group>/<kind>/<ns>/
<name>`` (plain ``update``/``delete`` is tried first only when ``server.rbac.disableApplicationFineGrainedRBAC
Inheritance`` is ``false``), actions ``action/<group>/<kind>/<action>``, logs ``applications get`` and ``logs get``.
Transactions end before any cluster I/O. Pod logs are read by one thread per pod and handed to the event loop over
a bounded queue, so a slow or vanished client only ever blocks those reader threads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import AsyncGenerator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import orjson
from sqlalchemy.orm import Session

from argocd_server.auth.rbac import glob_match
from argocd_server.db.stores.events import EventStore
from argocd_server.engine.actions import ActionCatalog, ImpactedResource, create_merge_patch
from argocd_server.engine.clusters import ClusterHandle
from argocd_server.engine.controller import ApplicationController
from argocd_server.engine.diff import mask_secrets
from argocd_server.errors import ArgoError, InvalidArgument, PermissionDenied, Unavailable
from argocd_server.kube import ResourceClient
from argocd_server.kube.resources import GroupVersionKind, PatchType
from argocd_server.schemas import to_wire
from argocd_server.schemas.project import SyncWindow
from argocd_server.services.access import Access
from argocd_server.services.app_operations import ApplicationOperationsService
from argocd_server.services.matching import destination_permitted
from argocd_server.services.objects import rfc3339, utcnow
from argocd_server.services.projects import _condition_holds, _deep_links, _render_link, record_event
from argocd_server.services.syncwindows import can_sync, is_active, matching_windows

__all__ = ["ApplicationResourceService", "LogQuery", "LogStream", "ResourceQuery", "stream_error"]

DEFAULT_MAX_POD_LOGS = 10
FINE_GRAINED_KEY = "server.rbac.disableApplicationFineGrainedRBACInheritance"
LOG_QUEUE_SIZE = 256
_PATCH_TYPES = {t.value: t for t in (PatchType.JSON, PatchType.MERGE, PatchType.STRATEGIC)}


@dataclass(frozen=True)
class ResourceQuery:
    """The resource identity every resource operation takes (``ApplicationResourceRequest``)."""

    namespace: str = ""
    resource_name: str = ""
    version: str = ""
    group: str = ""
    kind: str = ""
    app_namespace: str = ""
    project: str = ""


@dataclass(frozen=True)
class LogQuery:
    """``ApplicationPodLogsQuery``."""

    pod_name: str = ""
    namespace: str = ""
    container: str = ""
    since_seconds: int | None = None
    since_time: int | None = None
    tail_lines: int | None = None
    follow: bool = False
    until_time: str = ""
    filter: str = ""
    match_case: bool = False
    kind: str = ""
    group: str = ""
    resource_name: str = ""
    previous: bool = False
    app_namespace: str = ""
    project: str = ""


@dataclass(frozen=True)
class _Target:
    app: dict[str, Any]
    app_namespace: str
    project: dict[str, Any] | None
    node: dict[str, Any]
    handle: ClusterHandle


def _find_node(tree: Mapping[str, Any], *, group: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    for node in list(tree.get("nodes") or []) + list(tree.get("orphanedNodes") or []):
        if (
            str(node.get("group") or "") == group
            and str(node.get("kind") or "") == kind
            and str(node.get("namespace") or "") == namespace
            and str(node.get("name") or "") == name
        ):
            return dict(node)
    return None


def _masked(obj: dict[str, Any]) -> dict[str, Any]:
    masked = mask_secrets([obj])[0]
    return masked if masked is not None else obj


def _kind_permitted(project: Mapping[str, Any] | None, *, group: str, kind: str, namespaced: bool) -> bool:
    """Whether the project's resource allow/deny lists admit a group/kind (upstream IsGroupKindPermitted)."""
    spec = (project or {}).get("spec") or {}
    prefix = "namespaceResource" if namespaced else "clusterResource"
    allow = spec.get(f"{prefix}Whitelist")
    deny = spec.get(f"{prefix}Blacklist") or []

    def hit(entries: Iterable[Mapping[str, Any]]) -> bool:
        return any(
            glob_match(str(e.get("group") or ""), group) and glob_match(str(e.get("kind") or ""), kind) for e in entries
        )

    # Namespaced kinds are allowed unless listed otherwise; cluster-scoped ones only when allow-listed.
    allowed = hit(allow) if allow is not None and (allow or not namespaced) else namespaced
    return allowed and not hit(deny)


class ApplicationResourceService(ApplicationOperationsService):
    """Operations on the live resources of one application."""

    def __init__(
        self,
        *,
        session: Session,
        access: Access,
        namespace: str,
        app_namespaces: Sequence[str] = (),
        controller: ApplicationController | None = None,
        cm_data: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            session=session, access=access, namespace=namespace, app_namespaces=app_namespaces, controller=controller
        )
        self._cm_data = cm_data or {}

    # --- shared lookups ------------------------------------------------------------------------------------------

    def _app(self, name: str, *, app_namespace: str, project: str, action: str = "get") -> tuple[dict[str, Any], str]:
        row = self._lookup(name, app_namespace=app_namespace, project=project, action=action)
        doc: dict[str, Any] = orjson.loads(row.doc)
        return doc, row.namespace

    def _app_fine_grained(self, name: str, query: ResourceQuery, verb: str) -> tuple[dict[str, Any], str]:
        compound = f"{verb}/{query.group}/{query.kind}/{query.namespace}/{query.resource_name}"
        if str(self._cm_data.get(FINE_GRAINED_KEY, "true")).strip().lower() != "false":
            return self._app(name, app_namespace=query.app_namespace, project=query.project, action=compound)
        try:
            return self._app(name, app_namespace=query.app_namespace, project=query.project, action=verb)
        except PermissionDenied:
            return self._app(name, app_namespace=query.app_namespace, project=query.project, action=compound)

    def _handle(self, doc: Mapping[str, Any]) -> ClusterHandle:
        """The destination cluster; ends the transaction first, since connecting may wait for the cache."""
        if self._controller is None:
            raise Unavailable("the application controller is not configured")
        destination = (doc.get("spec") or {}).get("destination") or {}
        server, _ = self._resolve_destination(str(doc["metadata"]["name"]), destination)
        # SQLite transactions begin IMMEDIATE here: an open one would hold the write lock during cluster I/O.
        self._session.rollback()
        return self._controller.clusters.get(server)

    def _tree(self, doc: Mapping[str, Any], project: Mapping[str, Any] | None) -> dict[str, Any]:
        if self._controller is None:
            return {}
        return self._controller.resource_tree(doc, project)

    def _target(self, name: str, query: ResourceQuery, *, doc: dict[str, Any], app_namespace: str) -> _Target:
        """The app's tree node for the queried resource (the transaction is over before the cluster is asked)."""
        project = self._project(str(doc["spec"].get("project") or "default"))
        handle = self._handle(doc)
        tree = self._tree(doc, project)
        node = _find_node(tree, group=query.group, kind=query.kind, namespace=query.namespace, name=query.resource_name)
        if node is None or not node.get("uid"):
            raise InvalidArgument(
                f"{query.kind} {query.group} {query.resource_name} not found as part of application {name}"
            )
        return _Target(app=doc, app_namespace=app_namespace, project=project, node=node, handle=handle)

    @staticmethod
    def _gvk(target: _Target, query: ResourceQuery) -> GroupVersionKind:
        version = query.version or str(target.node.get("version") or "")
        if not version:
            return target.handle.resources.preferred_resource(query.group, query.kind).gvk
        return GroupVersionKind(query.group, version, query.kind)

    def _live(self, target: _Target, query: ResourceQuery) -> dict[str, Any]:
        with _cluster_call("error getting resource"):
            gvk = self._gvk(target, query)
            obj = target.handle.resources.get(gvk, query.resource_name, namespace=query.namespace or None)
        obj.setdefault("apiVersion", gvk.api_version)
        obj.setdefault("kind", gvk.kind)
        return obj

    def _event(self, target: _Target, *, reason: str, message: str) -> None:
        user = self._access.username or "Unknown user"
        record_event(
            self._session, obj=target.app, kind="Application", reason=reason, message=f"{user} {message}", now=utcnow()
        )
        self._session.commit()

    # --- events --------------------------------------------------------------------------------------------------

    def list_resource_events(
        self,
        name: str,
        *,
        resource_namespace: str,
        resource_name: str,
        resource_uid: str,
        app_namespace: str,
        project: str,
    ) -> bytes | dict[str, Any]:
        """Events of the Application itself, or with resource parameters the cluster's events of that resource."""
        doc, namespace = self._app(name, app_namespace=app_namespace, project=project)
        if not resource_name and not resource_uid:
            uid = str(doc["metadata"].get("uid") or "")
            docs = EventStore(self._session).docs_for(namespace=namespace, kind="Application", name=name, uid=uid)
            return b'{"metadata":{},"items":[' + ",".join(docs).encode() + b"]}"
        project_doc = self._project(str(doc["spec"].get("project") or "default"))
        handle = self._handle(doc)
        tree = self._tree(doc, project_doc)
        found = any(
            str(n.get("uid") or "") == resource_uid
            and str(n.get("name") or "") == resource_name
            and str(n.get("namespace") or "") == resource_namespace
            for n in list(tree.get("nodes") or []) + list(tree.get("orphanedNodes") or [])
        )
        if not found:
            raise InvalidArgument(f"{resource_name} not found as part of application {name}")
        items = handle.resources.events(
            resource_namespace or None, involved_name=resource_name, involved_uid=resource_uid
        )
        return {"metadata": {}, "items": items}

    # --- get / patch / delete ------------------------------------------------------------------------------------

    def get_resource(self, name: str, query: ResourceQuery) -> dict[str, Any]:
        doc, namespace = self._app(name, app_namespace=query.app_namespace, project=query.project)
        target = self._target(name, query, doc=doc, app_namespace=namespace)
        return {"manifest": orjson.dumps(_masked(self._live(target, query))).decode()}

    def patch_resource(self, name: str, query: ResourceQuery, *, patch: str, patch_type: str) -> dict[str, Any]:
        doc, namespace = self._app_fine_grained(name, query, "update")
        target = self._target(name, query, doc=doc, app_namespace=namespace)
        kind = _PATCH_TYPES.get(patch_type or PatchType.MERGE.value)
        if kind is None:
            raise InvalidArgument(f"Patch type '{patch_type}' is not supported")
        try:
            body = orjson.loads(patch)
        except orjson.JSONDecodeError as exc:
            raise InvalidArgument(f"error decoding patch: {exc.msg}") from None
        # Kubernetes may quote the patched object in its error: for a Secret, upstream answers without it.
        secret = query.kind == "Secret" and not query.group
        hidden = f"failed to patch Secret {query.namespace}/{query.resource_name}" if secret else None
        with _cluster_call("error patching resource", replacement=hidden):
            patched = target.handle.resources.patch(
                self._gvk(target, query), query.resource_name, body, namespace=query.namespace or None, patch_type=kind
            )
        self._event(
            target,
            reason="ResourceUpdated",
            message=f"patched resource {query.group}/{query.kind} '{query.resource_name}'",
        )
        return {"manifest": orjson.dumps(_masked(patched)).decode()}

    def delete_resource(self, name: str, query: ResourceQuery, *, force: bool, orphan: bool) -> None:
        doc, namespace = self._app_fine_grained(name, query, "delete")
        target = self._target(name, query, doc=doc, app_namespace=namespace)
        policy, grace = "Foreground", None
        if orphan:
            policy = "Orphan"
        elif force:
            policy, grace = "Background", 0
        with _cluster_call("error deleting resource"):
            target.handle.resources.delete(
                self._gvk(target, query),
                query.resource_name,
                namespace=query.namespace or None,
                propagation_policy=policy,
                grace_period_seconds=grace,
            )
        self._event(
            target,
            reason="ResourceDeleted",
            message=f"deleted resource {query.group}/{query.kind} '{query.resource_name}'",
        )

    # --- actions -------------------------------------------------------------------------------------------------

    def _catalog(self) -> ActionCatalog:
        return ActionCatalog.from_configmap(self._cm_data)

    def list_resource_actions(self, name: str, query: ResourceQuery) -> dict[str, Any]:
        doc, namespace = self._app(name, app_namespace=query.app_namespace, project=query.project)
        target = self._target(name, query, doc=doc, app_namespace=namespace)
        live = self._live(target, query)
        actions = self._catalog().discover(live, group=query.group, kind=query.kind)
        return {"actions": [a.to_wire() for a in actions]} if actions else {}

    def run_resource_action(
        self, name: str, query: ResourceQuery, *, action: str, parameters: Mapping[str, str] | None = None
    ) -> None:
        compound = f"action/{query.group}/{query.kind}/{action}"
        doc, namespace = self._app(name, app_namespace=query.app_namespace, project=query.project, action=compound)
        target = self._target(name, query, doc=doc, app_namespace=namespace)
        live = self._live(target, query)
        impacted = self._catalog().run(live, action, group=query.group, kind=query.kind, params=parameters)
        if impacted is None:
            raise InvalidArgument(f"action '{action}' is not available for {query.group}/{query.kind}")
        for item in impacted:
            self._apply_impacted(target, live, item)
        self._event(
            target,
            reason="ResourceActionRan",
            message=(
                f"ran action {action} on resource {query.group}/{query.kind}/{query.namespace}/{query.resource_name}"
            ),
        )

    def _check_permitted(self, target: _Target, obj: Mapping[str, Any], *, namespaced: bool) -> None:
        gvk = GroupVersionKind.of(obj)
        namespace = str((obj.get("metadata") or {}).get("namespace") or "")
        spec = (target.project or {}).get("spec") or {}
        destination = (target.app.get("spec") or {}).get("destination") or {}
        permitted = _kind_permitted(target.project, group=gvk.group, kind=gvk.kind, namespaced=namespaced)
        if permitted and namespaced:
            permitted = destination_permitted(
                spec.get("destinations") or [],
                server=target.handle.server,
                name=str(destination.get("name") or ""),
                namespace=namespace,
            )
        if not permitted:
            name = str((obj.get("metadata") or {}).get("name") or "")
            raise PermissionDenied(
                f"{gvk.group}/{gvk.kind} {name} in namespace {namespace} is not permitted in project "
                f"{target.app['spec'].get('project') or 'default'}"
            )

    def _apply_impacted(self, target: _Target, live: dict[str, Any], item: ImpactedResource) -> None:
        resources = target.handle.resources
        obj = item.object
        meta = obj.setdefault("metadata", {})
        if item.operation == "create":
            gvk = GroupVersionKind.of(obj)
            api = resources.resource_for(gvk)
            if api.namespaced and not meta.get("namespace"):
                meta["namespace"] = (live.get("metadata") or {}).get("namespace") or ""
            self._check_permitted(target, obj, namespaced=api.namespaced)
            resources.create(obj)
            return
        gvk = GroupVersionKind.of(obj)
        live_meta = live.get("metadata") or {}
        same = (
            gvk.group == GroupVersionKind.of(live).group
            and gvk.kind == live.get("kind")
            and meta.get("name", live_meta.get("name")) == live_meta.get("name")
            and meta.get("namespace", live_meta.get("namespace")) == live_meta.get("namespace")
        )
        if same:
            original = live
        else:
            api = resources.resource_for(gvk)
            self._check_permitted(target, obj, namespaced=api.namespaced)
            original = resources.get(gvk, str(meta.get("name") or ""), namespace=meta.get("namespace") or None)
        patch = create_merge_patch(original, obj)
        if not patch:
            return
        original_meta = original.get("metadata") or {}
        resources.patch(
            GroupVersionKind.of(original) if original.get("apiVersion") else gvk,
            str(original_meta.get("name") or ""),
            patch,
            namespace=original_meta.get("namespace") or None,
            patch_type=PatchType.MERGE,
        )

    # --- logs ----------------------------------------------------------------------------------------------------

    def open_logs(self, name: str, query: LogQuery) -> LogStream:
        """Check access, select the pods (at most ``server.maxPodLogsToRender``) and prepare their log stream."""
        doc, namespace = self._app(name, app_namespace=query.app_namespace, project=query.project)
        self._access.check_hidden("logs", "get", self._rbac_name(doc["spec"].get("project", ""), namespace, name))
        project = self._project(str(doc["spec"].get("project") or "default"))
        handle = self._handle(doc)
        nodes = list(self._tree(doc, project).get("nodes") or [])
        pods = _select_pods(nodes, query)
        limit = _int(self._cm_data.get("server.maxPodLogsToRender"), DEFAULT_MAX_POD_LOGS)
        if len(pods) > limit:
            raise InvalidArgument("max pods to view logs are reached. Please provide more granular query")
        since = query.since_seconds
        if query.since_time:
            since = max(1, int(datetime.now(tz=UTC).timestamp()) - query.since_time)
        until = _parse_time(query.until_time) if query.until_time else None
        return LogStream(
            resources=handle.resources,
            pods=[(str(p.get("namespace") or ""), str(p.get("name") or "")) for p in pods],
            container=query.container,
            since_seconds=since,
            tail_lines=query.tail_lines,
            follow=query.follow,
            previous=query.previous,
            until=until,
            matcher=_LineFilter(query.filter, match_case=query.match_case),
        )

    # --- links ---------------------------------------------------------------------------------------------------

    def _links(self, key: str, env: Mapping[str, Any]) -> dict[str, Any]:
        items: list[dict[str, str]] = []
        for link in _deep_links(str(self._cm_data.get(key, ""))):
            condition = link.get("if")
            if condition is not None and not _condition_holds(str(condition), env):
                continue
            url = _render_link(str(link.get("url", "")), env)
            if url is None:
                continue
            item = {"title": str(link.get("title", "")), "url": url}
            if link.get("description"):
                item["description"] = str(link["description"])
            if link.get("icon.class"):
                item["iconClass"] = str(link["icon.class"])
            items.append(item)
        return {"items": items} if items else {}

    def _link_env(self, doc: Mapping[str, Any], project: Mapping[str, Any] | None) -> dict[str, Any]:
        destination = (doc.get("spec") or {}).get("destination") or {}
        try:
            server, cluster_name = self._resolve_destination(str(doc["metadata"]["name"]), destination)
        except InvalidArgument:
            server, cluster_name = str(destination.get("server") or ""), str(destination.get("name") or "")
        # ``application`` is the documented name, ``app`` its short alias; both point at the same object.
        return {
            "app": doc,
            "application": doc,
            "project": project or {},
            "cluster": {"server": server, "name": cluster_name},
        }

    def list_links(self, name: str, *, app_namespace: str, project: str) -> dict[str, Any]:
        doc, _ = self._app(name, app_namespace=app_namespace, project=project)
        project_doc = self._project(str(doc["spec"].get("project") or "default"))
        env = self._link_env(doc, project_doc)
        self._session.rollback()
        return self._links("application.links", env)

    def list_resource_links(self, name: str, query: ResourceQuery) -> dict[str, Any]:
        doc, namespace = self._app(name, app_namespace=query.app_namespace, project=query.project)
        env = self._link_env(doc, self._project(str(doc["spec"].get("project") or "default")))
        target = self._target(name, query, doc=doc, app_namespace=namespace)
        env["resource"] = _masked(self._live(target, query))
        return self._links("resource.links", env)

    # --- sync windows --------------------------------------------------------------------------------------------

    def get_sync_windows(
        self, name: str, *, app_namespace: str, project: str, now: datetime | None = None
    ) -> dict[str, Any]:
        """The project windows assigned to the app, those open now, and whether a manual sync may start now."""
        doc, _ = self._app(name, app_namespace=app_namespace, project=project)
        project_doc = self._project(str(doc["spec"].get("project") or "default")) or {}
        windows = [SyncWindow.from_wire(w) for w in (project_doc.get("spec") or {}).get("syncWindows") or []]
        destination = doc["spec"].get("destination") or {}
        match = {
            "app_name": name,
            "namespace": str(destination.get("namespace") or ""),
            "server": str(destination.get("server") or ""),
            "cluster_name": str(destination.get("name") or ""),
        }
        moment = now or datetime.now(tz=UTC)
        assigned = matching_windows(windows, **match)
        active = [w for w in assigned if is_active(w, moment)]
        out: dict[str, Any] = {}
        if active:
            out["activeWindows"] = [_window(w) for w in active]
        if assigned:
            out["assignedWindows"] = [_window(w) for w in assigned]
        out["canSync"] = can_sync(windows, manual=True, now=moment, **match)
        return out


def _window(window: SyncWindow) -> dict[str, Any]:
    wire = to_wire(window)
    return {k: wire[k] for k in ("kind", "schedule", "duration", "manualSync") if wire.get(k)}


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _parse_time(text: str) -> datetime:
    try:
        return _parse_stamp(text)
    except ValueError:
        raise InvalidArgument(f'parsing time "{text}" as RFC3339: cannot parse') from None


def _parse_stamp(text: str) -> datetime:
    """RFC 3339 with up to nanoseconds (Python keeps microseconds)."""
    head, dot, rest = text.partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _select_pods(nodes: Sequence[Mapping[str, Any]], query: LogQuery) -> list[Mapping[str, Any]]:
    """Pods of the tree matching the query: by pod name, or the pod itself or a descendant of the named resource."""
    by_uid = {str(n.get("uid") or ""): n for n in nodes if n.get("uid")}

    def selected(node: Mapping[str, Any], depth: int = 0) -> bool:
        if depth > 20:
            return False
        if (
            str(node.get("kind") or "") == query.kind
            and str(node.get("group") or "") == query.group
            and str(node.get("name") or "") == query.resource_name
            and (not query.namespace or str(node.get("namespace") or "") == query.namespace)
        ):
            return True
        return any(
            selected(by_uid[str(ref.get("uid") or "")], depth + 1)
            for ref in node.get("parentRefs") or []
            if str(ref.get("uid") or "") in by_uid
        )

    pods = []
    for node in nodes:
        if node.get("kind") != "Pod" or node.get("group") or not node.get("uid"):
            continue
        if query.pod_name:
            if node.get("name") == query.pod_name and (not query.namespace or node.get("namespace") == query.namespace):
                pods.append(node)
        elif not query.resource_name or selected(node):
            pods.append(node)
    return pods


class _LineFilter:
    """``filter``: substring match, ``!`` negates; case-insensitive unless ``matchCase``."""

    def __init__(self, text: str, *, match_case: bool) -> None:
        self.negate = text.startswith("!")
        needle = text[1:] if self.negate else text
        self.match_case = match_case
        self.needle = needle if match_case else needle.lower()

    def __call__(self, line: str) -> bool:
        if not self.needle:
            return True
        found = self.needle in (line if self.match_case else line.lower())
        return found != self.negate


@dataclass(frozen=True)
class _Line:
    stamp: datetime
    stamp_text: str
    pod: str
    content: str


@dataclass(frozen=True)
class _Done:
    error: ArgoError | None = None


def _entry(line: _Line | None, *, last: bool) -> dict[str, Any]:
    if line is None:
        now = datetime.now(tz=UTC)
        return {
            "content": "",
            "timeStamp": rfc3339(now),
            "last": True,
            "timeStampStr": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "podName": "",
        }
    return {
        "content": line.content,
        "timeStamp": rfc3339(line.stamp),
        "last": last,
        "timeStampStr": line.stamp_text,
        "podName": line.pod,
    }


def _nano_text(stamp: str) -> str:
    """Go's RFC3339Nano rendering of a Kubernetes log timestamp (trailing zeros of the fraction dropped)."""
    head, dot, rest = stamp.partition(".")
    if not dot:
        return stamp
    digits = "".join(c for c in rest if c.isdigit())
    zone = rest[len(digits) :]
    digits = digits.rstrip("0")
    return f"{head}.{digits}{zone}" if digits else f"{head}{zone}"


class LogStream:
    """Log entries of the selected pods: merged in time order, or as they come with ``follow``.

    One daemon thread per pod reads its (blocking) log iterator and hands lines to the event loop through a bounded
    ``asyncio.Queue``; when the consumer stops (client gone) the threads notice at their next line and close their
    streams. Nothing here touches the database.
    """

    def __init__(
        self,
        *,
        resources: ResourceClient,
        pods: Sequence[tuple[str, str]],
        container: str,
        since_seconds: int | None,
        tail_lines: int | None,
        follow: bool,
        previous: bool,
        until: datetime | None,
        matcher: _LineFilter,
    ) -> None:
        self._resources = resources
        self.pods = list(pods)
        self._container = container
        self._since = since_seconds
        self._tail = tail_lines
        self._follow = follow
        self._previous = previous
        self._until = until
        self._matcher = matcher
        self._stop = threading.Event()

    def _read(
        self, namespace: str, pod: str, queue: asyncio.Queue[_Line | _Done], loop: asyncio.AbstractEventLoop
    ) -> None:
        def hand_over(item: _Line | _Done) -> bool:
            try:
                future = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
            except RuntimeError:
                return False
            while True:
                try:
                    future.result(timeout=0.5)
                    return True
                except concurrent.futures.TimeoutError:
                    if self._stop.is_set():
                        future.cancel()
                        return False
                except concurrent.futures.CancelledError:
                    return False

        error: ArgoError | None = None
        lines = None
        try:
            lines = self._resources.pod_logs(
                namespace,
                pod,
                container=self._container or None,
                tail_lines=self._tail,
                since_seconds=self._since,
                follow=self._follow,
                previous=self._previous,
                timestamps=True,
            )
            for raw in lines:
                if self._stop.is_set():
                    break
                stamp_text, _, content = raw.partition(" ")
                try:
                    stamp = _parse_stamp(stamp_text)
                except ValueError:
                    stamp, stamp_text, content = datetime.now(tz=UTC), "", raw
                if not self._matcher(content):
                    continue
                line = _Line(stamp, _nano_text(stamp_text), pod, content)
                if not hand_over(line):
                    break
        except ArgoError as exc:
            error = exc
        finally:
            # Closing the generator releases the HTTP stream at once instead of at garbage collection.
            close = getattr(lines, "close", None)
            if close is not None:
                close()
        hand_over(_Done(error))

    async def entries(self, *, keepalive: float | None = None) -> AsyncGenerator[dict[str, Any] | None, None]:
        """LogEntry messages, ending with the ``last`` marker; yields None every ``keepalive`` seconds of silence."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[_Line | _Done] = asyncio.Queue(maxsize=LOG_QUEUE_SIZE)
        for namespace, pod in self.pods:
            threading.Thread(
                target=self._read, args=(namespace, pod, queue, loop), name=f"logs-{pod}", daemon=True
            ).start()
        remaining = len(self.pods)
        collected: list[_Line] = []
        try:
            while remaining:
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=keepalive)
                except TimeoutError:
                    yield None
                    continue
                if isinstance(item, _Done):
                    remaining -= 1
                    if item.error is not None:
                        raise item.error
                    continue
                if not self._follow:
                    collected.append(item)
                    continue
                if self._until is not None and item.stamp > self._until:
                    yield _entry(item, last=True)
                    return
                yield _entry(item, last=False)
            collected.sort(key=lambda line: line.stamp)
            for line in collected:
                if self._until is not None and line.stamp > self._until:
                    yield _entry(line, last=True)
                    return
                yield _entry(line, last=False)
            yield _entry(None, last=True)
        finally:
            self._stop.set()


def stream_error(error: ArgoError) -> dict[str, Any]:
    """The error chunk of a server stream (API reference §1.5)."""
    return {
        "error": {
            "grpc_code": error.grpc_code,
            "http_code": error.http_status,
            "message": error.message,
            "http_status": HTTPStatus(error.http_status).phrase,
        }
    }


@contextlib.contextmanager
def _cluster_call(context: str, *, replacement: str | None = None) -> Iterator[None]:
    """A failed Kubernetes call of a resource operation as upstream's API server reports it: the same code, with the
    operation's context in front of the cluster's message (``error patching resource: ...``). With ``replacement``,
    the cluster's message is not passed on at all: a plain (Unknown) error with that text instead."""
    try:
        yield
    except ArgoError as exc:
        if replacement is not None:
            raise ArgoError(replacement) from None
        raise type(exc)(f"{context}: {exc.message}") from exc
