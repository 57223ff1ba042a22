"""ApplicationSetService read views: ResourceTree and ListResourceEvents (Generate is in ``applicationsets.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from fastapi.responses import Response

from argocd_server.api.deps import AccessDep, DbSession, StateDep
from argocd_server.api.responses import json_response
from argocd_server.api.routing import Router
from argocd_server.services.appset_views import ApplicationSetViewService

router = Router(prefix="/api/v1/applicationsets")


async def appset_view_service(db: DbSession, state: StateDep, access: AccessDep) -> ApplicationSetViewService:
    raw = state.config.cmd_params.get("application.namespaces", "")
    return ApplicationSetViewService(
        session=db,
        access=access,
        namespace=state.settings.namespace,
        enabled_namespaces=[n.strip() for n in raw.split(",") if n.strip()],
    )


ViewServiceDep = Annotated[ApplicationSetViewService, Depends(appset_view_service)]


@router.get("/{name}/resource-tree", operation_id="ApplicationSetService_ResourceTree")
def applicationset_resource_tree(
    name: str,
    svc: ViewServiceDep,
    appset_namespace: Annotated[str, Query(alias="appsetNamespace")] = "",
) -> Response:
    return json_response(svc.resource_tree(name=name, appset_namespace=appset_namespace))


@router.get("/{name}/events", operation_id="ApplicationSetService_ListResourceEvents")
def applicationset_events(
    name: str,
    svc: ViewServiceDep,
    appset_namespace: Annotated[str, Query(alias="appsetNamespace")] = "",
) -> Response:
    return json_response(svc.list_resource_events(name=name, appset_namespace=appset_namespace))
