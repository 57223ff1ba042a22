"""ApplicationService routes backed by the controller: sync, rollback, terminate operation, resource tree,
managed resources, and Get with ``?refresh=`` (which waits for the controller's comparison)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from fastapi.responses import Response

from argocd_server.api.deps import AccessDep, DbSession, JsonBody, StateDep
from argocd_server.api.responses import EMPTY, json_response
from argocd_server.api.routing import Router
from argocd_server.services.app_operations import ApplicationOperationsService

router = Router(prefix="/api/v1/applications")


async def operations_service(db: DbSession, state: StateDep, access: AccessDep) -> ApplicationOperationsService:
    namespaces = [n.strip() for n in state.config.cmd_params.get("application.namespaces", "").split(",") if n.strip()]
    return ApplicationOperationsService(
        session=db,
        access=access,
        namespace=state.settings.namespace,
        app_namespaces=namespaces,
        controller=state.controller,
    )


OperationsServiceDep = Annotated[ApplicationOperationsService, Depends(operations_service)]


@router.post("/{name}/sync", operation_id="ApplicationService_Sync")
def sync_application(name: str, body: JsonBody, svc: OperationsServiceDep) -> Response:
    return json_response(svc.sync(name, body))


@router.post("/{name}/rollback", operation_id="ApplicationService_Rollback")
def rollback_application(name: str, body: JsonBody, svc: OperationsServiceDep) -> Response:
    return json_response(svc.rollback(name, body))


@router.delete("/{name}/operation", operation_id="ApplicationService_TerminateOperation")
def terminate_operation(
    name: str,
    svc: OperationsServiceDep,
    app_namespace: Annotated[str, Query(alias="appNamespace")] = "",
    project: str = "",
) -> Response:
    svc.terminate_operation(name, app_namespace=app_namespace, project=project)
    return json_response(EMPTY)


@router.get("/{applicationName}/resource-tree", operation_id="ApplicationService_ResourceTree")
def get_resource_tree(
    application_name: Annotated[str, Path(alias="applicationName")],
    svc: OperationsServiceDep,
    app_namespace: Annotated[str, Query(alias="appNamespace")] = "",
    project: str = "",
) -> Response:
    return json_response(svc.resource_tree(application_name, app_namespace=app_namespace, project=project))


@router.get("/{applicationName}/managed-resources", operation_id="ApplicationService_ManagedResources")
def get_managed_resources(
    application_name: Annotated[str, Path(alias="applicationName")],
    svc: OperationsServiceDep,
    namespace: str = "",
    name: str = "",
    group: str = "",
    kind: str = "",
    app_namespace: Annotated[str, Query(alias="appNamespace")] = "",
    project: str = "",
) -> Response:
    filters = {"namespace": namespace, "name": name, "group": group, "kind": kind}
    return json_response(
        svc.managed_resources(application_name, app_namespace=app_namespace, project=project, filters=filters)
    )
