"""The sources layer: what upstream calls the repo server, as a library.

Boundary: imports only ``argocd_server.errors`` from the project (never ``db``, ``api``,
``services`` or FastAPI).
Callers build one :class:`SourceRenderer` per process from :class:`SourceSettings` and share it
across threads;
sources are plain ``ApplicationSource`` dicts with the API's camelCase keys, credentials are
resolved by the caller
and passed as :class:`RepoCredentials`. Every failure is an ``ArgoError`` (mostly ``SourceError``,
``SourceNotFound``, ``InvalidArgument``, ``DeadlineExceeded``) whose message is already redacted.

Public interface::

    renderer = SourceRenderer(SourceSettings(data_dir=..., helm_binary=..., kubectl_binary=...))

    renderer.render(RenderRequest(sources=(src, ...), app_name=..., namespace=..., project=...,
                                  kube_version=..., api_versions=(...), credentials=(creds, ...),
                                  refresh=Refresh.NONE | NORMAL | HARD)) -> RenderResult
        .objects, .revision, .revisions, .source_type, .source_types, .sources[i].commands, .cached
    renderer.resolve_revision(src, *, credentials=None, refresh=Refresh.NONE) -> str
    renderer.list_refs(creds, *, force=False) -> Refs                       # GET .../refs
    renderer.revision_metadata(creds, *, revision, gnupg_home=None) -> RevisionMetadata
    renderer.list_apps(creds, *, revision="HEAD") -> list[AppPath]          # GET .../apps
    renderer.app_details(src, *, app_name="", credentials=None, request=None) -> AppDetails
    renderer.helm_charts(creds) -> list[HelmChart]                          # GET .../helmcharts
    renderer.test_repository(creds) -> None                                 # POST .../validate,
    create
    renderer.counters -> SourceCounters   # ls_remotes, fetches, helm/kustomize processes, renders,
    cache hits
    renderer.git.fetch(url, creds, force=True)                              # force a fresh fetch

Normal refresh (``Refresh.NORMAL``) re-runs ``ls-remote`` / the Helm index but reuses manifests
cached under the
resolved revision; ``Refresh.HARD`` regenerates everything.
"""

from argocd_server.errors import DeadlineExceeded, InvalidArgument, SourceError, SourceNotFound

from .git import normalize_repo_url
from .manifest_cache import DiskManifestCache, ManifestCache
from .render import SourceRenderer, detect_type, explicit_type
from .safety import OutOfBoundsError
from .types import (
    AppDetails,
    AppPath,
    HelmAppDetails,
    HelmChart,
    HelmParameter,
    KustomizeAppDetails,
    Manifest,
    Refresh,
    Refs,
    RenderRequest,
    RenderResult,
    RepoCredentials,
    RepoType,
    RevisionMetadata,
    SourceCounters,
    SourceDict,
    SourceRender,
    SourceSettings,
    SourceType,
)

__all__ = [
    "AppDetails",
    "AppPath",
    "DeadlineExceeded",
    "DiskManifestCache",
    "HelmAppDetails",
    "HelmChart",
    "HelmParameter",
    "InvalidArgument",
    "KustomizeAppDetails",
    "Manifest",
    "ManifestCache",
    "OutOfBoundsError",
    "Refresh",
    "Refs",
    "RenderRequest",
    "RenderResult",
    "RepoCredentials",
    "RepoType",
    "RevisionMetadata",
    "SourceCounters",
    "SourceDict",
    "SourceError",
    "SourceNotFound",
    "SourceRender",
    "SourceRenderer",
    "SourceSettings",
    "SourceType",
    "detect_type",
    "explicit_type",
    "normalize_repo_url",
]
