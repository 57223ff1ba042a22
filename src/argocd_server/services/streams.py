"""Watch streams: an in-process broadcaster fed by polling the database, and the per-client views on top of it.

Upstream's API server learns about changes from Kubernetes informers. Here the database is the source of truth and
several writers touch it (API requests, the controller, other replicas), so one background thread per process polls
it instead of hooking the writers: every ``poll_seconds`` it reads ``(id, namespace, name, resource_version)`` of
all applications and application sets (a narrow query), loads documents only for the rows whose version or id
changed, and publishes ``ADDED`` / ``MODIFIED`` / ``DELETED`` events. Writes that land between two scans of the same
object are coalesced into one event, which Kubernetes watch clients tolerate (they only rely on seeing the latest
state). A deleted and re-created object with the same name is told apart by its row id and reported as ``DELETED``
then ``ADDED``.

Consumers are the ``async def`` stream endpoints. Each gets a bounded ``Subscription``: the producer thread appends
shared event objects and never blocks; a subscriber whose queue is full is dropped (its stream ends). Filtering,
RBAC and encoding for one subscriber (``*View.render``) run in a worker thread, never on the event loop, because
RBAC may read projects from the database.

Resource trees are computed by a second worker thread from the controller's tree function for every application
someone watches, whenever the application changes and at least every ``tree_seconds`` (live objects change without
the application changing); a tree is published only when it differs from the previous one.

Stream semantics follow upstream ``server/application/application.go`` (Watch, WatchResourceTree) and
``server/applicationset/applicationset.go`` (Watch): initial ``ADDED`` snapshot rules, per-event filters, and the
gateway's per-name de-duplication and ``fields`` path filter.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio
import orjson
from sqlalchemy.orm import Session, sessionmaker

from argocd_server.auth.rbac import glob_match
from argocd_server.auth.rbac_validation import app_rbac_name
from argocd_server.db.stores.applications import ApplicationStore
from argocd_server.db.stores.applicationsets import ApplicationSetStore
from argocd_server.db.stores.projects import ProjectStore
from argocd_server.engine.controller import ApplicationController
from argocd_server.errors import ArgoError, InvalidArgument
from argocd_server.labels import Selector, parse_selector
from argocd_server.services.access import Access
from argocd_server.services.app_operations import ApplicationOperationsService

__all__ = [
    "AppSetWatchView",
    "AppWatchView",
    "OpenStream",
    "Record",
    "StreamHub",
    "Subscription",
    "TreeView",
    "WatchEvent",
    "WatchService",
    "filter_fields",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
Key = tuple[str, str]
"""(namespace, name)."""

RENDER_THREADS = 4
LOAD_CHUNK = 500
"""Ids per ``IN (...)`` query; SQLite caps bound parameters."""


# --- records and events ---------------------------------------------------------------------------------------------


class Record:
    """One stored object as the broadcaster last saw it; the parsed document is built once, on first need."""

    __slots__ = ("_parsed", "doc", "id", "labels", "name", "namespace", "project", "resource_version")

    def __init__(
        self,
        *,
        row_id: int,
        namespace: str,
        name: str,
        project: str,
        labels: Mapping[str, str],
        resource_version: int,
        doc: bytes,
    ) -> None:
        self.id = row_id
        self.namespace = namespace
        self.name = name
        self.project = project
        self.labels = labels
        self.resource_version = resource_version
        self.doc = doc
        self._parsed: dict[str, Any] | None = None

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)

    def parsed(self) -> dict[str, Any]:
        # Benign race: two threads may parse at once; both results are equal and one wins.
        if self._parsed is None:
            self._parsed = orjson.loads(self.doc)
        return self._parsed


class WatchEvent:
    """A change published to every subscriber of a feed; its unfiltered encoding is built once and shared."""

    __slots__ = ("_message", "record", "type")

    def __init__(self, event_type: str, record: Record) -> None:
        self.type = event_type
        self.record = record
        self._message: tuple[bytes, bytes] | None = None

    def message(self, member: bytes) -> tuple[bytes, bytes]:
        """``{"result":{"type":..,"<member>":<doc>}}`` and its digest (for de-duplication)."""
        if self._message is None:
            body = b'{"result":{"type":"' + self.type.encode() + b'","' + member + b'":' + self.record.doc + b"}}"
            self._message = (body, _digest(body))
        return self._message


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


# --- subscriptions --------------------------------------------------------------------------------------------------


class Subscription(Generic[T]):
    """A bounded hand-off from a producer thread to one consumer on an event loop.

    ``offer`` never blocks: when the queue is full the subscription is dropped, the consumer's ``next_batch``
    answers None and ``on_drop`` (set by the consumer, e.g. to cancel a send stuck on a client that stopped
    reading) runs on the consumer's loop.
    """

    def __init__(self, *, loop: asyncio.AbstractEventLoop, maxsize: int, on_close: Callable[[Subscription[T]], None]):
        self._loop = loop
        self._maxsize = maxsize
        self._on_close = on_close
        self._items: deque[T] = deque()
        self._lock = threading.Lock()
        self._wakeup = asyncio.Event()
        self._wake_pending = False
        self.closed = False
        self.dropped = False
        self.on_drop: Callable[[], None] | None = None

    def offer(self, items: Iterable[T]) -> bool:
        """Queue items (producer side); False once the subscription is closed or was dropped just now."""
        with self._lock:
            if self.closed:
                return False
            for item in items:
                if len(self._items) >= self._maxsize:
                    self.closed = True
                    self.dropped = True
                    self._items.clear()
                    break
                self._items.append(item)
            if self._wake_pending and not self.dropped:
                return True
            self._wake_pending = True
            dropped = self.dropped
        self._notify(dropped=dropped)
        return not dropped

    def _notify(self, *, dropped: bool) -> None:
        def wake() -> None:
            self._wakeup.set()
            if dropped and self.on_drop is not None:
                self.on_drop()

        try:
            self._loop.call_soon_threadsafe(wake)
        except RuntimeError:
            # The loop is gone (server shut down): nobody is left to read.
            with self._lock:
                self.closed = True

    async def next_batch(self) -> list[T] | None:
        """Everything queued since the last call, waiting until there is something; None once closed."""
        while True:
            # Clear before looking so that a wake-up scheduled after the check is never lost.
            self._wakeup.clear()
            with self._lock:
                if self.closed:
                    return None
                if self._items:
                    batch = list(self._items)
                    self._items.clear()
                    self._wake_pending = False
                    return batch
                self._wake_pending = False
            await self._wakeup.wait()

    def end(self) -> None:
        """Close from the producer side (shutdown): the consumer sees None."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
        self._notify(dropped=False)

    def close(self) -> None:
        """Close from the consumer side (the client went away): unsubscribe."""
        with self._lock:
            self.closed = True
            self._items.clear()
        self._on_close(self)


