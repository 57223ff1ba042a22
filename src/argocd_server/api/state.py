"""Process-wide collaborators built once by the lifespan and handed to services per request."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from argocd_server.auth.rbac import Enforcer
from argocd_server.auth.secretbox import SecretBox
from argocd_server.config import ArgoConfig
from argocd_server.db.stores.applications import DocumentCache
from argocd_server.engine.clusters import ClusterProvider
from argocd_server.engine.controller import ApplicationController
from argocd_server.services.auth import Authenticator
from argocd_server.services.cluster_info import ClusterInfoRefresher
from argocd_server.services.project_index import ProjectIndex
from argocd_server.services.streams import StreamHub
from argocd_server.settings import Settings
from argocd_server.tools import ToolVersions, probe_tools


@dataclass
class AppState:
    settings: Settings
    config: ArgoConfig
    engine: Engine
    sessions: sessionmaker[Session]
    secret_box: SecretBox = field(repr=False)
    authenticator: Authenticator
    enforcer: Enforcer
    project_index: ProjectIndex
    controller: ApplicationController | None = None
    """The application controller (built always, started by the lifespan when ``controller_enabled``)."""
    clusters: ClusterProvider | None = None
    embedded_cluster: Any = None
    """The embedded simulator standing in for the in-cluster destination, when one was started."""
    cluster_info: ClusterInfoRefresher | None = None
    """Live cluster information for ClusterService, refreshed in the background (started by the lifespan)."""
    streams: StreamHub | None = None
    """The watch-stream broadcaster (started and stopped by the lifespan)."""
    app_docs: DocumentCache = field(default_factory=DocumentCache)
    """Encoded application documents by version, shared by list requests."""

    @cached_property
    def tools(self) -> ToolVersions:
        return probe_tools(self.settings)
