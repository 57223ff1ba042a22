"""OCI registries for the sources layer: tags, manifests and blobs over the OCI Distribution API, and artifacts
unpacked on disk.

Boundary: registry HTTP goes through ``httpx`` here and nowhere else; nothing above this module sees an httpx
type. A repository is named ``oci://host[:port]/path`` (the scheme may be left out, as Helm OCI repositories are
registered). Requests go over HTTPS unless the repository sets ``insecureOCIForceHttp``; ``insecure`` skips
certificate checks. Authentication follows the registry's ``WWW-Authenticate`` challenge: anonymous first, then
Basic with the repository's username and password, or a Bearer token fetched from the challenge's realm (with those
credentials when set). Tokens are kept per realm, service, scope and credentials until they expire; credentials,
tokens and Authorization headers never appear in messages or logs.

Every manifest and blob is checked against its digest before use, and every response body is read with a cap.
An artifact is pulled once per digest into ``<data_dir>/oci/artifacts/<url hash>/<digest>``: its single content
layer (OCI image layer tar / tar+gzip or Helm chart content, as upstream's default list) is extracted with the
archive rules of :mod:`.safety` and a Helm chart layer loses its top-level directory. A digest names immutable
content, so an unpacked artifact is never fetched again; tag to digest answers are reused for
``revision_cache_ttl`` unless a refresh asks otherwise.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import shutil
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import httpx

from argocd_server.errors import ArgoError, SourceError, SourceNotFound

from . import safety
from .git import extract_tar, normalize_repo_url, url_hash
from .helm import repository_http_client
from .process import Redactor
from .semver import max_satisfying, parse_constraint, parse_version
from .types import RepoCredentials, RepoType, SourceSettings

__all__ = [
    "DEFAULT_LAYER_MEDIA_TYPES",
    "HELM_CHART_CONTENT",
    "Descriptor",
    "ImageManifest",
    "OciMetadata",
    "OciReference",
    "OciRepositories",
    "RegistryClient",
    "helm_chart_reference",
    "is_digest",
    "is_oci_chart_repository",
    "parse_repository_url",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
HELM_CHART_CONTENT = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
DEFAULT_LAYER_MEDIA_TYPES = (
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    HELM_CHART_CONTENT,
)
"""Upstream's default ``ARGOCD_REPO_SERVER_OCI_LAYER_MEDIA_TYPES``."""

_MANIFEST_ACCEPT = ", ".join((OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST))
_INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
_MAX_MANIFEST_BYTES = 4 * 1024 * 1024
"""The distribution spec's recommended minimum a registry accepts; anything larger is not a manifest we want."""
_MAX_TAGS_PAGE_BYTES = 16 * 1024 * 1024
_MAX_SMALL_BODY = 1024 * 1024
_MAX_TAG_PAGES = 1000
_MAX_LAYERS = 10
_DEFAULT_TOKEN_SECONDS = 60

_DIGEST_HEX = {"sha256": 64, "sha512": 128}
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_REPOSITORY = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$")
_REGISTRY = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::[0-9]{1,5})?$")
_CHALLENGE_PARAM = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')
_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")


# -- references
# -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OciReference:
    """A repository in a registry: ``registry`` is ``host[:port]``, ``repository`` its path (may be empty for a
    registry-wide check)."""

    registry: str
    repository: str

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}" if self.repository else self.registry


def parse_repository_url(url: str, *, require_repository: bool = True) -> OciReference:
    """``oci://host[:port]/path`` or ``host[:port]/path`` as a reference; other schemes, credentials in the URL, tags
    and digests are refused."""
    text = url.strip()
    if text[:6].lower() == "oci://":
        text = text[6:]
    elif "://" in text:
        raise SourceError(f'invalid OCI repository URL "{_display(url)}": expected oci://<registry>/<repository>')
    text = text.rstrip("/")
    registry, _, repository = text.partition("/")
    if not _REGISTRY.match(registry):
        raise SourceError(f'invalid OCI repository URL "{_display(url)}": invalid registry host')
    if repository and not _REPOSITORY.match(repository):
        raise SourceError(f'invalid OCI repository URL "{_display(url)}": invalid repository name "{repository}"')
    if require_repository and not repository:
        raise SourceError(f'invalid OCI repository URL "{_display(url)}": no repository path')
    return OciReference(registry=registry, repository=repository)


