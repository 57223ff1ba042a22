"""Wire models of the ClusterService tag: `Cluster` with its connection config, info and list.

The `[]byte` TLS members are base64 on the wire. Responses are sanitised (`Cluster.sanitized()`):
the config keeps only `tlsClientConfig.{insecure, serverName}`, `awsAuthConfig`, `proxyUrl` and
`disableCompression`; credentials, client certificates, the CA and exec-provider settings never
leave.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from argocd_server.schemas.common import (
    ArgoModel,
    Base64Bytes,
    ConnectionState,
    ListMeta,
    Time,
    always,
)

__all__ = [
    "AWSAuthConfig",
    "Cluster",
    "ClusterCacheInfo",
    "ClusterConfig",
    "ClusterID",
    "ClusterInfo",
    "ClusterList",
    "ExecProviderConfig",
    "TLSClientConfig",
]


class TLSClientConfig(ArgoModel):
    """TLS settings; `insecure` has no omitempty, the key material is base64 `[]byte`."""

    insecure: bool = always(False)
    server_name: str = ""
    cert_data: Base64Bytes = b""
    key_data: Base64Bytes = b""
    ca_data: Base64Bytes = b""


class AWSAuthConfig(ArgoModel):
    """EKS IAM authentication."""

    cluster_name: str = ""
    role_arn: str = Field(default="", alias="roleARN")
    profile: str = ""


class ExecProviderConfig(ArgoModel):
    """client-go exec credential plugin settings (`env` may hold secrets)."""

    command: str = ""
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    api_version: str = ""
    install_hint: str = ""
    provide_cluster_info: bool = False
    config: Any = None


class ClusterConfig(ArgoModel):
    """How to connect; `tlsClientConfig` is an embedded struct and always written."""

    username: str = ""
    password: str = ""
    bearer_token: str = ""
    tls_client_config: TLSClientConfig = always(TLSClientConfig)
    aws_auth_config: AWSAuthConfig | None = None
    exec_provider_config: ExecProviderConfig | None = None
    disable_compression: bool = False
    proxy_url: str = ""


class ClusterCacheInfo(ArgoModel):
    """State of the controller's cluster cache."""

    resources_count: int = 0
    apis_count: int = Field(default=0, alias="apisCount")
    last_cache_sync_time: Time | None = None


class ClusterInfo(ArgoModel):
    """Live information about a cluster; `applicationsCount` has no omitempty."""

    connection_state: ConnectionState = always(ConnectionState)
    server_version: str = ""
    cache_info: ClusterCacheInfo = always(ClusterCacheInfo)
    applications_count: int = always(0)
    api_versions: list[str] = Field(default_factory=list)


class Cluster(ArgoModel):
    """A destination cluster; `server`, `name`, `config` always written, `shard` a pointer."""

    server: str = always("")
    name: str = always("")
    config: ClusterConfig = always(ClusterConfig)
    connection_state: ConnectionState = always(ConnectionState)
    server_version: str = ""
    namespaces: list[str] = Field(default_factory=list)
    refresh_requested_at: Time | None = None
    info: ClusterInfo = always(ClusterInfo)
    shard: int | None = None
    cluster_resources: bool = False
    project: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    def sanitized(self) -> Cluster:
        """The response form: the same cluster with every credential removed from `config`."""
        config = self.config
        return self.model_copy(
            deep=True,
            update={
                "config": ClusterConfig(
                    tls_client_config=TLSClientConfig(
                        insecure=config.tls_client_config.insecure,
                        server_name=config.tls_client_config.server_name,
                    ),
                    aws_auth_config=config.aws_auth_config.model_copy() if config.aws_auth_config else None,
                    proxy_url=config.proxy_url,
                    disable_compression=config.disable_compression,
                )
            },
        )


class ClusterList(ArgoModel):
    """Response of `GET /api/v1/clusters`."""

    metadata: ListMeta = always(ListMeta)
    items: list[Cluster] | None = always(None)


class ClusterID(ArgoModel):
    """Cluster selector of `/clusters/{id.value}`: `type` is `url` (default) or `name`."""

    type: str = ""
    value: str = ""
