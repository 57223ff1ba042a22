"""The application controller: refresh (compare) and operation (sync) loops over the stored applications.

Reproduces Argo CD's ``controller/appcontroller.go`` as far as one process goes: a de-duplicating work queue per
loop (app refresh and app operation, like upstream's ``appRefreshQueue``/``appOperationQueue``), bounded worker pools
(``controller_workers`` each), periodic refresh every ``reconciliation_seconds`` plus a random jitter, refresh on
demand (the ``argocd.argoproj.io/refresh`` annotation, any write to the app, or an in-process request), and
automated sync after a comparison (``spec.syncPolicy.automated``, with upstream's "never retry the same failed
commit" guard, the default retry of 5, ``allowEmpty``, self-heal with exponential backoff and the project's sync
windows, injected as a callable because the window rules live in ``services``). A change to a managed object in a
destination's cache requests a refresh of the app tracking it, which is how drift is noticed between periodic
refreshes. Operations follow ``controller/sync.go``: ``operationState`` is created
Running, each processing renders at the pinned revision, plans with ``engine.sync.plan`` and runs one executor step
(``engine.sync.apply``); completion writes ``finishedAt``, the message, the history entry (non-dry-run, non-selective
successes, trimmed to ``revisionHistoryLimit``), clears ``operation`` and requests a refresh; failures retry with
``duration * factor ** retryCount`` as upstream computes it; ``Terminating`` stops running hooks; a step that a
sync window blocks leaves the operation Running until the window allows it (``syncOverrun`` lets an operation
allowed at its start carry on).

Deletion follows ``finalizeApplicationDeletion``: an app with a ``deletionTimestamp`` and no operation has its
tracked live objects deleted one sync wave at a time, highest first (foreground propagation, background for the
``/background`` finalizer), waiting while any is terminating; then its PostDelete hooks run (staged by the
``post-delete-finalizer`` finalizers as upstream does), and once no finalizer is left the row is deleted. Failures
become a ``DeletionError`` condition and the step is retried; a destination that is no longer registered releases
every finalizer at once. Operation start and completion and resource deletions are recorded as events, which are
pruned after ``event_ttl_seconds``.

Durability: every state change is written to the database before the next step, with its own short session and a
compare-and-swap on ``resource_version`` (re-read and re-merge on conflict); no transaction is open across git,
helm or kube calls. A new controller over the same database therefore resumes any Running operation from its
recorded results, and an operation state left Running without an operation is closed with a clear message.

Boundary: may import ``db.stores``, ``engine.*``, ``kube``, ``schemas`` and ``errors``; never ``services``/``api``.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import random
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from argocd_server.config import ArgoConfig
from argocd_server.db.engine import driver_transaction, for_writing, read_only
from argocd_server.db.models import EventRow
from argocd_server.db.stores.applications import ApplicationStore, application_doc, update_status
from argocd_server.db.stores.clusters import ClusterStore
from argocd_server.db.stores.events import EventStore, add_event
from argocd_server.db.stores.projects import project_doc
from argocd_server.engine.appstate import (
    CompareResult,
    compare_app_state,
    external_urls_of,
    images_of,
    prepare_targets,
)
from argocd_server.engine.clusters import ClusterHandle, ClusterProvider
from argocd_server.engine.diff import (
    DiffOptions,
    IgnoreDifferences,
    IgnoreStatusMode,
    include_mutation_webhook,
    only_owned_by,
    parse_ignore_differences_customizations,
    server_side_diff_enabled,
)
from argocd_server.engine.health import assess_health, parse_health_customizations
from argocd_server.engine.resources import HookType, KubeObject, ResourceKey, hook_types, parse_api_version
from argocd_server.engine.source import Refresh, RenderRequest, RenderResult, RepoCredentials, SourceRenderer
from argocd_server.engine.sync.apply import (
    FIELD_MANAGER,
    StepContext,
    StepOutcome,
    SyncExecutor,
    cleanup_deletion_hooks,
    delete_objects,
    run_deletion_hooks,
)
from argocd_server.engine.sync.plan import (
    AUTO_SYNC_DEFAULT_RETRY,
    OperationPhase,
    RetryStrategy,
    SyncOptions,
    SyncPhase,
    SyncResourceFilter,
    generated_hook_name,
    plan_cascade_deletion,
    plan_sync,
    self_heal_backoff,
)
from argocd_server.engine.tracking import (
    TrackingMethod,
    get_app_name,
    instance_name,
    is_self_referenced,
    parse_tracking_method,
)
from argocd_server.errors import ArgoError
from argocd_server.kube import KUBERNETES_DEFAULT_SVC, ObjectKey
from argocd_server.kube.cache import CacheEvent, ClusterCache, Subscription

__all__ = [
    "ANNOTATION_REFRESH",
    "ANNOTATION_REFRESH_TIMESTAMP",
    "ApplicationController",
    "RepoCredentialsLookup",
    "SyncWindowGate",
    "WorkQueue",
]

log = logging.getLogger(__name__)

ANNOTATION_REFRESH = "argocd.argoproj.io/refresh"
ANNOTATION_REFRESH_TIMESTAMP = "argocd.argoproj.io/refresh-timestamp"
ANNOTATION_HYDRATE = "argocd.argoproj.io/hydrate"
ANNOTATION_HYDRATE_TIMESTAMP = "argocd.argoproj.io/hydrate-timestamp"
ANNOTATION_DELETION_APPROVED = "argocd.argoproj.io/deletion-approved"
ANNOTATION_SKIP_RECONCILE = "argocd.argoproj.io/skip-reconcile"
# The field manager whose client-side apply ownership a server-side apply takes over (default kubectl's).
ANNOTATION_CSA_MIGRATION_MANAGER = "argocd.argoproj.io/client-side-apply-migration-manager"
IN_CLUSTER_NAME = "in-cluster"
DEFAULT_HISTORY_LIMIT = 10
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
POST_DELETE_FINALIZER = "post-delete-finalizer.argocd.argoproj.io"
POST_DELETE_CLEANUP_FINALIZER = "post-delete-finalizer.argocd.argoproj.io/cleanup"
# Upstream deletes foreground for the plain finalizer too; only ``/background`` asks for background deletion.
_PROPAGATION = {
    RESOURCES_FINALIZER: "Foreground",
    f"{RESOURCES_FINALIZER}/foreground": "Foreground",
    f"{RESOURCES_FINALIZER}/background": "Background",
}
_OUR_FINALIZERS = frozenset({*_PROPAGATION, POST_DELETE_FINALIZER, POST_DELETE_CLEANUP_FINALIZER})
EVENT_COMPONENT = "argocd-application-controller"
SYNC_WINDOW_BLOCKED = "Sync operation blocked by sync window"
_MAX_CONFLICTS = 10
# Server-side diff predictions kept for reuse (one per live object version and target content), newest first.
_PREDICTIONS_KEPT = 5_000
# SyncError is not among them: it belongs to the automated-sync evaluation, which leaves it alone while a sync
# window blocks automation.
_COMPARE_CONDITIONS = frozenset(
    {
        "ComparisonError",
        "InvalidSpecError",
        "SharedResourceWarning",
        "RepeatedResourceWarning",
        "OrphanedResourceWarning",
    }
)

RepoCredentialsLookup = Callable[[str, str], RepoCredentials | None]
"""``(repo URL, project) -> credentials`` (None: anonymous access)."""

AppKey = tuple[str, str]


class SyncWindowGate(Protocol):
    """May this app sync at ``now`` under its project's sync windows?

    ``manual`` is False for automated syncs (``manualSync`` never helps them); ``started_at`` is the start of an
    operation already running, for ``syncOverrun``.
    """

    def __call__(
        self,
        app: Mapping[str, Any],
        project: Mapping[str, Any] | None,
        *,
        manual: bool,
        now: datetime,
        started_at: datetime | None = None,
    ) -> bool: ...


def _always_allowed(
    app: Mapping[str, Any],
    project: Mapping[str, Any] | None,
    *,
    manual: bool,
    now: datetime,
    started_at: datetime | None = None,
) -> bool:
    return True


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _system_clock() -> datetime:
    return datetime.now(tz=UTC)


class WorkQueue:
    """A de-duplicating queue with delayed adds, in the manner of client-go's workqueue.

    A key is handed to at most one worker at a time; adding a key that is being processed marks it dirty and it
    is queued again when the worker calls :meth:`done`.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: list[Hashable] = []
        self._queued: set[Hashable] = set()
        self._processing: set[Hashable] = set()
        self._dirty: set[Hashable] = set()
        self._delayed: list[tuple[float, int, Hashable]] = []
        self._seq = 0
        self._closed = False

    def add(self, key: Hashable) -> None:
        with self._cond:
            if self._closed:
                return
            if key in self._processing:
                self._dirty.add(key)
                return
            if key not in self._queued:
                self._queued.add(key)
                self._queue.append(key)
                self._cond.notify()

    def add_after(self, key: Hashable, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        with self._cond:
            self._seq += 1
            heapq.heappush(self._delayed, (time.monotonic() + delay, self._seq, key))
            self._cond.notify()

    def get(self, timeout: float = 1.0) -> Hashable | None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                while self._delayed and self._delayed[0][0] <= now:
                    _, _, key = heapq.heappop(self._delayed)
                    if key in self._processing:
                        self._dirty.add(key)
                    elif key not in self._queued:
                        self._queued.add(key)
                        self._queue.append(key)
                if self._closed:
                    return None
                if self._queue:
                    key = self._queue.pop(0)
                    self._queued.discard(key)
                    self._processing.add(key)
                    return key
                wait = deadline - now
                if self._delayed:
                    wait = min(wait, self._delayed[0][0] - now)
                if wait <= 0 and deadline <= now:
                    return None
                self._cond.wait(max(wait, 0.001))

    def done(self, key: Hashable) -> None:
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:
                self._dirty.discard(key)
                if key not in self._queued:
                    self._queued.add(key)
                    self._queue.append(key)
                    self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue) + len(self._delayed)


