"""ApplicationService routes (CRUD part): list, create, get, update, update spec, patch, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import Response

from argocd_server.api.deps import AccessDep, DbSession, JsonBody, StateDep, body_str, one_project, query_bool
from argocd_server.api.responses import EMPTY, json_response
from argocd_server.api.routers.application_ops import OperationsServiceDep
from argocd_server.api.routing import Router
from argocd_server.services.applications import ApplicationService

router = Router(prefix="/api/v1/applications")


async def application_service(db: DbSession, state: StateDep, access: AccessDep) -> ApplicationService:
    namespaces = [n.strip() for n in state.config.cmd_params.get("application.namespaces", "").split(",") if n.strip()]
    return ApplicationService(
        session=db,
        access=access,
        namespace=state.settings.namespace,
        app_namespaces=namespaces,
        cm_data=state.config.cm_data,
        # The controller's renderer and credential lookup are what validate=true generates manifests with.
        renderer=state.controller.renderer if state.controller is not None else None,
        repo_credentials=state.controller.repo_credentials if state.controller is not None else None,
        doc_cache=state.app_docs,
    )


ApplicationServiceDep = Annotated[ApplicationService, Depends(application_service)]


@router.get("", operation_id="ApplicationService_List")
def list_applications(
    request: Request,
    svc: ApplicationServiceDep,
    name: str = "",
    selector: str = "",
    repo: str = "",
    app_namespace: Annotated[str, Query(alias="appNamespace")] = "",
) -> Response:
    params = request.query_params
    legacy = params.getlist("project")
    projects = legacy if legacy else params.getlist("projects")
    fields = [f for value in params.getlist("fields") for f in value.split(",") if f]
    return json_response(
        svc.list(name=name, projects=projects, selector=selector, repo=repo, app_namespace=app_namespace, fields=fields)
    )


@router.post("", operation_id="ApplicationService_Create")
def create_application(
    body: JsonBody, svc: ApplicationServiceDep, upsert: str | None = None, validate: str | None = None
) -> Response:
    app = svc.create(
        body,
        upsert=query_bool("upsert", upsert, default=False),
        validate=query_bool("validate", validate, default=True),
    )
    return json_response(app)


@router.get("/{name}", operation_id="ApplicationService_Get")
def get_application(
    name: str,
    request: Request,
    svc: OperationsServiceDep,
    refresh: str = "",
    app_namespace: Annotated[str, Query(alias="appNamespace")] = "",
) -> Response:
    """Get; with ``refresh`` (normal|hard) the controller compares first and the fresh app is returned."""
    return json_response(
        svc.get_refreshed(name, refresh=refresh, app_namespace=app_namespace, project=one_project(request))
    )


@router.put("/{application_metadata_name}", operation_id="ApplicationService_Update")
def update_application(
    application_metadata_name: str,
    body: JsonBody,
    svc: ApplicationServiceDep,
    validate: str | None = None,
    project: str = "",
) -> Response:
    app = svc.update(
        application_metadata_name,
        body,
        validate=query_bool("validate", validate, default=True),
        project=project,
    )
    return json_response(app)


@router.put("/{name}/spec", operation_id="ApplicationService_UpdateSpec")
def update_application_spec(
    name: str,
    body: JsonBody,
    svc: ApplicationServiceDep,
    validate: str | None = None,
    app_namespace: Annotated[str, Query(alias="appNamespace")] = "",
    project: str = "",
) -> Response:
    spec = svc.update_spec(
        name,
        body,
        validate=query_bool("validate", validate, default=True),
        app_namespace=app_namespace,
        project=project,
    )
    return json_response(spec)


@router.patch("/{name}", operation_id="ApplicationService_Patch")
def patch_application(name: str, body: JsonBody, svc: ApplicationServiceDep) -> Response:
    msg = "ApplicationPatchRequest"
    app = svc.patch(
        name,
        patch=body_str(body, "patch", message=msg),
        patch_type=body_str(body, "patchType", message=msg),
        app_namespace=body_str(body, "appNamespace", message=msg),
        project=body_str(body, "project", message=msg),
    )
    return json_response(app)


@router.delete("/{name}", operation_id="ApplicationService_Delete")
def delete_application(
    name: str,
    svc: ApplicationServiceDep,
    cascade: str | None = None,
    propagation_policy: Annotated[str, Query(alias="propagationPolicy")] = "",
    app_namespace: Annotated[str, Query(alias="appNamespace")] = "",
    project: str = "",
) -> Response:
    svc.delete(
        name,
        cascade=None if cascade in (None, "") else query_bool("cascade", cascade, default=True),
        propagation_policy=propagation_policy,
        app_namespace=app_namespace,
        project=project,
    )
    return json_response(EMPTY)
