"""Helm for the sources layer: chart repositories (index.yaml, chart archives) and ``helm template``.

Boundary: Helm repository HTTP goes through ``httpx`` here (index fetched once per repository URL
and shared, charts downloaded once per version and extracted once); ``helm`` itself runs through
:mod:`.process` with its own throwaway ``HELM_*_HOME`` directories so nothing leaks between renders.
Argument construction follows upstream's ``helm template`` invocation (release name, namespace,
value files, inline values last, ``--set*``, ``--include-crds``).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import httpx
import yaml

from argocd_server.errors import SourceError, SourceNotFound

from . import process, safety
from .git import extract_tar, normalize_repo_url
from .manifests import load_yaml
from .process import Redactor, redact_url
from .semver import max_satisfying, parse_constraint, parse_version
from .types import HelmChart, RepoCredentials, SourceSettings, WorkCounters

_GLOB_CHARS = re.compile(r"[*?\[]")
_UNESCAPED_COMMA = re.compile(r"(?<!\\),")


@dataclass(frozen=True)
class ChartIndex:
    """A parsed ``index.yaml``: chart name -> version -> download URLs."""

    entries: dict[str, dict[str, list[str]]]
    fetched_at: float


def repository_http_client(creds: RepoCredentials | None, scratch: Path, *, timeout: float) -> httpx.Client:
    """An HTTP client for a Helm or OCI repository: its TLS client certificate (written into ``scratch``, private
    from the first byte), its ``insecure`` and ``proxy`` settings, and nothing of the server's own environment."""
    cert: tuple[str, str] | None = None
    if creds is not None and creds.tls_client_cert_data and creds.tls_client_cert_key:
        cert_file, key_file = scratch / "client.crt", scratch / "client.key"
        for path, text in ((cert_file, creds.tls_client_cert_data), (key_file, creds.tls_client_cert_key)):
            path.touch(mode=0o600)
            path.write_text(text)
        cert = (str(cert_file), str(key_file))
    # trust_env=False: the server's own proxy and netrc settings are not the repository's.
    return httpx.Client(
        timeout=timeout,
        verify=not (creds is not None and creds.insecure),
        cert=cert,
        proxy=creds.proxy if creds is not None and creds.proxy else None,
        trust_env=False,
        follow_redirects=True,
    )


