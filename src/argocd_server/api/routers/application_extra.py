"""ApplicationService routes added on top of the core ones: ServerSideDiff and GetManifestsWithFiles.

GetManifestsWithFiles is a client stream upstream; its REST body is the wrapper messages one after another (see
``services.app_local_manifests``), read here up to the server's request size limit.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.responses import Response

from argocd_server.api.deps import AccessDep, DbSession, StateDep
from argocd_server.api.responses import json_response
from argocd_server.api.routing import Router
from argocd_server.errors import ResourceExhausted
from argocd_server.services.app_diff import ApplicationDiffService
from argocd_server.services.app_local_manifests import LocalManifestsService, parse_wrapper_stream

router = Router(prefix="/api/v1/applications")


def _namespaces(state: StateDep) -> list[str]:
    return [n.strip() for n in state.config.cmd_params.get("application.namespaces", "").split(",") if n.strip()]


async def diff_service(db: DbSession, state: StateDep, access: AccessDep) -> ApplicationDiffService:
    return ApplicationDiffService(
        session=db,
        access=access,
        namespace=state.settings.namespace,
        app_namespaces=_namespaces(state),
        controller=state.controller,
        cm_data=state.config.cm_data,
    )


async def local_manifests_service(db: DbSession, state: StateDep, access: AccessDep) -> LocalManifestsService:
    controller = state.controller
    return LocalManifestsService(
        session=db,
        access=access,
        namespace=state.settings.namespace,
        app_namespaces=_namespaces(state),
        cm_data=state.config.cm_data,
        renderer=controller.renderer if controller is not None else None,
        repo_credentials=controller.repo_credentials if controller is not None else None,
    )


DiffServiceDep = Annotated[ApplicationDiffService, Depends(diff_service)]
LocalManifestsServiceDep = Annotated[LocalManifestsService, Depends(local_manifests_service)]


async def _raw_body(request: Request, state: StateDep) -> bytes:
    limit = state.settings.max_request_bytes
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ResourceExhausted(f"grpc: received message larger than max (limit {limit} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


RawBody = Annotated[bytes, Depends(_raw_body)]


@router.post("/manifestsWithFiles", operation_id="ApplicationService_GetManifestsWithFiles")
def get_manifests_with_files(body: RawBody, svc: LocalManifestsServiceDep) -> Response:
    query, archive = parse_wrapper_stream(body)
    return json_response(svc.manifests_with_files(query, archive))


@router.get("/{appName}/server-side-diff", operation_id="ApplicationService_ServerSideDiff")
def server_side_diff(
    app_name: Annotated[str, Path(alias="appName")],
    svc: DiffServiceDep,
    app_namespace: Annotated[str, Query(alias="appNamespace")] = "",
    project: str = "",
    target_manifests: Annotated[list[str] | None, Query(alias="targetManifests")] = None,
) -> Response:
    result = svc.server_side_diff(
        app_name, app_namespace=app_namespace, project=project, target_manifests=target_manifests or []
    )
    return json_response(result)
