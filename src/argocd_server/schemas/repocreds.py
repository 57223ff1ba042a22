"""Wire models of the RepoCredsService tag: credential templates matched by URL prefix.

Responses expose only `url`, `username`, `type` and `enableOCI` (`RepoCreds.sanitized()`).
"""

from __future__ import annotations

from pydantic import Field

from argocd_server.schemas.common import ArgoModel, ListMeta, always

__all__ = ["REPOCREDS_SECRET_FIELDS", "RepoCreds", "RepoCredsList"]

REPOCREDS_SECRET_FIELDS: frozenset[str] = frozenset(
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
"""Python field names of `RepoCreds` that hold credentials and are never returned."""


class RepoCreds(ArgoModel):
    """A credential template as stored and as accepted in create/update bodies."""

    url: str = always("")
    username: str = ""
    password: str = ""
    ssh_private_key: str = ""
    tls_client_cert_data: str = ""
    tls_client_cert_key: str = ""
    github_app_private_key: str = ""
    github_app_id: int = Field(default=0, alias="githubAppID")
    github_app_installation_id: int = Field(default=0, alias="githubAppInstallationID")
    github_app_enterprise_base_url: str = ""
    enable_oci: bool = Field(default=False, alias="enableOCI")
    type: str = ""
    gcp_service_account_key: str = ""
    proxy: str = ""
    force_http_basic_auth: bool = False
    no_proxy: str = ""
    use_azure_workload_identity: bool = False
    bearer_token: str = ""
    insecure_oci_force_http: bool = Field(default=False, alias="insecureOCIForceHttp")
    azure_service_principal_client_id: str = ""
    azure_service_principal_client_secret: str = ""
    azure_service_principal_tenant_id: str = ""
    azure_active_directory_endpoint: str = ""

    def sanitized(self) -> RepoCreds:
        """The response form: `url`, `username`, `type`, `enableOCI` only."""
        return RepoCreds(url=self.url, username=self.username, type=self.type, enable_oci=self.enable_oci)


class RepoCredsList(ArgoModel):
    """Response of `GET /api/v1/repocreds`."""

    metadata: ListMeta = always(ListMeta)
    items: list[RepoCreds] | None = always(None)