# --- feeds ----------------------------------------------------------------------------------------------------------

VersionRow = tuple[int, str, str, int]
DocRow = tuple[int, str, str, str, Mapping[str, str], int, str]


class TableFeed:
    """The latest document of every row of one table, and the subscribers to its changes."""

    def __init__(
        self,
        *,
        scan: Callable[[Session], Sequence[Any]],
        load: Callable[[Session, Sequence[int]], Sequence[Any]],
        queue_size: int,
    ) -> None:
        self._scan = scan
        self._load = load
        self.queue_size = queue_size
        self._records: dict[Key, Record] = {}
        self._subscribers: set[Subscription[WatchEvent]] = set()
        self._lock = threading.Lock()
        self.on_events: Callable[[Sequence[WatchEvent]], None] | None = None

    def get(self, key: Key) -> Record | None:
        return self._records.get(key)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def _read(self, session: Session) -> tuple[dict[Key, tuple[int, int]], list[Record]]:
        current: dict[Key, tuple[int, int]] = {(ns, name): (row_id, rv) for row_id, ns, name, rv in self._scan(session)}
        known = self._records
        changed = [
            row_id
            for key, (row_id, rv) in current.items()
            if (old := known.get(key)) is None or old.id != row_id or old.resource_version != rv
        ]
        loaded: list[Record] = []
        for start in range(0, len(changed), LOAD_CHUNK):
            for row_id, ns, name, project, labels, rv, doc in self._load(session, changed[start : start + LOAD_CHUNK]):
                loaded.append(
                    Record(
                        row_id=row_id,
                        namespace=ns,
                        name=name,
                        project=project,
                        labels=labels or {},
                        resource_version=rv,
                        doc=doc.encode(),
                    )
                )
        # End the read transaction at once: on SQLite an open snapshot would hold back WAL checkpoints.
        session.rollback()
        loaded.sort(key=lambda r: r.id)
        return current, loaded

    def prime(self, session: Session) -> None:
        """Load every row without publishing anything (before the first subscriber can exist)."""
        _, loaded = self._read(session)
        with self._lock:
            self._records = {r.key: r for r in loaded}

    def poll(self, session: Session) -> int:
        """One scan: apply the differences and publish them; the number of events."""
        current, loaded = self._read(session)
        events: list[WatchEvent] = []
        records = dict(self._records)
        for key, record in self._records.items():
            if key not in current:
                events.append(WatchEvent("DELETED", record))
                del records[key]
        for record in loaded:
            old = records.get(record.key)
            if old is None:
                events.append(WatchEvent("ADDED", record))
            elif old.id != record.id:
                events.append(WatchEvent("DELETED", old))
                events.append(WatchEvent("ADDED", record))
            else:
                events.append(WatchEvent("MODIFIED", record))
            records[record.key] = record
        if not events:
            return 0
        with self._lock:
            self._records = records
            dropped = [sub for sub in self._subscribers if not sub.offer(events)]
            for sub in dropped:
                self._subscribers.discard(sub)
        for sub in dropped:
            if sub.dropped:
                log.info("watch subscriber dropped: its queue of %d events was full", self.queue_size)
        if self.on_events is not None:
            self.on_events(events)
        return len(events)

    def subscribe(self, loop: asyncio.AbstractEventLoop) -> tuple[list[Record], Subscription[WatchEvent]]:
        """The current records and a subscription to every later change, taken atomically."""
        sub: Subscription[WatchEvent] = Subscription(loop=loop, maxsize=self.queue_size, on_close=self._unsubscribe)
        with self._lock:
            self._subscribers.add(sub)
            return list(self._records.values()), sub

    def _unsubscribe(self, sub: Subscription[WatchEvent]) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    def end_all(self) -> None:
        with self._lock:
            subs = list(self._subscribers)
            self._subscribers.clear()
        for sub in subs:
            sub.end()


