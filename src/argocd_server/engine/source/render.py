"""Manifest generation: source type detection, dispatch to Directory/Helm/Kustomize, multi-source,
manifest cache.

This is upstream's repo server (``reposerver/repository``) as a library. :class:`SourceRenderer`
owns the git mirrors, the Helm repository caches, the OCI artifact cache and an LRU manifest cache
keyed by repository, resolved revision and every rendering parameter; it is thread-safe and meant to
be built once per process and shared. It never touches the database or the API layer; callers pass
plain ``ApplicationSource`` dicts and resolved credentials.

Where a source comes from: an ``oci://`` ``repoURL`` without ``chart`` is an OCI artifact, resolved
to a digest, pulled and rendered at ``path`` inside it like a checkout; a ``chart`` from an OCI
registry (an ``oci://`` or scheme-less URL, or a repository registered as OCI or with ``enableOCI``)
is the artifact ``<repoURL>/<chart>`` at a chart version, pulled through :mod:`.oci` and templated
from disk; any other ``chart`` comes from a Helm repository index; everything else is Git.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import re
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from argocd_server.errors import InvalidArgument, SourceError, SourceNotFound
from argocd_server.jsonmerge import merge_patch

from . import directory as directory_mod
from . import helm as helm_mod
from . import kustomize as kustomize_mod
from . import oci as oci_mod
from . import process, safety
from .git import GitMirrors, clone_tree, normalize_repo_url, replace_file
from .manifest_cache import DiskManifestCache, ManifestCache, Sealer
from .manifests import load_yaml, parse_manifests
from .process import Redactor
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
    WorkCounters,
)

_REF_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
_ENV_REF = re.compile(r"\$(\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_TOOL_KEYS = {
    "helm": SourceType.HELM,
    "kustomize": SourceType.KUSTOMIZE,
    "directory": SourceType.DIRECTORY,
}


def is_zero(value: Any) -> bool:
    """Go's zero-value test for an options block: ``{}`` or only empty/false members."""
    if isinstance(value, Mapping):
        return all(is_zero(v) for v in value.values())
    if isinstance(value, list | tuple):
        return len(value) == 0
    return not value


def explicit_type(source: SourceDict) -> SourceType | None:
    """The tool named by a non-empty options block; a ``chart`` source is always Helm."""
    if source.get("chart"):
        return SourceType.HELM
    found = [t for key, t in _TOOL_KEYS.items() if not is_zero(source.get(key))]
    if not is_zero(source.get("plugin")):
        found.append(SourceType.PLUGIN)
    if len(found) > 1:
        raise InvalidArgument("multiple application sources defined: " + ",".join(t.value for t in found))
    return found[0] if found else None


def detect_type(app_dir: Path) -> SourceType:
    """Auto-discovery on the files directly in the app path (Kustomize wins over Helm)."""
    if kustomize_mod.find_kustomization(app_dir) is not None:
        return SourceType.KUSTOMIZE
    if any(p.name.endswith("Chart.yaml") for p in app_dir.iterdir() if p.is_file()):
        return SourceType.HELM
    return SourceType.DIRECTORY


def make_envsubst(env: Mapping[str, str]) -> Callable[[str], str]:
    """Upstream's ``$VAR``/``${VAR}`` expansion: unknown variables become empty, ``$$`` is a literal
    ``$``.
    """

    def expand(text: str) -> str:
        def repl(m: re.Match[str]) -> str:
            if m.group(1) == "$":
                return "$"
            name = m.group(2) if m.group(2) is not None else m.group(3)
            return env.get(name, "")

        return _ENV_REF.sub(repl, text)

    return expand


