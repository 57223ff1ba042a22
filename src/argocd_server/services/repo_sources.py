"""RepositoryService operations that read a repository's content (upstream ``server/repository/repository.go``):
ListRefs, ListOCITags, ListApps, GetAppDetails, GetHelmCharts and ValidateAccess.

Like upstream's ``getRepo``, the repository need not be registered: an unknown URL is read anonymously or with a
matching credential template, and RBAC names it by URL (prefixed by the project of a registered project-scoped
repository). Every method does its database reads and RBAC first, ends the transaction, and only then runs git or
Helm through the sources layer. Errors from the sources layer are ArgoErrors with redacted messages; connectivity
failures are scrubbed once more of the credentials used. ListOCITags answers the registry's tags in the registry's
order, Helm's ``_`` turned back into ``+`` as upstream does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import Field, ValidationError
from sqlalchemy.orm import Session

from argocd_server.auth.rbac_validation import repo_rbac_name
from argocd_server.auth.secretbox import SecretBox
from argocd_server.db.stores.applications import ApplicationStore
from argocd_server.db.stores.projects import ProjectStore
from argocd_server.engine.source import (
    AppDetails,
    RenderRequest,
    RepoCredentials,
    RepoType,
    SourceRenderer,
    SourceType,
)
from argocd_server.errors import ArgoError, InvalidArgument, NotFound, PermissionDenied, Unavailable
from argocd_server.schemas.application import ApplicationSource, HelmFileParameter, HelmParameter
from argocd_server.schemas.common import ArgoModel, to_wire
from argocd_server.schemas.repository import (
    AppInfo,
    HelmChart,
    HelmChartsResponse,
    Refs,
    RepoAppsResponse,
    Repository,
    default_repo_type,
)
from argocd_server.services.access import Access
from argocd_server.services.matching import source_permitted
from argocd_server.services.repo_connections import connectivity_error_message, credentials_from_fields
from argocd_server.services.repocreds import matching_template
from argocd_server.services.repositories import copy_credentials_from, has_credentials, resolve_repo_credentials

__all__ = ["AppDetailsQuery", "RepoSourceService"]


# --- wire models of the repo-server answers (swagger ``repository*``) -----------------------------------------------


class HelmAppSpec(ArgoModel):
    name: str = ""
    value_files: list[str] = Field(default_factory=list)
    parameters: list[HelmParameter] = Field(default_factory=list)
    values: str = ""
    file_parameters: list[HelmFileParameter] = Field(default_factory=list)


class KustomizeAppSpec(ArgoModel):
    images: list[str] = Field(default_factory=list)


class DirectoryAppSpec(ArgoModel):
    """Always ``{}``: upstream sets the pointer to an empty struct for Directory apps."""


class RepoAppDetailsResponse(ArgoModel):
    type: str = ""
    helm: HelmAppSpec | None = None
    kustomize: KustomizeAppSpec | None = None
    directory: DirectoryAppSpec | None = None


@dataclasses.dataclass(frozen=True)
class AppDetailsQuery:
    """``RepoAppDetailsQuery``: the body of ``POST /repositories/{source.repoURL}/appdetails``."""

    source: dict[str, Any] | None
    app_name: str = ""
    app_project: str = ""
    source_index: int = 0
    version_id: int | None = None


def _details_to_wire(details: AppDetails) -> dict[str, Any]:
    response = RepoAppDetailsResponse(type=details.type.value)
    if details.helm is not None:
        helm = details.helm
        response.helm = HelmAppSpec(
            name=helm.name,
            value_files=list(helm.value_files),
            parameters=[
                HelmParameter(name=p.name, value=p.value, force_string=p.force_string) for p in helm.parameters
            ],
            values=helm.values,
            file_parameters=[HelmFileParameter(name=n, path=p) for n, p in helm.file_parameters],
        )
    if details.kustomize is not None:
        response.kustomize = KustomizeAppSpec(images=list(details.kustomize.images))
    if details.type == SourceType.DIRECTORY:
        response.directory = DirectoryAppSpec()
    return to_wire(response)


def _normalized_source(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A source as the API would store it, so request and stored sources compare field by field."""
    try:
        return to_wire(ApplicationSource.from_wire(dict(raw)))
    except ValidationError:
        return dict(raw)


def _history_sources(doc: Mapping[str, Any], *, source_index: int, version_id: int | None) -> list[dict[str, Any]]:
    """The current source at ``source_index`` and the sources recorded in history (upstream isSourceInHistory)."""
    spec = doc.get("spec") or {}
    current = list(spec.get("sources") or []) or ([spec["source"]] if spec.get("source") else [])
    found: list[dict[str, Any]] = []
    if 0 <= source_index < len(current):
        found.append(current[source_index])
    for entry in (doc.get("status") or {}).get("history") or []:
        sources = entry.get("sources") or []
        if not sources:
            if entry.get("source"):
                found.append(entry["source"])
        elif version_id is not None and entry.get("id") == version_id and 0 <= source_index < len(sources):
            found.append(sources[source_index])
    return found