class HelmRepositories:
    """Index and chart caches for Helm repositories, shared by every render."""

    def __init__(self, settings: SourceSettings, counters: WorkCounters) -> None:
        self._settings = settings
        self._counters = counters
        self._root = settings.data_dir / "helm"
        (self._root / "charts").mkdir(parents=True, exist_ok=True)
        self._indexes: dict[str, ChartIndex] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _client(self, creds: RepoCredentials | None, scratch: Path) -> httpx.Client:
        return repository_http_client(creds, scratch, timeout=self._settings.git_request_timeout)

    def _get(self, url: str, creds: RepoCredentials | None, *, send_auth: bool, dest: Path | None = None) -> bytes:
        redact = Redactor(creds.secrets() if creds else ())
        auth = None
        headers: dict[str, str] = {}
        if creds is not None and send_auth:
            if creds.username or creds.password:
                auth = httpx.BasicAuth(creds.username, creds.password)
            elif creds.bearer_token:
                headers["Authorization"] = f"Bearer {creds.bearer_token}"
        cap = self._settings.max_extracted_bytes
        with tempfile.TemporaryDirectory(prefix="http-", dir=self._root) as scratch:
            try:
                with (
                    self._client(creds, Path(scratch)) as client,
                    client.stream("GET", url, auth=auth, headers=headers) as resp,
                ):
                    if resp.status_code == 401 or resp.status_code == 403:
                        raise SourceError(
                            f"failed to fetch {redact_url(url)}: {resp.status_code} "
                            f"{resp.reason_phrase} (check the repository credentials)"
                        )
                    if resp.status_code == 404:
                        raise SourceNotFound(f"failed to fetch {redact_url(url)}: 404 Not Found")
                    if resp.status_code >= 300:
                        raise SourceError(f"failed to fetch {redact_url(url)}: {resp.status_code} {resp.reason_phrase}")
                    chunks: list[bytes] = []
                    total = 0
                    for chunk in resp.iter_bytes():
                        total += len(chunk)
                        if total > cap:
                            raise SourceError(f"{redact_url(url)}: response exceeds {cap} bytes")
                        chunks.append(chunk)
                    return b"".join(chunks)
            except httpx.TimeoutException:
                raise SourceError(f"failed to fetch {redact_url(url)}: timed out") from None
            except httpx.HTTPError as exc:
                raise SourceError(
                    f"failed to fetch {redact_url(url)}: {redact(str(exc)) or type(exc).__name__}"
                ) from None

    def index(self, repo_url: str, creds: RepoCredentials | None = None, *, force: bool = False) -> ChartIndex:
        """The repository's index, fetched at most once per ``revision_cache_ttl`` unless forced."""
        key = normalize_repo_url(repo_url)
        asked_at = time.monotonic()
        with self._lock("index:" + key):
            cached = self._indexes.get(key)
            if cached is not None:
                fresh = time.monotonic() - cached.fetched_at < self._settings.revision_cache_ttl
                if (fresh and not force) or cached.fetched_at >= asked_at:
                    return cached
            self._counters.add("helm_index_fetches")
            raw = self._get(repo_url.rstrip("/") + "/index.yaml", creds, send_auth=True)
            try:
                doc = load_yaml(raw.decode("utf-8", errors="replace"))
            except yaml.YAMLError:
                raise SourceError(f"{redact_url(repo_url)}: index.yaml is not valid YAML") from None
            entries: dict[str, dict[str, list[str]]] = {}
            for name, versions in ((doc or {}).get("entries") or {}).items():
                for entry in versions or []:
                    if isinstance(entry, dict) and entry.get("version") is not None:
                        urls = [str(u) for u in entry.get("urls") or []]
                        entries.setdefault(str(name), {})[str(entry["version"])] = urls
            index = ChartIndex(entries=entries, fetched_at=time.monotonic())
            self._indexes[key] = index
            return index

    def charts(self, repo_url: str, creds: RepoCredentials | None = None) -> list[HelmChart]:
        index = self.index(repo_url, creds)
        return [HelmChart(name=name, versions=tuple(versions)) for name, versions in sorted(index.entries.items())]

    def resolve_version(
        self,
        repo_url: str,
        creds: RepoCredentials | None,
        *,
        chart: str,
        revision: str,
        force: bool = False,
    ) -> str:
        """A semver version is used verbatim (upstream does not check the index); otherwise max match."""
        revision = revision.strip()
        if revision and parse_version(revision) is not None:
            return revision
        constraint = parse_constraint(revision or "*")
        if constraint is None:
            raise SourceError(f"invalid chart version constraint '{revision}'")
        index = self.index(repo_url, creds, force=force)
        versions = index.entries.get(chart)
        if not versions:
            raise SourceNotFound(f"chart '{chart}' not found in repository {redact_url(repo_url)}")
        candidates = {v: pv for v in versions if (pv := parse_version(v)) is not None}
        best = max_satisfying(constraint, candidates)
        if best is None:
            raise SourceNotFound(f"no version of chart '{chart}' satisfies constraint '{revision}'")
        return best

    def chart_dir(
        self,
        repo_url: str,
        creds: RepoCredentials | None,
        *,
        chart: str,
        version: str,
        pass_credentials: bool = False,
        force: bool = False,
    ) -> Path:
        """The extracted chart (downloaded and unpacked once per repository/chart/version)."""
        base = self._root / "charts" / hashlib.sha256(normalize_repo_url(repo_url).encode()).hexdigest()[:32]
        dest = base / f"{_safe_name(chart)}-{_safe_name(version)}"
        with self._lock(f"chart:{dest}"):
            if dest.is_dir() and not force:
                return dest / "chart"
            index = self.index(repo_url, creds)
            urls = index.entries.get(chart, {}).get(version)
            if urls is None:
                index = self.index(repo_url, creds, force=True)
                urls = index.entries.get(chart, {}).get(version)
            if not urls:
                raise SourceNotFound(
                    f"chart '{chart}' version '{version}' not found in repository {redact_url(repo_url)}"
                )
            chart_url = urljoin(repo_url.rstrip("/") + "/", urls[0])
            same_host = urlparse(chart_url).netloc == urlparse(repo_url).netloc
            data = self._get(chart_url, creds, send_auth=same_host or pass_credentials)
            base.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix="chart-", dir=base))
            try:
                archive = work / "chart.tgz"
                archive.write_bytes(data)
                (work / "chart").mkdir()
                extract_tar(
                    archive,
                    work / "chart",
                    strip=chart,
                    max_bytes=self._settings.max_extracted_bytes,
                )
                archive.unlink()
                if not (work / "chart" / "Chart.yaml").is_file():
                    raise SourceError(f"chart archive of '{chart}' has no {chart}/Chart.yaml")
                if not self._settings.allow_out_of_bounds_symlinks:
                    safety.check_symlinks(work / "chart")
                if dest.exists():
                    shutil.rmtree(dest)
                work.rename(dest)
            except BaseException:
                shutil.rmtree(work, ignore_errors=True)
                raise
            return dest / "chart"