def _display(url: str) -> str:
    # Whatever precedes an "@" in the authority could be credentials someone pasted into the URL.
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "******@" + authority.rpartition("@")[2]
    return f"{scheme}{sep}{authority}{slash}{path}"


def is_digest(value: str) -> bool:
    algorithm, sep, encoded = value.partition(":")
    size = _DIGEST_HEX.get(algorithm)
    return bool(sep) and size is not None and re.fullmatch(f"[a-f0-9]{{{size}}}", encoded) is not None


def _hasher(digest: str) -> Any:
    return hashlib.new(digest.partition(":")[0])


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def is_oci_chart_repository(url: str, creds: RepoCredentials | None) -> bool:
    """Whether a ``chart`` source's repository is an OCI registry: an ``oci://`` URL, a URL without scheme (how
    upstream registers Helm OCI repositories), or a repository registered as OCI or with ``enableOCI``."""
    if url.strip().lower().startswith("oci://") or "://" not in url:
        return True
    return creds is not None and (creds.enable_oci or creds.type == RepoType.OCI)


def helm_chart_reference(url: str, chart: str) -> str:
    """The OCI repository holding ``chart`` of a Helm OCI repository (``<repository>/<chart>``, as ``helm pull``)."""
    base = url.strip().rstrip("/")
    if base[:6].lower() != "oci://":
        base = "oci://" + base
    return f"{base}/{chart.strip('/')}"


# -- wire types
# -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    platform: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Any) -> Descriptor:
        if not isinstance(raw, Mapping):
            raise SourceError("invalid OCI descriptor: not an object")
        digest = str(raw.get("digest") or "")
        if not is_digest(digest):
            raise SourceError(f'invalid OCI descriptor: unsupported digest "{digest[:80]}"')
        size = raw.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise SourceError(f"invalid OCI descriptor {digest}: invalid size")
        platform = raw.get("platform")
        return cls(
            media_type=str(raw.get("mediaType") or ""),
            digest=digest,
            size=size,
            annotations=_string_map(raw.get("annotations")),
            platform=_string_map(platform) if isinstance(platform, Mapping) else {},
        )


@dataclass(frozen=True)
class ImageManifest:
    """The image manifest a reference denotes (the platform chosen when the reference is an index)."""

    digest: str
    """What the reference itself resolves to: the index digest when it names an index."""
    media_type: str
    layers: tuple[Descriptor, ...]
    annotations: Mapping[str, str]
    """The manifest's annotations over the index's, when there is one."""


@dataclass(frozen=True)
class OciMetadata:
    """``v1alpha1.OCIMetadata``, from the ``org.opencontainers.image.*`` annotations of a manifest."""

    created_at: str = ""
    authors: str = ""
    image_url: str = ""
    docs_url: str = ""
    source_url: str = ""
    version: str = ""
    description: str = ""

    @classmethod
    def from_annotations(cls, annotations: Mapping[str, str]) -> OciMetadata:
        # Upstream leaves imageUrl unset (org.opencontainers.image.url is not mapped), so do we.
        prefix = "org.opencontainers.image."
        return cls(
            created_at=annotations.get(prefix + "created", ""),
            authors=annotations.get(prefix + "authors", ""),
            docs_url=annotations.get(prefix + "documentation", ""),
            source_url=annotations.get(prefix + "source", ""),
            version=annotations.get(prefix + "version", ""),
            description=annotations.get(prefix + "description", ""),
        )


@dataclass(frozen=True)
class _Fetched:
    digest: str
    media_type: str
    body: bytes


def _string_map(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): str(v) for k, v in raw.items() if isinstance(v, str | int | float | bool)}