class _Conflict(Exception):
    """The row changed between read and write."""


@dataclass
class _Loaded:
    row_id: int
    version: int
    doc: dict[str, Any]
    project: dict[str, Any] | None


@dataclass
class _Compared:
    result: CompareResult | None
    render: RenderResult | None
    handle: ClusterHandle | None
    error: str = ""
    error_type: str = "ComparisonError"
    live_error: bool = False


@dataclass
class _AutoSync:
    """The outcome of one automated-sync evaluation."""

    evaluated: bool = True
    """False when a sync window prevented the evaluation: the SyncError condition is then left as it is."""
    operation: dict[str, Any] | None = None
    error: str | None = None


class _DeletionError(Exception):
    """A deletion step failed; the message becomes the DeletionError condition."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class _AppMemo:
    seen_version: int = -1
    next_due: float = 0.0
    operation_ended: float = float("-inf")
    """``time.monotonic()`` when this process last ended an operation of the app (for the self-heal settle)."""
    refresh_waiters: list[threading.Event] = field(default_factory=list)
    compared_basis: tuple[Any, ...] | None = None
    """What the last comparison was made from (see ``_comparison_basis``)."""


def event_document(
    *,
    name: str,
    namespace: str,
    uid: str,
    involved_name: str,
    involved_uid: str,
    involved_resource_version: str,
    reason: str,
    message: str,
    warning: bool,
    at: datetime,
) -> str:
    """The core/v1 Event the controller records about an Application, as its wire JSON (what ``to_wire_json`` of
    the ``Event`` model gives: empty optional fields left out). Built as a plain document: the controller records
    two per sync, and validating a model for each cost more than the rest of writing it."""
    stamp = at.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"
    involved: dict[str, Any] = {"kind": "Application", "namespace": namespace, "name": involved_name}
    if involved_uid:
        involved["uid"] = involved_uid
    involved["apiVersion"] = "argoproj.io/v1alpha1"
    if involved_resource_version:
        involved["resourceVersion"] = involved_resource_version
    event: dict[str, Any] = {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid,
            "resourceVersion": "1",
            "creationTimestamp": stamp,
        },
        "involvedObject": involved,
    }
    if reason:
        event["reason"] = reason
    if message:
        event["message"] = message
    event.update(
        {
            "source": {"component": EVENT_COMPONENT},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "type": "Warning" if warning else "Normal",
            "eventTime": None,
            "reportingComponent": "",
            "reportingInstance": "",
        }
    )
    return orjson.dumps(event).decode()


class ApplicationController:
    """Reconciles applications stored in the database against their destination clusters."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        renderer: SourceRenderer,
        cluster_provider: ClusterProvider,
        repo_credentials: RepoCredentialsLookup,
        config: ArgoConfig,
        namespace: str = "argocd",
        reconciliation_seconds: float = 180.0,
        jitter_seconds: float = 60.0,
        workers: int = 2,
        clock: Callable[[], datetime] = _system_clock,
        wave_delay: float = 2.0,
        poll_interval: float = 1.0,
        scan_interval: float = 1.0,
        sync_windows: SyncWindowGate = _always_allowed,
        self_heal_timeout: float = 2.0,
        self_heal_factor: float = 3.0,
        self_heal_cap: float = 300.0,
        self_heal_cooldown: float = 330.0,
        self_heal_settle: float = 1.0,
        event_ttl_seconds: float = 3600.0,
        event_prune_interval: float = 300.0,
        server_side_diff: bool = False,
    ) -> None:
        self.sessions = sessions
        self._engine: Engine = sessions.kw["bind"]
        self.renderer = renderer
        self.clusters = cluster_provider
        self.repo_credentials = repo_credentials
        self.config = config
        self.namespace = namespace
        self.reconciliation_seconds = reconciliation_seconds
        self.jitter_seconds = jitter_seconds
        self.workers = max(1, workers)
        self.clock = clock
        self.wave_delay = wave_delay
        self.poll_interval = poll_interval
        self.scan_interval = scan_interval
        self.sync_windows = sync_windows
        self.self_heal_timeout = self_heal_timeout
        self.self_heal_factor = self_heal_factor
        self.self_heal_cap = self_heal_cap
        # A heal that comes long after the last successful one starts the backoff again (upstream's cooldown).
        self.self_heal_cooldown = self_heal_cooldown
        # No heal within this many seconds of an operation this process ended: the comparison right after a sync
        # can run before the watches delivered the sync's own writes, and would "heal" drift that is not there.
        self.self_heal_settle = self_heal_settle
        self.event_ttl_seconds = event_ttl_seconds
        self.event_prune_interval = event_prune_interval
        # Server-side diff for every app unless it opts out (upstream's controller.diff.server.side).
        self.server_side_diff = server_side_diff
        self._predictions: OrderedDict[tuple[str, str, str, bytes], KubeObject] = OrderedDict()
        self.tracking_method = parse_tracking_method(config.tracking_method)
        cm = dict(config.cm_data)
        self.health_overrides = parse_health_customizations(cm)
        self.global_ignores = parse_ignore_differences_customizations(cm)
        mode = (cm.get("resource.compareoptions") or "").strip()
        self.ignore_status = IgnoreStatusMode.ALL
        if mode:
            for line in mode.splitlines():
                name, _, value = line.partition(":")
                if name.strip() == "ignoreResourceStatusField":
                    value = value.strip().lower()
                    if value == "crd":
                        self.ignore_status = IgnoreStatusMode.CRD
                    elif value in ("none", "off", "false"):
                        self.ignore_status = IgnoreStatusMode.NONE
        self.refresh_queue = WorkQueue()
        self.operation_queue = WorkQueue()
        self._refresh_levels: dict[AppKey, Refresh] = {}
        self._refresh_asked_at: dict[AppKey, float] = {}
        self._memo: dict[AppKey, _AppMemo] = {}
        self._memo_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._running = False
        self._random = random.Random()  # noqa: S311 - jitter, not security
        self._instances: dict[str, AppKey] = {}
        # Apps whose operation step is running now, and whether a live change of theirs came in meanwhile.
        self._operating: dict[AppKey, bool] = {}
        self._subscriptions: dict[str, tuple[ClusterCache, Subscription]] = {}
        self._next_event_prune = 0.0

    # --- lifecycle ---

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> ApplicationController:
        if self._running:
            return self
        self._running = True
        self._stop.clear()
        self._recover()
        spawn = [("app-scan", self._scan_loop)]
        spawn += [(f"app-refresh-{i}", self._refresh_worker) for i in range(self.workers)]
        spawn += [(f"app-operation-{i}", self._operation_worker) for i in range(self.workers)]
        for name, target in spawn:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("application controller started (%d workers per queue)", self.workers)
        return self

    def stop(self) -> None:
        if not self._running:
            return
        self._stop.set()
        self.refresh_queue.close()
        self.operation_queue.close()
        for thread in self._threads:
            thread.join(10)
        self._threads.clear()
        with self._memo_lock:
            subscriptions = list(self._subscriptions.values())
            self._subscriptions.clear()
        for _cache, subscription in subscriptions:
            subscription.cancel()
        self._running = False

    def run_forever(self) -> None:
        """Run until interrupted (the ``argocd-server controller`` command)."""
        self.start()
        try:
            while not self._stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    # --- requests from the API ---

    def request_refresh(self, namespace: str, name: str, *, level: Refresh = Refresh.NORMAL) -> None:
        key = (namespace, name)
        with self._memo_lock:
            current = self._refresh_levels.get(key, Refresh.NONE)
            if level == Refresh.HARD or current == Refresh.NONE:
                self._refresh_levels[key] = level
            if level != Refresh.NONE:
                # The latest of merged requests: an answer from Git fetched after it satisfies them all.
                self._refresh_asked_at[key] = time.monotonic()
        self.refresh_queue.add(key)

    def request_operation(self, namespace: str, name: str) -> None:
        self.operation_queue.add((namespace, name))

    # --- loops ---

    def _memo_for(self, key: AppKey) -> _AppMemo:
        with self._memo_lock:
            memo = self._memo.get(key)
            if memo is None:
                memo = self._memo[key] = _AppMemo()
            return memo

    def _scan_once(self) -> None:
        with self.sessions() as session:
            rows = list(ApplicationStore(read_only(session)).controller_index())
        now = time.monotonic()
        present: set[AppKey] = set()
        for _row_id, namespace, name, version, operation_pending, deleting in rows:
            key = (namespace, name)
            present.add(key)
            memo = self._memo_for(key)
            if memo.seen_version != version:
                memo.seen_version = version
                self.refresh_queue.add(key)
            elif self.reconciliation_seconds > 0 and now >= memo.next_due:
                self.refresh_queue.add(key)
            if operation_pending or deleting:
                self.operation_queue.add(key)
        with self._memo_lock:
            for key in [k for k in self._memo if k not in present]:
                del self._memo[key]
            for instance in [i for i, k in self._instances.items() if k not in present]:
                del self._instances[instance]
        if self.event_ttl_seconds > 0 and now >= self._next_event_prune:
            self._next_event_prune = now + self.event_prune_interval
            self.prune_events()

    def prune_events(self) -> int:
        """Drop events older than ``event_ttl_seconds`` (Kubernetes keeps them an hour by default)."""
        cutoff = self.clock() - timedelta(seconds=self.event_ttl_seconds)
        with self.sessions() as session:
            removed = EventStore(for_writing(session)).prune(cutoff)
            session.commit()
        return removed

    def _scan_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._scan_once()
            except Exception:
                log.exception("application scan failed")
            self._stop.wait(self.scan_interval)

    def _refresh_worker(self) -> None:
        while not self._stop.is_set():
            key = self.refresh_queue.get(timeout=0.5)
            if key is None:
                continue
            try:
                assert isinstance(key, tuple)
                with self._memo_lock:
                    level = self._refresh_levels.pop(key, None)
                    asked_at = self._refresh_asked_at.pop(key, None)
                self.refresh_app(
                    key[0], key[1], level=level or Refresh.NONE, fresh_after=asked_at, requested=level is not None
                )
            except Exception:
                log.exception("refreshing application %s failed", key)
            finally:
                self.refresh_queue.done(key)

    def _operation_worker(self) -> None:
        while not self._stop.is_set():
            key = self.operation_queue.get(timeout=0.5)
            if key is None:
                continue
            assert isinstance(key, tuple)
            try:
                with self.operation_step(key):
                    delay = self.process_operation(key[0], key[1])
                if delay is not None:
                    self.operation_queue.add_after(key, delay)
            except Exception:
                log.exception("processing the operation of %s failed", key)
                self.operation_queue.add_after(key, max(self.poll_interval, 1.0))
            finally:
                self.operation_queue.done(key)

    @contextmanager
    def operation_step(self, key: AppKey) -> Iterator[None]:
        """While an operation step of ``key`` runs, live changes of its objects (mostly the step's own writes)
        wait: one comparison is asked for when the step is over, instead of one per object meanwhile."""
        with self._memo_lock:
            self._operating[key] = False
        try:
            yield
        finally:
            with self._memo_lock:
                changed_meanwhile = self._operating.pop(key, False)
            if changed_meanwhile:
                self.request_refresh(key[0], key[1], level=Refresh.NONE)

    # --- database ---

    def _load(self, namespace: str, name: str) -> _Loaded | None:
        with driver_transaction(self._engine, write=False) as conn:
            found = application_doc(conn, namespace, name)
            if found is None:
                return None
            row_id, version, text = found
            doc: dict[str, Any] = orjson.loads(text)
            project_name = str(doc.get("spec", {}).get("project") or "default")
            project_text = project_doc(conn, self.namespace, project_name)
            project = orjson.loads(project_text) if project_text is not None else None
            return _Loaded(row_id=row_id, version=version, doc=doc, project=project)

    def _write(
        self,
        namespace: str,
        name: str,
        mutate: Callable[[dict[str, Any]], dict[str, Any] | None],
        *,
        event: EventRow | None = None,
    ) -> bool:
        """Re-read, apply ``mutate`` (None = nothing to write) and compare-and-swap; retried on conflicts.

        ``event`` is stored in the same transaction when the write happens (one commit instead of two)."""
        for _ in range(_MAX_CONFLICTS):
            try:
                # Writer from the first statement: SQLite cannot upgrade a read snapshot another writer moved past.
                # A driver-level transaction: a few statements, for which a session's bookkeeping cost more.
                with driver_transaction(self._engine, write=True) as conn:
                    found = application_doc(conn, namespace, name)
                    if found is None:
                        return False
                    row_id, read_version, text = found
                    doc = orjson.loads(text)
                    updated = mutate(doc)
                    if updated is None:
                        return True
                    version = read_version + 1
                    updated["metadata"]["resourceVersion"] = str(version)
                    values = _row_columns(updated)
                    written = update_status(
                        conn, row_id, read_version, doc_text=orjson.dumps(updated).decode(), values=values
                    )
                    if written is None:
                        raise _Conflict  # rolled back by the transaction; read again
                    if event is not None:
                        add_event(conn, event)
            except _Conflict:
                continue
            except OperationalError as exc:
                # SQLite: the write lock was not granted within the busy timeout; retried like a conflict.
                if "locked" not in str(exc.orig):
                    raise
                time.sleep(0.01)
                continue
            self._memo_for((namespace, name)).seen_version = version
            return True
        log.warning("giving up writing %s/%s after %d conflicts", namespace, name, _MAX_CONFLICTS)
        return False

    # --- events ---

    def record_event(self, doc: Mapping[str, Any], *, reason: str, message: str, warning: bool = False) -> None:
        """Store a core/v1 Event about the app, as upstream's controller emits one (never fails the caller)."""
        row = self._event_row(doc, reason=reason, message=message, warning=warning)
        try:
            with self.sessions() as session:
                EventStore(for_writing(session)).add(row)
                session.commit()
        except OperationalError:
            log.warning("could not record event %s for %s/%s", reason, row.namespace, row.involved_name)

    def _event_row(self, doc: Mapping[str, Any], *, reason: str, message: str, warning: bool = False) -> EventRow:
        meta = doc.get("metadata") or {}
        name = str(meta.get("name") or "")
        namespace = str(meta.get("namespace") or "")
        now = self.clock().astimezone(UTC).replace(microsecond=0)
        kind = "Warning" if warning else "Normal"
        document = event_document(
            name=f"{name}.{time.time_ns():x}",
            namespace=namespace,
            uid=str(uuid.uuid4()),
            involved_name=name,
            involved_uid=str(meta.get("uid") or ""),
            involved_resource_version=str(meta.get("resourceVersion") or ""),
            reason=reason,
            message=message,
            warning=warning,
            at=now,
        )
        return EventRow(
            namespace=namespace,
            involved_kind="Application",
            involved_name=name,
            involved_uid=str(meta.get("uid") or ""),
            reason=reason,
            type=kind,
            created_at=now,
            doc=document,
        )

    # --- live changes ---

    def _watch(self, handle: ClusterHandle) -> None:
        """Refresh the owning app when a tracked object changes (upstream's managed-resource event handler)."""
        with self._memo_lock:
            if not self._running:
                return
            current = self._subscriptions.get(handle.server)
            # A reconnected cluster (new credentials) has a new cache; the old one cancelled its subscribers on stop.
            if current is not None and current[0] is handle.cache:
                return
            self._subscriptions[handle.server] = (handle.cache, handle.cache.subscribe(self._on_cache_event))

    def _on_cache_event(self, event: CacheEvent) -> None:
        app = get_app_name(event.object, method=self.tracking_method, label_key=self.config.app_label_key)
        if app is None:
            return
        with self._memo_lock:
            key = self._instances.get(app)
            if key is not None and key in self._operating:
                # Most likely the operation's own apply: one comparison once the step is over, not one per object
                # while it is still writing.
                self._operating[key] = True
                return
        if key is not None:
            # A live change needs a new comparison, not a new look at Git (upstream: CompareWithRecent).
            self.request_refresh(key[0], key[1], level=Refresh.NONE)

    # --- recovery ---

    def _recover(self) -> None:
        """Close operation states a dead process left Running without an operation; resume the others."""
        with self.sessions() as session:
            rows = list(ApplicationStore(read_only(session)).controller_index())
        for _id, namespace, name, _version, pending, _deleting in rows:
            if pending:
                log.info("resuming the operation of %s/%s", namespace, name)
                self.operation_queue.add((namespace, name))
                continue

            def close_orphan(doc: dict[str, Any]) -> dict[str, Any] | None:
                state = (doc.get("status") or {}).get("operationState")
                if not state or doc.get("operation") or state.get("phase") not in ("Running", "Terminating"):
                    return None
                state["phase"] = OperationPhase.ERROR.value
                state["message"] = "Operation was interrupted: the controller stopped while it was running"
                state["finishedAt"] = _rfc3339(self.clock())
                return doc

            self._write(namespace, name, close_orphan)

    # --- compare ---

    def _instance(self, doc: Mapping[str, Any]) -> str:
        meta = doc.get("metadata") or {}
        return instance_name(
            str(meta.get("name") or ""),
            app_namespace=str(meta.get("namespace") or ""),
            controller_namespace=self.namespace,
        )

    def _server(self, doc: Mapping[str, Any]) -> str:
        destination = (doc.get("spec") or {}).get("destination") or {}
        server = str(destination.get("server") or "").rstrip("/")
        if server:
            return server
        name = str(destination.get("name") or "")
        if name:
            with self.sessions() as session:
                rows = list(ClusterStore(read_only(session)).find_by_name(name))
            if rows:
                return str(rows[0].server)
            if name == IN_CLUSTER_NAME:
                return KUBERNETES_DEFAULT_SVC
        raise ArgoError(f"unable to find destination server: there are no clusters with this name: {name}")

    @staticmethod
    def _sources(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
        spec = doc.get("spec") or {}
        if spec.get("sources"):
            return [dict(s) for s in spec["sources"]]
        return [dict(spec["source"])] if spec.get("source") else []

    def diff_options(self, doc: Mapping[str, Any]) -> DiffOptions:
        rules = tuple(IgnoreDifferences.from_dict(r) for r in (doc.get("spec") or {}).get("ignoreDifferences") or [])
        return DiffOptions(
            ignore_differences=rules + self.global_ignores,
            ignore_status=self.ignore_status,
            tracking_method=self.tracking_method,
            label_key=self.config.app_label_key,
        )

    def render(
        self,
        doc: Mapping[str, Any],
        *,
        refresh: Refresh = Refresh.NONE,
        revisions: Sequence[str] | None = None,
        fresh_after: float | None = None,
    ) -> RenderResult:
        spec = doc.get("spec") or {}
        sources = self._sources(doc)
        if revisions:
            sources = [
                dict(s, targetRevision=rev) if rev else s for s, rev in zip(sources, list(revisions), strict=False)
            ] + sources[len(revisions) :]
        project = str(spec.get("project") or "default")
        credentials: list[RepoCredentials] = []
        for source in sources:
            creds = self.repo_credentials(str(source.get("repoURL") or ""), project)
            if creds is not None:
                credentials.append(creds)
        request = RenderRequest(
            sources=tuple(sources),
            app_name=self._instance(doc),
            namespace=str((spec.get("destination") or {}).get("namespace") or ""),
            project=project,
            credentials=tuple(credentials),
            refresh=refresh,
            fresh_after=fresh_after,
            app_label_key=self.config.app_label_key,
        )
        return self.renderer.render(request)

    def _live_set(self, handle: ClusterHandle, targets: Sequence[KubeObject], instance: str) -> list[KubeObject]:
        by_label = self.tracking_method is TrackingMethod.LABEL
        found: dict[ObjectKey, KubeObject] = {
            ObjectKey.of(obj): obj
            for obj in handle.cache.objects_for_app(instance, by_label=by_label, by_annotation=not by_label)
        }
        for target in targets:
            key = ObjectKey.of(target)
            if key in found:
                continue
            live = handle.cache.get(key)
            if live is not None:
                found[key] = live
        return list(found.values())

    def compare(
        self,
        doc: Mapping[str, Any],
        project: Mapping[str, Any] | None,
        *,
        refresh: Refresh = Refresh.NONE,
        revisions: Sequence[str] | None = None,
        fresh_after: float | None = None,
    ) -> _Compared:
        """Render, read the live state and compare; failures come back as a condition, never raised."""
        if project is None:
            name = (doc.get("spec") or {}).get("project") or "default"
            return _Compared(
                None,
                None,
                None,
                error=f"Application referencing project {name} which does not exist",
                error_type="InvalidSpecError",
            )
        try:
            render = self.render(doc, refresh=refresh, revisions=revisions, fresh_after=fresh_after)
        except ArgoError as exc:
            return _Compared(None, None, None, error=f"Failed to load target state: {exc.message}")
        try:
            handle = self.clusters.get(self._server(doc))
            self._watch(handle)
            problem = handle.reachable()
            if problem:
                return _Compared(None, render, handle, error=f"Failed to load live state: {problem}", live_error=True)
            is_namespaced = handle.namespaced_lookup()
        except ArgoError as exc:
            return _Compared(None, render, None, error=f"Failed to load live state: {exc.message}", live_error=True)
        spec = doc.get("spec") or {}
        instance = self._instance(doc)
        meta = doc.get("metadata") or {}
        with self._memo_lock:
            self._instances[instance] = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        destination_ns = str((spec.get("destination") or {}).get("namespace") or "")
        targets = prepare_targets(
            render.objects,
            instance=instance,
            destination_namespace=destination_ns,
            tracking_method=self.tracking_method,
            label_key=self.config.app_label_key,
            is_namespaced=is_namespaced,
        )
        live = self._live_set(handle, targets, instance)
        orphaned = (project.get("spec") or {}).get("orphanedResources")
        candidates = handle.cache.objects(namespace=destination_ns) if orphaned is not None and destination_ns else None
        predict = None
        if server_side_diff_enabled(doc, default=self.server_side_diff):
            predict = self._predictor(handle, reuse=refresh is Refresh.NONE, webhooks=include_mutation_webhook(doc))
        try:
            result = compare_app_state(
                targets=targets,
                live=live,
                instance=instance,
                controller_namespace=self.namespace,
                diff_options=self.diff_options(doc),
                health_overrides=self.health_overrides,
                is_namespaced=is_namespaced,
                orphan_candidates=candidates,
                orphaned_resources=orphaned,
                predict=predict,
            )
        except ArgoError as exc:
            message = f"Failed to compare desired state to live state: {exc.message}"
            return _Compared(None, render, handle, error=message)
        return _Compared(result, render, handle)

    def _predictor(
        self, handle: ClusterHandle, *, reuse: bool, webhooks: bool
    ) -> Callable[[KubeObject, KubeObject], KubeObject]:
        """Server-side diff: a dry-run server-side apply of the target under the controller's manager predicts the
        live object. A prediction is kept for the live object's resourceVersion and the target's content, and reused
        by later comparisons unless a refresh was asked for (upstream's diff cache)."""

        def predict(target: KubeObject, live: KubeObject) -> KubeObject:
            meta = live.get("metadata") or {}
            key = (
                handle.server,
                str(meta.get("uid") or ""),
                str(meta.get("resourceVersion") or ""),
                hashlib.sha256(orjson.dumps(target, option=orjson.OPT_SORT_KEYS)).digest(),
            )
            with self._memo_lock:
                cached = self._predictions.get(key) if reuse else None
            if cached is None:
                cached = handle.resources.apply(target, field_manager=FIELD_MANAGER, force=True, dry_run=True)
                with self._memo_lock:
                    self._predictions[key] = cached
                    while len(self._predictions) > _PREDICTIONS_KEPT:
                        self._predictions.popitem(last=False)
            return cached if webhooks else only_owned_by(cached, live, FIELD_MANAGER)

        return predict

    def refresh_app(
        self,
        namespace: str,
        name: str,
        *,
        level: Refresh = Refresh.NONE,
        fresh_after: float | None = None,
        requested: bool = True,
    ) -> bool:
        """One comparison of one app, written to its status; False when the app does not exist.

        ``fresh_after``: when the refresh was asked for; Git answers fetched since then count as fresh.
        ``requested=False`` is the scan noticing a write to the app: as upstream's controller, it compares only
        when something the comparison depends on moved (spec, annotations, deletion) or the app is due; a write
        of status or of an operation alone changes nothing to compare."""
        loaded = self._load(namespace, name)
        if loaded is None:
            return False
        doc = loaded.doc
        annotations = (doc.get("metadata") or {}).get("annotations") or {}
        if str(annotations.get(ANNOTATION_SKIP_RECONCILE, "")).lower() == "true":
            return True
        asked = annotations.get(ANNOTATION_REFRESH)
        refresh_stamp = annotations.get(ANNOTATION_REFRESH_TIMESTAMP)
        if asked == Refresh.HARD.value:
            level = Refresh.HARD
        elif asked and level == Refresh.NONE:
            level = Refresh.NORMAL
        memo = self._memo_for((namespace, name))
        basis = _comparison_basis(doc)
        if not requested and not asked and memo.compared_basis == basis and time.monotonic() < memo.next_due:
            return True
        compared = self.compare(doc, loaded.project, refresh=level, fresh_after=fresh_after)
        memo.compared_basis = basis
        now = self.clock()
        project = loaded.project
        started: list[bool] = []
        memo.next_due = time.monotonic() + self.reconciliation_seconds + self._random.uniform(0, self.jitter_seconds)
        compared_spec = _compared_to(doc)

        def mutate(fresh: dict[str, Any]) -> dict[str, Any] | None:
            status = fresh.setdefault("status", {})
            conditions = [c for c in status.get("conditions") or [] if c.get("type") not in _COMPARE_CONDITIONS]
            previous = {(c.get("type"), c.get("message")): c for c in status.get("conditions") or []}
            new_conditions: list[tuple[str, str]] = []
            result = compared.result
            if result is None:
                new_conditions.append((compared.error_type, compared.error))
                if compared.live_error:
                    unknown = dict(status.get("sync") or {})
                    unknown["status"] = "Unknown"
                    status["sync"] = unknown
                    status["health"] = {"status": "Unknown", "lastTransitionTime": _rfc3339(now)}
                    for resource in status.get("resources") or []:
                        resource["status"] = "Unknown"
                        resource.pop("health", None)
                # Nothing else changes: the last good comparison stays visible.
                if not status.get("sync"):
                    status["sync"] = {"status": "Unknown", "comparedTo": compared_spec}
            else:
                new_conditions.extend((c.type, c.message) for c in result.conditions)
                render = compared.render
                assert render is not None
                sync: dict[str, Any] = {"status": result.sync_status, "comparedTo": compared_spec}
                if (fresh.get("spec") or {}).get("sources"):
                    sync["revisions"] = render.revisions
                    status["sourceTypes"] = [str(t) for t in render.source_types if t is not None]
                    status.pop("sourceType", None)
                else:
                    sync["revision"] = render.revision
                    if render.source_type is not None:
                        status["sourceType"] = str(render.source_type)
                status["sync"] = sync
                health: dict[str, Any] = {"status": str(result.health.status)}
                if result.health.message:
                    health["message"] = result.health.message
                old_health = status.get("health") or {}
                same_health = old_health.get("status") == health["status"]
                health["lastTransitionTime"] = (
                    old_health.get("lastTransitionTime")
                    if same_health and old_health.get("lastTransitionTime")
                    else _rfc3339(now)
                )
                status["health"] = health
                resources = [r.to_status() for r in result.resources]
                if resources:
                    status["resources"] = resources
                else:
                    status.pop("resources", None)
                summary: dict[str, Any] = {}
                if result.external_urls:
                    summary["externalURLs"] = list(result.external_urls)
                if result.images:
                    summary["images"] = list(result.images)
                status["summary"] = summary
            # A failed comparison is still a reconcile: clients (``app wait``) wait for reconciledAt to pass the
            # operation's finishedAt and would hang while Git or the cluster is unreachable.
            status["reconciledAt"] = _rfc3339(now)
            status["observedAt"] = _rfc3339(now)
            stamp = _rfc3339(now)
            for kind, message in new_conditions:
                old = previous.get((kind, message)) or {}
                conditions.append(
                    {"type": kind, "message": message, "lastTransitionTime": old.get("lastTransitionTime") or stamp}
                )
            decision = self._auto_sync_decision(fresh, project, compared, now=now)
            if decision.evaluated:
                old_error = next((c for c in conditions if c.get("type") == "SyncError"), None)
                conditions = [c for c in conditions if c.get("type") != "SyncError"]
                if decision.error:
                    same = old_error is not None and old_error.get("message") == decision.error
                    conditions.append(
                        {
                            "type": "SyncError",
                            "message": decision.error,
                            "lastTransitionTime": (old_error or {}).get("lastTransitionTime") if same else stamp,
                        }
                    )
            started.clear()
            if decision.operation is not None and not fresh.get("operation"):
                fresh["operation"] = decision.operation
                status.pop("operationState", None)
                started.append(True)
            if conditions:
                status["conditions"] = conditions
            else:
                status.pop("conditions", None)
            meta = fresh.setdefault("metadata", {})
            fresh_annotations = meta.get("annotations") or {}
            # Only drop the request we served: a newer refresh (different timestamp) must not be lost.
            if (
                ANNOTATION_REFRESH in fresh_annotations
                and fresh_annotations.get(ANNOTATION_REFRESH_TIMESTAMP) == refresh_stamp
            ):
                for key in (
                    ANNOTATION_REFRESH,
                    ANNOTATION_REFRESH_TIMESTAMP,
                    ANNOTATION_HYDRATE,
                    ANNOTATION_HYDRATE_TIMESTAMP,
                ):
                    fresh_annotations.pop(key, None)
                if fresh_annotations:
                    meta["annotations"] = fresh_annotations
                else:
                    meta.pop("annotations", None)
            return fresh

        if self._write(namespace, name, mutate) and started:
            self.operation_queue.add((namespace, name))
        return True

    # --- automated sync ---

    def _windows_allow(
        self,
        doc: Mapping[str, Any],
        project: Mapping[str, Any] | None,
        *,
        manual: bool,
        now: datetime,
        started_at: datetime | None = None,
    ) -> bool:
        try:
            return self.sync_windows(doc, project, manual=manual, now=now, started_at=started_at)
        except Exception:
            # Upstream treats a window it cannot evaluate as blocking.
            log.exception("evaluating the sync windows of %s failed", (doc.get("metadata") or {}).get("name"))
            return False

    def _auto_sync_decision(
        self,
        doc: Mapping[str, Any],
        project: Mapping[str, Any] | None,
        compared: _Compared,
        *,
        now: datetime,
    ) -> _AutoSync:
        """Upstream's ``autoSync`` over the freshly read app: an operation to start, a SyncError, or nothing."""
        result, render = compared.result, compared.render
        if result is None or render is None:
            return _AutoSync(evaluated=False)
        spec = doc.get("spec") or {}
        policy = spec.get("syncPolicy") or {}
        automated = policy.get("automated")
        if automated is None or automated.get("enabled") is False:
            return _AutoSync()
        meta = doc.get("metadata") or {}
        if not self._windows_allow(doc, project, manual=False, now=now):
            log.info("%s/%s: sync prevented by sync window", meta.get("namespace"), meta.get("name"))
            return _AutoSync(evaluated=False)
        if doc.get("operation") or meta.get("deletionTimestamp"):
            return _AutoSync()
        if result.sync_status != "OutOfSync":
            return _AutoSync()
        prune = bool(automated.get("prune"))
        pending = [r for r in result.resources if r.status == "OutOfSync"]
        if not prune and pending and all(r.requires_pruning for r in pending):
            return _AutoSync()  # only extra resources, and automated prune is off
        multi = bool(spec.get("sources"))
        revisions = list(render.revisions)
        shown = ", ".join(revisions)
        status = doc.get("status") or {}
        last = status.get("operationState") or {}
        heal_count = int(((last.get("operation") or {}).get("sync") or {}).get("autoHealAttemptsCount") or 0)
        attempted, succeeded = _already_attempted(last, spec, revisions, multi=multi)
        selective: list[dict[str, str]] | None = None
        if attempted and (not automated.get("selfHeal") or not succeeded):
            if not succeeded:
                message = str(last.get("message") or "")
                return _AutoSync(error=f"Failed last sync attempt to [{shown}]: {message}".rstrip(": "))
            return _AutoSync()  # already synced to this revision; drift stays OutOfSync without selfHeal
        if attempted:
            finished = _parse_time(last.get("finishedAt"))
            elapsed = (now - finished).total_seconds() if finished is not None else float("inf")
            if elapsed >= self.self_heal_cooldown:
                heal_count = 0
            backoff = self_heal_backoff(
                heal_count, timeout=self.self_heal_timeout, factor=self.self_heal_factor, cap=self.self_heal_cap
            )
            key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
            settled_in = self._memo_for(key).operation_ended + self.self_heal_settle - time.monotonic()
            wait = max(backoff - elapsed, settled_in)
            if wait > 0:
                self.refresh_queue.add_after(key, wait)
                return _AutoSync()
            heal_count += 1
            # Self-heal syncs only what drifted: a selective sync, so no hooks and no history entry.
            selective = [
                {"group": r.key.group, "kind": r.key.kind, "namespace": r.key.namespace, "name": r.key.name}
                for r in result.resources
                if r.status != "Synced" and not r.hook
            ]
        if prune and not automated.get("allowEmpty") and all(r.requires_pruning for r in result.resources):
            return _AutoSync(error=f"Skipping sync attempt to [{shown}]: auto-sync will wipe out all resources")
        sync: dict[str, Any] = {"prune": prune}
        if multi:
            sync["sources"] = spec["sources"]
            sync["revisions"] = revisions
        else:
            sync["revision"] = render.revision
            sync["source"] = spec.get("source")
        if policy.get("syncOptions"):
            sync["syncOptions"] = list(policy["syncOptions"])
        if selective:
            sync["resources"] = selective
        if heal_count:
            sync["autoHealAttemptsCount"] = heal_count
        # An explicit retry block, even an empty one (limit 0 once omitempty dropped it), replaces the default.
        retry = policy["retry"] if policy.get("retry") is not None else {"limit": AUTO_SYNC_DEFAULT_RETRY.limit}
        return _AutoSync(operation={"sync": sync, "initiatedBy": {"automated": True}, "retry": retry})

    # --- operations ---

    def process_operation(self, namespace: str, name: str) -> float | None:
        """Advance the app's operation by one step; seconds until the next step, or None when done."""
        loaded = self._load(namespace, name)
        if loaded is None:
            return None
        doc = loaded.doc
        operation = doc.get("operation")
        if not operation:
            if (doc.get("metadata") or {}).get("deletionTimestamp"):
                return self.finalize_deletion(loaded)
            return None
        status = doc.get("status") or {}
        state = status.get("operationState")
        now = self.clock()
        if not state or state.get("operation") != operation:
            state = {"operation": operation, "phase": OperationPhase.RUNNING.value, "startedAt": _rfc3339(now)}
            started_event = self._event_row(doc, reason="OperationStarted", message=_start_message(operation))
            if not self._write_state(namespace, name, state, operation=operation, event=started_event):
                return 0.0  # superseded meanwhile: look again
            # The state written is the state this step continues from: no second load.
        phase = state.get("phase")
        if phase in (OperationPhase.SUCCEEDED.value, OperationPhase.FAILED.value, OperationPhase.ERROR.value):
            self._finish(namespace, name, state, operation=operation, history=None)
            return None
        retry = RetryStrategy.from_dict(operation.get("retry"))
        retry_count = int(state.get("retryCount") or 0)
        terminating = phase == OperationPhase.TERMINATING.value
        finished = _parse_time(state.get("finishedAt"))
        if not terminating and retry_count and finished is not None:
            wait = (finished + timedelta(seconds=retry.delay(retry_count)) - now).total_seconds()
            if wait > 0:
                return wait
            state.pop("finishedAt", None)
            state["message"] = f"Retrying operation. Attempt #{retry_count}"
            sync_result = state.get("syncResult") or {}
            sync_result.pop("resources", None)
            if retry.refresh:
                state.pop("syncResult", None)
            elif sync_result:
                state["syncResult"] = sync_result
            self._write_state(namespace, name, state, operation=operation)
            return 0.0

        if not terminating:
            automated = bool((operation.get("initiatedBy") or {}).get("automated"))
            started_at = _parse_time(state.get("startedAt"))
            if not self._windows_allow(doc, loaded.project, manual=not automated, now=now, started_at=started_at):
                # Paused, not failed: the operation resumes when a window allows it.
                if state.get("message") != SYNC_WINDOW_BLOCKED:
                    state["message"] = SYNC_WINDOW_BLOCKED
                    self._write_state(namespace, name, state, operation=operation)
                return self._retry_delay
        sync_op = operation.get("sync") or {}
        sync_result = state.get("syncResult") or {}
        multi = bool((doc.get("spec") or {}).get("sources"))
        pinned = (
            sync_result.get("revisions")
            if multi
            else ([sync_result["revision"]] if sync_result.get("revision") else None)
        )
        requested = sync_op.get("revisions") if multi else ([sync_op["revision"]] if sync_op.get("revision") else None)
        op_doc = dict(doc)
        if not multi and sync_op.get("source"):
            op_doc["spec"] = dict(doc.get("spec") or {}, source=sync_op["source"])
        elif multi and sync_op.get("sources"):
            op_doc["spec"] = dict(doc.get("spec") or {}, sources=sync_op["sources"])
        compared = self.compare(op_doc, loaded.project, refresh=Refresh.NONE, revisions=pinned or requested)
        if compared.result is None or compared.render is None or compared.handle is None:
            outcome = StepOutcome(OperationPhase.ERROR, compared.error, list(sync_result.get("resources") or []))
            return self._complete(namespace, name, state, operation, outcome, retry, compared, doc)
        render = compared.render
        result = compared.result
        started = _parse_time(state.get("startedAt")) or now
        options = SyncOptions.parse(sync_op.get("syncOptions"))
        strategy = sync_op.get("syncStrategy") or {}
        targets = list(result.targets)
        if options.is_true("RespectIgnoreDifferences"):
            targets = _respect_ignore_differences(targets, result, self.diff_options(op_doc))
        if options.is_true("FailOnSharedResource"):
            shared = [c for c in result.conditions if c.type == "SharedResourceWarning"]
            if shared:
                outcome = StepOutcome(OperationPhase.FAILED, f"Shared resource found: {shared[0].message}")
                return self._complete(namespace, name, state, operation, outcome, retry, compared, doc)
        filters = [SyncResourceFilter.from_dict(r) for r in sync_op.get("resources") or []]
        spec = op_doc.get("spec") or {}
        destination_ns = str((spec.get("destination") or {}).get("namespace") or "")
        plan = plan_sync(
            targets=targets,
            live=result.live,
            destination_namespace=destination_ns,
            sync_options=sync_op.get("syncOptions"),
            prune=bool(sync_op.get("prune")),
            dry_run=bool(sync_op.get("dryRun")),
            resources=filters or None,
            skip_hooks="apply" in strategy,
            revision=render.revision,
            started_at=int(started.timestamp()),
            out_of_sync=result.out_of_sync_keys,
            tracking_method=self.tracking_method,
            is_namespaced=compared.handle.namespaced_lookup(),
        )
        approved = _parse_time(((doc.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_DELETION_APPROVED))
        executor = SyncExecutor(
            compared.handle.resources,
            health=self._health,
            wave_delay=self.wave_delay,
            poll_interval=self.poll_interval,
        )
        previous = list(sync_result.get("resources") or [])
        if terminating:
            outcome = executor.terminate(plan, previous=previous)
            return self._complete(namespace, name, state, operation, outcome, retry, compared, doc, terminated=True)
        ctx = StepContext(
            destination_namespace=destination_ns,
            create_namespace=options.is_true("CreateNamespace"),
            managed_namespace_metadata=(spec.get("syncPolicy") or {}).get("managedNamespaceMetadata"),
            force=bool((strategy.get("apply") or {}).get("force") or (strategy.get("hook") or {}).get("force")),
            started_at=started,
            deletion_approved_at=approved,
            client_side_apply_migration_manager=str(
                ((doc.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_CSA_MIGRATION_MANAGER) or ""
            ),
        )
        outcome = executor.step(plan, previous=previous, ctx=ctx)
        if outcome.phase is OperationPhase.RUNNING:
            state["syncResult"] = _sync_result(op_doc, render, outcome.results)
            if outcome.message:
                state["message"] = outcome.message
            self._write_state(namespace, name, state, operation=operation)
            return outcome.requeue_after if outcome.requeue_after is not None else self.poll_interval
        return self._complete(
            namespace, name, state, operation, outcome, retry, compared, doc, history=plan.records_history
        )

    def _health(self, obj: KubeObject) -> tuple[str, str] | None:
        assessed = assess_health(obj, overrides=self.health_overrides)
        return (str(assessed.status), assessed.message) if assessed is not None else None

    def _complete(
        self,
        namespace: str,
        name: str,
        state: dict[str, Any],
        operation: dict[str, Any],
        outcome: StepOutcome,
        retry: RetryStrategy,
        compared: _Compared,
        doc: Mapping[str, Any],
        *,
        history: bool = False,
        terminated: bool = False,
    ) -> float | None:
        now = self.clock()
        if compared.render is not None:
            state["syncResult"] = _sync_result(doc, compared.render, outcome.results)
        elif outcome.results:
            state.setdefault("syncResult", {"revision": "", "source": {"repoURL": ""}})["resources"] = outcome.results
        retry_count = int(state.get("retryCount") or 0)
        if not outcome.phase.successful and not terminated and retry.can_retry(retry_count):
            retry_count += 1
            at = now + timedelta(seconds=retry.delay(retry_count - 1))
            state["phase"] = OperationPhase.RUNNING.value
            state["finishedAt"] = _rfc3339(now)
            state["retryCount"] = retry_count
            state["message"] = f"{outcome.message}. Retrying attempt #{retry_count} at {at.strftime('%-I:%M%p')}."
            self._write_state(namespace, name, state, operation=operation)
            return retry.delay(retry_count)
        state["phase"] = outcome.phase.value
        message = outcome.message
        if retry_count:
            message += f" (retried {retry_count} times)."
        state["message"] = message
        state["finishedAt"] = _rfc3339(now)
        entry = None
        if outcome.phase.successful and history and compared.render is not None:
            entry = _history_entry(doc, state, compared.render, now)
        completed = self._event_row(
            doc,
            reason="OperationCompleted",
            message=_completion_message(operation, state),
            warning=not outcome.phase.successful,
        )
        self._finish(namespace, name, state, operation=operation, history=entry, event=completed)
        self._memo_for((namespace, name)).operation_ended = time.monotonic()
        if not (operation.get("sync") or {}).get("dryRun"):
            # Upstream forces a new resolution here (CompareWithLatestForceResolve) so the UI shows up-to-date
            # sync and health information right after an operation.
            self.request_refresh(namespace, name, level=Refresh.NORMAL)
        return None

    def _write_state(
        self,
        namespace: str,
        name: str,
        state: dict[str, Any],
        *,
        operation: dict[str, Any],
        event: EventRow | None = None,
    ) -> bool:
        """Store ``state`` as the operation state; False when the operation was superseded or the write failed."""
        applied: list[bool] = []

        def mutate(doc: dict[str, Any]) -> dict[str, Any] | None:
            applied.clear()
            if doc.get("operation") != operation:
                return None  # superseded (terminated and replaced, or cleared)
            status = doc.setdefault("status", {})
            current = status.get("operationState") or {}
            new_state = dict(state)
            if current.get("phase") == OperationPhase.TERMINATING.value and new_state.get("phase") == "Running":
                new_state["phase"] = OperationPhase.TERMINATING.value
                self.operation_queue.add((namespace, name))
                applied.append(False)
            else:
                applied.append(True)
            status["operationState"] = new_state
            return doc

        written = self._write(namespace, name, mutate, event=event)
        return written and applied == [True]

    def _finish(
        self,
        namespace: str,
        name: str,
        state: dict[str, Any],
        *,
        operation: dict[str, Any],
        history: dict[str, Any] | None,
        event: EventRow | None = None,
    ) -> None:
        def mutate(doc: dict[str, Any]) -> dict[str, Any] | None:
            if doc.get("operation") != operation:
                return None
            status = doc.setdefault("status", {})
            status["operationState"] = state
            if history is not None:
                entries = list(status.get("history") or [])
                history["id"] = (max(int(e.get("id") or 0) for e in entries) + 1) if entries else 0
                entries.append(history)
                limit = (doc.get("spec") or {}).get("revisionHistoryLimit")
                keep = DEFAULT_HISTORY_LIMIT if limit is None else max(int(limit), 0)
                status["history"] = entries[-keep:] if keep else []
            doc.pop("operation", None)
            return doc

        self._write(namespace, name, mutate, event=event)

    # --- deletion ---

    @property
    def _retry_delay(self) -> float:
        """Seconds before a blocked or failed step is tried again."""
        return min(max(self.poll_interval * 5, 0.5), 10.0)

    def _cluster_registered(self, server: str) -> bool:
        if server.rstrip("/") == KUBERNETES_DEFAULT_SVC:
            return True
        with self.sessions() as session:
            return ClusterStore(read_only(session)).get_by_server(server) is not None

    def finalize_deletion(self, loaded: _Loaded) -> float | None:
        """One step of a cascading deletion; seconds until the next step, or None when there is nothing to do."""
        doc = loaded.doc
        meta = doc.get("metadata") or {}
        namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        finalizers = [str(f) for f in meta.get("finalizers") or []]
        ours = [f for f in finalizers if f in _OUR_FINALIZERS]
        if not finalizers:
            self._remove_app(namespace, name)
            return None
        if not ours:
            return None  # someone else's finalizer; the scan looks again
        try:
            server: str | None = self._server(doc)
        except ArgoError:
            server = None
        if server is None or not self._cluster_registered(server):
            # Nothing can be deleted on a cluster that no longer exists: release the app (upstream does too).
            self._update_finalizers(namespace, name, remove=set(ours))
            return 0.0
        try:
            handle = self.clusters.get(server)
            problem = handle.reachable()
            if problem:
                raise _DeletionError(f"cannot delete the application's resources: cluster {server}: {problem}")
            resources_finalizer = next((f for f in finalizers if f in _PROPAGATION), None)
            if resources_finalizer is not None:
                delay = self._cascade_step(doc, handle, propagation=_PROPAGATION[resources_finalizer])
            elif POST_DELETE_FINALIZER in finalizers:
                delay = self._post_delete_step(doc, handle)
            else:
                errors = cleanup_deletion_hooks(handle.resources, self._post_delete_hooks(doc, handle), succeeded=True)
                if errors:
                    raise _DeletionError("; ".join(errors))
                self._update_finalizers(namespace, name, remove={POST_DELETE_CLEANUP_FINALIZER})
                delay = 0.0
        except ArgoError as exc:
            self._set_deletion_error(namespace, name, f"cannot finalize the application deletion: {exc.message}")
            return self._retry_delay
        except _DeletionError as exc:
            self._set_deletion_error(namespace, name, exc.message)
            return self._retry_delay
        self._set_deletion_error(namespace, name, None)
        return delay

    def _cascade_step(self, doc: Mapping[str, Any], handle: ClusterHandle, *, propagation: str) -> float:
        meta = doc.get("metadata") or {}
        namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        by_label = self.tracking_method is TrackingMethod.LABEL
        live = [
            obj
            for obj in handle.cache.objects_for_app(self._instance(doc), by_label=by_label, by_annotation=not by_label)
            if is_self_referenced(obj, method=self.tracking_method)
        ]
        if any((obj.get("metadata") or {}).get("deletionTimestamp") for obj in live):
            return self.poll_interval  # the previous wave is still terminating
        options = ((doc.get("spec") or {}).get("syncPolicy") or {}).get("syncOptions")
        waves = plan_cascade_deletion(live, sync_options=options)
        if waves:
            wave = waves[0]
            errors = delete_objects(handle.resources, wave, propagation=propagation)
            deleted = [o for o in wave if not any(_label_of(o) in e for e in errors)]
            if deleted:
                self.record_event(
                    doc,
                    reason="ResourceDeleted",
                    message=f"Deleted resources ({propagation}): {', '.join(_label_of(o) for o in deleted)}",
                )
            if errors:
                raise _DeletionError("; ".join(errors))
            return self.poll_interval
        hooks = self._post_delete_hooks(doc, handle)
        self._update_finalizers(
            namespace, name, remove=set(_PROPAGATION), add={POST_DELETE_FINALIZER} if hooks else set()
        )
        return 0.0

    def _post_delete_hooks(self, doc: Mapping[str, Any], handle: ClusterHandle) -> list[KubeObject]:
        """The app's PostDelete hooks as they are created: rendered at the target revision, tracked, named."""
        render = self.render(doc)
        hooks = [obj for obj in render.objects if HookType.POST_DELETE in hook_types(obj)]
        if not hooks:
            return []
        spec = doc.get("spec") or {}
        prepared = prepare_targets(
            hooks,
            instance=self._instance(doc),
            destination_namespace=str((spec.get("destination") or {}).get("namespace") or ""),
            tracking_method=self.tracking_method,
            label_key=self.config.app_label_key,
            is_namespaced=handle.namespaced_lookup(),
        )
        deleted_at = _parse_time((doc.get("metadata") or {}).get("deletionTimestamp")) or self.clock()
        for hook in prepared:
            metadata = hook.setdefault("metadata", {})
            if not metadata.get("name") and metadata.get("generateName"):
                # Named from the deletion time, so every step of this deletion finds the same object.
                metadata["name"] = generated_hook_name(
                    generate_name=str(metadata["generateName"]),
                    revision=render.revision,
                    phase=SyncPhase.POST_DELETE,
                    started_at=int(deleted_at.timestamp()),
                )
        return prepared

    def _post_delete_step(self, doc: Mapping[str, Any], handle: ClusterHandle) -> float:
        meta = doc.get("metadata") or {}
        hooks = self._post_delete_hooks(doc, handle)
        outcome = run_deletion_hooks(
            handle.resources,
            hooks,
            live=lambda hook: handle.cache.get(ObjectKey.of(hook)),
            health=self._health,
        )
        if outcome.phase is OperationPhase.RUNNING:
            return self.poll_interval
        if outcome.phase is OperationPhase.FAILED:
            raise _DeletionError(outcome.message)
        self.record_event(doc, reason="ResourceDeleted", message="Post-delete hooks completed")
        self._update_finalizers(
            str(meta.get("namespace") or ""),
            str(meta.get("name") or ""),
            remove={POST_DELETE_FINALIZER},
            add={POST_DELETE_CLEANUP_FINALIZER},
        )
        return 0.0

    def _update_finalizers(
        self, namespace: str, name: str, *, remove: set[str], add: set[str] | frozenset[str] = frozenset()
    ) -> None:
        def mutate(doc: dict[str, Any]) -> dict[str, Any] | None:
            meta = doc.setdefault("metadata", {})
            current = [str(f) for f in meta.get("finalizers") or []]
            updated = [f for f in current if f not in remove]
            updated += sorted(f for f in add if f not in updated)
            if updated == current:
                return None
            if updated:
                meta["finalizers"] = updated
            else:
                meta.pop("finalizers", None)
            return doc

        self._write(namespace, name, mutate)
        loaded = self._load(namespace, name)
        if loaded is not None and not (loaded.doc.get("metadata") or {}).get("finalizers"):
            self._remove_app(namespace, name)

    def _remove_app(self, namespace: str, name: str) -> None:
        """Delete the row of a deleting app that has no finalizer left (what the API server's GC would do)."""
        for _ in range(_MAX_CONFLICTS):
            with self.sessions() as session:
                store = ApplicationStore(for_writing(session))
                row = store.get(namespace, name)
                if row is None:
                    return
                doc = orjson.loads(row.doc)
                meta = doc.get("metadata") or {}
                if not meta.get("deletionTimestamp") or meta.get("finalizers"):
                    return
                if store.delete(row.id, expected_version=row.resource_version):
                    session.commit()
                    log.info("application %s/%s deleted", namespace, name)
                    self.record_event(doc, reason="ResourceDeleted", message="Application deleted")
                    return
                session.rollback()
        log.warning("giving up deleting %s/%s after %d conflicts", namespace, name, _MAX_CONFLICTS)

    def _set_deletion_error(self, namespace: str, name: str, message: str | None) -> None:
        stamp = _rfc3339(self.clock())

        def mutate(doc: dict[str, Any]) -> dict[str, Any] | None:
            status = doc.setdefault("status", {})
            current = list(status.get("conditions") or [])
            old = next((c for c in current if c.get("type") == "DeletionError"), None)
            if message is None and old is None:
                return None
            if old is not None and message is not None and old.get("message") == message:
                return None
            conditions = [c for c in current if c.get("type") != "DeletionError"]
            if message is not None:
                log.warning("deleting %s/%s: %s", namespace, name, message)
                conditions.append({"type": "DeletionError", "message": message, "lastTransitionTime": stamp})
            if conditions:
                status["conditions"] = conditions
            else:
                status.pop("conditions", None)
            return doc

        self._write(namespace, name, mutate)

    # --- read models for the API ---

    def managed_resources(self, doc: Mapping[str, Any], project: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        """``ResourceDiff`` items of the app compared at its last compared revision(s)."""
        status = doc.get("status") or {}
        sync = status.get("sync") or {}
        revisions = sync.get("revisions") or ([sync["revision"]] if sync.get("revision") else None)
        compared = self.compare(doc, project, revisions=revisions)
        if compared.result is None:
            return []
        items: list[dict[str, Any]] = []
        for resource in compared.result.resources:
            item: dict[str, Any] = {
                "group": resource.key.group,
                "kind": resource.key.kind,
                "namespace": resource.key.namespace,
                "name": resource.key.name,
                "targetState": resource.diff.target,
                "liveState": resource.diff.normalized_live,
                "normalizedLiveState": resource.diff.normalized_live,
                "predictedLiveState": resource.diff.predicted_live,
                "hook": resource.hook,
                "modified": resource.diff.modified,
                "resourceVersion": str(((resource.live or {}).get("metadata") or {}).get("resourceVersion") or ""),
            }
            items.append({k: v for k, v in item.items() if v not in ("", False)})
        return items

    def resource_tree(self, doc: Mapping[str, Any], project: Mapping[str, Any] | None) -> dict[str, Any]:
        """``ApplicationTree``: managed objects from the cache and their descendants by owner references."""
        try:
            handle = self.clusters.get(self._server(doc))
        except ArgoError:
            return {}
        status = doc.get("status") or {}
        instance = self._instance(doc)
        nodes: dict[str, dict[str, Any]] = {}
        managed: list[KubeObject] = []
        for resource in status.get("resources") or []:
            key = ObjectKey(
                str(resource.get("group") or ""),
                str(resource.get("kind") or ""),
                str(resource.get("namespace") or ""),
                str(resource.get("name") or ""),
            )
            live = handle.cache.get(key)
            if live is None:
                node = {
                    k: v
                    for k, v in {
                        "group": key.group,
                        "version": resource.get("version") or "",
                        "kind": key.kind,
                        "namespace": key.namespace,
                        "name": key.name,
                    }.items()
                    if v
                }
                node["health"] = {"status": "Missing"}
                nodes[f"{key}"] = node
            else:
                managed.append(live)
        for obj in handle.cache.objects_for_app(instance):
            if obj not in managed and not (obj.get("metadata") or {}).get("ownerReferences"):
                managed.append(obj)
        stack = list(managed)
        seen: set[str] = set()
        while stack:
            obj = stack.pop()
            uid = str((obj.get("metadata") or {}).get("uid") or "")
            if not uid or uid in seen:
                continue
            seen.add(uid)
            nodes[uid] = self._node(obj, handle)
            stack.extend(handle.cache.children(uid))
        tree: dict[str, Any] = {"nodes": sorted(nodes.values(), key=_node_sort_key)}
        orphaned = ((project or {}).get("spec") or {}).get("orphanedResources")
        destination_ns = str(((doc.get("spec") or {}).get("destination") or {}).get("namespace") or "")
        if orphaned is not None and destination_ns:
            orphans = []
            for obj in handle.cache.objects(namespace=destination_ns):
                metadata = obj.get("metadata") or {}
                if metadata.get("ownerReferences") or str(metadata.get("uid") or "") in seen:
                    continue
                if ((metadata.get("annotations") or {}).get("argocd.argoproj.io/tracking-id")) is not None:
                    continue
                key = ObjectKey.of(obj)
                if (key.group, key.kind, key.name) in (
                    ("", "ServiceAccount", "default"),
                    ("", "ConfigMap", "kube-root-ca.crt"),
                ):
                    continue
                orphans.append(self._node(obj, handle))
            if orphans:
                tree["orphanedNodes"] = sorted(orphans, key=_node_sort_key)
        return tree

    def _node(self, obj: KubeObject, handle: ClusterHandle) -> dict[str, Any]:
        metadata = obj.get("metadata") or {}
        group, version = parse_api_version(str(obj.get("apiVersion") or ""))
        kind = str(obj.get("kind") or "")
        namespace = str(metadata.get("namespace") or "")
        node: dict[str, Any] = {
            k: v
            for k, v in {
                "group": group,
                "version": version,
                "kind": kind,
                "namespace": namespace,
                "name": str(metadata.get("name") or ""),
                "uid": str(metadata.get("uid") or ""),
                "resourceVersion": str(metadata.get("resourceVersion") or ""),
                "createdAt": metadata.get("creationTimestamp"),
            }.items()
            if v
        }
        parents = []
        for ref in metadata.get("ownerReferences") or []:
            ref_group, ref_version = parse_api_version(str(ref.get("apiVersion") or ""))
            parent_ns = (
                namespace
                if handle.cache.get(
                    ObjectKey(ref_group, str(ref.get("kind") or ""), namespace, str(ref.get("name") or ""))
                )
                else ""
            )
            parents.append(
                {
                    k: v
                    for k, v in {
                        "group": ref_group,
                        "version": ref_version,
                        "kind": ref.get("kind"),
                        "namespace": parent_ns,
                        "name": ref.get("name"),
                        "uid": ref.get("uid"),
                    }.items()
                    if v
                }
            )
        if parents:
            node["parentRefs"] = parents
        images = images_of(obj)
        if images:
            node["images"] = images
        health = assess_health(obj, overrides=self.health_overrides)
        if health is not None:
            node["health"] = {"status": str(health.status), **({"message": health.message} if health.message else {})}
        info = _node_info(obj)
        if info:
            node["info"] = info
        networking = _networking_info(obj)
        if networking:
            node["networkingInfo"] = networking
        return node


# --- helpers ------------------------------------------------------------------------------------------------------


def _label_of(obj: Mapping[str, Any]) -> str:
    key = ResourceKey.from_object(obj)
    return f"{key.kind}/{key.namespace}/{key.name}" if key.namespace else f"{key.kind}/{key.name}"


def _already_attempted(
    last: Mapping[str, Any], spec: Mapping[str, Any], revisions: list[str], *, multi: bool
) -> tuple[bool, bool]:
    """(the last operation targeted these revisions and this source spec, it succeeded)."""
    if not last:
        return False, False
    phase = str(last.get("phase") or "")
    succeeded = phase == OperationPhase.SUCCEEDED.value
    sync_result = last.get("syncResult")
    if not sync_result:
        # An operation that completed without any result still counts as an attempt, as upstream has it.
        return phase in (OperationPhase.SUCCEEDED.value, OperationPhase.FAILED.value, OperationPhase.ERROR.value), (
            succeeded
        )
    if multi:
        same = list(sync_result.get("revisions") or []) == revisions and sync_result.get("sources") == spec.get(
            "sources"
        )
    else:
        same = [sync_result.get("revision")] == revisions and sync_result.get("source") == spec.get("source")
    return same, succeeded


def _operation_revision(operation: Mapping[str, Any]) -> str:
    sync = operation.get("sync") or {}
    return str(sync.get("revision") or ", ".join(sync.get("revisions") or []))


def _start_message(operation: Mapping[str, Any]) -> str:
    initiated = operation.get("initiatedBy") or {}
    revision = _operation_revision(operation)
    if initiated.get("automated"):
        return f"Initiated automated sync to '{revision}'"
    who = str(initiated.get("username") or "unknown user")
    return f"{who} initiated sync to '{revision}'" if revision else f"{who} initiated sync"


def _completion_message(operation: Mapping[str, Any], state: Mapping[str, Any]) -> str:
    sync = operation.get("sync") or {}
    words = ["Partial sync operation" if sync.get("resources") else "Sync operation"]
    result = state.get("syncResult") or {}
    revision = str(result.get("revision") or ", ".join(result.get("revisions") or []))
    if revision:
        words += ["to", revision]
    if state.get("phase") == OperationPhase.SUCCEEDED.value:
        words.append("succeeded")
    else:
        words += ["failed:", str(state.get("message") or "")]
    return " ".join(words)


def _row_columns(doc: Mapping[str, Any]) -> dict[str, Any]:
    status = doc.get("status") or {}
    return {
        "sync_status": (status.get("sync") or {}).get("status", "") or "",
        "health_status": (status.get("health") or {}).get("status", "") or "",
        "operation_pending": bool(doc.get("operation")),
        "deleting": bool((doc.get("metadata") or {}).get("deletionTimestamp")),
    }


def _comparison_basis(doc: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a comparison of ``doc`` depends on besides Git, the project and the cluster: the spec (its
    generation), the annotations and whether it is being deleted."""
    meta = doc.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    return (meta.get("generation"), tuple(sorted(annotations.items())), bool(meta.get("deletionTimestamp")))


def _compared_to(doc: Mapping[str, Any]) -> dict[str, Any]:
    spec = doc.get("spec") or {}
    out: dict[str, Any] = {
        "source": spec.get("source") or {"repoURL": ""},
        "destination": spec.get("destination") or {},
    }
    if spec.get("sources"):
        out["sources"] = spec["sources"]
    if spec.get("ignoreDifferences"):
        out["ignoreDifferences"] = spec["ignoreDifferences"]
    return out


def _sync_result(doc: Mapping[str, Any], render: RenderResult, results: list[dict[str, Any]]) -> dict[str, Any]:
    spec = doc.get("spec") or {}
    out: dict[str, Any] = {}
    if results:
        out["resources"] = results
    if spec.get("sources"):
        out["revision"] = ""
        out["source"] = {"repoURL": ""}
        out["sources"] = spec["sources"]
        out["revisions"] = render.revisions
    else:
        out["revision"] = render.revision
        out["source"] = spec.get("source") or {"repoURL": ""}
    return out


def _history_entry(
    doc: Mapping[str, Any], state: Mapping[str, Any], render: RenderResult, now: datetime
) -> dict[str, Any]:
    spec = doc.get("spec") or {}
    initiated = dict((state.get("operation") or {}).get("initiatedBy") or {})
    entry: dict[str, Any] = {
        "deployedAt": _rfc3339(now),
        "id": 0,
        "deployStartedAt": state.get("startedAt"),
        "initiatedBy": initiated,
    }
    if spec.get("sources"):
        entry["source"] = {"repoURL": ""}
        entry["sources"] = spec["sources"]
        entry["revisions"] = render.revisions
    else:
        entry["revision"] = render.revision
        entry["source"] = spec.get("source") or {"repoURL": ""}
    return entry


def _respect_ignore_differences(
    targets: list[KubeObject], result: CompareResult, options: DiffOptions
) -> list[KubeObject]:
    """``RespectIgnoreDifferences=true``: ignored fields keep their live values (JSON pointers; never status)."""
    live = {r.key: r.live for r in result.resources if r.live is not None}
    out: list[KubeObject] = []
    for target in targets:
        key = ResourceKey.from_object(target)
        current = live.get(key)
        rules = [rule for rule in options.ignore_differences if rule.matches(key)]
        if current is None or not rules:
            out.append(target)
            continue
        patched = orjson.loads(orjson.dumps(target))
        for rule in rules:
            for pointer in rule.json_pointers:
                if pointer.startswith("/status"):
                    continue
                parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
                value: Any = current
                for part in parts:
                    value = value.get(part) if isinstance(value, dict) else None
                node: Any = patched
                for part in parts[:-1]:
                    if not isinstance(node, dict):
                        break
                    node = node.setdefault(part, {})
                if isinstance(node, dict) and parts:
                    if value is None:
                        node.pop(parts[-1], None)
                    else:
                        node[parts[-1]] = value
        out.append(patched)
    return out


def _node_sort_key(node: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (
        str(node.get("group") or ""),
        str(node.get("kind") or ""),
        str(node.get("namespace") or ""),
        str(node.get("name") or ""),
    )


def _node_info(obj: KubeObject) -> list[dict[str, str]]:
    info: list[dict[str, str]] = []
    metadata = obj.get("metadata") or {}
    revision = (metadata.get("annotations") or {}).get("deployment.kubernetes.io/revision")
    if revision:
        info.append({"name": "Revision", "value": f"Rev:{revision}"})
    if obj.get("kind") == "Pod":
        status = obj.get("status") or {}
        spec = obj.get("spec") or {}
        reason = str(status.get("reason") or status.get("phase") or "")
        containers = spec.get("containers") or []
        ready = 0
        restarts = 0
        for container_status in status.get("containerStatuses") or []:
            if container_status.get("ready"):
                ready += 1
            restarts += int(container_status.get("restartCount") or 0)
            waiting = (container_status.get("state") or {}).get("waiting") or {}
            terminated = (container_status.get("state") or {}).get("terminated") or {}
            if waiting.get("reason"):
                reason = str(waiting["reason"])
            elif terminated.get("reason"):
                reason = str(terminated["reason"])
        if metadata.get("deletionTimestamp"):
            reason = "Terminating"
        if reason:
            info.append({"name": "Status Reason", "value": reason})
        if spec.get("nodeName"):
            info.append({"name": "Node", "value": str(spec["nodeName"])})
        info.append({"name": "Containers", "value": f"{ready}/{len(containers)}"})
        if restarts:
            info.append({"name": "Restart Count", "value": str(restarts)})
    return info


def _networking_info(obj: KubeObject) -> dict[str, Any]:
    kind = obj.get("kind")
    group, _ = parse_api_version(str(obj.get("apiVersion") or ""))
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    ingress = ((status.get("loadBalancer") or {}).get("ingress")) or []
    out: dict[str, Any] = {}
    if (group, kind) == ("", "Service"):
        if spec.get("selector"):
            out["targetLabels"] = dict(spec["selector"])
        if ingress:
            out["ingress"] = ingress
    elif kind == "Ingress":
        namespace = str((obj.get("metadata") or {}).get("namespace") or "")
        refs: list[dict[str, Any]] = []
        backends = [spec.get("defaultBackend") or spec.get("backend")]
        for rule in spec.get("rules") or []:
            backends.extend(p.get("backend") for p in ((rule.get("http") or {}).get("paths") or []))
        for backend in backends:
            if not isinstance(backend, dict):
                continue
            service = (backend.get("service") or {}).get("name") or backend.get("serviceName")
            if service:
                ref = {"kind": "Service", "namespace": namespace, "name": str(service)}
                if ref not in refs:
                    refs.append(ref)
        if refs:
            out["targetRefs"] = refs
        if ingress:
            out["ingress"] = ingress
        urls = external_urls_of(obj)
        if urls:
            out["externalURLs"] = urls
    elif (group, kind) == ("", "Pod"):
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if labels:
            out["labels"] = dict(labels)
    return out
