"""Value types of the sources layer: credentials, settings, requests and results.

Everything here is a frozen dataclass or a ``StrEnum`` so callers (services, the controller,
benches) can build requests without importing any rendering code. Sources themselves stay plain JSON
dicts shaped like Argo CD's ``ApplicationSource`` (camelCase keys); this module never depends on
wire models.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

Manifest = dict[str, Any]
"""One rendered Kubernetes object as a JSON-compatible dict."""

SourceDict = Mapping[str, Any]
"""An ``ApplicationSource`` as the API receives it (``repoURL``, ``path``, ``helm`` ...)."""


class SourceType(StrEnum):
    """Argo CD's ``status.sourceType`` values."""

    HELM = "Helm"
    KUSTOMIZE = "Kustomize"
    DIRECTORY = "Directory"
    PLUGIN = "Plugin"


class RepoType(StrEnum):
    GIT = "git"
    HELM = "helm"
    OCI = "oci"


class Refresh(StrEnum):
    """How much caching a render may use (upstream's refresh levels).

    ``NORMAL`` re-resolves the revision (fresh ls-remote / index) but reuses manifests cached under
    the resolved revision; ``HARD`` regenerates everything.
    """

    NONE = ""
    NORMAL = "normal"
    HARD = "hard"


@dataclass(frozen=True, repr=False)
class RepoCredentials:
    """Connection settings for one repository; secrets never appear in ``repr``."""

    url: str
    type: RepoType = RepoType.GIT
    username: str = ""
    password: str = ""
    bearer_token: str = ""
    ssh_private_key: str = ""
    tls_client_cert_data: str = ""
    tls_client_cert_key: str = ""
    insecure: bool = False
    proxy: str = ""
    no_proxy: str = ""
    enable_lfs: bool = False
    force_http_basic_auth: bool = False
    enable_oci: bool = False
    """A Helm repository that is an OCI registry (``enableOCI``)."""
    insecure_oci_force_http: bool = False
    """Talk plain HTTP to the OCI registry (``insecureOCIForceHttp``)."""
    github_app_id: int | None = None
    github_app_installation_id: int | None = None
    github_app_private_key: str = ""
    github_app_enterprise_base_url: str = ""
    known_hosts: str = ""
    """``ssh_known_hosts`` text (argocd-ssh-known-hosts-cm); required for SSH unless ``insecure``.
    """

    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for redaction of process output and messages."""
        values = (
            self.password,
            self.bearer_token,
            self.ssh_private_key,
            self.tls_client_cert_key,
            self.github_app_private_key,
        )
        return tuple(v for v in values if v)

    def __repr__(self) -> str:
        return f"RepoCredentials(url={self.url!r}, type={self.type.value!r}, username={self.username!r})"


def _default_data_dir() -> Path:
    return Path(os.environ.get("TMPDIR", "/tmp")) / "argocd-server-sources"  # noqa: S108


@dataclass(frozen=True)
class SourceSettings:
    """Knobs of the sources layer; the application's ``Settings`` maps onto these."""

    data_dir: Path = field(default_factory=_default_data_dir)
    """Root of the caches: ``git/<hash>`` mirrors, extracted trees, Helm indexes and charts, scratch
    dirs.
    """
    git_binary: str = "git"
    helm_binary: str = "helm"
    kubectl_binary: str = "kubectl"
    """Used as ``kubectl kustomize`` when ``kustomize_binary`` is not set."""
    kustomize_binary: str | None = None
    """A standalone ``kustomize``; when set, ``kustomize build`` is used instead of ``kubectl
    kustomize``.
    """
    exec_timeout: float = 90.0
    """Seconds for helm, kustomize, git fetch and archive (upstream ``ARGOCD_EXEC_TIMEOUT``)."""
    git_request_timeout: float = 15.0
    """Seconds for ls-remote and Helm index/chart downloads (upstream ``ARGOCD_GIT_REQUEST_TIMEOUT``).
    """
    max_output_bytes: int = 100 * 1024 * 1024
    """Cap on the bytes read back from any one process."""
    max_combined_directory_bytes: int = 10 * 1024 * 1024
    """Cap on the total size of plain manifests read for one Directory source (upstream default
    ``10M``).
    """
    max_extracted_bytes: int = 1024 * 1024 * 1024
    """Cap on the size of one extracted commit or chart archive."""
    revision_cache_ttl: float = 180.0
    """Seconds an ``ls-remote`` answer (and a Helm index) is reused by renders that do not ask for a
    refresh.
    """
    manifest_cache_max_entries: int = 5000
    manifest_cache_max_bytes: int = 256 * 1024 * 1024
    manifest_cache_disk_bytes: int = 1024 * 1024 * 1024
    """Budget of the sealed on-disk level of the manifest cache (0: memory only); used when the renderer is given a
    sealer."""
    tree_cache_max_entries: int = 64
    """Extracted commits kept on disk (LRU); trees in use are never evicted."""
    helm_value_file_schemes: tuple[str, ...] = ("https", "http")
    allow_out_of_bounds_symlinks: bool = False
    max_parallel_tools: int = field(default_factory=lambda: os.cpu_count() or 2)
    """Concurrent helm/kustomize processes; they are CPU bound, so sized to the cores."""