def _json_object(body: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise SourceError(f"{what}: the registry answered invalid JSON") from None
    if not isinstance(doc, dict):
        raise SourceError(f"{what}: the registry answered JSON that is not an object")
    return doc


def _is_index(media_type: str, doc: Mapping[str, Any]) -> bool:
    if media_type in _INDEX_TYPES or doc.get("mediaType") in _INDEX_TYPES:
        return True
    return "manifests" in doc and "layers" not in doc


def _pick_manifest(entries: Any, what: str) -> Descriptor:
    """The image of an index to use: linux/amd64, else one without platform, else the first real platform."""
    if not isinstance(entries, list) or not entries:
        raise SourceError(f"{what}: the image index lists no manifests")
    candidates = [Descriptor.parse(e) for e in entries]
    # Build attestations ride along in indexes as "unknown/unknown" images; they are never the content.
    real = [d for d in candidates if d.platform.get("os") != "unknown"] or candidates
    for wanted in (
        lambda d: d.platform.get("os") == "linux" and d.platform.get("architecture") == "amd64",
        lambda d: not d.platform,
    ):
        found = next((d for d in real if wanted(d)), None)
        if found is not None:
            return found
    return real[0]


def _is_content_layer(media_type: str) -> bool:
    return media_type.endswith(("tar+gzip", "tar"))


# -- authentication
# -------------------------------------------------------------------------------------------


def _parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.strip().partition(" ")
    params = {
        m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
        for m in _CHALLENGE_PARAM.finditer(rest)
    }
    return scheme.lower(), {k: re.sub(r"\\(.)", r"\1", v) for k, v in params.items()}


class _TokenCache:
    """Bearer tokens by realm, service, scope and a hash of the credentials that obtained them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}

    def get(self, key: tuple[str, ...]) -> str | None:
        with self._lock:
            found = self._tokens.get(key)
            if found is None or found[1] <= time.monotonic():
                self._tokens.pop(key, None)
                return None
            return found[0]

    def put(self, key: tuple[str, ...], token: str, seconds: float) -> None:
        with self._lock:
            self._tokens[key] = (token, time.monotonic() + seconds)

    def drop(self, key: tuple[str, ...], token: str) -> None:
        with self._lock:
            if self._tokens.get(key, ("", 0.0))[0] == token:
                self._tokens.pop(key, None)


# -- one registry repository
# -----------------------------------------------------------------------------------


class RegistryClient:
    """One repository of one registry, seen with one set of credentials, over an open ``httpx.Client``."""

    def __init__(
        self, ref: OciReference, creds: RepoCredentials | None, *, http: httpx.Client, tokens: _TokenCache
    ) -> None:
        self.ref = ref
        self._creds = creds
        self._http = http
        self._tokens = tokens
        scheme = "http" if creds is not None and creds.insecure_oci_force_http else "https"
        self.base = f"{scheme}://{ref.registry}"
        self._authorization: str | None = None
        self._token_key: tuple[str, ...] | None = None
        secrets = list(creds.secrets()) if creds is not None else []
        if creds is not None and (creds.username or creds.password):
            secrets.append(base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode())
        self._redact = Redactor(secrets)

    # -- HTTP plumbing

    def _url(self, tail: str) -> str:
        return f"{self.base}/v2/{self.ref.repository}/{tail}"

    def _send(self, method: str, url: str, *, headers: Mapping[str, str] | None = None) -> httpx.Response:
        response = self._send_once(method, url, headers)
        if response.status_code != 401:
            return response
        previous = self._authorization
        try:
            authorization = self._authorize(response.headers.get("WWW-Authenticate", ""), stale=previous)
        except BaseException:
            response.close()
            raise
        if authorization is None or authorization == previous:
            # Nothing better to offer: the 401 stands.
            return response
        response.close()
        self._authorization = authorization
        return self._send_once(method, url, headers)

    def _send_once(self, method: str, url: str, headers: Mapping[str, str] | None) -> httpx.Response:
        sent = dict(headers or {})
        if self._authorization:
            sent["Authorization"] = self._authorization
        try:
            return self._http.send(self._http.build_request(method, url, headers=sent), stream=True)
        except httpx.TimeoutException:
            raise SourceError(f"{self.ref}: the registry did not answer in time") from None
        except httpx.HTTPError as exc:
            detail = self._redact(str(exc)) or type(exc).__name__
            raise SourceError(f"{self.ref}: cannot reach the registry: {detail}") from None

    @contextlib.contextmanager
    def _open(self, method: str, url: str, *, headers: Mapping[str, str] | None = None) -> Iterator[httpx.Response]:
        response = self._send(method, url, headers=headers)
        try:
            yield response
        finally:
            response.close()

    def _read(self, response: httpx.Response, cap: int, what: str) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise SourceError(f"{what}: the answer exceeds {cap} bytes")
        chunks: list[bytes] = []
        total = 0
        try:
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > cap:
                    raise SourceError(f"{what}: the answer exceeds {cap} bytes")
                chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise SourceError(f"{what}: {self._redact(str(exc)) or type(exc).__name__}") from None
        return b"".join(chunks)

    def _check(self, response: httpx.Response, what: str) -> None:
        if response.status_code < 300:
            return
        detail = ""
        with contextlib.suppress(ArgoError):
            detail = _registry_errors(self._read(response, 64 * 1024, what))
        detail = self._redact(detail)
        suffix = f": {detail}" if detail else ""
        status = f"{response.status_code} {response.reason_phrase}".strip()
        if response.status_code in (401, 403):
            raise SourceError(f"{what}: {status}{suffix} (check the repository credentials)")
        if response.status_code == 404:
            raise SourceNotFound(f"{what}: not found{suffix}")
        raise SourceError(f"{what}: {status}{suffix}")

    # -- authentication

    def _authorize(self, challenge: str, *, stale: str | None) -> str | None:
        """The Authorization header answering a challenge, or ``None`` when there is nothing better to send."""
        scheme, params = _parse_challenge(challenge)
        username = self._creds.username if self._creds is not None else ""
        password = self._creds.password if self._creds is not None else ""
        if scheme == "basic":
            if not (username or password):
                return None
            return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        if scheme != "bearer" or not params.get("realm"):
            return None
        scope = params.get("scope", "")
        if not scope and self.ref.repository:
            scope = f"repository:{self.ref.repository}:pull"
        secret = hashlib.sha256(f"{username}\0{password}".encode()).hexdigest()
        key = (params["realm"], params.get("service", ""), scope, secret)
        if stale and stale.startswith("Bearer ") and self._token_key == key:
            self._tokens.drop(key, stale.removeprefix("Bearer "))
        token = self._tokens.get(key)
        if token is None:
            token, seconds = self._fetch_token(params["realm"], params.get("service", ""), scope, username, password)
            self._tokens.put(key, token, seconds)
        self._redact = self._redact.with_secrets([token])
        self._token_key = key
        return f"Bearer {token}"

    def _fetch_token(self, realm: str, service: str, scope: str, username: str, password: str) -> tuple[str, float]:
        what = f"{self.ref}: token request"
        parsed = urlparse(realm)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise SourceError(f"{self.ref}: the registry's authentication realm is not an http(s) URL")
        params: list[tuple[str, str | int | float | bool | None]] = []
        if service:
            params.append(("service", service))
        params += [("scope", s) for s in scope.split()]
        headers = {"Accept": "application/json"}
        if username or password:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        try:
            request = self._http.build_request("GET", realm, params=tuple(params), headers=headers)
            response = self._http.send(request, stream=True)
        except httpx.TimeoutException:
            raise SourceError(f"{what}: the authentication service did not answer in time") from None
        except httpx.HTTPError as exc:
            detail = self._redact(str(exc)) or type(exc).__name__
            raise SourceError(f"{what}: cannot reach the authentication service: {detail}") from None
        try:
            self._check(response, what)
            doc = _json_object(self._read(response, _MAX_SMALL_BODY, what), what)
        finally:
            response.close()
        token = doc.get("token") or doc.get("access_token")
        if not isinstance(token, str) or not token:
            raise SourceError(f"{what}: the authentication service answered no token")
        expires = doc.get("expires_in")
        seconds = float(expires) if isinstance(expires, int | float) and expires > 0 else _DEFAULT_TOKEN_SECONDS
        # Keep a margin so a token never expires between the cache lookup and its use.
        return token, max(1.0, seconds - 5)

    # -- operations

    def ping(self) -> None:
        """``GET /v2/``: the registry speaks the distribution API and accepts these credentials."""
        with self._open("GET", f"{self.base}/v2/") as response:
            self._check(response, f"{self.ref.registry}: registry check")

    def list_tags(self) -> list[str]:
        """Every tag, following ``Link: <...>; rel="next"`` pages (``n``/``last``) as the registry hands them out."""
        what = f"failed to get tags of {self.ref}"
        url = self._url("tags/list")
        tags: list[str] = []
        seen = {url}
        for _ in range(_MAX_TAG_PAGES):
            with self._open("GET", url, headers={"Accept": "application/json"}) as response:
                self._check(response, what)
                body = self._read(response, _MAX_TAGS_PAGE_BYTES, what)
                link = response.headers.get("Link", "")
            page = _json_object(body, what).get("tags") or []
            if not isinstance(page, list):
                raise SourceError(f"{what}: the registry answered a tag list that is not a list")
            tags += [t for t in page if isinstance(t, str)]
            following = _next_link(link, current=url)
            if following is None:
                return tags
            if not _same_origin(following, self.base):
                raise SourceError(f"{what}: the registry pointed the next page at another host")
            if following in seen:
                return tags
            seen.add(following)
            url = following
        raise SourceError(f"{what}: more than {_MAX_TAG_PAGES} pages of tags")

    def fetch_manifest(self, reference: str) -> _Fetched:
        """A manifest or index by tag or digest, verified against the digest asked for (or the one announced)."""
        what = f"failed to get manifest {reference} of {self.ref}"
        with self._open("GET", self._url(f"manifests/{reference}"), headers={"Accept": _MANIFEST_ACCEPT}) as response:
            self._check(response, what)
            body = self._read(response, _MAX_MANIFEST_BYTES, what)
            media_type = response.headers.get("Content-Type", "").partition(";")[0].strip()
            announced = response.headers.get("Docker-Content-Digest", "").strip()
        # By digest, the content must hash to it; by tag, to the digest the registry announces (if any), so a
        # tampered answer is refused either way.
        expected = reference if is_digest(reference) else announced if is_digest(announced) else ""
        digest = digest_of(body, expected.partition(":")[0] if expected else "sha256")
        if expected and digest != expected:
            raise SourceError(f"{what}: digest mismatch (content is {digest})")
        if not media_type or media_type in ("application/json", "application/octet-stream"):
            with contextlib.suppress(SourceError):
                media_type = str(_json_object(body, what).get("mediaType") or media_type)
        return _Fetched(digest=digest, media_type=media_type, body=body)

    def image_manifest(self, reference: str) -> ImageManifest:
        """The image manifest ``reference`` names; for an index, the image :func:`_pick_manifest` chooses."""
        what = f"manifest {reference} of {self.ref}"
        top = self.fetch_manifest(reference)
        doc = _json_object(top.body, what)
        annotations = _string_map(doc.get("annotations"))
        media_type = top.media_type
        if _is_index(media_type, doc):
            child = _pick_manifest(doc.get("manifests"), what)
            fetched = self.fetch_manifest(child.digest)
            doc = _json_object(fetched.body, what)
            if _is_index(fetched.media_type, doc):
                raise SourceError(f"{what}: nested image indexes are not supported")
            annotations.update(_string_map(doc.get("annotations")))
            media_type = fetched.media_type
        layers = doc.get("layers") or []
        if not isinstance(layers, list):
            raise SourceError(f"{what}: layers is not a list")
        return ImageManifest(
            digest=top.digest,
            media_type=media_type,
            layers=tuple(Descriptor.parse(layer) for layer in layers),
            annotations=annotations,
        )

    def download_blob(self, blob: Descriptor, dest: Path, *, max_bytes: int) -> None:
        """Stream a blob into ``dest``; its size and digest must match the descriptor."""
        what = f"failed to get blob {blob.digest} of {self.ref}"
        if blob.size > max_bytes:
            raise SourceError(f"{what}: {blob.size} bytes is over the limit of {max_bytes} bytes")
        hasher = _hasher(blob.digest)
        total = 0
        with self._open("GET", self._url(f"blobs/{blob.digest}")) as response, dest.open("wb") as out:
            self._check(response, what)
            try:
                for chunk in response.iter_bytes():
                    total += len(chunk)
                    if total > blob.size:
                        raise SourceError(f"{what}: the blob is larger than its descriptor says ({blob.size} bytes)")
                    hasher.update(chunk)
                    out.write(chunk)
            except httpx.HTTPError as exc:
                raise SourceError(f"{what}: {self._redact(str(exc)) or type(exc).__name__}") from None
        if total != blob.size:
            raise SourceError(f"{what}: got {total} bytes, the descriptor says {blob.size}")
        if f"{blob.digest.partition(':')[0]}:{hasher.hexdigest()}" != blob.digest:
            raise SourceError(f"{what}: digest mismatch")


def _registry_errors(body: bytes) -> str:
    """``CODE: message`` of a distribution-spec error body, else empty."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(errors, list):
        return ""
    parts = []
    for error in errors[:3]:
        if isinstance(error, dict):
            code, message = str(error.get("code") or ""), str(error.get("message") or "")
            parts.append(f"{code}: {message}" if code and message else code or message)
    return "; ".join(p[:200] for p in parts if p)


def _next_link(header: str, *, current: str) -> str | None:
    for match in _LINK.finditer(header):
        params = match.group(2).replace(" ", "").lower()
        if 'rel="next"' in params or "rel=next" in params:
            return urljoin(current, str(match.group(1)))
    return None


def _same_origin(url: str, base: str) -> bool:
    a, b = urlparse(url), urlparse(base)
    return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())


