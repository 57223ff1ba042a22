"""Wire models of the RepositoryService tag: `Repository` (every credential field) and its list.

Stored repositories carry secrets; API responses never do. `Repository.sanitized()` builds the
response form upstream returns from every read (only the whitelisted members, `insecure` folded
together with `insecureIgnoreHostKey`, `type` defaulted), so services can never leak a credential by
forgetting one field.
"""

from __future__ import annotations

from pydantic import Field

from argocd_server.schemas.common import ArgoModel, ConnectionState, ListMeta, always

__all__ = [
    "REPOSITORY_SECRET_FIELDS",
    "AppInfo",
    "HelmChart",
    "HelmChartsResponse",
    "Refs",
    "RepoAppsResponse",
    "Repository",
    "RepositoryList",
    "default_repo_type",
]

REPOSITORY_SECRET_FIELDS: frozenset[str] = frozenset(
    {
        "password",
        "ssh_private_key",
        "tls_client_cert_data",
        "tls_client_cert_key",
        "github_app_private_key",
        "gcp_service_account_key",
        "bearer_token",
        "azure_service_principal_client_secret",
    }
)
"""Python field names of `Repository` that hold credentials and are never returned."""


def default_repo_type(repo_url: str, repo_type: str) -> str:
    """Read-side default: the stored type, else `oci` for `oci://` URLs, else `git`."""
    if repo_type:
        return repo_type
    return "oci" if repo_url.lower().startswith("oci://") else "git"


class Repository(ArgoModel):
    """A repository as stored and as accepted in create/update bodies."""

    repo: str = always("")
    username: str = ""
    password: str = ""
    ssh_private_key: str = ""
    connection_state: ConnectionState = always(ConnectionState)
    insecure_ignore_host_key: bool = False
    insecure: bool = False
    enable_lfs: bool = False
    tls_client_cert_data: str = ""
    tls_client_cert_key: str = ""
    type: str = ""
    name: str = ""
    inherited_creds: bool = False
    enable_oci: bool = Field(default=False, alias="enableOCI")
    github_app_private_key: str = ""
    github_app_id: int = Field(default=0, alias="githubAppID")
    github_app_installation_id: int = Field(default=0, alias="githubAppInstallationID")
    github_app_enterprise_base_url: str = ""
    proxy: str = ""
    project: str = ""
    gcp_service_account_key: str = ""
    force_http_basic_auth: bool = False
    no_proxy: str = ""
    use_azure_workload_identity: bool = False
    bearer_token: str = ""
    insecure_oci_force_http: bool = Field(default=False, alias="insecureOCIForceHttp")
    depth: int = 0
    webhook_manifest_cache_warm_disabled: bool = False
    azure_service_principal_client_id: str = ""
    azure_service_principal_client_secret: str = ""
    azure_service_principal_tenant_id: str = ""
    azure_active_directory_endpoint: str = ""

    def sanitized(self) -> Repository:
        """The response form: whitelisted members only, no credential of any kind."""
        return Repository(
            repo=self.repo,
            type=default_repo_type(self.repo, self.type),
            name=self.name,
            username=self.username,
            insecure=self.insecure or self.insecure_ignore_host_key,
            enable_lfs=self.enable_lfs,
            enable_oci=self.enable_oci,
            proxy=self.proxy,
            no_proxy=self.no_proxy,
            project=self.project,
            force_http_basic_auth=self.force_http_basic_auth,
            inherited_creds=self.inherited_creds,
            github_app_id=self.github_app_id,
            github_app_installation_id=self.github_app_installation_id,
            github_app_enterprise_base_url=self.github_app_enterprise_base_url,
            use_azure_workload_identity=self.use_azure_workload_identity,
            azure_active_directory_endpoint=self.azure_active_directory_endpoint,
            azure_service_principal_client_id=self.azure_service_principal_client_id,
            azure_service_principal_tenant_id=self.azure_service_principal_tenant_id,
            depth=self.depth,
            connection_state=self.connection_state.model_copy(),
        )

    def has_credentials(self) -> bool:
        """Whether any credential is set (upstream then does not inherit repo-creds)."""
        return any(getattr(self, name) for name in REPOSITORY_SECRET_FIELDS) or bool(
            self.username or self.github_app_id or self.use_azure_workload_identity
        )


class RepositoryList(ArgoModel):
    """Response of `GET /api/v1/repositories`; `items` may be `null` when nothing is visible."""

    metadata: ListMeta = always(ListMeta)
    items: list[Repository] | None = always(None)


class Refs(ArgoModel):
    """Branches and tags of a repository."""

    branches: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


class AppInfo(ArgoModel):
    """An app path found in a repository."""

    type: str = ""
    path: str = ""


class RepoAppsResponse(ArgoModel):
    """Apps found in a repository."""

    items: list[AppInfo] = Field(default_factory=list)


class HelmChart(ArgoModel):
    """A chart of a Helm repository."""

    name: str = ""
    versions: list[str] = Field(default_factory=list)


class HelmChartsResponse(ArgoModel):
    """Charts of the Helm repositories."""

    items: list[HelmChart] = Field(default_factory=list)
