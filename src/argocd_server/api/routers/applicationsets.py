"""ApplicationSetService routes (CRUD part): list, create, get, delete.

ResourceTree and ListResourceEvents are routed in ``applicationset_extra.py``, the watch in ``stream.py``.
Generate is not routed: it needs the ApplicationSet generators.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from argocd_server.api.deps import AccessDep, DbSession, JsonBody, StateDep, query_bool
from argocd_server.api.responses import EMPTY, json_response
from argocd_server.services.applicationsets import ApplicationSetService


def applicationset_service(db: DbSession, state: StateDep, access: AccessDep) -> ApplicationSetService:
    raw = state.config.cmd_params.get("application.namespaces", "")
    return ApplicationSetService(
        session=db,
        access=access,
        namespace=state.settings.namespace,
        enabled_namespaces=[n.strip() for n in raw.split(",") if n.strip()],
    )


ApplicationSetServiceDep = Annotated[ApplicationSetService, Depends(applicationset_service)]

router = APIRouter(prefix="/api/v1/applicationsets")


@router.get("", operation_id="ApplicationSetService_List")
def list_applicationsets(
    svc: ApplicationSetServiceDep,
    projects: Annotated[list[str] | None, Query()] = None,
    selector: str = "",
    appset_namespace: Annotated[str, Query(alias="appsetNamespace")] = "",
) -> Response:
    return json_response(svc.list(projects=projects or [], selector=selector, appset_namespace=appset_namespace))


@router.post("", operation_id="ApplicationSetService_Create")
def create_applicationset(
    body: JsonBody,
    svc: ApplicationSetServiceDep,
    upsert: str | None = None,
    dry_run: Annotated[str | None, Query(alias="dryRun")] = None,
) -> Response:
    return json_response(svc.create(body, upsert=query_bool("upsert", upsert), dry_run=query_bool("dryRun", dry_run)))


@router.get("/{name}", operation_id="ApplicationSetService_Get")
def get_applicationset(
    name: str,
    svc: ApplicationSetServiceDep,
    appset_namespace: Annotated[str, Query(alias="appsetNamespace")] = "",
) -> Response:
    return json_response(svc.get(name=name, appset_namespace=appset_namespace))


@router.delete("/{name}", operation_id="ApplicationSetService_Delete")
def delete_applicationset(
    name: str,
    svc: ApplicationSetServiceDep,
    appset_namespace: Annotated[str, Query(alias="appsetNamespace")] = "",
) -> Response:
    svc.delete(name=name, appset_namespace=appset_namespace)
    return json_response(EMPTY)
