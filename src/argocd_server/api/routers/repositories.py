"""RepositoryService routes: ``/api/v1/repositories`` and the hydrator-gated ``/api/v1/write-repositories``.

Repository URLs arrive percent-encoded in the path; the ``:path`` converter keeps the decoded ``/`` inside one
parameter. The content routes (refs, OCI tags, apps, app details, Helm charts, validate) are registered before the
catch-all ``{repo:path}`` routes, which would otherwise capture ``.../refs`` as part of the URL.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from fastapi.responses import Response

from argocd_server.api.deps import AccessDep, DbSession, JsonBody, StateDep, body_int, query_bool
from argocd_server.api.responses import EMPTY, json_response
from argocd_server.api.routing import Router
from argocd_server.errors import InvalidArgument
from argocd_server.services.repo_connections import connection_states_for
from argocd_server.services.repo_sources import AppDetailsQuery, RepoSourceService
from argocd_server.services.repositories import RepositoryService


async def repository_service(db: DbSession, state: StateDep, access: AccessDep) -> RepositoryService:
    # The commit hydrator does not exist in this server, so write-repositories stay disabled as upstream's default.
    renderer = state.controller.renderer if state.controller is not None else None
    return RepositoryService(
        session=db,
        access=access,
        box=state.secret_box,
        hydrator_enabled=False,
        connections=(
            connection_states_for(renderer)
            if renderer is not None and state.settings.repository_connection_checks
            else None
        ),
    )


RepositoryServiceDep = Annotated[RepositoryService, Depends(repository_service)]

router = Router(prefix="/api/v1")


async def repo_source_service(db: DbSession, state: StateDep, access: AccessDep) -> RepoSourceService:
    return RepoSourceService(
        session=db,
        access=access,
        box=state.secret_box,
        renderer=state.controller.renderer if state.controller is not None else None,
        namespace=state.settings.namespace,
    )


RepoSourceServiceDep = Annotated[RepoSourceService, Depends(repo_source_service)]

# ValidateAccess query parameters (RepoAccessQuery) and the Repository fields they fill.
_ACCESS_STRINGS = {
    "username": "username",
    "password": "password",
    "sshPrivateKey": "ssh_private_key",
    "tlsClientCertData": "tls_client_cert_data",
    "tlsClientCertKey": "tls_client_cert_key",
    "type": "type",
    "name": "name",
    "githubAppPrivateKey": "github_app_private_key",
    "githubAppEnterpriseBaseUrl": "github_app_enterprise_base_url",
    "proxy": "proxy",
    "project": "project",
    "gcpServiceAccountKey": "gcp_service_account_key",
    "bearerToken": "bearer_token",
    "azureServicePrincipalClientId": "azure_service_principal_client_id",
    "azureServicePrincipalClientSecret": "azure_service_principal_client_secret",
    "azureServicePrincipalTenantId": "azure_service_principal_tenant_id",
    "azureActiveDirectoryEndpoint": "azure_active_directory_endpoint",
}
_ACCESS_BOOLS = {
    "insecure": "insecure",
    "enableOci": "enable_oci",
    "forceHttpBasicAuth": "force_http_basic_auth",
    "useAzureWorkloadIdentity": "use_azure_workload_identity",
    "insecureOciForceHttp": "insecure_oci_force_http",
}
_ACCESS_INTS = {"githubAppID": "github_app_id", "githubAppInstallationID": "github_app_installation_id"}


def _access_fields(request: Request) -> dict[str, Any]:
    params = request.query_params
    fields: dict[str, Any] = {field: params[key] for key, field in _ACCESS_STRINGS.items() if params.get(key)}
    for key, field in _ACCESS_BOOLS.items():
        fields[field] = query_bool(key, params.get(key))
    for key, field in _ACCESS_INTS.items():
        value = params.get(key)
        if value:
            try:
                fields[field] = int(value)
            except ValueError:
                raise InvalidArgument(
                    f'parsing field "{key}": strconv.ParseInt: parsing "{value}": invalid syntax'
                ) from None
    return fields


def _optional_int(body: dict[str, Any], key: str) -> int | None:
    return None if body.get(key) is None else body_int(body, key, message="RepoAppDetailsQuery")


@router.get("/repositories/{repo:path}/refs", operation_id="RepositoryService_ListRefs")
def list_repository_refs(
    repo: str,
    svc: RepoSourceServiceDep,
    appProject: str = "",
    forceRefresh: str | None = None,
) -> Response:
    return json_response(svc.list_refs(repo, app_project=appProject, force=query_bool("forceRefresh", forceRefresh)))


@router.get("/repositories/{repo:path}/oci-tags", operation_id="RepositoryService_ListOCITags")
def list_repository_oci_tags(
    repo: str,
    svc: RepoSourceServiceDep,
    appProject: str = "",
    forceRefresh: str | None = None,
) -> Response:
    return json_response(
        svc.list_oci_tags(repo, app_project=appProject, force=query_bool("forceRefresh", forceRefresh))
    )


@router.get("/repositories/{repo:path}/apps", operation_id="RepositoryService_ListApps")
def list_repository_apps(
    repo: str,
    svc: RepoSourceServiceDep,
    revision: str = "",
    appName: str = "",
    appProject: str = "",
) -> Response:
    return json_response(svc.list_apps(repo, revision=revision, app_name=appName, app_project=appProject))


@router.get("/repositories/{repo:path}/helmcharts", operation_id="RepositoryService_GetHelmCharts")
def list_repository_helm_charts(
    repo: str,
    svc: RepoSourceServiceDep,
    appProject: str = "",
    forceRefresh: str | None = None,
) -> Response:
    query_bool("forceRefresh", forceRefresh)
    return json_response(svc.helm_charts(repo, app_project=appProject))


@router.post("/repositories/{source_repo_url:path}/appdetails", operation_id="RepositoryService_GetAppDetails")
def get_repository_app_details(source_repo_url: str, body: JsonBody, svc: RepoSourceServiceDep) -> Response:
    msg = "RepoAppDetailsQuery"
    source = body.get("source")
    if source is not None and not isinstance(source, dict):
        raise InvalidArgument(
            f"json: cannot unmarshal into Go struct field {msg}.source of type v1alpha1.ApplicationSource"
        )
    if source is not None:
        # The path segment is the source.repoURL field of the request.
        source = {**source, "repoURL": source_repo_url}
    app_name, app_project = body.get("appName"), body.get("appProject")
    query = AppDetailsQuery(
        source=source,
        app_name=app_name if isinstance(app_name, str) else "",
        app_project=app_project if isinstance(app_project, str) else "",
        source_index=body_int(body, "sourceIndex", message=msg),
        version_id=_optional_int(body, "versionId"),
    )
    return json_response(svc.app_details(query))


async def repo_string_body(request: Request) -> str:
    """ValidateAccess's body: the repo field as a bare JSON string (empty body: unset)."""
    raw = await request.body()
    if not raw.strip():
        return ""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"invalid character in JSON body: {exc.msg}") from None
    if not isinstance(value, str):
        raise InvalidArgument(f"json: cannot unmarshal {type(value).__name__} into Go value of type string")
    return value


@router.post("/repositories/{repo:path}/validate", operation_id="RepositoryService_ValidateAccess")
def validate_repository_access(
    repo: str,
    request: Request,
    svc: RepoSourceServiceDep,
    body: Annotated[str, Depends(repo_string_body)],
) -> Response:
    # The path parameter and the body both carry the URL; the path wins, as grpc-gateway fills it last.
    del body
    svc.validate_access(repo, _access_fields(request))
    return json_response(EMPTY)


@router.get("/repositories", operation_id="RepositoryService_ListRepositories")
def list_repositories(svc: RepositoryServiceDep, forceRefresh: str | None = None) -> Response:
    # `repo` and `appProject` are accepted and ignored, as upstream does.
    return json_response(svc.list(force_refresh=query_bool("forceRefresh", forceRefresh)))


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
    return json_response(svc.get(repo, app_project=appProject, force_refresh=query_bool("forceRefresh", forceRefresh)))


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