@dataclass(frozen=True)
class RenderRequest:
    """Everything needed to generate the manifests of one application.

    ``sources`` holds ``spec.sources`` (or ``(spec.source,)``). ``credentials`` carries the already-
    resolved credentials of every repository the render may touch (the app's sources, ``$ref``
    sources, Helm dependency repositories), matched by normalised URL.
    """

    sources: tuple[SourceDict, ...]
    app_name: str
    namespace: str = ""
    """``spec.destination.namespace``."""
    project: str = "default"
    kube_version: str = ""
    api_versions: tuple[str, ...] = ()
    credentials: tuple[RepoCredentials, ...] = ()
    refresh: Refresh = Refresh.NONE
    fresh_after: float | None = None
    """With a normal refresh: a Git ls-remote answer fetched after this ``time.monotonic()`` instant (when the
    refresh was asked for) is fresh enough, so a burst of refreshes of one repository shares one ls-remote."""
    app_label_key: str = "app.kubernetes.io/instance"
    kustomize_build_options: tuple[str, ...] = ()
    """argocd-cm ``kustomize.buildOptions`` split into arguments."""


@dataclass(frozen=True)
class SourceRender:
    """What one source produced."""

    objects: tuple[Manifest, ...]
    revision: str
    """The resolved commit SHA, or chart version for Helm repository sources."""
    source_type: SourceType | None
    """``None`` for ref-only sources, which render nothing."""
    commands: tuple[str, ...] = ()
    """The tool invocations run (secrets removed), as upstream reports them."""


@dataclass(frozen=True)
class RenderResult:
    """The manifests of an application: every source's objects concatenated in source order."""

    sources: tuple[SourceRender, ...]
    cached: bool = False
    """True when every source came from the manifest cache."""

    @property
    def objects(self) -> list[Manifest]:
        return [obj for src in self.sources for obj in src.objects]

    @property
    def revision(self) -> str:
        return self.sources[0].revision if self.sources else ""

    @property
    def revisions(self) -> list[str]:
        return [src.revision for src in self.sources]

    @property
    def source_type(self) -> SourceType | None:
        return self.sources[0].source_type if self.sources else None

    @property
    def source_types(self) -> list[SourceType | None]:
        return [src.source_type for src in self.sources]


@dataclass(frozen=True)
class Refs:
    """Branch and tag short names of a repository (``GET /repositories/{repo}/refs``)."""

    branches: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class RevisionMetadata:
    author: str
    date: str
    """RFC 3339, the author date."""
    tags: tuple[str, ...]
    message: str
    signature: str = ""
    """The armored GPG signature when the commit is signed, else empty."""
    signature_info: str = ""
    """Human-readable verification result (key id, validity) when a signature is present."""


@dataclass(frozen=True)
class AppPath:
    path: str
    type: SourceType


@dataclass(frozen=True)
class HelmParameter:
    name: str
    value: str
    force_string: bool = False


@dataclass(frozen=True)
class HelmAppDetails:
    name: str
    value_files: tuple[str, ...]
    parameters: tuple[HelmParameter, ...]
    values: str
    """The chart's default ``values.yaml`` text."""
    file_parameters: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class KustomizeAppDetails:
    images: tuple[str, ...]


@dataclass(frozen=True)
class AppDetails:
    """``POST /repositories/{repo}/appdetails``: the type plus what the UI needs to edit it."""

    type: SourceType
    helm: HelmAppDetails | None = None
    kustomize: KustomizeAppDetails | None = None
    directory: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class HelmChart:
    name: str
    versions: tuple[str, ...]


@dataclass(frozen=True)
class SourceCounters:
    """A snapshot of work done, for tests and benches."""

    ls_remotes: int
    fetches: int
    helm_index_fetches: int
    helm_processes: int
    kustomize_processes: int
    renders: int
    manifest_cache_hits: int
    manifest_cache_misses: int


class WorkCounters:
    """Thread-safe counters of expensive work; read them through :meth:`snapshot`."""

    _FIELDS = (
        "ls_remotes",
        "fetches",
        "helm_index_fetches",
        "helm_processes",
        "kustomize_processes",
        "renders",
        "manifest_cache_hits",
        "manifest_cache_misses",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = dict.fromkeys(self._FIELDS, 0)

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._values[name] += amount

    def snapshot(self) -> SourceCounters:
        with self._lock:
            return SourceCounters(**self._values)
