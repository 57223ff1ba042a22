"""RepoCredsService routes: credential templates under ``/api/v1/repocreds`` and ``/api/v1/write-repocreds``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.responses import Response

from argocd_server.api.deps import AccessDep, DbSession, JsonBody, StateDep, query_bool
from argocd_server.api.responses import EMPTY, json_response
from argocd_server.api.routing import Router
from argocd_server.services.repocreds import RepoCredsService


async def repocreds_service(db: DbSession, state: StateDep, access: AccessDep) -> RepoCredsService:
    return RepoCredsService(session=db, access=access, box=state.secret_box)


RepoCredsServiceDep = Annotated[RepoCredsService, Depends(repocreds_service)]

router = Router(prefix="/api/v1")


@router.get("/repocreds", operation_id="RepoCredsService_ListRepositoryCredentials")
def list_repository_credentials(svc: RepoCredsServiceDep) -> Response:
    # The `url` filter is accepted and ignored, as upstream does.
    return json_response(svc.list())


@router.post("/repocreds", operation_id="RepoCredsService_CreateRepositoryCredentials")
def create_repository_credentials(body: JsonBody, svc: RepoCredsServiceDep, upsert: str | None = None) -> Response:
    return json_response(svc.create(body, upsert=query_bool("upsert", upsert)))


@router.put("/repocreds/{url:path}", operation_id="RepoCredsService_UpdateRepositoryCredentials")
def update_repository_credentials(url: str, body: JsonBody, svc: RepoCredsServiceDep) -> Response:
    return json_response(svc.update(url, body))


@router.delete("/repocreds/{url:path}", operation_id="RepoCredsService_DeleteRepositoryCredentials")
def delete_repository_credentials(url: str, svc: RepoCredsServiceDep) -> Response:
    svc.delete(url)
    return json_response(EMPTY)


@router.get("/write-repocreds", operation_id="RepoCredsService_ListWriteRepositoryCredentials")
def list_write_repository_credentials(svc: RepoCredsServiceDep) -> Response:
    return json_response(svc.list(write=True))


@router.post("/write-repocreds", operation_id="RepoCredsService_CreateWriteRepositoryCredentials")
def create_write_repository_credentials(
    body: JsonBody, svc: RepoCredsServiceDep, upsert: str | None = None
) -> Response:
    return json_response(svc.create(body, upsert=query_bool("upsert", upsert), write=True))


@router.put("/write-repocreds/{url:path}", operation_id="RepoCredsService_UpdateWriteRepositoryCredentials")
def update_write_repository_credentials(url: str, body: JsonBody, svc: RepoCredsServiceDep) -> Response:
    return json_response(svc.update(url, body, write=True))


@router.delete("/write-repocreds/{url:path}", operation_id="RepoCredsService_DeleteWriteRepositoryCredentials")
def delete_write_repository_credentials(url: str, svc: RepoCredsServiceDep) -> Response:
    svc.delete(url, write=True)
    return json_response(EMPTY)
