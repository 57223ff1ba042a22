"""Wire models of the ApplicationSetService tag.

Generators, strategies and status are kept as open JSON (extra members are preserved verbatim): the
server stores and returns them as given. The RBAC object of an ApplicationSet is derived from
`spec.template.spec.project`; the generators are read by `engine/appset` (Generate and dry-run creates).
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from argocd_server.schemas.application import Application
from argocd_server.schemas.common import ArgoModel, ListMeta, ObjectMeta, always

__all__ = [
    "ApplicationSet",
    "ApplicationSetGenerateRequest",
    "ApplicationSetGenerateResponse",
    "ApplicationSetList",
    "ApplicationSetResponse",
    "ApplicationSetSpec",
    "ApplicationSetStatus",
    "ApplicationSetTemplate",
    "ApplicationSetTemplateMeta",
    "ApplicationSetTemplateSpec",
]


class ApplicationSetTemplateMeta(ArgoModel):
    """Metadata stamped on generated applications (may hold template expressions)."""

    name: str = ""
    namespace: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    finalizers: list[str] = Field(default_factory=list)


class ApplicationSetTemplateSpec(ArgoModel):
    """The application spec template: `project` typed, everything else kept as sent."""

    model_config = ConfigDict(extra="allow")

    project: str = always("")


class ApplicationSetTemplate(ArgoModel):
    """`spec.template`."""

    metadata: ApplicationSetTemplateMeta = always(ApplicationSetTemplateMeta)
    spec: ApplicationSetTemplateSpec = always(ApplicationSetTemplateSpec)


class ApplicationSetSpec(ArgoModel):
    """`spec`: `generators` (no omitempty, `null` when nil) and `template` typed, the rest open."""

    model_config = ConfigDict(extra="allow")

    generators: list[dict[str, Any]] | None = always(None)
    template: ApplicationSetTemplate = always(ApplicationSetTemplate)


class ApplicationSetStatus(ArgoModel):
    """`status`, kept as sent by the controller; written as `{}` when empty."""

    model_config = ConfigDict(extra="allow")


class ApplicationSet(ArgoModel):
    """An ApplicationSet."""

    metadata: ObjectMeta = always(ObjectMeta)
    spec: ApplicationSetSpec = always(ApplicationSetSpec)
    status: ApplicationSetStatus = always(ApplicationSetStatus)

    @property
    def project(self) -> str:
        """The project of the generated applications (`spec.template.spec.project`)."""
        return self.spec.template.spec.project


class ApplicationSetList(ArgoModel):
    """Response of `GET /api/v1/applicationsets`."""

    metadata: ListMeta = always(ListMeta)
    items: list[ApplicationSet] | None = always(None)


class ApplicationSetResponse(ArgoModel):
    """An ApplicationSet with its project (upsert response form)."""

    project: str = ""
    applicationset: ApplicationSet | None = None


class ApplicationSetGenerateRequest(ArgoModel):
    """Body of `POST /api/v1/applicationsets/generate`."""

    application_set: ApplicationSet | None = None


class ApplicationSetGenerateResponse(ArgoModel):
    """Applications an ApplicationSet would generate."""

    applications: list[Application] = Field(default_factory=list)
