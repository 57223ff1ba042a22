"""ApplicationService operations that read an application's sources (upstream ``server/application/application.go``):
GetManifests, RevisionMetadata, RevisionChartDetails and GetOCIMetadata.

All four find the app with the existence-hiding lookup (``applications get``), read what they need, end the
transaction, and only then call the sources layer (the in-process stand-in for upstream's repo server). GetManifests
answers what the repo server would: every object of every source with tracking metadata set (annotation or label as
configured; CRDs untouched) and core Secret data masked; like upstream it fills only ``manifests``. Source lookups by
``sourceIndex``/``versionId`` follow upstream's getAppSourceBySourceIndexAndVersionId; their failures are plain errors
there and hence Unknown/500 here. GetOCIMetadata reads the ``org.opencontainers.image.*`` annotations of the
manifest at the revision (a digest or tag of an OCI source, a chart version of a Helm OCI chart); a source that is
not in an OCI registry fails as upstream's OCI client does, with a plain error.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import yaml
from pydantic import Field
from sqlalchemy.orm import Session

from argocd_server.db.stores.projects import ProjectStore
from argocd_server.engine.controller import RepoCredentialsLookup
from argocd_server.engine.diff import mask_secrets
from argocd_server.engine.resources import group_kind_of
from argocd_server.engine.source import Refresh, RepoCredentials, RepoType, SourceRenderer
from argocd_server.engine.source.manifests import load_yaml
from argocd_server.engine.source.semver import parse_version
from argocd_server.engine.tracking import parse_tracking_method, set_tracking
from argocd_server.errors import ArgoError, SourceError, Unavailable
from argocd_server.schemas.application import RevisionMetadata
from argocd_server.schemas.common import ArgoModel, to_wire
from argocd_server.services.access import Access
from argocd_server.services.app_manifests import app_sources, render_request
from argocd_server.services.applications import ApplicationService

__all__ = ["ApplicationSourceService", "ChartDetails", "ManifestResponse", "OCIMetadata", "RevisionQuery"]

_COMMIT_SHA = re.compile(r"^[0-9a-fA-F]{7,40}$")
DEFAULT_LABEL_KEY = "app.kubernetes.io/instance"


class ManifestResponse(ArgoModel):
    """``repository.ManifestResponse``; GetManifests fills ``manifests`` only, as upstream does."""

    manifests: list[str] = Field(default_factory=list)
    namespace: str = ""
    server: str = ""
    revision: str = ""
    source_type: str = ""
    verify_result: str = ""


@dataclass(frozen=True)
class RevisionQuery:
    """What RevisionMetadata, RevisionChartDetails and GetOCIMetadata are asked: an app's revision, the source
    by ``sourceIndex`` or history ``versionId`` (multi-source apps), and the app's namespace and project."""

    name: str
    revision: str
    app_namespace: str = ""
    project: str = ""
    source_index: int | None = None
    version_id: int | None = None


class ChartDetails(ArgoModel):
    """``v1alpha1.ChartDetails``: what the UI shows about a chart version."""

    description: str = ""
    home: str = ""
    maintainers: list[str] = Field(default_factory=list)


class OCIMetadata(ArgoModel):
    """``v1alpha1.OCIMetadata``: what the UI shows about an OCI revision."""

    created_at: str = ""
    authors: str = ""
    image_url: str = ""
    docs_url: str = ""
    source_url: str = ""
    version: str = ""
    description: str = ""


def _source_by_index_and_version(
    doc: Mapping[str, Any], *, source_index: int | None, version_id: int | None
) -> dict[str, Any]:
    """The app's source at ``source_index`` (default 0), from history entry ``version_id`` when given."""
    sources = app_sources(doc.get("spec") or {})
    if version_id is not None:
        history = (doc.get("status") or {}).get("history") or []
        if not history:
            raise ArgoError(
                f"error getting source by version ID: version ID {version_id} not found because the app has no history"
            )
        entry = next((h for h in history if h.get("id", 0) == version_id), None)
        if entry is None:
            raise ArgoError(
                f"error getting source by version ID: revision history not found for version ID {version_id}"
            )
        sources = [dict(s) for s in entry.get("sources") or []] or [dict(entry.get("source") or {})]
    index = source_index or 0
    if index < 0 or index >= len(sources):
        if len(sources) == 1:
            raise ArgoError(f"source index {index} not found because there is only 1 source")
        raise ArgoError(f"source index {index} not found because there are only {len(sources)} sources")
    return sources[index]


def _maintainer(entry: Any) -> str:
    if not isinstance(entry, Mapping):
        return str(entry)
    name, email = str(entry.get("name") or ""), str(entry.get("email") or "")
    return f"{name} <{email}>" if email else name


