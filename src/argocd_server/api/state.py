"""Process-wide collaborators built once by the lifespan and handed to services per request."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from argocd_server.auth.rbac import Enforcer
from argocd_server.auth.secretbox import SecretBox
from argocd_server.config import ArgoConfig
from argocd_server.services.auth import Authenticator
from argocd_server.services.project_index import ProjectIndex
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

    @cached_property
    def tools(self) -> ToolVersions:
        return probe_tools(self.settings)
