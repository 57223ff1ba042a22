"""Destination clusters for the controller: one client, resource client and live-state cache per server URL.

Reproduces the role of upstream's ``controller/cache`` LiveStateCache as far as connections go: caches are created
lazily when an application first targets a server, shared by every app on it, and kept across reconciliations.
``https://kubernetes.default.svc`` means "this cluster": the pod's service account, a configured kubeconfig, or,
when neither exists, an embedded simulator started on first use (reported as simulated). Other servers get their
credentials from an injected lookup (the cluster secrets). Boundary: builds on ``kube``; nothing else.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from argocd_server.errors import ArgoError, Unavailable
from argocd_server.kube import (
    KUBERNETES_DEFAULT_SVC,
    ClusterCache,
    ClusterClient,
    ClusterClientFactory,
    ClusterCredentials,
    ClusterSource,
    ResourceClient,
)

__all__ = ["ClusterHandle", "ClusterProvider", "KubeClusterProvider"]

log = logging.getLogger(__name__)


@dataclass
class ClusterHandle:
    """Everything the controller uses to talk to one destination."""

    server: str
    client: ClusterClient
    resources: ResourceClient
    cache: ClusterCache
    probe_interval: float = 1.0
    _probe: tuple[float, str | None] = (0.0, None)

    def namespaced_lookup(self) -> Callable[[str, str], bool | None]:
        """``(group, kind) -> namespaced?`` from (cached) discovery."""
        return self.resources.scope_lookup()

    def reachable(self) -> str | None:
        """None when the cluster answers, else why not.

        A dropped watch is noticed late, so the cache alone would serve stale state as if it were live: the API
        server is probed directly, at most once per ``probe_interval`` per cluster.
        """
        checked_at, problem = self._probe
        now = time.monotonic()
        if now - checked_at >= self.probe_interval:
            status = self.client.check_connection()
            problem = None if status.status == "Successful" else (status.message or "cluster is unreachable")
            self._probe = (now, problem)
        if problem is None and not self.cache.ready:
            return "cluster cache is not ready yet"
        if problem is None and self.cache.resynchronising:
            # Reachable again but some watches have not relisted yet: their kinds may still be stale.
            return "cluster cache is resynchronising after a connection failure"
        return problem


class ClusterProvider(Protocol):
    """The interface the controller depends on."""

    def get(self, server: str) -> ClusterHandle: ...

    def close(self) -> None: ...

    def invalidate(self, server: str) -> None:
        """Forget the connection to ``server`` so the next :meth:`get` reconnects with its current credentials."""


class KubeClusterProvider:
    """Lazily connects to destination servers and keeps one :class:`ClusterCache` per server."""

    def __init__(
        self,
        *,
        factory: ClusterClientFactory,
        credentials: Callable[[str], ClusterCredentials | None] | None = None,
        embedded_url: Callable[[], str] | None = None,
        ready_timeout: float = 30.0,
    ) -> None:
        self._factory = factory
        self._credentials = credentials or (lambda _server: None)
        self._embedded_url = embedded_url
        self._ready_timeout = ready_timeout
        self._lock = threading.Lock()
        self._handles: dict[str, ClusterHandle] = {}
        self._building: dict[str, threading.Lock] = {}

    def _client(self, server: str) -> ClusterClient:
        if server.rstrip("/") == KUBERNETES_DEFAULT_SVC:
            resolver = self._factory.in_cluster
            in_pod = (resolver.service_account_dir / "token").is_file()
            if not in_pod and not resolver.kubeconfig_path and self._embedded_url is not None:
                url = self._embedded_url()
                log.info("in-cluster destination is the embedded Kubernetes simulator at %s (simulated)", url)
                return ClusterClient(
                    ClusterCredentials(server=url),
                    options=self._factory.options,
                    source=ClusterSource.SIMULATED,
                    name=server,
                )
            return self._factory.client(ClusterCredentials(server=KUBERNETES_DEFAULT_SVC))
        creds = self._credentials(server)
        if creds is None:
            raise Unavailable(f"there are no clusters registered with server {server}")
        return self._factory.client(creds)

    def get(self, server: str) -> ClusterHandle:
        server = server.rstrip("/")
        with self._lock:
            handle = self._handles.get(server)
            build_lock = self._building.setdefault(server, threading.Lock())
        if handle is None:
            with build_lock:
                with self._lock:
                    handle = self._handles.get(server)
                if handle is None:
                    client = self._client(server)
                    try:
                        cache = ClusterCache(client).start()
                    except ArgoError as exc:
                        raise Unavailable(f"failed to connect to cluster {server}: {exc.message}") from None
                    handle = ClusterHandle(server=server, client=client, resources=cache.resources, cache=cache)
                    with self._lock:
                        self._handles[server] = handle
        if not handle.cache.wait_ready(self._ready_timeout):
            raise Unavailable(f"cluster {server} cache did not become ready in {self._ready_timeout:g}s")
        return handle

    def invalidate(self, server: str) -> None:
        """Stop ``server``'s cache and drop its handle and clients; the next :meth:`get` reconnects.

        Credentials are read only when a handle is built, so after a cluster's secret changed (update, token
        rotation, deletion) the old handle would keep using the old token until the process restarts.
        """
        server = server.rstrip("/")
        with self._lock:
            build_lock = self._building.setdefault(server, threading.Lock())
        # Waits for a connection being built right now: it may have read the old credentials.
        with build_lock, self._lock:
            handle = self._handles.pop(server, None)
        self._factory.invalidate(server)
        if handle is None:
            return
        # The in-cluster simulator's client is not the factory's; closing twice is harmless.
        handle.client.close()
        try:
            handle.cache.stop()
        except ArgoError:
            log.debug("stopping the cache of %s failed", server)
        log.info("cluster %s: connection dropped, the next use reconnects", server)

    def close(self) -> None:
        with self._lock:
            handles = list(self._handles.values())
            self._handles.clear()
        for handle in handles:
            try:
                handle.cache.stop()
            except ArgoError:
                log.debug("stopping the cache of %s failed", handle.server)
