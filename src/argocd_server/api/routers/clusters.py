"""ClusterService routes: ``/api/v1/clusters``.

Cluster ids are server URLs sent percent-encoded (``https%3A%2F%2F...``); ``{id_value:path}`` keeps the decoded
slashes in one parameter, as upstream's raw-path routing does. Live cluster information is served from the
refresher the lifespan started (``state.cluster_info``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from fastapi.responses import Response

from argocd_server.api.deps import AccessDep, DbSession, JsonBody, StateDep, query_bool
from argocd_server.api.responses import EMPTY, json_response
from argocd_server.api.routing import Router
from argocd_server.services.clusters import ClusterQuery, ClusterService, in_cluster_enabled


async def cluster_service(db: DbSession, state: StateDep, access: AccessDep) -> ClusterService:
    return ClusterService(
        session=db,
        access=access,
        secret_box=state.secret_box,
        in_cluster=in_cluster_enabled(state.config),
        info=state.cluster_info,
    )


ClusterServiceDep = Annotated[ClusterService, Depends(cluster_service)]

router = Router(prefix="/api/v1/clusters")


@router.get("", operation_id="ClusterService_List")
def list_clusters(
    svc: ClusterServiceDep,
    server: str = "",
    name: str = "",
    id_type: Annotated[str | None, Query(alias="id.type")] = None,
    id_value: Annotated[str | None, Query(alias="id.value")] = None,
) -> Response:
    return json_response(svc.list(ClusterQuery(server=server, name=name, id_type=id_type, id_value=id_value)))


@router.post("", operation_id="ClusterService_Create")
def create_cluster(body: JsonBody, svc: ClusterServiceDep, upsert: str | None = None) -> Response:
    return json_response(svc.create(body, upsert=query_bool("upsert", upsert)))


@router.get("/{id_value:path}", operation_id="ClusterService_Get")
def get_cluster(
    id_value: str,
    svc: ClusterServiceDep,
    server: str = "",
    name: str = "",
    id_type: Annotated[str, Query(alias="id.type")] = "",
) -> Response:
    return json_response(svc.get(ClusterQuery(server=server, name=name, id_type=id_type, id_value=id_value)))


@router.put("/{id_value:path}", operation_id="ClusterService_Update")
def update_cluster(
    id_value: str,
    body: JsonBody,
    svc: ClusterServiceDep,
    updated_fields: Annotated[list[str] | None, Query(alias="updatedFields")] = None,
    id_type: Annotated[str, Query(alias="id.type")] = "",
) -> Response:
    query = ClusterQuery(id_type=id_type, id_value=id_value)
    return json_response(svc.update(query, body, updated_fields=updated_fields or []))


@router.delete("/{id_value:path}", operation_id="ClusterService_Delete")
def delete_cluster(
    id_value: str,
    svc: ClusterServiceDep,
    server: str = "",
    name: str = "",
    id_type: Annotated[str, Query(alias="id.type")] = "",
) -> Response:
    svc.delete(ClusterQuery(server=server, name=name, id_type=id_type, id_value=id_value))
    return json_response(EMPTY)


@router.post("/{id_value:path}/invalidate-cache", operation_id="ClusterService_InvalidateCache")
def invalidate_cluster_cache(id_value: str, svc: ClusterServiceDep) -> Response:
    return json_response(svc.invalidate_cache(ClusterQuery(id_value=id_value)))


@router.post("/{id_value:path}/rotate-auth", operation_id="ClusterService_RotateAuth")
def rotate_cluster_auth(id_value: str, svc: ClusterServiceDep) -> Response:
    svc.rotate_auth(ClusterQuery(id_value=id_value))
    return json_response(EMPTY)
