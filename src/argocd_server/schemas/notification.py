"""Wire models of the NotificationService tag: the configured services, templates and triggers."""

from __future__ import annotations

from pydantic import Field

from argocd_server.schemas.common import ArgoModel

__all__ = [
    "Service",
    "ServiceList",
    "Template",
    "TemplateList",
    "Trigger",
    "TriggerList",
]


class Service(ArgoModel):
    """A notification service name."""

    name: str = ""


class ServiceList(ArgoModel):
    """Configured notification services."""

    items: list[Service] = Field(default_factory=list)


class Template(ArgoModel):
    """A notification template name."""

    name: str = ""


class TemplateList(ArgoModel):
    """Configured notification templates."""

    items: list[Template] = Field(default_factory=list)


class Trigger(ArgoModel):
    """A notification trigger name."""

    name: str = ""


class TriggerList(ArgoModel):
    """Configured notification triggers."""

    items: list[Trigger] = Field(default_factory=list)
