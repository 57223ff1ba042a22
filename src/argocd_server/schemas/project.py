"""Wire models of the ProjectService tag: `AppProject`, its spec pieces, and the request bodies.

`status` is a non-pointer struct upstream, so a project always carries `"status": {}` at least.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from argocd_server.schemas.application import ApplicationDestination
from argocd_server.schemas.cluster import Cluster
from argocd_server.schemas.common import ArgoModel, GroupKind, ListMeta, ObjectMeta, always
from argocd_server.schemas.repository import Repository

__all__ = [
    "AppProject",
    "AppProjectList",
    "AppProjectSpec",
    "AppProjectStatus",
    "ApplicationDestinationServiceAccount",
    "ClusterResourceRestrictionItem",
    "DetailedProjectsResponse",
    "GlobalProjectsResponse",
    "JWTToken",
    "JWTTokens",
    "OrphanedResourceKey",
    "OrphanedResourcesMonitorSettings",
    "ProjectCreateRequest",
    "ProjectRole",
    "ProjectTokenCreateRequest",
    "ProjectTokenResponse",
    "ProjectUpdateRequest",
    "SignatureKey",
    "SyncWindow",
    "SyncWindowsResponse",
]


class JWTToken(ArgoModel):
    """A project-role token record; `iat` has no omitempty."""

    iat: int = always(0)
    exp: int = 0
    id: str = ""


class JWTTokens(ArgoModel):
    """Tokens of one role in `status.jwtTokensByRole`."""

    items: list[JWTToken] = Field(default_factory=list)


class ProjectRole(ArgoModel):
    """A project role: Casbin policy lines, SSO groups and issued tokens."""

    name: str = always("")
    description: str = ""
    policies: list[str] = Field(default_factory=list)
    jwt_tokens: list[JWTToken] = Field(default_factory=list, alias="jwtTokens")
    groups: list[str] = Field(default_factory=list)


class SyncWindow(ArgoModel):
    """A time window allowing or denying syncs."""

    kind: str = ""
    schedule: str = ""
    duration: str = ""
    applications: list[str] = Field(default_factory=list)
    namespaces: list[str] = Field(default_factory=list)
    clusters: list[str] = Field(default_factory=list)
    manual_sync: bool = False
    time_zone: str = ""
    and_operator: bool = False
    description: str = ""
    sync_overrun: bool = False


class ClusterResourceRestrictionItem(ArgoModel):
    """A cluster-scoped allow/deny entry: group and kind always written, `name` optional."""

    group: str = always("")
    kind: str = always("")
    name: str = ""


class OrphanedResourceKey(ArgoModel):
    """An orphaned-resource exclusion."""

    group: str = ""
    kind: str = ""
    name: str = ""


class OrphanedResourcesMonitorSettings(ArgoModel):
    """Orphaned-resource monitoring; `warn` is a pointer (explicit `false` kept)."""

    warn: bool | None = None
    ignore: list[OrphanedResourceKey] = Field(default_factory=list)


class SignatureKey(ArgoModel):
    """A GnuPG key id commits must be signed with."""

    key_id: str = always("", alias="keyID")


class ApplicationDestinationServiceAccount(ArgoModel):
    """Service account to impersonate for a destination."""

    server: str = always("")
    namespace: str = ""
    default_service_account: str = always("")


class AppProjectSpec(ArgoModel):
    """`spec` of a project."""

    source_repos: list[str] = Field(default_factory=list)
    destinations: list[ApplicationDestination] = Field(default_factory=list)
    description: str = ""
    roles: list[ProjectRole] = Field(default_factory=list)
    cluster_resource_whitelist: list[ClusterResourceRestrictionItem] = Field(default_factory=list)
    namespace_resource_blacklist: list[GroupKind] = Field(default_factory=list)
    orphaned_resources: OrphanedResourcesMonitorSettings | None = None
    sync_windows: list[SyncWindow] = Field(default_factory=list)
    namespace_resource_whitelist: list[GroupKind] = Field(default_factory=list)
    signature_keys: list[SignatureKey] = Field(default_factory=list)
    cluster_resource_blacklist: list[ClusterResourceRestrictionItem] = Field(default_factory=list)
    source_namespaces: list[str] = Field(default_factory=list)
    permit_only_project_scoped_clusters: bool = False
    destination_service_accounts: list[ApplicationDestinationServiceAccount] = Field(default_factory=list)
    source_integrity: dict[str, Any] | None = None


class AppProjectStatus(ArgoModel):
    """`status` of a project: issued tokens per role."""

    jwt_tokens_by_role: dict[str, JWTTokens] = Field(default_factory=dict, alias="jwtTokensByRole")


class AppProject(ArgoModel):
    """An Argo CD AppProject."""

    metadata: ObjectMeta = always(ObjectMeta)
    spec: AppProjectSpec = always(AppProjectSpec)
    status: AppProjectStatus = always(AppProjectStatus)


class AppProjectList(ArgoModel):
    """Response of `GET /api/v1/projects`."""

    metadata: ListMeta = always(ListMeta)
    items: list[AppProject] | None = always(None)


class ProjectCreateRequest(ArgoModel):
    """Body of `POST /api/v1/projects`."""

    project: AppProject | None = None
    upsert: bool = False


class ProjectUpdateRequest(ArgoModel):
    """Body of `PUT /api/v1/projects/{project.metadata.name}`."""

    project: AppProject | None = None


class ProjectTokenCreateRequest(ArgoModel):
    """Body of `POST /api/v1/projects/{project}/roles/{role}/token`; `expiresIn` is seconds."""

    project: str = ""
    role: str = ""
    description: str = ""
    expires_in: int = 0
    id: str = ""


class ProjectTokenResponse(ArgoModel):
    """A freshly issued project token."""

    token: str = ""


class DetailedProjectsResponse(ArgoModel):
    """Response of `GET /api/v1/projects/{name}/detailed` (clusters and repositories sanitised)."""

    global_projects: list[AppProject] = Field(default_factory=list)
    project: AppProject | None = None
    repositories: list[Repository] = Field(default_factory=list)
    clusters: list[Cluster] = Field(default_factory=list)


class GlobalProjectsResponse(ArgoModel):
    """Response of `GET /api/v1/projects/{name}/globalprojects`."""

    items: list[AppProject] = Field(default_factory=list)


class SyncWindowsResponse(ArgoModel):
    """Response of `GET /api/v1/projects/{name}/syncwindows`."""

    windows: list[SyncWindow] = Field(default_factory=list)