def build_env(*, request: RenderRequest, source: SourceDict, revision: str) -> dict[str, str]:
    return {
        "ARGOCD_APP_NAME": request.app_name,
        "ARGOCD_APP_NAMESPACE": request.namespace,
        "ARGOCD_APP_PROJECT_NAME": request.project,
        "ARGOCD_APP_REVISION": revision,
        "ARGOCD_APP_REVISION_SHORT": revision[:7],
        "ARGOCD_APP_REVISION_SHORT_8": revision[:8],
        "ARGOCD_APP_SOURCE_REPO_URL": str(source.get("repoURL", "")),
        "ARGOCD_APP_SOURCE_PATH": str(source.get("path", "")),
        "ARGOCD_APP_SOURCE_TARGET_REVISION": str(source.get("targetRevision", "")),
        "KUBE_VERSION": request.kube_version,
        "KUBE_API_VERSIONS": ",".join(request.api_versions),
    }


def cache_key(
    *,
    request: RenderRequest,
    source: SourceDict,
    revision: str,
    ref_revisions: Mapping[str, str],
) -> str:
    """A stable hash of everything that can change the output of one source."""
    is_chart = bool(source.get("chart"))
    spec = {k: v for k, v in source.items() if is_chart or k != "targetRevision"}
    material = {
        "repo": normalize_repo_url(str(source.get("repoURL", ""))),
        "revision": revision,
        "source": spec,
        "refs": dict(sorted(ref_revisions.items())),
        "app": request.app_name,
        "namespace": request.namespace,
        "project": request.project,
        "kubeVersion": request.kube_version,
        "apiVersions": sorted(request.api_versions),
        "labelKey": request.app_label_key,
        "kustomizeBuildOptions": list(request.kustomize_build_options),
    }
    raw = orjson.dumps(material, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.sha256(raw).hexdigest()


class SourceRenderer:
    """The sources layer's entry point; build one per process and share it across threads."""

    def __init__(self, settings: SourceSettings, *, sealer: Sealer | None = None) -> None:
        """With ``sealer`` (the server's secret box) and a disk budget in ``settings``, rendered manifests are also
        kept on disk, sealed, in ``<data_dir>/manifests.db`` (see :mod:`.manifest_cache`)."""
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self._counters = WorkCounters()
        self.git = GitMirrors(settings, self._counters)
        self.helm_repos = helm_mod.HelmRepositories(settings, self._counters)
        self.oci = oci_mod.OciRepositories(settings)
        disk = (
            DiskManifestCache(
                settings.data_dir / "manifests.db", max_bytes=settings.manifest_cache_disk_bytes, sealer=sealer
            )
            if sealer is not None and settings.manifest_cache_disk_bytes > 0
            else None
        )
        self.manifests = ManifestCache(
            max_entries=settings.manifest_cache_max_entries,
            max_bytes=settings.manifest_cache_max_bytes,
            disk=disk,
        )
        self._tools = threading.BoundedSemaphore(max(1, settings.max_parallel_tools))
        self._scratch_root = settings.data_dir / "scratch"
        self._scratch_root.mkdir(parents=True, exist_ok=True)

    @property
    def counters(self) -> SourceCounters:
        return self._counters.snapshot()

    # -- repository operations
    # -------------------------------------------------------------------------

    def resolve_revision(
        self,
        source: SourceDict,
        *,
        credentials: RepoCredentials | None = None,
        refresh: Refresh = Refresh.NONE,
        fresh_after: float | None = None,
    ) -> str:
        """The commit SHA (Git), chart version (Helm chart) or digest (OCI artifact) a source's
        ``targetRevision`` denotes (``fresh_after``: see ``RenderRequest``).
        """
        url = _repo_url(source)
        force = refresh != Refresh.NONE
        revision = str(source.get("targetRevision") or "")
        if is_oci_source(source):
            return self.oci.resolve_digest(url, credentials, revision=revision, force=force)
        if source.get("chart") or (credentials is not None and credentials.type == RepoType.HELM):
            if not source.get("chart"):
                raise InvalidArgument("a Helm repository source needs 'chart'")
            chart = str(source["chart"])
            if oci_mod.is_oci_chart_repository(url, credentials):
                return self.oci.resolve_chart_version(
                    oci_mod.helm_chart_reference(url, chart), credentials, chart=chart, revision=revision, force=force
                )
            return self.helm_repos.resolve_version(url, credentials, chart=chart, revision=revision, force=force)
        return self.git.resolve_revision(
            url,
            credentials,
            revision=revision,
            tag_prefix=str(source.get("tagPrefix") or ""),
            force=force,
            fresh_after=fresh_after,
        )

    def list_refs(self, credentials: RepoCredentials, *, force: bool = False) -> Refs:
        return self.git.list_refs(credentials.url, credentials, force=force)

    def revision_metadata(
        self,
        credentials: RepoCredentials,
        *,
        revision: str,
        gnupg_home: Path | None = None,
    ) -> RevisionMetadata:
        sha = self.git.resolve_revision(credentials.url, credentials, revision=revision)
        return self.git.revision_metadata(credentials.url, credentials, sha, gnupg_home=gnupg_home)

    def helm_charts(self, credentials: RepoCredentials) -> list[HelmChart]:
        return self.helm_repos.charts(credentials.url, credentials)

    def oci_tags(self, credentials: RepoCredentials, *, force: bool = False) -> tuple[str, ...]:
        """The tags of an OCI repository, in the registry's order (``GET .../oci-tags``)."""
        return self.oci.tags(credentials.url, credentials, force=force)

    def oci_metadata(
        self, source: SourceDict, *, credentials: RepoCredentials | None, revision: str
    ) -> oci_mod.OciMetadata:
        """OCIMetadata of a source's artifact at ``revision`` (a digest or tag; a chart version for Helm OCI
        charts).
        """
        url = _repo_url(source)
        chart = str(source.get("chart") or "")
        if chart and oci_mod.is_oci_chart_repository(url, credentials):
            url = oci_mod.helm_chart_reference(url, chart)
        try:
            oci_mod.parse_repository_url(url)
        except SourceError as exc:
            raise SourceError(f"failed to initialize oci client: {exc.message}") from None
        return self.oci.metadata(url, credentials, revision=revision)

    def chart_dir(
        self, url: str, credentials: RepoCredentials | None, *, chart: str, version: str, force: bool = False
    ) -> Path:
        """The unpacked chart at ``version``, from a Helm repository or an OCI registry."""
        if oci_mod.is_oci_chart_repository(url, credentials):
            return self.oci.chart_dir(
                oci_mod.helm_chart_reference(url, chart), credentials, chart=chart, version=version, force=force
            )
        return self.helm_repos.chart_dir(url, credentials, chart=chart, version=version, force=force)

    def test_repository(self, credentials: RepoCredentials) -> None:
        """Raise a ``SourceError`` when the repository cannot be reached with these credentials."""
        if credentials.type == RepoType.OCI:
            self.oci.ping(credentials.url, credentials)
        elif credentials.type == RepoType.HELM and credentials.enable_oci:
            # Upstream registers Helm OCI repositories without a scheme and refuses one here.
            if "://" in credentials.url:
                raise SourceError("OCI Helm repository URL should include hostname and port only")
            self.oci.ping(credentials.url, credentials)
        elif credentials.type == RepoType.HELM:
            self.helm_repos.index(credentials.url, credentials, force=True)
        else:
            self.git.ls_remote(credentials.url, credentials, force=True)

    def list_apps(self, credentials: RepoCredentials, *, revision: str = "HEAD") -> list[AppPath]:
        """Directories holding a Helm chart, a kustomization or plain manifests."""
        sha = self.git.resolve_revision(credentials.url, credentials, revision=revision)
        with self.git.checkout(credentials.url, credentials, sha) as root:
            return discover_apps(root)

    def app_details(
        self,
        source: SourceDict,
        *,
        app_name: str = "",
        credentials: RepoCredentials | None = None,
        request: RenderRequest | None = None,
    ) -> AppDetails:
        """What ``POST /repositories/{repo}/appdetails`` shows: type and tool details."""
        req = request or RenderRequest(sources=(source,), app_name=app_name)
        creds = credentials or _find_creds(req.credentials, _repo_url(source))
        revision = self.resolve_revision(source, credentials=creds)
        with self._source_root(source, creds, revision, req) as (root, app_dir):
            override = _apply_overrides(source, app_dir, req.app_name)
            kind = explicit_type(override) or detect_type(app_dir)
            if kind == SourceType.HELM:
                return AppDetails(type=kind, helm=_helm_details(app_dir, override))
            if kind == SourceType.KUSTOMIZE:
                objects, _ = self._render_kustomize(
                    root=root, app_dir=app_dir, source=override, request=req, revision=revision
                )
                images = kustomize_mod.collect_images(objects)
                return AppDetails(type=kind, kustomize=KustomizeAppDetails(images=tuple(images)))
            if kind == SourceType.PLUGIN:
                return AppDetails(type=kind)
            return AppDetails(type=kind, directory=dict(override.get("directory") or {}))

    # -- rendering
    # -------------------------------------------------------------------------------------

    def render(self, request: RenderRequest) -> RenderResult:
        """Generate the manifests of every source of an application, reusing the manifest cache when
        allowed.
        """
        _validate_refs(request.sources)
        force = request.refresh != Refresh.NONE
        revisions = [
            self.resolve_revision(
                s,
                credentials=_find_creds(request.credentials, _repo_url(s)),
                refresh=request.refresh,
                fresh_after=request.fresh_after,
            )
            for s in request.sources
        ]
        ref_revisions = {str(s["ref"]): rev for s, rev in zip(request.sources, revisions, strict=True) if s.get("ref")}
        results: list[SourceRender] = []
        all_cached = True
        with contextlib.ExitStack() as stack:
            ref_roots: dict[str, Path] | None = None
            for source, revision in zip(request.sources, revisions, strict=True):
                if (
                    source.get("ref")
                    and not source.get("path")
                    and not source.get("chart")
                    and not is_oci_source(source)
                ):
                    results.append(SourceRender(objects=(), revision=revision, source_type=None))
                    continue
                key = cache_key(request=request, source=source, revision=revision, ref_revisions=ref_revisions)
                hit = None if request.refresh == Refresh.HARD else self.manifests.get(key)
                if hit is not None:
                    self._counters.add("manifest_cache_hits")
                    objects, kind, commands = hit
                    results.append(SourceRender(tuple(objects), revision, kind, commands))
                    continue
                self._counters.add("manifest_cache_misses")
                all_cached = False
                if ref_roots is None:
                    ref_roots = self._ref_roots(request, revisions, stack)
                objects, kind, commands = self._render_one(
                    request=request,
                    source=source,
                    revision=revision,
                    ref_roots=ref_roots,
                    force=force,
                )
                self._counters.add("renders")
                self.manifests.put(key, objects, kind, commands)
                results.append(SourceRender(tuple(objects), revision, kind, commands))
        return RenderResult(sources=tuple(results), cached=all_cached)

    def _ref_roots(self, request: RenderRequest, revisions: list[str], stack: contextlib.ExitStack) -> dict[str, Path]:
        roots: dict[str, Path] = {}
        uses_refs = any(_mentions_ref(s) for s in request.sources)
        if not uses_refs:
            return roots
        for source, revision in zip(request.sources, revisions, strict=True):
            ref = source.get("ref")
            if not ref:
                continue
            if source.get("chart") or is_oci_source(source):
                raise SourceError(f"source reference '${ref}' must be a Git repository")
            url = _repo_url(source)
            creds = _find_creds(request.credentials, url)
            roots[str(ref)] = stack.enter_context(self.git.checkout(url, creds, revision))
        return roots

    @contextlib.contextmanager
    def _source_root(
        self,
        source: SourceDict,
        creds: RepoCredentials | None,
        revision: str,
        request: RenderRequest,
    ) -> Iterator[tuple[Path, Path]]:
        url = _repo_url(source)
        if is_oci_source(source):
            # A digest names immutable content: the unpacked artifact is shared, even by hard refreshes.
            root = self.oci.checkout(url, creds, revision)
            yield root, safety.resolve_app_path(root, str(source.get("path") or "."))
            return
        if source.get("chart"):
            chart = str(source["chart"])
            if oci_mod.is_oci_chart_repository(url, creds):
                chart_dir = self.oci.chart_dir(
                    oci_mod.helm_chart_reference(url, chart),
                    creds,
                    chart=chart,
                    version=revision,
                    force=request.refresh == Refresh.HARD,
                )
            else:
                chart_dir = self.helm_repos.chart_dir(
                    url,
                    creds,
                    chart=chart,
                    version=revision,
                    pass_credentials=bool((source.get("helm") or {}).get("passCredentials")),
                    force=request.refresh == Refresh.HARD,
                )
            yield chart_dir, chart_dir
            return
        with self.git.checkout(url, creds, revision) as root:
            app_dir = safety.resolve_app_path(root, str(source.get("path") or "."))
            yield root, app_dir

    def _render_one(
        self,
        *,
        request: RenderRequest,
        source: SourceDict,
        revision: str,
        ref_roots: Mapping[str, Path],
        force: bool,
    ) -> tuple[list[Manifest], SourceType, tuple[str, ...]]:
        creds = _find_creds(request.credentials, _repo_url(source))
        with self._source_root(source, creds, revision, request) as (root, app_dir):
            if not source.get("chart"):
                source = _apply_overrides(source, app_dir, request.app_name)
            kind = explicit_type(source) or detect_type(app_dir)
            if kind == SourceType.PLUGIN:
                raise SourceError("config management plugins are not supported")
            if kind == SourceType.HELM:
                objects, commands = self._render_helm(
                    root=root,
                    chart_dir=app_dir,
                    source=source,
                    request=request,
                    revision=revision,
                    ref_roots=ref_roots,
                )
            elif kind == SourceType.KUSTOMIZE:
                objects, commands = self._render_kustomize(
                    root=root, app_dir=app_dir, source=source, request=request, revision=revision
                )
            else:
                envsubst = make_envsubst(build_env(request=request, source=source, revision=revision))
                objects = directory_mod.render_directory(
                    app_dir=app_dir,
                    repo_root=root,
                    directory=source.get("directory") or {},
                    settings=self.settings,
                    envsubst=envsubst,
                )
                commands = ()
        return objects, kind, commands

    @contextlib.contextmanager
    def _scratch(self) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="render-", dir=self._scratch_root) as tmp:
            yield Path(tmp)

    def _run_tool(
        self,
        args: list[str],
        *,
        counter: str,
        cwd: Path,
        home: Path,
        env: dict[str, str] | None = None,
    ) -> str:
        with self._tools:
            self._counters.add(counter)
            result = process.run(
                args,
                timeout=self.settings.exec_timeout,
                max_output=self.settings.max_output_bytes,
                cwd=cwd,
                env=env or process.base_env(home),
                what=f"{Path(args[0]).name} {args[1]}",
            )
        return result.stdout.decode("utf-8", errors="replace")

    def _render_helm(
        self,
        *,
        root: Path,
        chart_dir: Path,
        source: SourceDict,
        request: RenderRequest,
        revision: str,
        ref_roots: Mapping[str, Path],
    ) -> tuple[list[Manifest], tuple[str, ...]]:
        helm_opts: Mapping[str, Any] = source.get("helm") or {}
        envsubst = make_envsubst(build_env(request=request, source=source, revision=revision))
        redactor = Redactor([c for cred in request.credentials for c in cred.secrets()])
        commands: list[str] = []
        with self._scratch() as scratch:
            home = scratch / "home"
            home.mkdir()
            env = helm_mod.helm_env(home)
            work_root, work_chart = root, chart_dir
            if helm_mod.needs_dependency_build(chart_dir):
                work_root = scratch / "repo"
                clone_tree(root, work_root)
                work_chart = work_root / chart_dir.relative_to(root)
                deps = helm_mod.chart_dependencies(work_chart)
                repos, secrets = helm_mod.repositories_config(deps, lambda url: _find_creds(request.credentials, url))
                redactor = redactor.with_secrets(secrets)
                (home / "config" / "repositories.yaml").write_text(json.dumps(repos))
                dep_args = [self.settings.helm_binary, "dependency", "build", str(work_chart)]
                if not repos["repositories"]:
                    dep_args.append("--skip-refresh")
                commands.append(process.describe_command(dep_args, redactor))
                self._run_tool(dep_args, counter="helm_processes", cwd=work_root, home=home, env=env)
            built = helm_mod.build_template_args(
                helm_opts,
                chart_dir=work_chart,
                repo_root=work_root,
                release_name=request.app_name,
                namespace=request.namespace,
                kube_version=request.kube_version,
                api_versions=request.api_versions,
                ref_roots=ref_roots,
                allowed_schemes=self.settings.helm_value_file_schemes,
                envsubst=envsubst,
            )
            args = [self.settings.helm_binary]
            for arg in built.args:
                if arg.startswith("@") and arg[1:] in built.files:
                    path = scratch / arg[1:]
                    path.write_text(built.files[arg[1:]])
                    arg = str(path)
                args.append(arg)
            commands.append(process.describe_command(args, redactor))
            out = self._run_tool(args, counter="helm_processes", cwd=work_chart, home=home, env=env)
        return parse_manifests(out, origin="helm template"), tuple(commands)

    def _render_kustomize(
        self,
        *,
        root: Path,
        app_dir: Path,
        source: SourceDict,
        request: RenderRequest,
        revision: str,
    ) -> tuple[list[Manifest], tuple[str, ...]]:
        opts: Mapping[str, Any] = source.get("kustomize") or {}
        envsubst = make_envsubst(build_env(request=request, source=source, revision=revision))
        with self._scratch() as scratch:
            home = scratch / "home"
            home.mkdir()
            work_root, work_app = root, app_dir
            if kustomize_mod.has_edits(opts):
                work_root = scratch / "repo"
                clone_tree(root, work_root)
                work_app = work_root / app_dir.relative_to(root)
                kfile = kustomize_mod.find_kustomization(work_app)
                if kfile is None:
                    kfile = work_app / "kustomization.yaml"
                    doc: dict[str, Any] = {
                        "apiVersion": "kustomize.config.k8s.io/v1beta1",
                        "kind": "Kustomization",
                    }
                else:
                    doc = kustomize_mod.load_kustomization(kfile)
                edited = kustomize_mod.apply_edits(doc, opts, app_dir=work_app, repo_root=work_root, envsubst=envsubst)
                replace_file(kfile, kustomize_mod.dump_kustomization(edited))
            args = kustomize_mod.build_args(
                kubectl_binary=self.settings.kubectl_binary,
                kustomize_binary=self.settings.kustomize_binary,
                app_dir=work_app,
                build_options=request.kustomize_build_options,
                kube_version=str(opts.get("kubeVersion") or request.kube_version),
                api_versions=tuple(opts.get("apiVersions") or request.api_versions),
            )
            out = self._run_tool(args, counter="kustomize_processes", cwd=work_root, home=home)
            command = process.describe_command(args, Redactor())
        return parse_manifests(out, origin="kustomize build"), (command,)


