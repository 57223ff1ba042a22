"""Repository connectivity for the API: credentials for the sources layer and the cached ``connectionState``.

Upstream's API server asks the repo server to test a repository whenever a repository is read (``getConnectionState``
in ``server/repository/repository.go``) and caches the answer per URL and project. Here the sources layer is a
library, so the test is ``SourceRenderer.test_repository`` and the cache lives in this process, one per renderer.
Callers must end their database transaction before calling :meth:`ConnectionStates.state`: it may run ``git
ls-remote`` or fetch a Helm index. Messages are built from the sources layer's already-redacted errors and scrubbed
once more of the credentials used, so a failing check never echoes a secret.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote

from argocd_server.engine.source import RepoCredentials, RepoType, SourceRenderer, normalize_repo_url
from argocd_server.errors import ArgoError
from argocd_server.schemas.common import ConnectionState

__all__ = [
    "CONNECTION_STATE_TTL_SECONDS",
    "ConnectionStates",
    "connection_states_for",
    "credentials_from_fields",
    "scrub",
]

CONNECTION_STATE_TTL_SECONDS: Final = 180.0
"""How long a check is reused. Upstream defaults to one hour (``--connection-status-cache-expiration``); three
minutes keeps the UI honest after a credential change without testing on every read."""
MAX_PARALLEL_CHECKS: Final = 8
_MASK: Final = "******"


def _int_or_none(value: Any) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def credentials_from_fields(fields: Mapping[str, Any], *, url: str = "") -> RepoCredentials:
    """Credentials for the sources layer from a repository's wire fields (camelCase, secrets in clear)."""
    kind = str(fields.get("type") or "git")
    return RepoCredentials(
        url=url or str(fields.get("repo") or ""),
        type=RepoType(kind) if kind in {t.value for t in RepoType} else RepoType.GIT,
        username=str(fields.get("username") or ""),
        password=str(fields.get("password") or ""),
        bearer_token=str(fields.get("bearerToken") or ""),
        ssh_private_key=str(fields.get("sshPrivateKey") or ""),
        tls_client_cert_data=str(fields.get("tlsClientCertData") or ""),
        tls_client_cert_key=str(fields.get("tlsClientCertKey") or ""),
        insecure=bool(fields.get("insecure") or fields.get("insecureIgnoreHostKey")),
        proxy=str(fields.get("proxy") or ""),
        no_proxy=str(fields.get("noProxy") or ""),
        enable_lfs=bool(fields.get("enableLfs")),
        force_http_basic_auth=bool(fields.get("forceHttpBasicAuth")),
        enable_oci=bool(fields.get("enableOCI")),
        insecure_oci_force_http=bool(fields.get("insecureOCIForceHttp")),
        github_app_id=_int_or_none(fields.get("githubAppID")),
        github_app_installation_id=_int_or_none(fields.get("githubAppInstallationID")),
        github_app_private_key=str(fields.get("githubAppPrivateKey") or ""),
        github_app_enterprise_base_url=str(fields.get("githubAppEnterpriseBaseUrl") or ""),
    )


def scrub(message: str, secrets: Iterable[str]) -> str:
    """``message`` with every secret (raw and URL-encoded) masked: a second line of defence after the sources
    layer's own redaction, because this text goes straight into API responses."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        for form in {secret, quote(secret, safe=""), quote(secret)}:
            message = message.replace(form, _MASK)
    return message


def connectivity_error_message(exc: ArgoError, creds: RepoCredentials) -> str:
    """The connectivity error as upstream's repo server words it, without any credential."""
    return scrub(f"error testing repository connectivity: {exc.message}", creds.secrets())


class ConnectionStates:
    """Tests repositories and remembers the outcome per (normalised URL, project) for ``ttl`` seconds."""

    def __init__(
        self,
        renderer: SourceRenderer,
        *,
        ttl: float = CONNECTION_STATE_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._renderer = renderer
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, ConnectionState]] = {}

    def _cached(self, key: tuple[str, str]) -> ConnectionState | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or self._clock() - entry[0] >= self._ttl:
            return None
        return entry[1].model_copy()

    def check(self, creds: RepoCredentials) -> ConnectionState:
        """Run the connectivity test now (no cache)."""
        attempted = datetime.now(tz=UTC)
        try:
            self._renderer.test_repository(creds)
        except ArgoError as exc:
            return ConnectionState(
                status="Failed",
                message=f"Unable to connect to repository: {connectivity_error_message(exc, creds)}",
                attempted_at=attempted,
            )
        return ConnectionState(status="Successful", message="", attempted_at=attempted)

    def state(self, creds: RepoCredentials, *, project: str, force: bool = False) -> ConnectionState:
        """The cached state of the repository, tested first when absent, expired or ``force``d."""
        key = (normalize_repo_url(creds.url), project)
        if not force:
            cached = self._cached(key)
            if cached is not None:
                return cached
        result = self.check(creds)
        with self._lock:
            self._entries[key] = (self._clock(), result)
        return result.model_copy()

    def states(self, targets: list[tuple[RepoCredentials, str]], *, force: bool = False) -> list[ConnectionState]:
        """Several states at once; uncached repositories are tested in parallel as upstream does for lists."""
        if len(targets) <= 1:
            return [self.state(creds, project=project, force=force) for creds, project in targets]
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_CHECKS, len(targets))) as pool:
            futures = [pool.submit(self.state, creds, project=project, force=force) for creds, project in targets]
            return [future.result() for future in futures]


_REGISTRY: weakref.WeakKeyDictionary[SourceRenderer, ConnectionStates] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def connection_states_for(renderer: SourceRenderer) -> ConnectionStates:
    """The process-wide cache belonging to ``renderer`` (one renderer per app, so one cache per app).

    Keyed weakly by the renderer so an app's cache disappears with it; services are built per request and
    cannot own it themselves.
    """
    with _REGISTRY_LOCK:
        found = _REGISTRY.get(renderer)
        if found is None:
            found = ConnectionStates(renderer)
            _REGISTRY[renderer] = found
        return found
