"""ApplicationService routes that read an application's sources: manifests, revision metadata, chart details, OCI
metadata."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import Response

from argocd_server.api.deps import AccessDep, DbSession, StateDep, query_bool
from argocd_server.api.responses import json_response
from argocd_server.api.routing import Router
from argocd_server.errors import InvalidArgument
from argocd_server.services.app_sources import ApplicationSourceService, RevisionQuery

router = Router(prefix="/api/v1/applications")


async def application_source_service(db: DbSession, state: StateDep, access: AccessDep) -> ApplicationSourceService:
    namespaces = [n.strip() for n in state.config.cmd_params.get("application.namespaces", "").split(",") if n.strip()]
    controller = state.controller
    return ApplicationSourceService(
        session=db,
        access=access,
        namespace=state.settings.namespace,
        app_namespaces=namespaces,
        cm_data=state.config.cm_data,
        renderer=controller.renderer if controller is not None else None,
        repo_credentials=controller.repo_credentials if controller is not None else None,
    )


ApplicationSourceServiceDep = Annotated[ApplicationSourceService, Depends(application_source_service)]


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidArgument(f'parsing field "{name}": strconv.ParseInt: parsing "{value}": invalid syntax') from None


def _optional_int(name: str, value: str | None) -> int | None:
    return None if value is None or value == "" else _int(name, value)


@router.get("/{name}/manifests", operation_id="ApplicationService_GetManifests")
def get_application_manifests(
    name: str,
    request: Request,
    svc: ApplicationSourceServiceDep,
    revision: str = "",
    app_namespace: Annotated[str, Query(alias="appNamespace")] = "",
    project: str = "",
    no_cache: Annotated[str | None, Query(alias="noCache")] = None,
) -> Response:
    params = request.query_params
    manifests = svc.get_manifests(
        name,
        revision=revision,
        app_namespace=app_namespace,
        project=project,
        source_positions=[_int("sourcePositions", v) for v in params.getlist("sourcePositions")],
        revisions=params.getlist("revisions"),
        no_cache=query_bool("noCache", no_cache),
    )
    return json_response(manifests)


def revision_query(
    name: str,
    revision: str,
    app_namespace: Annotated[str, Query(alias="appNamespace")] = "",
    project: str = "",
    source_index: Annotated[str | None, Query(alias="sourceIndex")] = None,
    version_id: Annotated[str | None, Query(alias="versionId")] = None,
) -> RevisionQuery:
    return RevisionQuery(
        name=name,
        revision=revision,
        app_namespace=app_namespace,
        project=project,
        source_index=_optional_int("sourceIndex", source_index),
        version_id=_optional_int("versionId", version_id),
    )


RevisionQueryDep = Annotated[RevisionQuery, Depends(revision_query)]


@router.get("/{name}/revisions/{revision}/metadata", operation_id="ApplicationService_RevisionMetadata")
def get_application_revision_metadata(query: RevisionQueryDep, svc: ApplicationSourceServiceDep) -> Response:
    return json_response(svc.revision_metadata(query))


@router.get("/{name}/revisions/{revision}/chartdetails", operation_id="ApplicationService_RevisionChartDetails")
def get_application_revision_chart_details(query: RevisionQueryDep, svc: ApplicationSourceServiceDep) -> Response:
    return json_response(svc.revision_chart_details(query))


@router.get("/{name}/revisions/{revision}/ocimetadata", operation_id="ApplicationService_GetOCIMetadata")
def get_application_oci_metadata(query: RevisionQueryDep, svc: ApplicationSourceServiceDep) -> Response:
    return json_response(svc.oci_metadata(query))