# -- helpers
# --------------------------------------------------------------------------------------------


def is_oci_source(source: SourceDict) -> bool:
    """An OCI artifact source (upstream ApplicationSource.IsOCI): an ``oci://`` URL and no ``chart``."""
    return not source.get("chart") and str(source.get("repoURL") or "").startswith("oci://")


def _repo_url(source: SourceDict) -> str:
    url = str(source.get("repoURL") or "")
    if not url:
        raise InvalidArgument("source.repoURL is required")
    return url


def _find_creds(credentials: tuple[RepoCredentials, ...], url: str) -> RepoCredentials | None:
    key = normalize_repo_url(url)
    for creds in credentials:
        if normalize_repo_url(creds.url) == key:
            return creds
    return None


def _mentions_ref(source: SourceDict) -> bool:
    helm = source.get("helm") or {}
    entries = [
        *(helm.get("valueFiles") or []),
        *[p.get("path", "") for p in helm.get("fileParameters") or []],
    ]
    return any(str(e).startswith("$") for e in entries)


def _validate_refs(sources: tuple[SourceDict, ...]) -> None:
    if not sources:
        raise InvalidArgument("application has no sources")
    seen: set[str] = set()
    for source in sources:
        ref = source.get("ref")
        if ref is None or ref == "":
            continue
        if not _REF_NAME.match(str(ref)):
            raise InvalidArgument(f"invalid source reference name '{ref}'")
        if ref in seen:
            raise InvalidArgument(f"duplicate source reference '{ref}'")
        seen.add(str(ref))