class RepoSourceService:
    """Repository reads that need the repository's content."""

    def __init__(
        self,
        *,
        session: Session,
        access: Access,
        box: SecretBox,
        renderer: SourceRenderer | None,
        namespace: str,
    ) -> None:
        self._session = session
        self._access = access
        self._box = box
        self._renderer = renderer
        self._ns = namespace

    # --- helpers ---

    def _sources(self) -> SourceRenderer:
        if self._renderer is None:
            raise Unavailable("repository server is not available")
        return self._renderer

    def _repo(self, url: str, *, app_project: str) -> tuple[RepoCredentials, str]:
        """Upstream getRepo + ``repositories get``: the effective credentials and the repository's project."""
        if not url:
            raise InvalidArgument("repository URL is required")
        found = resolve_repo_credentials(self._session, self._box, url, project=app_project)
        project = str(found.get("project") or "") if found else ""
        stored_url = str(found.get("repo") or url) if found else url
        self._access.check("repositories", "get", repo_rbac_name(stored_url, project))
        return credentials_from_fields(found or {}, url=url), project

    def _permitted_in_project(self, url: str, project: str) -> None:
        """Upstream isRepoPermittedInProject: the project must exist and list the repository in sourceRepos."""
        row = ProjectStore(self._session).get(self._ns, project)
        if row is None:
            raise NotFound(f'appprojects.argoproj.io "{project}" not found')
        doc: dict[str, Any] = orjson.loads(row.doc)
        if not source_permitted((doc.get("spec") or {}).get("sourceRepos") or [], url):
            raise PermissionDenied(f"repository '{url}' not permitted in project '{project}'")

    def _app_name(self, qualified: str) -> tuple[str, str]:
        """``<ns>/<name>`` or ``<name>`` (upstream ParseFromQualifiedName) as (namespace, name)."""
        namespace, sep, name = qualified.partition("/")
        return (namespace, name) if sep else (self._ns, qualified)

    # --- operations ---

    def list_refs(self, url: str, *, app_project: str = "", force: bool = False) -> dict[str, Any]:
        creds, _ = self._repo(url, app_project=app_project)
        self._session.rollback()
        refs = self._sources().list_refs(creds, force=force)
        return to_wire(Refs(branches=list(refs.branches), tags=list(refs.tags)))

    def list_oci_tags(self, url: str, *, app_project: str = "", force: bool = False) -> dict[str, Any]:
        """Tags of an OCI repository (upstream ListOCITags); ``force`` skips the tag list cache."""
        creds, _ = self._repo(url, app_project=app_project)
        self._session.rollback()
        tags = self._sources().oci_tags(creds, force=force)
        return to_wire(Refs(tags=list(tags)))

    def helm_charts(self, url: str, *, app_project: str = "") -> dict[str, Any]:
        creds, _ = self._repo(url, app_project=app_project)
        self._session.rollback()
        charts = self._sources().helm_charts(creds)
        return to_wire(HelmChartsResponse(items=[HelmChart(name=c.name, versions=list(c.versions)) for c in charts]))

    def list_apps(self, url: str, *, revision: str, app_name: str, app_project: str) -> dict[str, Any]:
        creds, _ = self._repo(url, app_project=app_project)
        # Listing apps clones the repository and walks it, so upstream asks for both app create and update.
        obj = f"{app_project}/{app_name}"
        if not (
            self._access.allowed("applications", "create", obj) and self._access.allowed("applications", "update", obj)
        ):
            raise PermissionDenied()
        self._permitted_in_project(url, app_project)
        self._session.rollback()
        apps = self._sources().list_apps(creds, revision=revision or "HEAD")
        items = sorted((AppInfo(type=a.type.value, path=a.path) for a in apps), key=lambda a: a.path)
        return to_wire(RepoAppsResponse(items=items))

    def app_details(self, query: AppDetailsQuery) -> dict[str, Any]:
        if query.source is None:
            raise InvalidArgument("missing payload in request")
        url = str(query.source.get("repoURL") or "")
        creds, _ = self._repo(url, app_project=query.app_project)
        obj = f"{query.app_project}/{query.app_name}"
        self._access.check("applications", "get", obj)
        namespace, name = self._app_name(query.app_name)
        row = ApplicationStore(self._session).get(namespace, name) if name else None
        if row is None:
            # The app is still being written in the UI: only someone who may create it sees the repository's details.
            self._access.check("applications", "create", obj)
        else:
            if query.app_project != row.project:
                raise PermissionDenied()
            # Without this, a caller allowed to read one app could render any source with that app's credentials.
            wanted = _normalized_source(query.source)
            known = _history_sources(
                orjson.loads(row.doc), source_index=query.source_index, version_id=query.version_id
            )
            if not any(_normalized_source(s) == wanted for s in known):
                raise PermissionDenied()
        self._permitted_in_project(url, query.app_project)
        self._session.rollback()
        if query.source.get("chart"):
            creds = dataclasses.replace(creds, type=RepoType.HELM)
        request = RenderRequest(
            sources=(query.source,),
            app_name=name,
            project=query.app_project or "default",
            credentials=(creds,),
        )
        details = self._sources().app_details(query.source, app_name=name, credentials=creds, request=request)
        return _details_to_wire(details)

    def validate_access(self, url: str, fields: Mapping[str, Any]) -> None:
        """ValidateAccess: test a repository with the credentials given in the query (else a matching template)."""
        project = str(fields.get("project") or "")
        self._access.check("repositories", "create", repo_rbac_name(url, project))
        try:
            repo = Repository.from_wire({**fields, "repo": url})
        except ValidationError as exc:
            raise InvalidArgument(f"invalid repository access query: {exc.errors()[0].get('msg', '')}") from None
        if not has_credentials(repo):
            template = matching_template(self._session, self._box, url, write=False)
            if template is not None:
                repo = copy_credentials_from(repo, template)
        repo = repo.model_copy(update={"type": default_repo_type(repo.repo, repo.type)})
        creds = credentials_from_fields(to_wire(repo), url=url)
        self._session.rollback()
        try:
            self._sources().test_repository(creds)
        except NotFound as exc:
            raise NotFound(connectivity_error_message(exc, creds)) from None
        except ArgoError as exc:
            raise ArgoError(connectivity_error_message(exc, creds)) from None
