"""ProjectService routes: ``/api/v1/projects``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from fastapi.responses import Response

from argocd_server.api.deps import AccessDep, DbSession, JsonBody, StateDep, body_int, body_str
from argocd_server.api.responses import EMPTY, json_response
from argocd_server.api.routing import Router
from argocd_server.services.projects import ProjectService


async def project_service(db: DbSession, state: StateDep, access: AccessDep) -> ProjectService:
    return ProjectService(
        session=db,
        access=access,
        authenticator=state.authenticator,
        project_index=state.project_index,
        cm_data=state.config.cm_data,
        namespace=state.settings.namespace,
    )


ProjectServiceDep = Annotated[ProjectService, Depends(project_service)]

router = Router(prefix="/api/v1/projects")


@router.get("", operation_id="ProjectService_List")
def list_projects(svc: ProjectServiceDep) -> Response:
    return json_response(svc.list())


@router.post("", operation_id="ProjectService_Create")
def create_project(body: JsonBody, svc: ProjectServiceDep) -> Response:
    return json_response(svc.create(project=body.get("project"), upsert=body.get("upsert")))


@router.get("/{name}", operation_id="ProjectService_Get")
def get_project(name: str, svc: ProjectServiceDep) -> Response:
    return json_response(svc.get(name))


@router.delete("/{name}", operation_id="ProjectService_Delete")
def delete_project(name: str, svc: ProjectServiceDep) -> Response:
    svc.delete(name)
    return json_response(EMPTY)


@router.get("/{name}/detailed", operation_id="ProjectService_GetDetailedProject")
def get_detailed_project(name: str, svc: ProjectServiceDep) -> Response:
    return json_response(svc.get_detailed(name))


@router.get("/{name}/events", operation_id="ProjectService_ListEvents")
def list_project_events(name: str, svc: ProjectServiceDep) -> Response:
    return json_response(svc.list_events(name))


@router.get("/{name}/globalprojects", operation_id="ProjectService_GetGlobalProjects")
def get_global_projects(name: str, svc: ProjectServiceDep) -> Response:
    return json_response(svc.get_global_projects(name))


@router.get("/{name}/links", operation_id="ProjectService_ListLinks")
def list_project_links(name: str, svc: ProjectServiceDep) -> Response:
    return json_response(svc.list_links(name))


@router.get("/{name}/syncwindows", operation_id="ProjectService_GetSyncWindowsState")
def get_sync_windows_state(name: str, svc: ProjectServiceDep) -> Response:
    return json_response(svc.get_sync_windows_state(name))


@router.put("/{project_name}", operation_id="ProjectService_Update")
def update_project(project_name: str, body: JsonBody, svc: ProjectServiceDep) -> Response:
    return json_response(svc.update(name=project_name, project=body.get("project")))


@router.post("/{project}/roles/{role}/token", operation_id="ProjectService_CreateToken")
def create_project_token(project: str, role: str, body: JsonBody, svc: ProjectServiceDep) -> Response:
    msg = "ProjectTokenCreateRequest"
    return json_response(
        svc.create_token(
            project=project,
            role=role,
            description=body_str(body, "description", message=msg),
            expires_in=body_int(body, "expiresIn", message=msg),
            token_id=body_str(body, "id", message=msg),
        )
    )


@router.delete("/{project}/roles/{role}/token/{iat}", operation_id="ProjectService_DeleteToken")
def delete_project_token(
    project: str, role: str, iat: str, svc: ProjectServiceDep, token_id: Annotated[str, Query(alias="id")] = ""
) -> Response:
    svc.delete_token(project=project, role=role, iat=iat, token_id=token_id)
    return json_response(EMPTY)
