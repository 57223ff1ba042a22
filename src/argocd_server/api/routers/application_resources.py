"""ApplicationService routes on an application's live resources: events, get/patch/delete resource, resource
actions, pod logs (streamed), deep links and sync windows.

Only the log routes are ``async def``: they prepare the stream in a worker thread and then relay entries as
newline-delimited JSON (or SSE with ``Accept: text/event-stream``). Their errors before the first message use the
stream error shape of API reference §1.5 rather than the unary one, so those two routes render ArgoError themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio.to_thread
import orjson
from fastapi import Depends, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from argocd_server.api.deps import AccessDep, DbSession, JsonBody, StateDep, body_str, query_bool
from argocd_server.api.responses import EMPTY, json_response
from argocd_server.api.routing import Router
from argocd_server.errors import ArgoError, InvalidArgument, ResourceExhausted
from argocd_server.services.app_resources import (
    ApplicationResourceService,
    LogQuery,
    LogStream,
    ResourceQuery,
    stream_error,
)

router = Router(prefix="/api/v1/applications")

SSE_KEEPALIVE_SECONDS = 15.0


async def resource_service(db: DbSession, state: StateDep, access: AccessDep) -> ApplicationResourceService:
    namespaces = [n.strip() for n in state.config.cmd_params.get("application.namespaces", "").split(",") if n.strip()]
    return ApplicationResourceService(
        session=db,
        access=access,
        namespace=state.settings.namespace,
        app_namespaces=namespaces,
        controller=state.controller,
        cm_data=state.config.cm_data,
    )


ResourceServiceDep = Annotated[ApplicationResourceService, Depends(resource_service)]


def resource_query(
    namespace: str = "",
    resource_name: Annotated[str, Query(alias="resourceName")] = "",
    version: str = "",
    group: str = "",
    kind: str = "",
    app_namespace: Annotated[str, Query(alias="appNamespace")] = "",
    project: str = "",
) -> ResourceQuery:
    return ResourceQuery(
        namespace=namespace,
        resource_name=resource_name,
        version=version,
        group=group,
        kind=kind,
        app_namespace=app_namespace,
        project=project,
    )


ResourceQueryDep = Annotated[ResourceQuery, Depends(resource_query)]


async def string_body(request: Request, state: StateDep) -> str:
    """A body that is one JSON string (``body: "patch"`` / ``body: "action"`` upstream); empty means ``""``."""
    raw = await request.body()
    if len(raw) > state.settings.max_request_bytes:
        raise ResourceExhausted(
            f"grpc: received message larger than max (limit {state.settings.max_request_bytes} bytes)"
        )
    if not raw.strip():
        return ""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"invalid character in JSON body: {exc.msg}") from None
    if not isinstance(value, str):
        raise InvalidArgument(f"json: cannot unmarshal {type(value).__name__} into Go value of type string")
    return value


StringBody = Annotated[str, Depends(string_body)]


@router.get("/{name}/events", operation_id="ApplicationService_ListResourceEvents")
def list_resource_events(
    name: str,
    svc: ResourceServiceDep,
    resource_namespace: Annotated[str, Query(alias="resourceNamespace")] = "",
    resource_name: Annotated[str, Query(alias="resourceName")] = "",
    resource_uid: Annotated[str, Query(alias="resourceUID")] = "",
    app_namespace: Annotated[str, Query(alias="appNamespace")] = "",
    project: str = "",
) -> Response:
    return json_response(
        svc.list_resource_events(
            name,
            resource_namespace=resource_namespace,
            resource_name=resource_name,
            resource_uid=resource_uid,
            app_namespace=app_namespace,
            project=project,
        )
    )


@router.get("/{name}/resource", operation_id="ApplicationService_GetResource")
def get_resource(name: str, query: ResourceQueryDep, svc: ResourceServiceDep) -> Response:
    return json_response(svc.get_resource(name, query))


@router.post("/{name}/resource", operation_id="ApplicationService_PatchResource")
def patch_resource(
    name: str,
    query: ResourceQueryDep,
    body: StringBody,
    svc: ResourceServiceDep,
    patch_type: Annotated[str, Query(alias="patchType")] = "",
) -> Response:
    return json_response(svc.patch_resource(name, query, patch=body, patch_type=patch_type))


@router.delete("/{name}/resource", operation_id="ApplicationService_DeleteResource")
def delete_resource(
    name: str, query: ResourceQueryDep, svc: ResourceServiceDep, force: str = "", orphan: str = ""
) -> Response:
    svc.delete_resource(name, query, force=query_bool("force", force), orphan=query_bool("orphan", orphan))
    return json_response(EMPTY)


@router.get("/{name}/resource/actions", operation_id="ApplicationService_ListResourceActions")
def list_resource_actions(name: str, query: ResourceQueryDep, svc: ResourceServiceDep) -> Response:
    return json_response(svc.list_resource_actions(name, query))


@router.post("/{name}/resource/actions", operation_id="ApplicationService_RunResourceAction")
def run_resource_action(name: str, query: ResourceQueryDep, body: StringBody, svc: ResourceServiceDep) -> Response:
    svc.run_resource_action(name, query, action=body)
    return json_response(EMPTY)


def _parameters(body: dict[str, Any]) -> dict[str, str]:
    raw = body.get("resourceActionParameters") or []
    if not isinstance(raw, list):
        raise InvalidArgument("json: cannot unmarshal into Go struct field .resourceActionParameters of type []")
    out: dict[str, str] = {}
    for item in raw:
        if isinstance(item, dict):
            out[body_str(item, "name", message="ResourceActionParameters")] = body_str(
                item, "value", message="ResourceActionParameters"
            )
    return out


@router.post("/{name}/resource/actions/v2", operation_id="ApplicationService_RunResourceActionV2")
def run_resource_action_v2(name: str, body: JsonBody, svc: ResourceServiceDep) -> Response:
    message = "ResourceActionRunRequestV2"
    query = ResourceQuery(
        namespace=body_str(body, "namespace", message=message),
        resource_name=body_str(body, "resourceName", message=message),
        version=body_str(body, "version", message=message),
        group=body_str(body, "group", message=message),
        kind=body_str(body, "kind", message=message),
        app_namespace=body_str(body, "appNamespace", message=message),
        project=body_str(body, "project", message=message),
    )
    svc.run_resource_action(name, query, action=body_str(body, "action", message=message), parameters=_parameters(body))
    return json_response(EMPTY)


@router.get("/{name}/resource/links", operation_id="ApplicationService_ListResourceLinks")
def list_resource_links(name: str, query: ResourceQueryDep, svc: ResourceServiceDep) -> Response:
    return json_response(svc.list_resource_links(name, query))


@router.get("/{name}/links", operation_id="ApplicationService_ListLinks")
def list_links(name: str, svc: ResourceServiceDep, namespace: str = "", project: str = "") -> Response:
    return json_response(svc.list_links(name, app_namespace=namespace, project=project))


@router.get("/{name}/syncwindows", operation_id="ApplicationService_GetApplicationSyncWindows")
def get_application_sync_windows(
    name: str,
    svc: ResourceServiceDep,
    app_namespace: Annotated[str, Query(alias="appNamespace")] = "",
    project: str = "",
) -> Response:
    return json_response(svc.get_sync_windows(name, app_namespace=app_namespace, project=project))


# --- pod logs -------------------------------------------------------------------------------------------------------


def _optional_int(name: str, value: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidArgument(f'parsing field "{name}": strconv.ParseInt: parsing "{value}": invalid syntax') from None


def log_query(
    request: Request,
    namespace: str = "",
    container: str = "",
    since_seconds: Annotated[str, Query(alias="sinceSeconds")] = "",
    since_time_seconds: Annotated[str, Query(alias="sinceTime.seconds")] = "",
    tail_lines: Annotated[str, Query(alias="tailLines")] = "",
    follow: str = "",
    until_time: Annotated[str, Query(alias="untilTime")] = "",
    line_filter: Annotated[str, Query(alias="filter")] = "",
    kind: str = "",
    group: str = "",
    resource_name: Annotated[str, Query(alias="resourceName")] = "",
    previous: str = "",
    match_case: Annotated[str, Query(alias="matchCase")] = "",
    app_namespace: Annotated[str, Query(alias="appNamespace")] = "",
    project: str = "",
) -> LogQuery:
    return LogQuery(
        pod_name=request.path_params.get("podName") or request.query_params.get("podName") or "",
        namespace=namespace,
        container=container,
        since_seconds=_optional_int("sinceSeconds", since_seconds),
        since_time=_optional_int("sinceTime.seconds", since_time_seconds),
        tail_lines=_optional_int("tailLines", tail_lines),
        follow=query_bool("follow", follow),
        until_time=until_time,
        filter=line_filter,
        match_case=query_bool("matchCase", match_case),
        kind=kind,
        group=group,
        resource_name=resource_name,
        previous=query_bool("previous", previous),
        app_namespace=app_namespace,
        project=project,
    )


LogQueryDep = Annotated[LogQuery, Depends(log_query)]


async def _frames(stream: LogStream, *, sse: bool) -> AsyncIterator[bytes]:
    entries = stream.entries(keepalive=SSE_KEEPALIVE_SECONDS if sse else None)
    try:
        async for entry in entries:
            if entry is None:
                yield b":\n"
                continue
            payload = orjson.dumps({"result": entry})
            yield b"data: " + payload + b" \n\n\n" if sse else payload + b"\n"
    except ArgoError as exc:
        payload = orjson.dumps(stream_error(exc))
        yield b"data: " + payload + b" \n\n\n" if sse else payload + b"\n"
    finally:
        await entries.aclose()


async def _raw_lines(stream: LogStream) -> AsyncIterator[bytes]:
    entries = stream.entries()
    try:
        async for entry in entries:
            if entry is not None and not entry["last"]:
                yield entry["content"].encode() + b"\n"
    finally:
        await entries.aclose()


async def _logs_response(name: str, request: Request, query: LogQuery, svc: ApplicationResourceService) -> Response:
    sse = request.headers.get("accept") == "text/event-stream"
    try:
        stream = await anyio.to_thread.run_sync(svc.open_logs, name, query)
    except ArgoError as exc:
        payload = orjson.dumps(stream_error(exc))
        body = b"data: " + payload + b" \n\n\n" if sse else payload + b"\n"
        return Response(
            body, status_code=exc.http_status, media_type="text/event-stream" if sse else "application/json"
        )
    if query_bool("download", request.query_params.get("download")):
        filename = f"{query.pod_name or name}.log"
        return StreamingResponse(
            _raw_lines(stream),
            media_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    if sse:
        return StreamingResponse(
            _frames(stream, sse=True), media_type="text/event-stream", headers={"X-Content-Type-Options": "nosniff"}
        )
    return StreamingResponse(_frames(stream, sse=False), media_type="application/json")


@router.get("/{name}/pods/{podName}/logs", operation_id="ApplicationService_PodLogs")
async def pod_logs(
    name: str,
    pod_name: Annotated[str, Path(alias="podName")],
    request: Request,
    query: LogQueryDep,
    svc: ResourceServiceDep,
) -> Response:
    return await _logs_response(name, request, query, svc)


@router.get("/{name}/logs", operation_id="ApplicationService_PodLogs2")
async def pod_logs2(name: str, request: Request, query: LogQueryDep, svc: ResourceServiceDep) -> Response:
    return await _logs_response(name, request, query, svc)
