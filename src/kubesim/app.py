"""The ASGI application: Kubernetes REST routing, discovery, watch streams and admin endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from kubesim import discovery, logs
from kubesim.auth import Authenticator, TokenGrant
from kubesim.errors import ApiError, bad_request, invalid, not_found
from kubesim.resources import ResourceType
from kubesim.selectors import field_selector_name, parse_field_selector, parse_label_selector
from kubesim.store import Entry, Event, Store, WriteContext, dumps

log = logging.getLogger("kubesim.app")

_JSON = "application/json"
_NS_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass
class AppOptions:
    """Tunables of the HTTP layer."""

    bookmark_interval: float = 1.0
    default_watch_timeout: float = 1800.0
    log_follow_interval: float = 1.0
    server_address: str = "127.0.0.1:0"
    on_change: list[Callable[[], None]] = field(default_factory=list)


def _json(body: Any, status: int = 200, *, media_type: str = _JSON) -> Response:
    return Response(dumps(body), status_code=status, media_type=media_type)


def _raw(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=_JSON)


def _error(err: ApiError) -> Response:
    return _json(err.status(), status=err.code)


def _path_not_found() -> ApiError:
    return ApiError(404, "the server could not find the requested resource", details={})


_FIELD_VALIDATION = ("Ignore", "Strict", "Warn")
_WRITE_OPTIONS = {"POST": "CreateOptions", "PUT": "UpdateOptions", "PATCH": "PatchOptions"}


def _field_validation(method: str, value: str | None) -> str:
    """The directive of a write; absent means ``Warn``, the API server's default since field validation went GA."""
    if not value:
        return "Warn"
    if value not in _FIELD_VALIDATION:
        supported = ", ".join(json.dumps(v) for v in ("", *_FIELD_VALIDATION))
        raise invalid(
            group="meta.k8s.io",
            kind=_WRITE_OPTIONS[method],
            name="",
            causes=[
                (
                    "fieldValidation",
                    "FieldValueNotSupported",
                    f"Unsupported value: {json.dumps(value)}: supported values: {supported}",
                )
            ],
        )
    return value


def _warned(response: Response, warnings: list[str]) -> Response:
    # One ``Warning: 299 - "<text>"`` header per distinct warning, quotes and backslashes escaped.
    for text in dict.fromkeys(warnings):
        quoted = text.replace("\\", "\\\\").replace('"', '\\"')
        response.headers.append("Warning", f'299 - "{quoted}"')
    return response


