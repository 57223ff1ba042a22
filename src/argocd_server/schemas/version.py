"""Wire model of the VersionService tag. Upstream's keys are capitalised (Go field names)."""

from __future__ import annotations

from pydantic import Field

from argocd_server.schemas.common import ArgoModel

__all__ = ["VersionMessage"]


class VersionMessage(ArgoModel):
    """Response of `GET /api/version`; anonymous callers get only `Version`."""

    version: str = Field(default="", alias="Version")
    build_date: str = Field(default="", alias="BuildDate")
    git_commit: str = Field(default="", alias="GitCommit")
    git_tag: str = Field(default="", alias="GitTag")
    git_tree_state: str = Field(default="", alias="GitTreeState")
    go_version: str = Field(default="", alias="GoVersion")
    compiler: str = Field(default="", alias="Compiler")
    platform: str = Field(default="", alias="Platform")
    kustomize_version: str = Field(default="", alias="KustomizeVersion")
    helm_version: str = Field(default="", alias="HelmVersion")
    kubectl_version: str = Field(default="", alias="KubectlVersion")
    jsonnet_version: str = Field(default="", alias="JsonnetVersion")
    extra_build_info: str = Field(default="", alias="ExtraBuildInfo")