class ApplicationSourceService(ApplicationService):
    """Reads of an application's sources through the sources layer."""

    def __init__(
        self,
        *,
        session: Session,
        access: Access,
        namespace: str,
        app_namespaces: Sequence[str] = (),
        cm_data: Mapping[str, str] | None = None,
        renderer: SourceRenderer | None = None,
        repo_credentials: RepoCredentialsLookup | None = None,
    ) -> None:
        super().__init__(
            session=session,
            access=access,
            namespace=namespace,
            app_namespaces=app_namespaces,
            cm_data=cm_data,
            renderer=renderer,
            repo_credentials=repo_credentials,
        )

    # --- helpers ---

    def _sources_layer(self) -> SourceRenderer:
        if self._renderer is None:
            raise Unavailable("repository server is not available")
        return self._renderer

    def _app(self, name: str, *, app_namespace: str, project: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The app document and its project document, read in one transaction that is then ended."""
        row = self._lookup(name, app_namespace=app_namespace, project=project)
        doc: dict[str, Any] = orjson.loads(row.doc)
        project_row = ProjectStore(self._session).get(self._ns, str(doc["spec"].get("project") or "default"))
        project_doc: dict[str, Any] | None = orjson.loads(project_row.doc) if project_row is not None else None
        self._session.rollback()
        return doc, project_doc

    def _credentials(self, url: str, project: str, *, kind: RepoType | None = None) -> RepoCredentials:
        found = self._repo_credentials(url, project) if self._repo_credentials is not None else None
        creds = found if found is not None else RepoCredentials(url=url)
        if kind is not None and creds.type != kind:
            creds = dataclasses.replace(creds, type=kind)
        return creds

    # --- operations ---

    def get_manifests(
        self,
        name: str,
        *,
        revision: str = "",
        app_namespace: str = "",
        project: str = "",
        source_positions: Sequence[int] = (),
        revisions: Sequence[str] = (),
        no_cache: bool = False,
    ) -> dict[str, Any]:
        doc, _ = self._app(name, app_namespace=app_namespace, project=project)
        renderer = self._sources_layer()
        spec = doc.get("spec") or {}
        sources = app_sources(spec)
        if spec.get("sources"):
            if len(source_positions) != len(revisions):
                raise ArgoError("number of source positions and revisions must be equal")
            for position, wanted in zip(source_positions, revisions, strict=True):
                if position <= 0 or position > len(sources):
                    raise ArgoError("source position is out of range")
                sources[position - 1]["targetRevision"] = wanted
        elif revision and sources:
            sources[0]["targetRevision"] = revision
        label_key = self._cm_data.get("application.instanceLabelKey") or DEFAULT_LABEL_KEY
        request = render_request(
            doc,
            sources=sources,
            repo_credentials=self._repo_credentials,
            controller_namespace=self._ns,
            app_label_key=label_key,
            refresh=Refresh.HARD if no_cache else Refresh.NONE,
        )
        result = renderer.render(request)
        method = parse_tracking_method(self._cm_data.get("application.resourceTrackingMethod"))
        installation_id = self._cm_data.get("installationID") or None
        manifests: list[str] = []
        for obj in result.objects:
            tracked = set_tracking(
                obj,
                app=request.app_name,
                method=method,
                label_key=label_key,
                namespace=request.namespace,
                installation_id=installation_id,
            )
            if group_kind_of(tracked) == ("", "Secret"):
                masked = mask_secrets([tracked])[0]
                tracked = masked if masked is not None else tracked
            # Go marshals unstructured objects with sorted keys.
            manifests.append(orjson.dumps(tracked, option=orjson.OPT_SORT_KEYS).decode())
        return to_wire(ManifestResponse(manifests=manifests))

    def _revision_source(self, query: RevisionQuery) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any]]:
        """The app (existence hiding as ``get``), its project and the source the query designates."""
        doc, project_doc = self._app(query.name, app_namespace=query.app_namespace, project=query.project)
        source = _source_by_index_and_version(doc, source_index=query.source_index, version_id=query.version_id)
        return doc, project_doc, source

    def revision_metadata(self, query: RevisionQuery) -> dict[str, Any]:
        doc, project_doc, source = self._revision_source(query)
        revision = query.revision
        # The repo server only describes commits the caller already resolved.
        if not _COMMIT_SHA.match(revision):
            raise ArgoError(f"revision {revision} must be resolved")
        app_project = str(doc["spec"].get("project") or "default")
        creds = self._credentials(str(source.get("repoURL") or ""), app_project)
        meta = self._sources_layer().revision_metadata(creds, revision=revision)
        check_signature = bool(((project_doc or {}).get("spec") or {}).get("signatureKeys"))
        try:
            date = datetime.fromisoformat(meta.date) if meta.date else None
        except ValueError:
            date = None
        response = RevisionMetadata(
            author=meta.author,
            date=date,
            tags=list(meta.tags),
            message=meta.message,
            signature_info=meta.signature_info if check_signature else "",
        )
        return to_wire(response)

    def revision_chart_details(self, query: RevisionQuery) -> dict[str, Any]:
        doc, _, source = self._revision_source(query)
        name, revision = query.name, query.revision
        chart = str(source.get("chart") or "")
        if not chart:
            raise ArgoError(f"no chart found for application: {name}")
        if parse_version(revision) is None:
            raise ArgoError(f"invalid revision: {revision} is not a chart version")
        url = str(source.get("repoURL") or "")
        creds = self._credentials(url, str(doc["spec"].get("project") or "default"), kind=RepoType.HELM)
        renderer = self._sources_layer()
        chart_dir = renderer.chart_dir(url, creds, chart=chart, version=revision)
        try:
            meta = load_yaml((chart_dir / "Chart.yaml").read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise SourceError(f"failed to read Chart.yaml of chart '{chart}' version '{revision}'") from exc
        meta = meta if isinstance(meta, Mapping) else {}
        details = ChartDetails(
            description=str(meta.get("description") or ""),
            home=str(meta.get("home") or ""),
            maintainers=[_maintainer(m) for m in meta.get("maintainers") or []],
        )
        return to_wire(details)

    def oci_metadata(self, query: RevisionQuery) -> dict[str, Any]:
        doc, _, source = self._revision_source(query)
        revision = query.revision
        url = str(source.get("repoURL") or "")
        creds = self._credentials(url, str(doc["spec"].get("project") or "default"))
        meta = self._sources_layer().oci_metadata(source, credentials=creds, revision=revision)
        response = OCIMetadata(
            created_at=meta.created_at,
            authors=meta.authors,
            image_url=meta.image_url,
            docs_url=meta.docs_url,
            source_url=meta.source_url,
            version=meta.version,
            description=meta.description,
        )
        return to_wire(response)