def _apply_overrides(source: SourceDict, app_dir: Path, app_name: str) -> SourceDict:
    """Merge ``.argocd-source.yaml`` then ``.argocd-source-<app>.yaml``; tool options only."""
    merged: dict[str, Any] = copy.deepcopy(dict(source))
    for name in (".argocd-source.yaml", f".argocd-source-{app_name}.yaml"):
        path = app_dir / name
        if not path.is_file():
            continue
        try:
            patch = load_yaml(path.read_text())
        except Exception:
            raise SourceError(f"failed to parse {name}") from None
        if isinstance(patch, dict):
            merged = merge_patch(merged, patch)
    for key in ("repoURL", "path", "targetRevision", "chart", "ref", "name"):
        if key in source:
            merged[key] = source[key]
        else:
            merged.pop(key, None)
    return merged


def _helm_details(chart_dir: Path, source: SourceDict) -> HelmAppDetails:
    value_files = sorted(
        p.name for p in chart_dir.iterdir() if p.is_file() and "values" in p.name and p.suffix in (".yaml", ".yml")
    )
    values_path = chart_dir / "values.yaml"
    values_text = values_path.read_text() if values_path.is_file() else ""
    try:
        values = load_yaml(values_text) if values_text else {}
    except Exception:
        values = {}
    params = dict(helm_mod.flatten_values(values or {}))
    forced: dict[str, bool] = {}
    helm_opts = source.get("helm") or {}
    for param in helm_opts.get("parameters") or []:
        params[str(param.get("name", ""))] = str(param.get("value", ""))
        forced[str(param.get("name", ""))] = bool(param.get("forceString"))
    chart_name = chart_dir.name
    try:
        chart_doc = load_yaml((chart_dir / "Chart.yaml").read_text())
        chart_name = str((chart_doc or {}).get("name") or chart_name)
    except Exception:  # noqa: S110 - a broken Chart.yaml is reported by the render, not by details
        pass
    return HelmAppDetails(
        name=chart_name,
        value_files=tuple(value_files),
        parameters=tuple(
            HelmParameter(name=n, value=v, force_string=forced.get(n, False)) for n, v in sorted(params.items())
        ),
        values=values_text,
        file_parameters=tuple(
            (str(p.get("name", "")), str(p.get("path", ""))) for p in helm_opts.get("fileParameters") or []
        ),
    )


def discover_apps(root: Path) -> list[AppPath]:
    """Helm charts, kustomizations and manifest directories under ``root`` (chart internals are
    skipped).
    """
    import os

    apps: list[AppPath] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        here = Path(dirpath)
        rel = here.relative_to(root).as_posix()
        names = set(filenames)
        if names & set(kustomize_mod.KUSTOMIZATION_FILES):
            apps.append(AppPath(rel, SourceType.KUSTOMIZE))
        elif "Chart.yaml" in names:
            apps.append(AppPath(rel, SourceType.HELM))
            dirnames[:] = []
        elif any(n.endswith((".yaml", ".yml", ".json", ".jsonnet")) for n in names):
            apps.append(AppPath(rel, SourceType.DIRECTORY))
    return apps


__all__ = [
    "ManifestCache",
    "SourceNotFound",
    "SourceRenderer",
    "cache_key",
    "detect_type",
    "discover_apps",
    "explicit_type",
    "is_oci_source",
    "make_envsubst",
]