@dataclass
class _TreeGroup:
    subscribers: set[Subscription[bytes]]
    last: bytes


class TreeFeed:
    """Resource trees of the watched applications, recomputed on change and on a timer, published when different."""

    def __init__(self, *, compute: Callable[[Key], dict[str, Any] | None], interval: float, queue_size: int) -> None:
        self._compute = compute
        self._interval = interval
        self.queue_size = queue_size
        self._groups: dict[Key, _TreeGroup] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._dirty: set[Key] = set()

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return sum(len(g.subscribers) for g in self._groups.values())

    def subscribe(self, key: Key, *, baseline: bytes, loop: asyncio.AbstractEventLoop) -> Subscription[bytes]:
        def unsubscribe(sub: Subscription[bytes]) -> None:
            with self._lock:
                group = self._groups.get(key)
                if group is not None:
                    group.subscribers.discard(sub)
                    if not group.subscribers:
                        del self._groups[key]

        sub: Subscription[bytes] = Subscription(loop=loop, maxsize=self.queue_size, on_close=unsubscribe)
        with self._lock:
            group = self._groups.setdefault(key, _TreeGroup(subscribers=set(), last=baseline))
            group.subscribers.add(sub)
        return sub

    def wake(self) -> None:
        self._wake.set()

    def app_events(self, events: Sequence[WatchEvent]) -> None:
        """Called by the application feed: recompute the trees of changed watched apps without waiting."""
        with self._lock:
            touched = {e.record.key for e in events} & self._groups.keys()
            self._dirty |= touched
        if touched:
            self._wake.set()

    def run(self, stop: threading.Event) -> None:
        next_full = time.monotonic()
        while not stop.is_set():
            self._wake.wait(timeout=max(0.0, next_full - time.monotonic()))
            self._wake.clear()
            if stop.is_set():
                return
            now = time.monotonic()
            with self._lock:
                if now >= next_full:
                    keys = list(self._groups)
                    next_full = now + self._interval
                else:
                    keys = [k for k in self._dirty if k in self._groups]
                self._dirty.clear()
            for key in keys:
                try:
                    self._refresh(key)
                except Exception:
                    log.exception("computing the resource tree of %s/%s failed", *key)

    def _refresh(self, key: Key) -> None:
        tree = self._compute(key)
        if tree is None:
            return
        encoded = orjson.dumps(tree)
        with self._lock:
            group = self._groups.get(key)
            if group is None or group.last == encoded:
                return
            group.last = encoded
            message = b'{"result":' + encoded + b"}"
            dropped = [sub for sub in group.subscribers if not sub.offer((message,))]
            for sub in dropped:
                group.subscribers.discard(sub)
            if not group.subscribers:
                del self._groups[key]

    def end_all(self) -> None:
        with self._lock:
            subs = [s for g in self._groups.values() for s in g.subscribers]
            self._groups.clear()
        for sub in subs:
            sub.end()


