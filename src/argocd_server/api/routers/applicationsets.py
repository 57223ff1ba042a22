"""ApplicationSetService routes: list, create, generate, get, delete.

ResourceTree and ListResourceEvents are routed in ``applicationset_extra.py``, the watch in ``stream.py``.
``/applicationsets/generate`` is registered before the ``/applicationsets/{name}`` routes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from fastapi.responses import Response

from argocd_server.api.deps import AccessDep, DbSession, JsonBody, StateDep, query_bool
from argocd_server.api.responses import EMPTY, json_response
from argocd_server.api.routing import Router
from argocd_server.services.applicationsets import ApplicationSetService


async def applicationset_service(db: DbSession, state: StateDep, access: AccessDep) -> ApplicationSetService:
    raw = state.config.cmd_params.get("application.namespaces", "")
    controller = state.controller
    return ApplicationSetService(
        session=db,
        access=access,
        namespace=state.settings.namespace,
        enabled_namespaces=[n.strip() for n in raw.split(",") if n.strip()],
        # Generation reads repositories through the controller's sources layer and credential lookup.
        renderer=controller.renderer if controller is not None else None,
        repo_credentials=controller.repo_credentials if controller is not None else None,
    )


ApplicationSetServiceDep = Annotated[ApplicationSetService, Depends(applicationset_service)]

router = Router(prefix="/api/v1/applicationsets")


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


@router.post("/generate", operation_id="ApplicationSetService_Generate")
def generate_applicationset(body: JsonBody, svc: ApplicationSetServiceDep) -> Response:
    return json_response(svc.generate(body))


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