def _safe_name(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]", "_", value)[:100]


# -- helm template
# -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HelmTemplateArgs:
    args: list[str]
    files: dict[str, str]
    """Scratch files to write before running (inline values), name -> content."""


def escape_commas(value: str) -> str:
    """Upstream escapes unescaped commas unless the value is a ``{a,b}`` list literal."""
    if value.startswith("{") and value.endswith("}"):
        return value
    return _UNESCAPED_COMMA.sub(r"\\,", value)


def resolve_value_file(
    name: str,
    *,
    repo_root: Path,
    chart_dir: Path,
    ref_roots: Mapping[str, Path],
    allowed_schemes: tuple[str, ...],
    must_exist: bool,
) -> list[str]:
    """A value-file entry as ``helm`` arguments: a URL, or absolute paths strictly inside the right
    root.

    Globs expand in lexical order. A missing file yields ``[]`` when ``must_exist`` is false.
    """
    if name.startswith("$"):
        ref, _, rest = name[1:].partition("/")
        if ref not in ref_roots:
            raise SourceError(f"value file '{name}' refers to unknown source reference '${ref}'")
        root, base, rel = ref_roots[ref], ref_roots[ref], "/" + rest
    elif safety.is_remote_url(name) or "://" in name:
        safety.check_url_scheme(name, allowed_schemes)
        return [name]
    else:
        root, base, rel = repo_root, chart_dir, name
    if _GLOB_CHARS.search(rel):
        parts = rel.lstrip("/").split("/")
        static = _takewhile_static(parts)
        start = safety.resolve_repo_dir(
            root, base_dir=base, name=("/" if rel.startswith("/") else "") + "/".join(static) or "."
        )
        pattern = "/".join(parts[len(static) :])
        resolved: list[str] = []
        for match in sorted(start.glob(pattern)):
            if match.is_dir():
                continue
            resolved.append(str(safety.resolve_repo_file(root, base_dir=match.parent, name=match.name)))
        if not resolved and must_exist:
            raise SourceNotFound(f"no files match value file pattern '{name}'")
        return resolved
    try:
        return [str(safety.resolve_repo_file(root, base_dir=base, name=rel, must_exist=True))]
    except SourceNotFound:
        if must_exist:
            raise SourceNotFound(f"values file '{name}' does not exist") from None
        return []


def _takewhile_static(parts: list[str]) -> list[str]:
    out: list[str] = []
    for part in parts[:-1]:
        if _GLOB_CHARS.search(part):
            break
        out.append(part)
    return out


def build_template_args(
    helm: Mapping[str, Any],
    *,
    chart_dir: Path,
    repo_root: Path,
    release_name: str,
    namespace: str,
    kube_version: str,
    api_versions: Sequence[str],
    ref_roots: Mapping[str, Path],
    allowed_schemes: tuple[str, ...],
    envsubst: Callable[[str], str],
) -> HelmTemplateArgs:
    """``helm template`` arguments in upstream's order (the binary itself not included)."""
    args = ["template", str(chart_dir), "--name-template", helm.get("releaseName") or release_name]
    ns = helm.get("namespace") or namespace
    if ns:
        args += ["--namespace", ns]
    kv = helm.get("kubeVersion") or kube_version
    if kv:
        args += ["--kube-version", kv]
    for param in helm.get("parameters") or []:
        flag = "--set-string" if param.get("forceString") else "--set"
        value = escape_commas(envsubst(str(param.get("value", ""))))
        args += [flag, f"{param.get('name', '')}={value}"]
    must_exist = not helm.get("ignoreMissingValueFiles", False)
    for fp in helm.get("fileParameters") or []:
        paths = resolve_value_file(
            str(fp.get("path", "")),
            repo_root=repo_root,
            chart_dir=chart_dir,
            ref_roots=ref_roots,
            allowed_schemes=(),
            must_exist=True,
        )
        for path in paths:
            args += ["--set-file", f"{fp.get('name', '')}={path}"]
    seen: dict[str, None] = {}
    explicit = {str(v) for v in helm.get("valueFiles") or [] if not _GLOB_CHARS.search(str(v))}
    for entry in helm.get("valueFiles") or []:
        entry = str(entry)
        matched = resolve_value_file(
            entry,
            repo_root=repo_root,
            chart_dir=chart_dir,
            ref_roots=ref_roots,
            allowed_schemes=allowed_schemes,
            must_exist=must_exist,
        )
        for f in matched:
            is_glob = bool(_GLOB_CHARS.search(entry))
            # A file listed explicitly keeps its explicit position rather than the glob's.
            if is_glob and any(_same_file(f, e, chart_dir, repo_root) for e in explicit):
                continue
            seen.setdefault(f)
    for f in seen:
        args += ["--values", f]
    files: dict[str, str] = {}
    values_object = helm.get("valuesObject")
    inline = helm.get("values")
    if values_object is not None:
        files["inline-values.yaml"] = json.dumps(values_object)
    elif inline:
        files["inline-values.yaml"] = inline if isinstance(inline, str) else json.dumps(inline)
    if files:
        args += ["--values", "@inline-values.yaml"]
    for gv in helm.get("apiVersions") or api_versions:
        args += ["--api-versions", gv]
    if not helm.get("skipCrds"):
        args.append("--include-crds")
    if helm.get("skipSchemaValidation"):
        args.append("--skip-schema-validation")
    if helm.get("skipTests"):
        args.append("--skip-tests")
    if helm.get("passCredentials"):
        args.append("--pass-credentials")
    return HelmTemplateArgs(args=args, files=files)


