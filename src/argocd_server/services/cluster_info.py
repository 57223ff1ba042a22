"""Live cluster information for ClusterService: connection state, server version, cache and API versions.

Plays the part of upstream's ``controller/clusterinfoupdater.go`` for the API server: every cluster a request asked
about is probed through the shared :class:`~argocd_server.engine.clusters.ClusterProvider` (the same connection and
live-state cache the controller uses) and re-probed every ``interval`` seconds by one refresher thread. Results are
kept in memory per server and shared by every request. A request never waits on a slow cluster for longer than
``first_probe_wait`` and only for a cluster that was never probed; otherwise it is served the last known state.

The in-cluster destination of a server without a pod or kubeconfig is the embedded simulator; its probe succeeds
but is reported as simulated, in the message and in the logs, so nobody mistakes it for a real cluster.

Boundary: uses ``engine.clusters`` and ``kube`` types; knows nothing of HTTP, the database or RBAC.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from argocd_server.engine.clusters import ClusterHandle, ClusterProvider
from argocd_server.errors import ArgoError
from argocd_server.kube import ApiResource, CacheStats

__all__ = ["SIMULATED_MESSAGE", "ClusterInfoRefresher", "ClusterProbe", "api_version_strings"]

log = logging.getLogger(__name__)

SUCCESSFUL = "Successful"
FAILED = "Failed"
SIMULATED_MESSAGE = (
    "simulated cluster: the embedded Kubernetes simulator stands in for this destination; it is not a real cluster"
)


@dataclass(frozen=True)
class ClusterProbe:
    """What one probe of a cluster found (upstream's ``ClusterInfo`` minus the application count)."""

    server: str
    status: str
    message: str
    attempted_at: datetime
    server_version: str = ""
    api_versions: tuple[str, ...] = ()
    cache: CacheStats | None = None
    simulated: bool = False


def api_version_strings(resources: Iterable[ApiResource]) -> tuple[str, ...]:
    """``group/version`` and ``group/version/Kind`` of every discovered type, sorted (upstream's ``apiVersions``)."""
    found: set[str] = set()
    for api in resources:
        found.add(api.api_version)
        found.add(f"{api.api_version}/{api.kind}")
    return tuple(sorted(found))


def _now() -> datetime:
    return datetime.now(tz=UTC)


class ClusterInfoRefresher:
    """Probes clusters in the background and serves their last known state."""

    def __init__(
        self,
        *,
        clusters: ClusterProvider,
        interval: float = 10.0,
        first_probe_wait: float = 2.0,
        max_parallel: int = 4,
        forget_after: float = 600.0,
    ) -> None:
        self._clusters = clusters
        self._interval = interval
        self._first_probe_wait = first_probe_wait
        # Probes of different clusters run in parallel so one slow cluster never delays the others.
        self._slots = threading.BoundedSemaphore(max_parallel)
        self._forget_after = forget_after
        self._lock = threading.Lock()
        self._results: dict[str, ClusterProbe] = {}
        self._handles: dict[str, ClusterHandle] = {}
        """The connection behind each successful probe: its cache statistics are read live by every lookup."""
        self._inflight: dict[str, threading.Event] = {}
        self._stale: set[str] = set()
        """Servers reconnected while a probe of them ran: that probe describes the dropped connection."""
        self._wanted: dict[str, float] = {}
        """Server -> when a request last asked about it; only these are refreshed periodically."""
        self._stopped = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle ---

    def start(self) -> ClusterInfoRefresher:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="cluster-info-refresher", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop refreshing and wait (bounded) for running probes, which may be stuck on an unresponsive cluster."""
        self._stopped.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            pending = list(self._inflight.values())
        for event in pending:
            if not event.wait(max(0.0, deadline - time.monotonic())):
                log.warning("a cluster probe is still running at shutdown; leaving it behind")
                break
        log.info("cluster info refresher stopped")

    # --- what requests use ---

    def lookup(self, servers: Iterable[str]) -> dict[str, ClusterProbe]:
        """The last known state of each server; a never-probed one is probed now, waited for only briefly."""
        waits: list[threading.Event] = []
        now = time.monotonic()
        wanted = [s.rstrip("/") for s in servers]
        with self._lock:
            for server in wanted:
                self._wanted[server] = now
                if server not in self._results:
                    waits.append(self._schedule_locked(server))
        deadline = now + self._first_probe_wait
        for event in waits:
            event.wait(max(0.0, deadline - time.monotonic()))
        with self._lock:
            found = {s: (self._results[s], self._handles.get(s)) for s in wanted if s in self._results}
        # Cache statistics move between probes (a relist, new objects): read them now rather than serve stale ones.
        return {s: replace(p, cache=h.cache.stats()) if h is not None else p for s, (p, h) in found.items()}

    def refresh(self, server: str) -> threading.Event:
        """Probe ``server`` again now (in the background); the event is set when that probe ends."""
        server = server.rstrip("/")
        with self._lock:
            self._wanted[server] = time.monotonic()
            return self._schedule_locked(server)

    def invalidate(self, server: str) -> threading.Event:
        """Drop the connection to ``server`` now and probe it again (in the background) over a new one.

        The connection and its live-state cache are shared with the controller: both reconnect with the credentials
        stored now (after an update or a token rotation) and the new cache starts with a full list of every kind, as
        upstream's cache Invalidate followed by EnsureSynced.
        """
        server = server.rstrip("/")
        self._clusters.invalidate(server)
        with self._lock:
            self._handles.pop(server, None)
            self._stale.add(server)
            self._wanted[server] = time.monotonic()
            return self._schedule_locked(server)

    def record(self, probe: ClusterProbe) -> None:
        """Store a state learned elsewhere (e.g. the test of a freshly rotated token)."""
        with self._lock:
            self._results[probe.server] = probe

    def forget(self, server: str) -> None:
        """Drop what is known of a deleted cluster, and its connection: its credentials are gone too."""
        server = server.rstrip("/")
        self._clusters.invalidate(server)
        with self._lock:
            self._results.pop(server, None)
            self._handles.pop(server, None)
            self._wanted.pop(server, None)

    # --- probing ---

    def _schedule_locked(self, server: str) -> threading.Event:
        event = self._inflight.get(server)
        if event is not None:
            return event
        event = threading.Event()
        if self._stopped.is_set():
            event.set()
            return event
        self._inflight[server] = event
        threading.Thread(target=self._probe_thread, args=(server, event), name="cluster-probe", daemon=True).start()
        return event

    def _probe_thread(self, server: str, event: threading.Event) -> None:
        while True:
            with self._lock:
                self._stale.discard(server)
            try:
                with self._slots:
                    probe, handle = self._probe(server)
            except Exception:  # a probe thread must never die silently with a half-written state
                log.exception("probing cluster %s failed unexpectedly", server)
                probe = ClusterProbe(
                    server=server, status=FAILED, message="internal error while probing", attempted_at=_now()
                )
                handle = None
            with self._lock:
                if server in self._stale and not self._stopped.is_set():
                    # Reconnected meanwhile: probe again (same waiters) rather than publish the old connection.
                    continue
                previous = self._results.get(server)
                if server in self._wanted or previous is not None:
                    self._results[server] = probe
                    if probe.status == SUCCESSFUL and handle is not None:
                        self._handles[server] = handle
                    else:
                        self._handles.pop(server, None)
                self._inflight.pop(server, None)
            break
        event.set()
        self._log_transition(previous, probe)

    def _probe(self, server: str) -> tuple[ClusterProbe, ClusterHandle | None]:
        attempted = _now()
        try:
            handle = self._clusters.get(server)
        except ArgoError as exc:
            return ClusterProbe(server=server, status=FAILED, message=exc.message, attempted_at=attempted), None
        simulated = handle.client.simulated
        status = handle.client.check_connection()
        failure = status.message if status.status != SUCCESSFUL else ""
        if not failure:
            try:
                version = handle.client.server_version().short
                apis = api_version_strings(handle.resources.api_resources())
            except ArgoError as exc:
                failure = exc.message
        if failure:
            failed = ClusterProbe(
                server=server, status=FAILED, message=failure, attempted_at=status.attempted_at, simulated=simulated
            )
            return failed, handle
        probe = ClusterProbe(
            server=server,
            status=SUCCESSFUL,
            message=SIMULATED_MESSAGE if simulated else "",
            attempted_at=status.attempted_at,
            server_version=version,
            api_versions=apis,
            cache=handle.cache.stats(),
            simulated=simulated,
        )
        return probe, handle

    @staticmethod
    def _log_transition(previous: ClusterProbe | None, probe: ClusterProbe) -> None:
        if previous is not None and (previous.status, previous.message) == (probe.status, probe.message):
            return
        if probe.status == SUCCESSFUL and probe.simulated:
            log.warning("cluster %s: connected to a SIMULATED cluster (embedded simulator, not real)", probe.server)
        elif probe.status == SUCCESSFUL:
            log.info("cluster %s: connected (Kubernetes %s)", probe.server, probe.server_version)
        else:
            log.warning("cluster %s: connection failed: %s", probe.server, probe.message)

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stopped.is_set():
                return
            now = time.monotonic()
            with self._lock:
                # A cluster nobody looked at for a while is no longer worth a connection attempt every interval.
                for server, asked in list(self._wanted.items()):
                    if now - asked > self._forget_after:
                        del self._wanted[server]
                        self._results.pop(server, None)
                for server in self._wanted:
                    self._schedule_locked(server)
