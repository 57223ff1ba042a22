"""GPGKeyService routes: ``/api/v1/gpgkeys``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.responses import Response

from argocd_server.api.deps import AccessDep, DbSession, JsonBody, query_bool
from argocd_server.api.responses import EMPTY, json_response
from argocd_server.api.routing import Router
from argocd_server.services.gpgkeys import GpgKeyService


async def gpgkey_service(db: DbSession, access: AccessDep) -> GpgKeyService:
    return GpgKeyService(session=db, access=access)


GpgKeyServiceDep = Annotated[GpgKeyService, Depends(gpgkey_service)]

router = Router(prefix="/api/v1/gpgkeys")


@router.get("", operation_id="GPGKeyService_List")
def list_gpg_keys(svc: GpgKeyServiceDep) -> Response:
    # `keyID` is accepted and ignored, as upstream's List does.
    return json_response(svc.list())


@router.post("", operation_id="GPGKeyService_Create")
def create_gpg_key(body: JsonBody, svc: GpgKeyServiceDep, upsert: str | None = None) -> Response:
    # `upsert` is validated but has no effect: upstream skips keys that are already configured.
    query_bool("upsert", upsert)
    return json_response(svc.create(body))


@router.delete("", operation_id="GPGKeyService_Delete")
def delete_gpg_key(svc: GpgKeyServiceDep, keyID: str = "") -> Response:
    svc.delete(keyID)
    return json_response(EMPTY)


@router.get("/{keyID}", operation_id="GPGKeyService_Get")
def get_gpg_key(keyID: str, svc: GpgKeyServiceDep) -> Response:
    return json_response(svc.get(keyID))