def _same_file(path: str, entry: str, chart_dir: Path, repo_root: Path) -> bool:
    if entry.startswith("$") or "://" in entry:
        return False
    candidate = repo_root / entry.lstrip("/") if entry.startswith("/") else chart_dir / entry
    try:
        return Path(path) == candidate.resolve()
    except OSError:
        return False


def chart_dependencies(chart_dir: Path) -> list[Mapping[str, Any]]:
    try:
        doc = load_yaml((chart_dir / "Chart.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return []
    deps = (doc or {}).get("dependencies") or []
    return [d for d in deps if isinstance(d, dict)]


def needs_dependency_build(chart_dir: Path) -> bool:
    """True when Chart.yaml lists dependencies that are not vendored under ``charts/``."""
    deps = chart_dependencies(chart_dir)
    if not deps:
        return False
    vendored = {p.name for p in (chart_dir / "charts").glob("*")} if (chart_dir / "charts").is_dir() else set()
    for dep in deps:
        name = str(dep.get("name", ""))
        if not any(v == name or v.startswith(f"{name}-") for v in vendored):
            return True
    return False


def repositories_config(
    deps: Iterable[Mapping[str, Any]], credentials: Callable[[str], RepoCredentials | None]
) -> tuple[dict[str, Any], list[str]]:
    """A ``repositories.yaml`` naming every http(s) dependency repository, plus the secrets it
    contains.
    """
    repos: list[dict[str, Any]] = []
    secrets: list[str] = []
    for i, dep in enumerate(deps):
        url = str(dep.get("repository", ""))
        if not url.startswith(("http://", "https://")):
            continue
        entry: dict[str, Any] = {"name": f"dep-{i}", "url": url}
        creds = credentials(url)
        if creds is not None:
            entry.update(
                username=creds.username,
                password=creds.password,
                insecure_skip_tls_verify=creds.insecure,
                pass_credentials_all=False,
            )
            secrets += list(creds.secrets())
        repos.append(entry)
    return {"apiVersion": "", "generated": "0001-01-01T00:00:00Z", "repositories": repos}, secrets


def helm_env(home: Path) -> dict[str, str]:
    env = process.base_env(home)
    env.update(
        HELM_CACHE_HOME=str(home / "cache"),
        HELM_CONFIG_HOME=str(home / "config"),
        HELM_DATA_HOME=str(home / "data"),
        HELM_PLUGINS=str(home / "plugins"),
        HELM_REGISTRY_CONFIG=str(home / "registry.json"),
    )
    (home / "config").mkdir(exist_ok=True)
    return env


def flatten_values(values: Any, prefix: str = "") -> list[tuple[str, str]]:
    """``values.yaml`` as ``--set`` style ``(name, value)`` pairs (``a.b``, ``list[0]``), as the UI
    shows them.
    """
    out: list[tuple[str, str]] = []
    if isinstance(values, dict):
        for key, value in values.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out += flatten_values(value, name)
    elif isinstance(values, list):
        for i, value in enumerate(values):
            out += flatten_values(value, f"{prefix}[{i}]")
    elif prefix:
        if isinstance(values, bool):
            text = "true" if values else "false"
        elif values is None:
            text = ""
        else:
            text = str(values)
        out.append((prefix, text))
    return out
