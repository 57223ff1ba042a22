"""Connections to Kubernetes clusters: credentials, one ``ApiClient`` per cluster, and a caching factory.

Role: turn what a cluster secret (or kubeconfig, or a pod's service account) says into a configured official
``kubernetes.client.ApiClient`` and a small raw-request helper the rest of ``kube/`` uses. Boundary: the bottom
layer; imports nothing from ``api``, ``services``, ``db`` or ``engine``, and every failure leaves as an
``ArgoError`` (see ``kube/errors.py``).

Security choices: PEM material is written to private temporary files (mode 0600, removed on ``close()``) because
the official client only takes paths; exec credential plugins run external commands and therefore only when the
factory was built with ``allow_exec=True`` (upstream gates them behind a server flag as well).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import urllib3
import urllib3.exceptions
import yaml
from kubernetes import client as k8s

from argocd_server.errors import ArgoError, FailedPrecondition, InvalidArgument, Unauthenticated
from argocd_server.kube.errors import translate_status, translating

log = logging.getLogger(__name__)

KUBERNETES_DEFAULT_SVC = "https://kubernetes.default.svc"
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
# Bound service-account tokens rotate (kubelet refreshes the file); re-reading once a minute follows rotation.
_TOKEN_FILE_TTL = 60.0


@dataclass(frozen=True)
class ExecProvider:
    """A client-go exec credential plugin: a command printing an ``ExecCredential`` JSON document."""

    command: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    api_version: str = "client.authentication.k8s.io/v1"


@dataclass(frozen=True)
class ClusterCredentials:
    """How to reach and authenticate to one cluster; PEM fields hold the PEM bytes themselves, not paths."""

    server: str
    bearer_token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_data: bytes | None = None
    cert_data: bytes | None = None
    key_data: bytes | None = field(default=None, repr=False)
    insecure: bool = False
    server_name: str | None = None
    exec_provider: ExecProvider | None = None
    token_file: str | None = None
    in_cluster: bool = False
    """Use the service account of the pod we run in (``server`` is then only the cluster's identity)."""
    kubeconfig_path: str | None = None
    kubeconfig_context: str | None = None
    """With ``kubeconfig_path``: take the connection from that file (current context when None)."""

    def has_auth(self) -> bool:
        """Whether these credentials say anything beyond the server URL."""
        return any(
            (
                self.bearer_token,
                self.username,
                self.cert_data,
                self.exec_provider,
                self.token_file,
                self.in_cluster,
                self.kubeconfig_path,
            )
        )

    def fingerprint(self) -> str:
        """A digest of every field: two credentials with equal fingerprints share a client."""
        digest = hashlib.sha256()
        for f in fields(self):
            digest.update(f.name.encode())
            digest.update(repr(getattr(self, f.name)).encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class ClientOptions:
    """Per-client tunables shared by every cluster a factory builds."""

    pool_size: int = 32
    """urllib3 connections kept per cluster; the live cache holds one long-lived watch connection per kind."""
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    allow_exec: bool = False
    """Run exec credential plugins; off by default because they execute arbitrary commands."""
    exec_timeout: float = 30.0
    user_agent: str = "argocd-server"


class ClusterSource(StrEnum):
    """Where a client's connection came from; ``simulated`` means the embedded simulator stands in."""

    DIRECT = "direct"
    SERVICE_ACCOUNT = "service-account"
    KUBECONFIG = "kubeconfig"
    SIMULATED = "simulated"


class ConnectionState(StrEnum):
    SUCCESSFUL = "Successful"
    FAILED = "Failed"


@dataclass(frozen=True)
class ConnectionStatus:
    """The result of probing a cluster, shaped like upstream's ``ConnectionState``."""

    status: ConnectionState
    message: str
    attempted_at: datetime


@dataclass(frozen=True)
class ServerVersion:
    major: str
    minor: str
    git_version: str
    platform: str

    @property
    def short(self) -> str:
        """``1.33`` — the form Argo CD shows as a cluster's server version."""
        return f"{self.major}.{self.minor.rstrip('+')}"


# --- kubeconfig and in-cluster resolution ------------------------------------------------------------------------


def _b64(value: Any) -> bytes | None:
    return base64.b64decode(value) if value else None


def _file_bytes(value: Any, base: Path) -> bytes | None:
    if not value:
        return None
    path = Path(str(value))
    return (path if path.is_absolute() else base / path).read_bytes()


def _named(items: Any, name: str, what: str) -> dict[str, Any]:
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name:
            body = item.get(what)
            return body if isinstance(body, dict) else {}
    raise InvalidArgument(f'kubeconfig has no {what} named "{name}"')


def credentials_from_kubeconfig(path: str | os.PathLike[str], context: str | None = None) -> ClusterCredentials:
    """Concrete credentials for one kubeconfig context (the current one when ``context`` is None).

    Parsed here rather than with the client's loader so exec plugins stay behind ``allow_exec``.
    """
    source = Path(path)
    try:
        doc = yaml.safe_load(source.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidArgument(f"cannot read kubeconfig {source.name}: {exc}") from exc
    if not isinstance(doc, dict):
        raise InvalidArgument(f"kubeconfig {source.name} is not a mapping")
    ctx_name = context or doc.get("current-context")
    if not ctx_name:
        raise InvalidArgument(f"kubeconfig {source.name} has no current context")
    ctx = _named(doc.get("contexts"), str(ctx_name), "context")
    cluster = _named(doc.get("clusters"), str(ctx.get("cluster", "")), "cluster")
    user = _named(doc.get("users"), str(ctx.get("user", "")), "user") if ctx.get("user") else {}
    if user.get("auth-provider"):
        raise InvalidArgument("kubeconfig auth-provider plugins are not supported; use exec or a token")
    base = source.parent
    exec_cfg = user.get("exec")
    provider = None
    if isinstance(exec_cfg, dict):
        provider = ExecProvider(
            command=str(exec_cfg.get("command", "")),
            args=tuple(str(a) for a in exec_cfg.get("args") or ()),
            env=tuple((str(e["name"]), str(e.get("value", ""))) for e in exec_cfg.get("env") or ()),
            api_version=str(exec_cfg.get("apiVersion") or ExecProvider.api_version),
        )
    return ClusterCredentials(
        server=str(cluster.get("server", "")),
        bearer_token=user.get("token") or None,
        token_file=user.get("tokenFile") or None,
        username=user.get("username") or None,
        password=user.get("password") or None,
        ca_data=_b64(cluster.get("certificate-authority-data"))
        or _file_bytes(cluster.get("certificate-authority"), base),
        cert_data=_b64(user.get("client-certificate-data")) or _file_bytes(user.get("client-certificate"), base),
        key_data=_b64(user.get("client-key-data")) or _file_bytes(user.get("client-key"), base),
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
        server_name=cluster.get("tls-server-name") or None,
        exec_provider=provider,
    )


def service_account_credentials(
    directory: Path = SERVICE_ACCOUNT_DIR, *, api_server: str | None = None
) -> ClusterCredentials:
    """Credentials of the pod's service account (token file re-read as it rotates, ``ca.crt`` pinned)."""
    token = directory / "token"
    if not token.is_file():
        raise FailedPrecondition(f"not running in a pod: no service account token in {directory}")
    if api_server is None:
        host = os.environ.get("KUBERNETES_SERVICE_HOST")
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        api_server = f"https://{host}:{port}" if host else KUBERNETES_DEFAULT_SVC
    ca = directory / "ca.crt"
    return ClusterCredentials(
        server=api_server, token_file=str(token), ca_data=ca.read_bytes() if ca.is_file() else None
    )


@dataclass(frozen=True)
class InClusterResolver:
    """Decides what ``https://kubernetes.default.svc`` means for this process.

    In order: the pod's service account files (when ``service_account_dir`` holds a token), a kubeconfig context
    (when one is configured), else ``fallback_url`` — the embedded simulator — reported as ``simulated``.
    """

    service_account_dir: Path = SERVICE_ACCOUNT_DIR
    api_server: str | None = None
    """The in-pod API address; None reads ``KUBERNETES_SERVICE_HOST``/``PORT``."""
    kubeconfig_path: str | None = None
    kubeconfig_context: str | None = None
    fallback_url: str | None = None

    def resolve(self) -> tuple[ClusterCredentials, ClusterSource]:
        if (self.service_account_dir / "token").is_file():
            creds = service_account_credentials(self.service_account_dir, api_server=self.api_server)
            return creds, ClusterSource.SERVICE_ACCOUNT
        if self.kubeconfig_path:
            return credentials_from_kubeconfig(self.kubeconfig_path, self.kubeconfig_context), ClusterSource.KUBECONFIG
        if self.fallback_url:
            return ClusterCredentials(server=self.fallback_url), ClusterSource.SIMULATED
        raise FailedPrecondition(
            f"cannot reach {KUBERNETES_DEFAULT_SVC}: not in a pod, no kubeconfig and no simulator configured"
        )


# --- the client ---------------------------------------------------------------------------------------------------


@dataclass
class _CachedToken:
    value: str | None = None
    expires: float = 0.0


class ClusterClient:
    """One configured official ``ApiClient`` for one cluster, plus raw JSON requests over its connection pool.

    Thread-safe: urllib3's pool is, and the token refresh is guarded by a lock.
    """

    def __init__(
        self,
        credentials: ClusterCredentials,
        *,
        options: ClientOptions | None = None,
        source: ClusterSource = ClusterSource.DIRECT,
        name: str | None = None,
    ) -> None:
        self.options = options or ClientOptions()
        self.identity = credentials
        """The credentials this client was asked for (its cache identity)."""
        if credentials.kubeconfig_path and source is ClusterSource.DIRECT:
            credentials = credentials_from_kubeconfig(credentials.kubeconfig_path, credentials.kubeconfig_context)
            source = ClusterSource.KUBECONFIG
        elif credentials.in_cluster and source is ClusterSource.DIRECT:
            credentials = service_account_credentials()
            source = ClusterSource.SERVICE_ACCOUNT
        self.credentials = credentials
        self.source = source
        self.name = name or credentials.server
        self._lock = threading.Lock()
        self._token = _CachedToken()
        self._exec_cert: tuple[bytes, bytes] | None = None
        self._temp_files: list[str] = []
        self._closed = False
        self._refresh_token(force=True)
        self.api_client = self._build()
        self._pool = self.api_client.rest_client.pool_manager
        self._base = self.credentials.server.rstrip("/")

    @property
    def server(self) -> str:
        return self.identity.server

    @property
    def simulated(self) -> bool:
        return self.source is ClusterSource.SIMULATED

    # --- construction ---

    def _pem_file(self, data: bytes, suffix: str) -> str:
        # mkstemp creates the file 0600 and owned by us: private keys never become world-readable.
        fd, path = tempfile.mkstemp(prefix="argocd-kube-", suffix=suffix)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        self._temp_files.append(path)
        return path

    def _build(self) -> Any:
        creds = self.credentials
        config: Any = k8s.Configuration()  # typed attributes are wider in practice (hooks, api_key)
        config.host = creds.server.rstrip("/")
        config.verify_ssl = not creds.insecure
        if creds.insecure:
            # An explicit per-cluster choice (Argo's `insecure: true`): say so once, not in a warning per request.
            log.warning("TLS verification disabled for cluster %s", self.name)
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        config.connection_pool_maxsize = self.options.pool_size
        config.retries = False
        if creds.server_name:
            config.tls_server_name = creds.server_name
        if creds.ca_data and not creds.insecure:
            config.ssl_ca_cert = self._pem_file(creds.ca_data, ".ca.pem")
        cert, key = self._exec_cert or (creds.cert_data, creds.key_data)
        if cert and key:
            config.cert_file = self._pem_file(cert, ".crt.pem")
            config.key_file = self._pem_file(key, ".key.pem")
        header = self._authorization()
        if header:
            config.api_key = {"authorization": header}
        config.refresh_api_key_hook = self._refresh_hook
        api = k8s.ApiClient(config)
        api.user_agent = self.options.user_agent
        return api

    def _refresh_hook(self, config: Any) -> None:
        header = self._authorization()
        config.api_key = {"authorization": header} if header else {}

    # --- authentication ---

    def _authorization(self) -> str | None:
        creds = self.credentials
        if creds.exec_provider or creds.token_file:
            self._refresh_token()
            return f"Bearer {self._token.value}" if self._token.value else None
        if creds.bearer_token:
            return f"Bearer {creds.bearer_token}"
        if creds.username is not None:
            raw = f"{creds.username}:{creds.password or ''}".encode()
            return "Basic " + base64.b64encode(raw).decode()
        return None

    def _refresh_token(self, *, force: bool = False) -> None:
        creds = self.credentials
        if not (creds.exec_provider or creds.token_file):
            return
        with self._lock:
            if not force and self._token.value is not None and time.monotonic() < self._token.expires:
                return
            if creds.token_file:
                try:
                    value = Path(creds.token_file).read_text().strip()
                except OSError as exc:
                    raise Unauthenticated(f"cannot read token file: {exc.strerror}") from exc
                self._token = _CachedToken(value, time.monotonic() + _TOKEN_FILE_TTL)
            elif creds.exec_provider:
                self._token = self._run_exec(creds.exec_provider)

    def _run_exec(self, provider: ExecProvider) -> _CachedToken:
        if not self.options.allow_exec:
            raise FailedPrecondition(
                f"exec credential plugin {Path(provider.command).name!r} is disabled on this server"
            )
        env = dict(os.environ)
        env.update(dict(provider.env))
        env["KUBERNETES_EXEC_INFO"] = json.dumps(
            {"apiVersion": provider.api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
        )
        try:
            proc = subprocess.run(
                [provider.command, *provider.args],
                capture_output=True,
                env=env,
                timeout=self.options.exec_timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise Unauthenticated(f"exec credential plugin failed: {exc}") from exc
        if proc.returncode != 0:
            stderr = proc.stderr.decode(errors="replace").strip()[-300:]
            raise Unauthenticated(f"exec credential plugin exited with {proc.returncode}: {stderr}")
        try:
            status = orjson.loads(proc.stdout).get("status") or {}
        except (orjson.JSONDecodeError, AttributeError) as exc:
            raise Unauthenticated("exec credential plugin printed no ExecCredential") from exc
        cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
        if cert and key:
            # Certificates are wired into the TLS context once, at construction; later refreshes renew tokens only.
            self._exec_cert = (str(cert).encode(), str(key).encode())
        expires = time.monotonic() + 3600.0
        stamp = status.get("expirationTimestamp")
        if stamp:
            when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
            # Refresh a little early so a request never leaves with a token about to expire.
            expires = time.monotonic() + max(0.0, (when - datetime.now(UTC)).total_seconds() - 10.0)
        return _CachedToken(status.get("token") or None, expires)

    # --- requests ---

    def url(self, path: str, query: Mapping[str, Any] | None = None) -> str:
        if not query:
            return self._base + path
        pairs = [(k, v) for k, v in query.items() if v is not None]
        flat: list[tuple[str, str]] = []
        for k, v in pairs:
            if isinstance(v, list | tuple):
                flat.extend((k, str(item)) for item in v)
            elif isinstance(v, bool):
                flat.append((k, "true" if v else "false"))
            else:
                flat.append((k, str(v)))
        return self._base + path + ("?" + urlencode(flat) if flat else "")

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        stream: bool = False,
        read_timeout: float | None = None,
    ) -> Any:
        """Send one request; returns the urllib3 response (unread when ``stream``), raising ``ArgoError`` on non-2xx."""
        if self._closed:
            raise ArgoError(f"client for {self.name} is closed")
        headers = {"Accept": accept, "User-Agent": self.options.user_agent}
        if body is not None:
            headers["Content-Type"] = content_type
        with translating():
            auth = self._authorization()
            if auth:
                headers["Authorization"] = auth
            timeout = urllib3.Timeout(
                connect=self.options.connect_timeout,
                read=self.options.read_timeout if read_timeout is None else read_timeout,
            )
            resp = self._pool.request(
                method,
                self.url(path, query),
                body=body,
                headers=headers,
                timeout=timeout,
                preload_content=not stream,
                retries=False,
                redirect=False,
            )
            if not 200 <= resp.status < 300:
                data = resp.read() if stream else resp.data
                resp.release_conn()
                raise translate_status(resp.status, data)
            return resp

    def request_json(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        """Send JSON (already-encoded bytes pass through) and decode the JSON answer."""
        raw = body if body is None or isinstance(body, bytes) else orjson.dumps(body)
        resp = self.request(method, path, query=query, body=raw, content_type=content_type)
        data = resp.data
        return orjson.loads(data) if data else None

    # --- probes ---

    def server_version(self) -> ServerVersion:
        """``GET /version`` through the official typed API."""
        with translating():
            info = k8s.VersionApi(self.api_client).get_code(
                _request_timeout=(self.options.connect_timeout, self.options.read_timeout)
            )
        return ServerVersion(
            major=str(info.major or ""),
            minor=str(info.minor or ""),
            git_version=str(info.git_version or ""),
            platform=str(info.platform or ""),
        )

    def check_connection(self) -> ConnectionStatus:
        """Probe the cluster (``/version``) and report as upstream's cluster connection state does."""
        attempted = datetime.now(UTC)
        try:
            self.server_version()
        except ArgoError as exc:
            return ConnectionStatus(ConnectionState.FAILED, f"Unable to connect to cluster: {exc.message}", attempted)
        return ConnectionStatus(ConnectionState.SUCCESSFUL, "", attempted)

    # --- lifecycle ---

    def close(self) -> None:
        """Close pooled connections and remove the PEM temp files."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self.api_client.close()
        for path in self._temp_files:
            with contextlib.suppress(OSError):
                os.unlink(path)
        self._temp_files.clear()

    def derive(self, *, pool_size: int) -> ClusterClient:
        """A separate client to the same cluster with its own pool (the live cache keeps one watch per kind)."""
        options = replace(self.options, pool_size=pool_size)
        derived = ClusterClient(self.credentials, options=options, source=self.source, name=self.name)
        derived.identity = self.identity
        return derived

    @property
    def temp_files(self) -> tuple[str, ...]:
        return tuple(self._temp_files)

    def __enter__(self) -> ClusterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ClusterClientFactory:
    """Builds and caches one :class:`ClusterClient` per (server, credentials fingerprint)."""

    def __init__(self, *, options: ClientOptions | None = None, in_cluster: InClusterResolver | None = None) -> None:
        self.options = options or ClientOptions()
        self.in_cluster = in_cluster or InClusterResolver()
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], ClusterClient] = {}

    def client(self, credentials: ClusterCredentials) -> ClusterClient:
        """The shared client for these credentials; built on first use."""
        key = (credentials.server, credentials.fingerprint())
        with self._lock:
            existing = self._clients.get(key)
            if existing is not None:
                return existing
        built = self._build(credentials)
        with self._lock:
            existing = self._clients.get(key)
            if existing is not None:
                built.close()
                return existing
            self._clients[key] = built
            return built

    def _build(self, credentials: ClusterCredentials) -> ClusterClient:
        if credentials.server.rstrip("/") == KUBERNETES_DEFAULT_SVC and not credentials.has_auth():
            # Argo's in-cluster secret carries no config: resolve what "this cluster" means for this process.
            resolved, source = self.in_cluster.resolve()
            client = ClusterClient(resolved, options=self.options, source=source, name=credentials.server)
            client.identity = credentials
            return client
        return ClusterClient(credentials, options=self.options)

    def invalidate(self, server: str) -> None:
        """Drop (and close) every cached client of ``server``, e.g. after its secret changed."""
        with self._lock:
            doomed = [k for k in self._clients if k[0] == server]
            clients = [self._clients.pop(k) for k in doomed]
        for c in clients:
            c.close()

    def close(self) -> None:
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for c in clients:
            c.close()