def _bool(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def _age(created: str | None, now: float) -> str:
    if not created:
        return "<unknown>"
    seconds = max(0, int(now - logs._parse_time(created)))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


class KubeApp:
    """Dispatches every request by hand: faster and simpler than a route table for this API."""

    def __init__(self, *, store: Store, auth: Authenticator, options: AppOptions) -> None:
        self.store = store
        self.auth = auth
        self.options = options
        self.stopping = asyncio.Event()

    # The ASGI calling convention fixes this signature (three positional arguments).
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            response = await self.dispatch(request)
        except ApiError as err:
            response = _error(err)
        except Exception as exc:
            log.exception("request %s %s failed", scope.get("method"), scope.get("path"))
            response = _error(ApiError(500, f"Internal error occurred: {exc}"))
        await response(scope, receive, send)

    # --- dispatch -------------------------------------------------------------------------

    async def dispatch(self, request: Request) -> Response:
        path = request.url.path
        parts = [p for p in path.split("/") if p]
        if parts and parts[0] == "kubesim":
            return await self.admin(request, parts[1:])
        if parts in (["healthz"], ["readyz"], ["livez"]):
            return Response("ok", media_type="text/plain")
        grant = self.auth.authenticate(request.headers.get("authorization"))
        method = request.method
        if not parts:
            return _json({"paths": ["/api", "/api/v1", "/apis", "/healthz", "/version"]})
        if parts == ["version"]:
            return _json(discovery.VERSION_INFO)
        if parts[0] == "openapi":
            return self.openapi(parts[1:])
        if parts[0] == "api":
            if len(parts) == 1:
                if self._wants_aggregated(request):
                    return self._aggregated(request, core=True)
                return _json(discovery.api_versions(self.options.server_address))
            if parts[1] != "v1":
                raise _path_not_found()
            if len(parts) == 2:
                doc = discovery.resource_list(self.store.registry, "", version="v1")
                return _json(doc)
            return await self.resource(request, grant, method=method, group="", version="v1", rest=parts[2:])
        if parts[0] == "apis":
            registry = self.store.registry
            if len(parts) == 1:
                if self._wants_aggregated(request):
                    return self._aggregated(request, core=False)
                return _json(discovery.api_group_list(registry))
            if len(parts) == 2:
                group_doc = discovery.api_group(registry, parts[1])
                if group_doc is None:
                    raise _path_not_found()
                return _json(group_doc)
            if len(parts) == 3:
                doc = discovery.resource_list(registry, parts[1], version=parts[2])
                if doc is None:
                    raise _path_not_found()
                return _json(doc)
            return await self.resource(request, grant, method=method, group=parts[1], version=parts[2], rest=parts[3:])
        raise _path_not_found()

    def openapi(self, parts: list[str]) -> Response:
        registry = self.store.registry
        if parts == ["v3"]:
            return _json(discovery.openapi_v3_index(registry))
        doc = None
        if len(parts) == 3 and parts[:2] == ["v3", "api"]:
            doc = discovery.openapi_v3_group(registry, "", version=parts[2])
        elif len(parts) == 4 and parts[:2] == ["v3", "apis"]:
            doc = discovery.openapi_v3_group(registry, parts[2], version=parts[3])
        if doc is None:
            raise _path_not_found()
        return _json(doc)

    @staticmethod
    def _wants_aggregated(request: Request) -> bool:
        return "as=APIGroupDiscoveryList" in request.headers.get("accept", "")

    def _aggregated(self, request: Request, *, core: bool) -> Response:
        accept = request.headers.get("accept", "")
        v2 = "v=v2;" in accept or accept.endswith("v=v2")
        version = "v2" if v2 else "v2beta1"
        media = discovery.AGGREGATED_V2 if v2 else discovery.AGGREGATED_V2BETA1
        body = discovery.aggregated(self.store.registry, core=core, version=version)
        return _json(body, media_type=media)

    async def resource(
        self,
        request: Request,
        grant: TokenGrant,
        *,
        method: str,
        group: str,
        version: str,
        rest: list[str],
    ) -> Response:
        watch_path = False
        if rest and rest[0] == "watch":
            watch_path = True
            rest = rest[1:]
        ns: str | None = None
        if len(rest) >= 3 and rest[0] == "namespaces" and not (len(rest) == 3 and rest[2] in _NS_SUBRESOURCES):
            ns = rest[1]
            rest = rest[2:]
        if not rest or len(rest) > 3:
            raise _path_not_found()
        rt = self.store.registry.get(group, version, plural=rest[0])
        if rt is None:
            raise _path_not_found()
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        if rt.namespaced and name and ns is None:
            raise _path_not_found()
        if not rt.namespaced and ns is not None:
            raise _path_not_found()
        if sub and sub not in rt.subresources:
            raise _path_not_found()
        q = request.query_params
        namespace = ns if rt.namespaced else None
        if watch_path or (method == "GET" and not name and _bool(q.get("watch"))):
            self.auth.authorize(grant, verb="watch", rt=rt, namespace=namespace, name="")
            field_text = q.get("fieldSelector")
            if watch_path and name:
                field_text = ",".join(filter(None, [field_text, f"metadata.name={name}"]))
            return await self.watch(request, rt, version=version, namespace=namespace, field_text=field_text)
        ctx = WriteContext(
            user=grant.user,
            field_manager=q.get("fieldManager") or None,
            dry_run="All" in q.getlist("dryRun"),
            version=version,
            user_agent=request.headers.get("user-agent", ""),
        )
        ns_arg = ns or ""
        if not name:
            if method == "GET":
                self.auth.authorize(grant, verb="list", rt=rt, namespace=namespace, name="")
                return self.list_objects(request, rt, version=version, namespace=namespace)
            if method == "POST":
                if rt.namespaced and ns is None:
                    raise ApiError(405, "the server does not allow this method on the requested resource")
                self.auth.authorize(grant, verb="create", rt=rt, namespace=namespace, name="")
                ctx.field_validation = _field_validation(method, q.get("fieldValidation"))
                body = await self._body(request)
                entry = await self._write(lambda: self.store.create(rt, ns_arg, body=body, ctx=ctx))
                return _warned(self._object(entry, rt, version=version, status=201), ctx.warnings)
            if method == "DELETE":
                self.auth.authorize(grant, verb="deletecollection", rt=rt, namespace=namespace, name="")
                opts = await self._delete_options(request)
                ctx.dry_run = ctx.dry_run or opts.get("dry", False)
                entries = await self._write(
                    lambda: self.store.delete_collection(
                        rt,
                        namespace,
                        ctx=ctx,
                        label=parse_label_selector(q.get("labelSelector")),
                        field=parse_field_selector(q.get("fieldSelector")),
                        propagation=opts.get("propagation"),
                    )
                )
                return self._list_response(rt, version, entries=entries, rv=str(self.store.resource_version))
            raise ApiError(405, "the server does not allow this method on the requested resource")
        verb = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method)
        if verb is None:
            raise ApiError(405, "the server does not allow this method on the requested resource")
        self.auth.authorize(grant, verb=verb, rt=rt, namespace=namespace, name=name)
        if method in _WRITE_OPTIONS:
            ctx.field_validation = _field_validation(method, q.get("fieldValidation"))
        if sub == "log":
            return await self.pod_log(request, rt, ns=ns_arg, name=name)
        if sub == "scale":
            return await self.scale(request, rt, ns=ns_arg, name=name, ctx=ctx)
        if sub == "finalize":
            sub = ""
        if method == "GET":
            return self._object(self.store.get(rt, ns_arg, name=name), rt, version=version)
        if method == "PUT":
            body = await self._body(request)
            entry = await self._write(
                lambda: self.store.update(rt, ns_arg, name=name, body=body, ctx=ctx, subresource=sub)
            )
            return _warned(self._object(entry, rt, version=version), ctx.warnings)
        if method == "PATCH":
            raw = await request.body()
            content_type = request.headers.get("content-type", "")
            force = _bool(q.get("force"))
            entry = await self._write(
                lambda: self.store.patch(
                    rt,
                    ns_arg,
                    name=name,
                    content_type=content_type,
                    body=raw,
                    ctx=ctx,
                    subresource=sub,
                    force=force,
                )
            )
            status = 201 if ctx.created else 200
            return _warned(self._object(entry, rt, version=version, status=status), ctx.warnings)
        opts = await self._delete_options(request)
        ctx.dry_run = ctx.dry_run or opts.get("dry", False)
        entry, gone = await self._write(
            lambda: self.store.delete(
                rt,
                ns_arg,
                name=name,
                ctx=ctx,
                propagation=opts.get("propagation"),
                preconditions=opts.get("preconditions"),
            )
        )
        if gone and not rt.custom:
            details: dict[str, Any] = {"name": name}
            if rt.group:
                details["group"] = rt.group
            details["kind"] = rt.plural
            details["uid"] = entry.obj["metadata"].get("uid", "")
            return _json(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": details,
                }
            )
        return self._object(entry, rt, version=version)

    async def _write(self, fn: Callable[[], Any]) -> Any:
        result = fn()
        for hook in self.options.on_change:
            hook()
        return result

    @staticmethod
    async def _body(request: Request) -> Any:
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        try:
            if "yaml" in content_type:
                import yaml

                return yaml.safe_load(raw)
            return json.loads(raw or b"null")
        except ValueError as exc:
            raise bad_request(f"the body of the request was in an unknown format: {exc}") from exc

    async def _delete_options(self, request: Request) -> dict[str, Any]:
        q = request.query_params
        out: dict[str, Any] = {}
        raw = await request.body()
        body: dict[str, Any] = {}
        if raw.strip():
            try:
                loaded = json.loads(raw)
            except ValueError as exc:
                raise bad_request(f"invalid DeleteOptions: {exc}") from exc
            if isinstance(loaded, dict):
                body = loaded
        propagation = q.get("propagationPolicy") or body.get("propagationPolicy")
        orphan = q.get("orphanDependents")
        if orphan is None and "orphanDependents" in body:
            orphan = str(body["orphanDependents"])
        if propagation is None and orphan is not None:
            propagation = "Orphan" if _bool(orphan) else "Background"
        out["propagation"] = propagation
        out["preconditions"] = body.get("preconditions")
        out["dry"] = "All" in (body.get("dryRun") or [])
        return out

    # --- encoding -------------------------------------------------------------------------

    @staticmethod
    def _encode(entry: Entry, rt: ResourceType, *, version: str) -> bytes:
        if rt.custom and entry.obj.get("apiVersion") != rt.api_version(version):
            obj = dict(entry.obj)
            obj["apiVersion"] = rt.api_version(version)
            return dumps(obj)
        return entry.raw()

    def _object(self, entry: Entry, rt: ResourceType, *, version: str, status: int = 200) -> Response:
        return _raw(self._encode(entry, rt, version=version), status)

    def _list_response(
        self,
        rt: ResourceType,
        version: str,
        *,
        entries: list[Entry],
        rv: str,
        token: str = "",
        remaining: int | None = None,
    ) -> Response:
        meta: dict[str, Any] = {"resourceVersion": rv}
        if token:
            meta["continue"] = token
        if remaining is not None:
            meta["remainingItemCount"] = remaining
        head = dumps({"kind": rt.list_kind_name, "apiVersion": rt.api_version(version), "metadata": meta})
        items = b",".join(self._encode(e, rt, version=version) for e in entries)
        return _raw(head[:-1] + b',"items":[' + items + b"]}")

    def list_objects(self, request: Request, rt: ResourceType, *, version: str, namespace: str | None) -> Response:
        q = request.query_params
        try:
            limit = int(q.get("limit") or 0)
        except ValueError as exc:
            raise bad_request("limit must be an integer") from exc
        field_text = q.get("fieldSelector")
        result = self.store.list_entries(
            rt,
            namespace,
            label=parse_label_selector(q.get("labelSelector")),
            field=parse_field_selector(field_text),
            limit=max(0, limit),
            continue_token=q.get("continue") or "",
            name=field_selector_name(field_text),
        )
        if "as=Table" in request.headers.get("accept", ""):
            return self._table(request, rt, entries=result.entries, rv=result.resource_version)
        return self._list_response(
            rt,
            version,
            entries=result.entries,
            rv=result.resource_version,
            token=result.continue_token,
            remaining=result.remaining,
        )

    def _table(self, request: Request, rt: ResourceType, *, entries: list[Entry], rv: str) -> Response:
        from kubesim.tables import columns, row_cells

        include = request.query_params.get("includeObject", "Metadata")
        now = time.time()
        rows = []
        for entry in entries:
            obj = entry.obj
            if include == "Object":
                shown: dict[str, Any] = obj
            elif include == "None":
                shown = {}
            else:
                shown = {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj["metadata"],
                }
            row: dict[str, Any] = {"cells": row_cells(rt, obj, age=_age(obj["metadata"].get("creationTimestamp"), now))}
            if shown:
                row["object"] = shown
            rows.append(row)
        body = {
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": rv},
            "columnDefinitions": columns(rt),
            "rows": rows,
        }
        return _json(body)

    # --- watch ----------------------------------------------------------------------------

    async def watch(
        self,
        request: Request,
        rt: ResourceType,
        *,
        version: str,
        namespace: str | None,
        field_text: str | None,
    ) -> Response:
        q = request.query_params
        label = parse_label_selector(q.get("labelSelector"))
        field_matcher = parse_field_selector(field_text)
        bookmarks = _bool(q.get("allowWatchBookmarks"))
        try:
            timeout = float(q.get("timeoutSeconds") or self.options.default_watch_timeout)
        except ValueError as exc:
            raise bad_request("timeoutSeconds must be a number") from exc
        loop = asyncio.get_running_loop()
        try:
            watcher, backlog = self.store.watch(
                rt,
                namespace,
                since=q.get("resourceVersion"),
                label=label,
                field=field_matcher,
                loop=loop,
            )
        except ApiError as err:
            if err.code != 410:
                raise
            error_line = dumps({"type": "ERROR", "object": err.status()}) + b"\n"
            return Response(error_line, media_type=_JSON)
        store = self.store
        interval = self.options.bookmark_interval
        encode = self._encode

        def bookmark() -> bytes:
            obj = {
                "kind": rt.kind,
                "apiVersion": rt.api_version(version),
                "metadata": {"resourceVersion": str(store.resource_version)},
            }
            return dumps({"type": "BOOKMARK", "object": obj}) + b"\n"

        def line(ev: Event) -> bytes:
            if rt.custom and ev.entry.obj.get("apiVersion") != rt.api_version(version):
                return (
                    b'{"type":"' + ev.type.encode() + b'","object":' + encode(ev.entry, rt=rt, version=version) + b"}\n"
                )
            return ev.line()

        async def stream() -> AsyncIterator[bytes]:
            try:
                if backlog:
                    yield b"".join(line(ev) for ev in backlog)
                deadline = loop.time() + timeout
                queue = watcher.queue
                while True:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    wait = min(remaining, interval) if bookmarks else remaining
                    try:
                        ev = await asyncio.wait_for(queue.get(), wait)
                    except TimeoutError:
                        if bookmarks and deadline - loop.time() > 0:
                            yield bookmark()
                        continue
                    if ev is None:
                        break
                    chunk = [line(ev)]
                    closed = False
                    while not queue.empty():
                        more = queue.get_nowait()
                        if more is None:
                            closed = True
                            break
                        chunk.append(line(more))
                    yield b"".join(chunk)
                    if closed:
                        break
            finally:
                store.unwatch(watcher)

        return StreamingResponse(stream(), media_type=_JSON)

    # --- pods/log and scale -----------------------------------------------------------------

    async def pod_log(self, request: Request, rt: ResourceType, *, ns: str, name: str) -> Response:
        q = request.query_params
        pod = self.store.get(rt, ns, name=name).obj
        container = logs.pick_container(pod, q.get("container"))
        try:
            tail = int(q["tailLines"]) if q.get("tailLines") else None
            since = int(q["sinceSeconds"]) if q.get("sinceSeconds") else None
        except ValueError as exc:
            raise bad_request("tailLines and sinceSeconds must be integers") from exc
        stamps = _bool(q.get("timestamps"))
        previous = _bool(q.get("previous"))
        lines, next_index = logs.generate(
            pod,
            container=container,
            now=time.time(),
            previous=previous,
            tail_lines=tail,
            since_seconds=since,
        )

        def render(ts: float, text: str) -> bytes:
            return ((logs.format_ts(ts) + " " if stamps else "") + text + "\n").encode()

        body = b"".join(render(ts, text) for ts, text in lines)
        if not _bool(q.get("follow")) or previous:
            return Response(body, media_type="text/plain")
        interval = self.options.log_follow_interval
        store = self.store
        instance = self._restarts(pod, container)

        async def follow() -> AsyncIterator[bytes]:
            index = next_index
            if body:
                yield body
            while not self.stopping.is_set():
                await asyncio.sleep(interval)
                live = store.lookup(rt, ns, name=name)
                if live is None:
                    break
                state = self._state(live.obj, container)
                if "terminated" in state:
                    break
                text = logs.line_text(pod=name, container=container, index=index, instance=instance)
                index += 1
                yield render(time.time(), text)

        return StreamingResponse(follow(), media_type="text/plain")

    @staticmethod
    def _restarts(pod: dict[str, Any], container: str) -> int:
        for st in (pod.get("status") or {}).get("containerStatuses") or []:
            if st.get("name") == container:
                return int(st.get("restartCount") or 0)
        return 0

    @staticmethod
    def _state(pod: dict[str, Any], container: str) -> dict[str, Any]:
        for st in (pod.get("status") or {}).get("containerStatuses") or []:
            if st.get("name") == container:
                return dict(st.get("state") or {})
        return {}

    async def scale(self, request: Request, rt: ResourceType, *, ns: str, name: str, ctx: WriteContext) -> Response:
        def view(obj: dict[str, Any]) -> dict[str, Any]:
            meta = obj["metadata"]
            selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            return {
                "kind": "Scale",
                "apiVersion": "autoscaling/v1",
                "metadata": {
                    k: meta[k]
                    for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                    if k in meta
                },
                "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
                "status": {
                    "replicas": (obj.get("status") or {}).get("replicas", 0),
                    "selector": ",".join(f"{k}={v}" for k, v in selector.items()),
                },
            }

        entry = self.store.get(rt, ns, name=name)
        if request.method == "GET":
            return _json(view(entry.obj))
        raw = await request.body()
        try:
            doc = json.loads(raw or b"{}")
        except ValueError as exc:
            raise bad_request(str(exc)) from exc
        if request.method == "PATCH":
            replicas = (doc.get("spec") or {}).get("replicas")
        else:
            replicas = (doc.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int):
            raise bad_request("spec.replicas must be an integer")
        patch = json.dumps({"spec": {"replicas": replicas}}).encode()
        ctx.field_manager = ctx.field_manager or ctx.manager()
        updated = await self._write(
            lambda: self.store.patch(
                rt, ns, name=name, content_type="application/merge-patch+json", body=patch, ctx=ctx
            )
        )
        return _json(view(updated.obj))

    # --- admin ----------------------------------------------------------------------------

    async def admin(self, request: Request, parts: list[str]) -> Response:
        if parts == ["oplog"]:
            if request.method == "DELETE":
                self.store.clear_oplog()
                return _json({"cleared": True})
            with self.store.lock:
                entries = list(self.store.oplog)
            return _json({"items": entries, "count": len(entries)})
        if parts == ["compact"] and request.method == "POST":
            return _json({"resourceVersion": str(self.store.compact())})
        if parts == ["healthz"]:
            return Response("ok", media_type="text/plain")
        raise not_found(group="kubesim.io", resource="endpoints", name="/".join(parts))


async def shutdown_streams(app: KubeApp) -> None:
    """Let open watch and log streams finish so the server can stop promptly."""
    app.stopping.set()
    with contextlib.suppress(Exception):
        app.store.close_watchers()