# -- the cache shared by every render
# -----------------------------------------------------------------------------


class OciRepositories:
    """Tag lists, tag to digest answers and unpacked artifacts of OCI repositories, shared by every render."""

    def __init__(self, settings: SourceSettings, *, layer_media_types: tuple[str, ...] = DEFAULT_LAYER_MEDIA_TYPES):
        self._settings = settings
        self._layer_media_types = layer_media_types
        self._root = settings.data_dir / "oci"
        (self._root / "artifacts").mkdir(parents=True, exist_ok=True)
        (self._root / "scratch").mkdir(parents=True, exist_ok=True)
        self._tokens = _TokenCache()
        self._digests: dict[tuple[str, str], tuple[str, float]] = {}
        self._tags: dict[str, tuple[tuple[str, ...], float]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    @contextlib.contextmanager
    def registry(
        self, url: str, creds: RepoCredentials | None, *, require_repository: bool = True
    ) -> Iterator[RegistryClient]:
        """A client of the repository ``url`` names, for the duration of the block."""
        ref = parse_repository_url(url, require_repository=require_repository)
        timeout = self._settings.git_request_timeout
        with (
            tempfile.TemporaryDirectory(prefix="oci-", dir=self._root / "scratch") as scratch,
            repository_http_client(creds, Path(scratch), timeout=timeout) as http,
        ):
            yield RegistryClient(ref, creds, http=http, tokens=self._tokens)

    # -- repository operations

    def ping(self, url: str, creds: RepoCredentials | None) -> None:
        with self.registry(url, creds, require_repository=False) as client:
            client.ping()

    def tags(self, url: str, creds: RepoCredentials | None, *, force: bool = False) -> tuple[str, ...]:
        """The repository's tags in the registry's order, ``_`` turned back into ``+`` (Helm's convention for
        semver build metadata, which tags cannot carry)."""
        key = normalize_repo_url(url)
        asked_at = time.monotonic()
        with self._lock("tags:" + key):
            cached = self._tags.get(key)
            if cached is not None:
                fresh = time.monotonic() - cached[1] < self._settings.revision_cache_ttl
                if (fresh and not force) or cached[1] >= asked_at:
                    return cached[0]
            with self.registry(url, creds) as client:
                tags = tuple(t.replace("_", "+") for t in client.list_tags())
            self._tags[key] = (tags, time.monotonic())
            return tags

    def tag_digest(self, url: str, creds: RepoCredentials | None, tag: str, *, force: bool = False) -> str:
        """The digest a tag points at now (answers reused for ``revision_cache_ttl`` unless ``force``)."""
        if not _TAG.match(tag):
            raise SourceError(f'invalid OCI tag "{tag[:130]}"')
        key = (normalize_repo_url(url), tag)
        asked_at = time.monotonic()
        with self._lock(f"digest:{key[0]}:{tag}"):
            cached = self._digests.get(key)
            if cached is not None:
                fresh = time.monotonic() - cached[1] < self._settings.revision_cache_ttl
                if (fresh and not force) or cached[1] >= asked_at:
                    return cached[0]
            with self.registry(url, creds) as client:
                digest = client.fetch_manifest(tag).digest
            self._digests[key] = (digest, time.monotonic())
            return digest

    def resolve_digest(self, url: str, creds: RepoCredentials | None, *, revision: str, force: bool = False) -> str:
        """The digest an OCI source's ``targetRevision`` denotes: a digest as is, else the tag, else the highest tag
        matching a semver constraint (upstream nativeOCIClient.ResolveRevision)."""
        revision = revision.strip()
        if is_digest(revision):
            return revision
        if not revision:
            raise SourceError('failed to resolve revision "": an OCI source needs a tag, a digest or a constraint')
        failure: ArgoError | None = None
        if _TAG.match(revision):
            try:
                return self.tag_digest(url, creds, revision, force=force)
            except SourceNotFound as exc:
                failure = exc
        constraint = parse_constraint(revision) if parse_version(revision) is None else None
        if constraint is None:
            if failure is not None:
                raise SourceNotFound(f'failed to resolve revision "{revision}": {failure.message}') from None
            raise SourceError(f'failed to resolve revision "{revision}": not a tag, a digest or a semver constraint')
        tags = self.tags(url, creds, force=force)
        best = max_satisfying(constraint, {t: v for t in tags if (v := parse_version(t)) is not None})
        if best is None:
            raise SourceNotFound(
                f'failed to resolve revision "{revision}": no version for constraints: '
                f"version matching constraint not found in {len(tags)} tags"
            )
        return self.tag_digest(url, creds, best.replace("+", "_"), force=force)

    def resolve_chart_version(
        self, url: str, creds: RepoCredentials | None, *, chart: str, revision: str, force: bool = False
    ) -> str:
        """A Helm OCI chart version: a semver version verbatim (as upstream, unchecked), else the highest tag of
        ``url`` (the chart's repository) matching the constraint."""
        revision = revision.strip()
        if revision and parse_version(revision) is not None:
            return revision
        constraint = parse_constraint(revision or "*")
        if constraint is None:
            raise SourceError(f"invalid chart version constraint '{revision}'")
        tags = self.tags(url, creds, force=force)
        best = max_satisfying(constraint, {t: v for t in tags if (v := parse_version(t)) is not None})
        if best is None:
            raise SourceNotFound(f"no version of chart '{chart}' satisfies constraint '{revision}'")
        return best

    # -- artifacts

    def _artifact_dir(self, url: str, digest: str) -> Path:
        return self._root / "artifacts" / url_hash(url) / digest.replace(":", "-")

    def checkout(self, url: str, creds: RepoCredentials | None, digest: str) -> Path:
        """The unpacked content of the artifact at ``digest``, pulled once and shared; callers must not modify it."""
        if not is_digest(digest):
            raise SourceError(f'"{digest[:130]}" is not an OCI digest')
        dest = self._artifact_dir(url, digest)
        with self._lock(f"artifact:{dest}"):
            if (dest / "content").is_dir():
                return dest / "content"
            dest.parent.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix="pull-", dir=dest.parent))
            try:
                self._pull(url, creds, digest, work)
                if dest.exists():
                    shutil.rmtree(dest)
                work.rename(dest)
            except BaseException:
                shutil.rmtree(work, ignore_errors=True)
                raise
        return dest / "content"

    def _pull(self, url: str, creds: RepoCredentials | None, digest: str, work: Path) -> None:
        cap = self._settings.max_extracted_bytes
        with self.registry(url, creds) as client:
            image = client.image_manifest(digest)
            layer = self._content_layer(image)
            blob = work / "layer.blob"
            client.download_blob(layer, blob, max_bytes=cap)
        unpacked = work / "unpacked"
        unpacked.mkdir()
        try:
            extract_tar(blob, unpacked, max_bytes=cap)
        except (OSError, EOFError, zlib.error):
            raise SourceError(f"cannot extract contents of oci image with revision {digest}: invalid archive") from None
        blob.unlink()
        tree = unpacked
        if layer.media_type == HELM_CHART_CONTENT:
            # A chart archive holds one directory named after the chart; the chart is its content.
            entries = list(unpacked.iterdir())
            if len(entries) != 1 or entries[0].is_symlink() or not entries[0].is_dir():
                raise SourceError(
                    f"cannot extract Helm chart of revision {digest}: expected 1 directory, found {len(entries)}"
                )
            tree = entries[0]
        tree.rename(work / "content")
        shutil.rmtree(unpacked, ignore_errors=True)
        if not self._settings.allow_out_of_bounds_symlinks:
            try:
                safety.check_symlinks(work / "content")
            except safety.OutOfBoundsError as exc:
                raise safety.OutOfBoundsError(
                    exc.message.replace("repository contains", "oci image contains", 1)
                ) from None
        (work / "metadata.json").write_text(json.dumps(dict(image.annotations)))

    def _content_layer(self, image: ImageManifest) -> Descriptor:
        """The one content layer upstream accepts; extra non-archive layers (provenance, attestations) are skipped."""
        if len(image.layers) > _MAX_LAYERS:
            raise SourceError(f"expected no more than {_MAX_LAYERS} oci layers, got {len(image.layers)}")
        content = [layer for layer in image.layers if _is_content_layer(layer.media_type)]
        for layer in content:
            if layer.media_type not in self._layer_media_types:
                raise SourceError(f"oci layer media type {layer.media_type} is not in the list of allowed media types")
        if len(content) != 1:
            raise SourceError(f"expected only a single oci content layer, got {len(content)}")
        return content[0]

    def chart_dir(
        self, url: str, creds: RepoCredentials | None, *, chart: str, version: str, force: bool = False
    ) -> Path:
        """The unpacked chart ``version`` of the chart repository ``url`` (``<repository>/<chart>``)."""
        digest = self.tag_digest(url, creds, version.replace("+", "_"), force=force)
        root = self.checkout(url, creds, digest)
        if not (root / "Chart.yaml").is_file():
            raise SourceError(f"chart '{chart}' version '{version}' is not a Helm chart: it has no Chart.yaml")
        return root

    def metadata(self, url: str, creds: RepoCredentials | None, *, revision: str) -> OciMetadata:
        """OCIMetadata of a digest or tag: from the pulled artifact when present, else from the registry."""
        revision = revision.strip()
        digest = revision if is_digest(revision) else self.tag_digest(url, creds, revision.replace("+", "_"))
        stored = self._artifact_dir(url, digest) / "metadata.json"
        if stored.is_file():
            with contextlib.suppress(OSError, ValueError):
                return OciMetadata.from_annotations(_string_map(json.loads(stored.read_text())))
        with self.registry(url, creds) as client:
            image = client.image_manifest(digest)
        return OciMetadata.from_annotations(image.annotations)