class StreamHub:
    """The process-wide broadcaster: started and stopped by the lifespan, read by the stream endpoints."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        controller: ApplicationController | None,
        namespace: str,
        poll_seconds: float = 0.5,
        tree_seconds: float = 1.5,
        queue_size: int = 4096,
        keepalive_seconds: float = 15.0,
    ) -> None:
        self.sessions = sessions
        self.controller = controller
        self.namespace = namespace
        self.poll_seconds = poll_seconds
        self.keepalive_seconds = keepalive_seconds
        """SSE keep-alive comment interval (upstream: 15 s)."""
        self.apps = TableFeed(
            scan=lambda s: ApplicationStore(s).versions(),
            load=lambda s, ids: ApplicationStore(s).docs_for(ids),
            queue_size=queue_size,
        )
        self.appsets = TableFeed(
            scan=lambda s: ApplicationSetStore(s).versions(),
            load=lambda s, ids: ApplicationSetStore(s).docs_for(ids),
            queue_size=queue_size,
        )
        self.trees = TreeFeed(compute=self._compute_tree, interval=tree_seconds, queue_size=queue_size)
        self.apps.on_events = self.trees.app_events
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._limiter: anyio.CapacityLimiter | None = None
        self._poll_lock = threading.Lock()
        self._stale = False

    def render_limiter(self) -> anyio.CapacityLimiter:
        """Worker threads shared by all streams for filtering and encoding (call on the event loop).

        Apart from the request pool, so that many busy watchers never starve ordinary requests."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(RENDER_THREADS)
        return self._limiter

    def _compute_tree(self, key: Key) -> dict[str, Any] | None:
        record = self.apps.get(key)
        if record is None or self.controller is None:
            return None
        doc = record.parsed()
        project_name = str((doc.get("spec") or {}).get("project") or "default")
        with self.sessions() as session:
            row = ProjectStore(session).get(self.namespace, project_name)
            project = orjson.loads(row.doc) if row is not None else None
            session.rollback()
        return self.controller.resource_tree(doc, project)

    def poll_once(self) -> int:
        with self._poll_lock, self.sessions() as session:
            self._stale = False
            return self.apps.poll(session) + self.appsets.poll(session)

    def _idle(self) -> bool:
        return not (self.apps.subscriber_count or self.appsets.subscriber_count or self.trees.subscriber_count)

    def ensure_current(self) -> None:
        """Bring the mirror up to date if polling paused for want of watchers (before a new watch opens)."""
        if self._stale:
            self.poll_once()

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            if self._idle():
                # Nobody watches: scanning every app twice a second would only cost CPU (a 10,000-app scan is
                # tens of milliseconds). The next watch to open catches up first (``ensure_current``).
                self._stale = True
                continue
            try:
                self.poll_once()
            except Exception:
                # A database hiccup must not end every watch in the process: try again on the next tick.
                log.exception("polling for watch events failed")

    def start(self) -> None:
        """Load the current state (no events for it), then poll in the background."""
        with self.sessions() as session:
            self.apps.prime(session)
            self.appsets.prime(session)
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._poll_loop, name="watch-poller", daemon=True),
            threading.Thread(target=self.trees.run, args=(self._stop,), name="watch-trees", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.trees.wake()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads = []
        self.apps.end_all()
        self.appsets.end_all()
        self.trees.end_all()


# --- the fields filter ----------------------------------------------------------------------------------------------


def _trie(paths: Iterable[str]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path in paths:
        node = root
        parts = [p for p in path.split(".") if p]
        for i, part in enumerate(parts):
            if i == len(parts) - 1:
                node[part] = None  # a listed path keeps its whole subtree
            else:
                child = node.get(part, {})
                if child is None:
                    break  # a shorter listed path already keeps all of this
                node = node.setdefault(part, child)
    return root


def _keep(value: Any, trie: dict[str, Any] | None) -> Any:
    if trie is None:
        return value
    if isinstance(value, list):
        return [_keep(item, trie) for item in value]
    if not isinstance(value, dict):
        return value
    return {k: _keep(value[k], sub) for k, sub in trie.items() if k in value}


def _drop(value: Any, parts: Sequence[str]) -> Any:
    if not parts:
        return value
    if isinstance(value, list):
        return [_drop(item, parts) for item in value]
    if not isinstance(value, dict) or parts[0] not in value:
        return value
    out = dict(value)
    if len(parts) == 1:
        del out[parts[0]]
    else:
        out[parts[0]] = _drop(value[parts[0]], parts[1:])
    return out


def filter_fields(message: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """The gateway's generic ``fields`` filter on a stream envelope.

    Listed paths (``result.application.metadata.name``) are kept with their whole subtree and their parents;
    everything else goes. With a leading ``-`` only the listed exact paths are removed.
    """
    if not fields:
        return message
    if fields[0].startswith("-"):
        out: Any = message
        for path in [fields[0][1:], *fields[1:]]:
            out = _drop(out, [p for p in path.split(".") if p])
        result: dict[str, Any] = out
        return result
    kept: dict[str, Any] = _keep(message, _trie(fields))
    return kept


def parse_fields(values: Iterable[str]) -> list[str]:
    return [f.strip() for value in values for f in value.split(",") if f.strip()]


# --- per-subscriber views -------------------------------------------------------------------------------------------


def _namespace_enabled(namespace: str, *, control_plane: str, enabled: Sequence[str]) -> bool:
    return namespace == control_plane or any(glob_match(p, namespace) for p in enabled)


def _min_version(text: str) -> int:
    # Upstream parses with Atoi and falls back to 0 on any error.
    try:
        return int(text) if text else 0
    except ValueError:
        return 0


def _selector(text: str) -> Selector:
    try:
        return parse_selector(text)
    except InvalidArgument as exc:
        # A plain error upstream, hence Unknown/500.
        raise ArgoError(f"error parsing labels with selectors: {exc.message}") from None


@dataclass
class _EventView:
    """Filters, RBAC, ``fields`` and per-name de-duplication of one watch subscriber."""

    access: Access
    control_plane: str
    enabled_namespaces: Sequence[str]
    resource: str
    member: bytes
    name: str
    namespace: str
    projects: frozenset[str]
    selector: Selector
    min_version: int
    fields: Sequence[str]

    def __post_init__(self) -> None:
        self._last: dict[str, bytes] = {}

    def permitted(self, record: Record) -> bool:
        if self.projects and (record.project or "default") not in self.projects:
            return False
        if record.resource_version < self.min_version:
            return False
        if self.name and (record.name != self.name or record.namespace != self.namespace):
            return False
        if not self.selector.empty and not self.selector.matches(record.labels):
            return False
        if not _namespace_enabled(record.namespace, control_plane=self.control_plane, enabled=self.enabled_namespaces):
            return False
        rbac_name = app_rbac_name(
            record.project, record.namespace, record.name, control_plane_namespace=self.control_plane
        )
        return self.access.allowed(self.resource, "get", rbac_name)

    def _encode(self, event: WatchEvent) -> tuple[bytes, bytes]:
        if not self.fields:
            return event.message(self.member)
        envelope = {"result": {"type": event.type, self.member.decode(): event.record.parsed()}}
        body = orjson.dumps(filter_fields(envelope, self.fields))
        return body, _digest(body)

    def render(self, events: Sequence[WatchEvent]) -> list[bytes]:
        """The messages to send for ``events``, in order (runs in a worker thread)."""
        out: list[bytes] = []
        for event in events:
            if not self.permitted(event.record):
                continue
            body, digest = self._encode(event)
            # Upstream remembers the last payload per name and skips an identical one: with ``fields`` set,
            # changes outside the selected paths produce nothing.
            if self._last.get(event.record.name) == digest:
                continue
            self._last[event.record.name] = digest
            out.append(body)
        return out

    def snapshot(self, records: Iterable[Record]) -> list[bytes]:
        ordered = sorted(records, key=lambda r: (r.namespace, r.name))
        return self.render([WatchEvent("ADDED", r) for r in ordered])


class AppWatchView(_EventView):
    pass


class AppSetWatchView(_EventView):
    pass


@dataclass
class TreeView:
    """A resource-tree subscriber: trees are the same for everyone allowed to open the stream."""

    fields: Sequence[str]

    def render(self, messages: Sequence[bytes]) -> list[bytes]:
        if not self.fields:
            return list(messages)
        return [orjson.dumps(filter_fields(orjson.loads(m), self.fields)) for m in messages]


@dataclass
class OpenStream(Generic[T]):
    """What an endpoint streams: messages to send first, then batches from ``subscription`` through ``render``."""

    initial: list[bytes]
    subscription: Subscription[T]
    render: Callable[[Sequence[T]], list[bytes]]


# --- the service ----------------------------------------------------------------------------------------------------


class WatchService:
    """ApplicationService.Watch / WatchResourceTree and ApplicationSetService.Watch for one caller.

    Every method may block (RBAC reads projects, the tree stream reads the database and the cluster cache): the
    endpoints call them in a worker thread.
    """

    def __init__(
        self,
        *,
        hub: StreamHub,
        access: Access,
        loop: asyncio.AbstractEventLoop,
        enabled_namespaces: Sequence[str] = (),
    ) -> None:
        self._hub = hub
        self._access = access
        self._loop = loop
        self._ns = hub.namespace
        self._enabled = tuple(enabled_namespaces)

    def watch_applications(
        self,
        *,
        name: str,
        projects: Sequence[str],
        selector: str,
        app_namespace: str,
        resource_version: str,
        fields: Sequence[str],
    ) -> OpenStream[WatchEvent]:
        """upstream Watch: ``ADDED`` for every matching app first unless a resourceVersion is given without a name."""
        view = AppWatchView(
            access=self._access,
            control_plane=self._ns,
            enabled_namespaces=self._enabled,
            resource="applications",
            member=b"application",
            name=name,
            namespace=app_namespace or self._ns,
            projects=frozenset(projects),
            selector=_selector(selector),
            min_version=_min_version(resource_version),
            fields=fields,
        )
        self._hub.ensure_current()
        records, sub = self._hub.apps.subscribe(self._loop)
        try:
            initial = view.snapshot(records) if not resource_version or name else []
        except BaseException:
            sub.close()
            raise
        return OpenStream(initial=initial, subscription=sub, render=view.render)

    def watch_applicationsets(
        self,
        *,
        name: str,
        projects: Sequence[str],
        selector: str,
        appset_namespace: str,
        resource_version: str,
        fields: Sequence[str],
    ) -> OpenStream[WatchEvent]:
        """upstream ApplicationSet Watch: initial ``ADDED`` events only when a name is given."""
        view = AppSetWatchView(
            access=self._access,
            control_plane=self._ns,
            enabled_namespaces=self._enabled,
            resource="applicationsets",
            member=b"applicationSet",
            name=name,
            namespace=appset_namespace or self._ns,
            projects=frozenset(projects),
            selector=_selector(selector),
            min_version=_min_version(resource_version),
            fields=fields,
        )
        self._hub.ensure_current()
        records, sub = self._hub.appsets.subscribe(self._loop)
        try:
            initial = view.snapshot(records) if name else []
        except BaseException:
            sub.close()
            raise
        return OpenStream(initial=initial, subscription=sub, render=view.render)

    def watch_resource_tree(
        self, name: str, *, app_namespace: str, project: str, fields: Sequence[str]
    ) -> OpenStream[bytes]:
        """upstream WatchResourceTree: ``get`` checked at open with existence hiding; no initial tree."""
        with self._hub.sessions() as session:
            ops = ApplicationOperationsService(
                session=session,
                access=self._access,
                namespace=self._ns,
                app_namespaces=self._enabled,
                controller=self._hub.controller,
            )
            # The same lookup and tree function as the unary endpoint: RBAC and hiding, and the baseline tree
            # so that the first message is a change the client has not seen.
            baseline = ops.resource_tree(name, app_namespace=app_namespace, project=project)
        key = (app_namespace or self._ns, name)
        self._hub.ensure_current()
        sub = self._hub.trees.subscribe(key, baseline=orjson.dumps(baseline), loop=self._loop)
        return OpenStream(initial=[], subscription=sub, render=TreeView(fields=fields).render)
