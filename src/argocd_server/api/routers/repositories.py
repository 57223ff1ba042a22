"""RepositoryService routes: ``/api/v1/repositories`` and the hydrator-gated ``/api/v1/write-repositories``.

Repository URLs arrive percent-encoded in the path; the ``:path`` converter keeps the decoded ``/`` inside one
parameter. Routes that need Git (refs, apps, app details, Helm charts, OCI tags, validate) are not served yet; when
added they must be registered before the catch-all ``{repo:path}`` routes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from argocd_server.api.deps import AccessDep, DbSession, JsonBody, StateDep, query_bool
from argocd_server.api.responses import EMPTY, json_response
from argocd_server.services.repositories import RepositoryService


def repository_service(db: DbSession, state: StateDep, access: AccessDep) -> RepositoryService:
    # The commit hydrator does not exist in this server, so write-repositories stay disabled as upstream's default.
    return RepositoryService(session=db, access=access, box=state.secret_box, hydrator_enabled=False)


RepositoryServiceDep = Annotated[RepositoryService, Depends(repository_service)]

router = APIRouter(prefix="/api/v1")


@router.get("/repositories", operation_id="RepositoryService_ListRepositories")
def list_repositories(svc: RepositoryServiceDep, forceRefresh: str | None = None) -> Response:
    # `repo` and `appProject` are accepted and ignored, as upstream does.
    query_bool("forceRefresh", forceRefresh)
    return json_response(svc.list())


@router.post("/repositories", operation_id="RepositoryService_CreateRepository")
def create_repository(
    body: JsonBody,
    svc: RepositoryServiceDep,
    upsert: str | None = None,
    credsOnly: str | None = None,
) -> Response:
    query_bool("credsOnly", credsOnly)
    return json_response(svc.create(body, upsert=query_bool("upsert", upsert)))


@router.put("/repositories/{repo:path}", operation_id="RepositoryService_UpdateRepository")
def update_repository(repo: str, body: JsonBody, svc: RepositoryServiceDep) -> Response:
    return json_response(svc.update(repo, body))


@router.get("/repositories/{repo:path}", operation_id="RepositoryService_Get")
def get_repository(
    repo: str,
    svc: RepositoryServiceDep,
    appProject: str = "",
    forceRefresh: str | None = None,
) -> Response:
    query_bool("forceRefresh", forceRefresh)
    return json_response(svc.get(repo, app_project=appProject))


@router.delete("/repositories/{repo:path}", operation_id="RepositoryService_DeleteRepository")
def delete_repository(
    repo: str,
    svc: RepositoryServiceDep,
    appProject: str = "",
    forceRefresh: str | None = None,
) -> Response:
    query_bool("forceRefresh", forceRefresh)
    svc.delete(repo, app_project=appProject)
    return json_response(EMPTY)


@router.get("/write-repositories", operation_id="RepositoryService_ListWriteRepositories")
def list_write_repositories(svc: RepositoryServiceDep) -> Response:
    return json_response(svc.list(write=True))


@router.post("/write-repositories", operation_id="RepositoryService_CreateWriteRepository")
def create_write_repository(body: JsonBody, svc: RepositoryServiceDep, upsert: str | None = None) -> Response:
    return json_response(svc.create(body, upsert=query_bool("upsert", upsert), write=True))


@router.post("/write-repositories/{repo:path}/validate", operation_id="RepositoryService_ValidateWriteAccess")
def validate_write_access(repo: str, svc: RepositoryServiceDep) -> Response:
    svc.validate_write_access()
    return json_response(EMPTY)


@router.put("/write-repositories/{repo:path}", operation_id="RepositoryService_UpdateWriteRepository")
def update_write_repository(repo: str, body: JsonBody, svc: RepositoryServiceDep) -> Response:
    return json_response(svc.update(repo, body, write=True))


@router.get("/write-repositories/{repo:path}", operation_id="RepositoryService_GetWrite")
def get_write_repository(repo: str, svc: RepositoryServiceDep, appProject: str = "") -> Response:
    return json_response(svc.get(repo, app_project=appProject, write=True))


@router.delete("/write-repositories/{repo:path}", operation_id="RepositoryService_DeleteWriteRepository")
def delete_write_repository(repo: str, svc: RepositoryServiceDep, appProject: str = "") -> Response:
    svc.delete(repo, app_project=appProject, write=True)
    return json_response(EMPTY)
