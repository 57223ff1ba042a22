"""The watch streams (API reference §5): ApplicationService Watch and WatchResourceTree, ApplicationSetService Watch.

These are the only ``async def`` routes. They open a subscription on the process's ``StreamHub`` in a worker
thread (RBAC may read the database), then copy messages to the client as they come, never touching a Session or the
kube client on the event loop. Framing is chosen by ``Accept: text/event-stream`` (exact value): server-sent events
(``data: <json> \\n\\n\\n``, a ``:`` keep-alive comment line every ``keepalive_seconds``), otherwise newline-delimited
JSON. Every message is an envelope ``{"result": ...}``; an error before the first message sets the HTTP status and
is sent as ``{"error": {grpc_code, http_code, message, http_status}}``, an error later is appended on the 200 stream.

Gzip: Starlette's GZipMiddleware leaves ``text/event-stream`` alone and sync-flushes every chunk of a streamed
body, so NDJSON stays incremental when compressed. An empty first chunk pushes the response headers out at once,
even through the middleware, so clients see the stream open before the first event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial
from http import HTTPStatus
from typing import Annotated, Any

import anyio
import anyio.to_thread
import orjson
from fastapi import Path, Query, Request
from fastapi.responses import Response
from starlette.types import Message, Receive, Scope, Send

from argocd_server.api.deps import StateDep, required_principal
from argocd_server.api.routing import Router
from argocd_server.api.state import AppState
from argocd_server.errors import ArgoError, ResourceExhausted, Unavailable
from argocd_server.services.access import Access
from argocd_server.services.streams import OpenStream, StreamHub, WatchService, parse_fields

router = Router(prefix="/api/v1/stream")

SSE = "text/event-stream"


def _wants_sse(request: Request) -> bool:
    return request.headers.get("accept", "") == SSE


def _frame(message: bytes, *, sse: bool) -> bytes:
    # Upstream's SSE marshaller writes "data: <json> \n\n" and the stream delimiter adds one more newline.
    return b"data: " + message + b" \n\n\n" if sse else message + b"\n"


def _error_message(error: ArgoError) -> bytes:
    status = HTTPStatus(error.http_status)
    return orjson.dumps(
        {
            "error": {
                "grpc_code": error.grpc_code,
                "http_code": error.http_status,
                "message": error.message,
                "http_status": status.phrase,
            }
        }
    )


def _stream_error(error: ArgoError, *, sse: bool) -> Response:
    """An error before the first message: its HTTP status and one error chunk."""
    # The content type is set as a header: Starlette would append a charset to a text/* media type.
    headers = (
        {"Content-Type": SSE, "X-Content-Type-Options": "nosniff"} if sse else {"Content-Type": "application/json"}
    )
    return Response(content=_frame(_error_message(error), sse=sse), status_code=error.http_status, headers=headers)


class WatchStreamResponse(Response):
    """Streams an ``OpenStream`` until the client disconnects, the hub stops, or the subscriber is dropped."""

    def __init__(self, stream: OpenStream[Any], *, hub: StreamHub, sse: bool) -> None:
        # Response.__init__ would add a Content-Length; this body is chunked and open-ended.
        self.stream = stream
        self.hub = hub
        self.sse = sse
        self.status_code = 200
        self.background = None
        self.media_type = SSE if sse else "application/json"
        self.raw_headers = [(b"content-type", self.media_type.encode())]
        if sse:
            self.raw_headers.append((b"x-content-type-options", b"nosniff"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sub = self.stream.subscription
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await send({"type": "http.response.body", "body": b"", "more_body": True})
            async with anyio.create_task_group() as group:
                # A dropped subscriber's client may not be reading at all: cancel a send stuck on its socket.
                sub.on_drop = group.cancel_scope.cancel
                group.start_soon(_cancel_on_disconnect, receive, group.cancel_scope)
                await self._pump(send)
                group.cancel_scope.cancel()
            if sub.dropped:
                # Best effort: a client that stopped reading cannot take even this; uvicorn then closes the
                # connection when we return.
                with anyio.move_on_after(1.0):
                    error = ResourceExhausted("watch stream closed: the client did not keep up with events")
                    await send({"type": "http.response.body", "body": self._frame(_error_message(error))})
            elif sub.closed:
                # The hub stopped (server shutdown): end the body cleanly.
                with anyio.move_on_after(1.0):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client went away mid-write
        finally:
            sub.close()

    def _frame(self, message: bytes) -> bytes:
        return _frame(message, sse=self.sse)

    async def _pump(self, send: Send) -> None:
        sub = self.stream.subscription
        if self.stream.initial:
            await send(self._body(self.stream.initial))
        limiter = self.hub.render_limiter()
        while True:
            if self.sse:
                batch = None
                with anyio.move_on_after(self.hub.keepalive_seconds) as waited:
                    batch = await sub.next_batch()
                if waited.cancelled_caught:
                    await send({"type": "http.response.body", "body": b":\n", "more_body": True})
                    continue
            else:
                batch = await sub.next_batch()
            if batch is None:
                return
            messages = await anyio.to_thread.run_sync(self.stream.render, batch, limiter=limiter)
            if messages:
                await send(self._body(messages))

    def _body(self, messages: Sequence[bytes]) -> Message:
        return {"type": "http.response.body", "body": b"".join(self._frame(m) for m in messages), "more_body": True}


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            scope.cancel()
            return


async def _watch_service(request: Request, state: AppState) -> tuple[WatchService, StreamHub]:
    hub = state.streams
    if hub is None:
        raise Unavailable("watch streams are not running")
    principal = await required_principal(request, state)
    access = Access(principal=principal, enforcer=state.enforcer, auth_disabled=state.config.disable_auth)
    raw = state.config.cmd_params.get("application.namespaces", "")
    service = WatchService(
        hub=hub,
        access=access,
        loop=asyncio.get_running_loop(),
        enabled_namespaces=[n.strip() for n in raw.split(",") if n.strip()],
    )
    return service, hub


@router.get("/applications", operation_id="ApplicationService_Watch")
async def watch_applications(
    request: Request,
    state: StateDep,
    name: str = "",
    selector: str = "",
    app_namespace: Annotated[str, Query(alias="appNamespace")] = "",
    resource_version: Annotated[str, Query(alias="resourceVersion")] = "",
) -> Response:
    sse = _wants_sse(request)
    params = request.query_params
    legacy = params.getlist("project")
    try:
        service, hub = await _watch_service(request, state)
        opened = await anyio.to_thread.run_sync(
            partial(
                service.watch_applications,
                name=name,
                projects=legacy if legacy else params.getlist("projects"),
                selector=selector,
                app_namespace=app_namespace,
                resource_version=resource_version,
                fields=parse_fields(params.getlist("fields")),
            )
        )
    except ArgoError as exc:
        return _stream_error(exc, sse=sse)
    return WatchStreamResponse(opened, hub=hub, sse=sse)


@router.get("/applications/{applicationName}/resource-tree", operation_id="ApplicationService_WatchResourceTree")
async def watch_resource_tree(
    request: Request,
    state: StateDep,
    application_name: Annotated[str, Path(alias="applicationName")],
    app_namespace: Annotated[str, Query(alias="appNamespace")] = "",
    project: str = "",
) -> Response:
    sse = _wants_sse(request)
    try:
        service, hub = await _watch_service(request, state)
        opened = await anyio.to_thread.run_sync(
            partial(
                service.watch_resource_tree,
                application_name,
                app_namespace=app_namespace,
                project=project,
                fields=parse_fields(request.query_params.getlist("fields")),
            )
        )
    except ArgoError as exc:
        return _stream_error(exc, sse=sse)
    return WatchStreamResponse(opened, hub=hub, sse=sse)


@router.get("/applicationsets", operation_id="ApplicationSetService_Watch")
async def watch_applicationsets(
    request: Request,
    state: StateDep,
    name: str = "",
    selector: str = "",
    appset_namespace: Annotated[str, Query(alias="appSetNamespace")] = "",
    resource_version: Annotated[str, Query(alias="resourceVersion")] = "",
) -> Response:
    sse = _wants_sse(request)
    params = request.query_params
    try:
        service, hub = await _watch_service(request, state)
        opened = await anyio.to_thread.run_sync(
            partial(
                service.watch_applicationsets,
                name=name,
                projects=params.getlist("projects"),
                selector=selector,
                appset_namespace=appset_namespace,
                resource_version=resource_version,
                fields=parse_fields(params.getlist("fields")),
            )
        )
    except ArgoError as exc:
        return _stream_error(exc, sse=sse)
    return WatchStreamResponse(opened, hub=hub, sse=sse)
