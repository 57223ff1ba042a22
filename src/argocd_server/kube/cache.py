"""The live-state cache of one cluster: LIST + WATCH of every kind in use, shared by all apps on that cluster.

Role: keep an in-memory copy of the cluster's objects so the controller, the diff and the resource tree never
list the cluster per app. One watch thread per kind keeps it current; a dropped watch resumes from the last
resourceVersion, and an expired one (410) or a failed connection relists that kind and reconciles the difference.
Indexes answer the hot questions without scanning: which objects an app tracks (by the tracking label value, or the
app part of the tracking-id annotation) and which objects an owner UID has (for resource trees). Boundary: built on
``kube/resources.py``; callbacks are delivered from a per-subscriber thread so a slow consumer never stalls a watch.

Objects are stored as the parsed dicts (``managedFields`` kept only for objects an app tracks, or when asked for) and
handed out without a copy: treat them as read-only.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sys
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from argocd_server.errors import ArgoError, NotFound, PermissionDenied
from argocd_server.kube.client import ClusterClient
from argocd_server.kube.errors import Gone
from argocd_server.kube.resources import ApiResource, GroupVersionKind, KubeObject, ResourceClient

log = logging.getLogger(__name__)

TRACKING_LABEL = "app.kubernetes.io/instance"
TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id"

# Kinds that churn constantly and that no app manages: caching them costs memory and watch traffic for nothing
# (upstream's default resource exclusions make the same call).
DEFAULT_EXCLUDED_KINDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "Event"),
        ("events.k8s.io", "Event"),
        ("coordination.k8s.io", "Lease"),
        ("", "Endpoints"),
        ("discovery.k8s.io", "EndpointSlice"),
        ("authentication.k8s.io", "TokenReview"),
        ("authorization.k8s.io", "SubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectRulesReview"),
        ("authorization.k8s.io", "LocalSubjectAccessReview"),
    }
)

_CRD_KIND = ("apiextensions.k8s.io", "CustomResourceDefinition")


class ObjectKey(NamedTuple):
    """Identity of a cached object, version-independent like upstream's ResourceKey."""

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: KubeObject) -> ObjectKey:
        group = str(obj.get("apiVersion", "")).rpartition("/")[0]
        meta = obj.get("metadata") or {}
        return cls(group, str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", "")))


@dataclass(frozen=True)
class CacheEvent:
    type: str
    """ADDED, MODIFIED or DELETED."""
    key: ObjectKey
    object: KubeObject
    """The new object; for DELETED the last known one."""


@dataclass(frozen=True)
class CacheStats:
    """What the cluster's ``cacheInfo`` reports."""

    resources_count: int
    apis_count: int
    last_sync_time: datetime | None
    ready: bool
    errors: dict[str, str] = field(default_factory=dict)
    """Kinds whose last LIST/WATCH failed, with the error message."""


def app_of_tracking_id(value: str) -> str | None:
    """The app instance name of a tracking-id annotation (``<app>:<group>/<kind>:<ns>/<name>``)."""
    app, sep, _ = value.partition(":")
    return app if sep and app else None


class Subscription:
    """A callback fed from its own queue and thread; ``cancel()`` stops delivery."""

    def __init__(self, callback: Callable[[CacheEvent], None], on_cancel: Callable[[Subscription], None]) -> None:
        self._callback = callback
        self._on_cancel = on_cancel
        self._queue: queue.SimpleQueue[CacheEvent | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="kube-cache-subscriber", daemon=True)
        self._thread.start()

    def put(self, event: CacheEvent) -> None:
        self._queue.put(event)

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            if event is None:
                return
            try:
                self._callback(event)
            except Exception:
                log.exception("cache subscriber failed on %s %s", event.type, event.key)

    def cancel(self) -> None:
        self._on_cancel(self)
        self._queue.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(5)


class _KindWatcher:
    """LIST then WATCH one kind forever; relists after 410, failed connections or an invalidate()."""

    def __init__(self, cache: ClusterCache, api: ApiResource) -> None:
        self.cache = cache
        self.api = api
        self.kind_key = (api.group, api.kind)
        self.api_version = api.api_version
        self.stop_event = threading.Event()
        self.relist = threading.Event()
        self.relist.set()
        self.synced_once = False
        self._stream_lock = threading.Lock()
        self._stream: Any = None
        self.thread = threading.Thread(target=self._run, name=f"kube-watch-{api.kind}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self._close_stream()

    def request_relist(self) -> None:
        self.relist.set()
        self._close_stream()

    def _close_stream(self) -> None:
        with self._stream_lock:
            stream = self._stream
        if stream is not None:
            stream.close()

    def _run(self) -> None:
        cache = self.cache
        backoff = cache.min_backoff
        rv = ""
        while not self.stop_event.is_set():
            try:
                if self.relist.is_set() or not rv:
                    self.relist.clear()
                    page = cache.watch_resources.list_all(self.api)
                    rv = page.resource_version
                    cache._replace_kind(self, page.items)
                stream = cache.watch_resources.watch(
                    self.api, resource_version=rv, timeout_seconds=cache.watch_timeout_seconds
                )
                with self._stream_lock:
                    self._stream = stream
                if self.stop_event.is_set() or self.relist.is_set():
                    stream.close()
                for event in stream:
                    if event.type == "BOOKMARK":
                        rv = str((event.object.get("metadata") or {}).get("resourceVersion") or rv)
                        continue
                    rv = str((event.object.get("metadata") or {}).get("resourceVersion") or rv)
                    cache._apply(self, event.type, event.object)
                backoff = cache.min_backoff
                cache._clear_error(self.kind_key)
            except Gone:
                self.relist.set()
            except ArgoError as exc:
                if self.stop_event.is_set():
                    break
                cache._record_error(self, exc)
                # A broken connection may hide any number of changes (or a restarted API server with new
                # resourceVersions): relist rather than trust the old resourceVersion.
                self.relist.set()
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, cache.max_backoff)
            except Exception:
                # Never let an unexpected failure end the thread: the kind would silently go stale.
                log.exception("watch of %s crashed; relisting", self.api.kind)
                self.relist.set()
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, cache.max_backoff)
            finally:
                with self._stream_lock:
                    self._stream = None


class ClusterCache:
    """Live objects of one cluster, kept by LIST + WATCH, with app and owner indexes.

    ``kinds``: the group/version/kinds to cache; None means every listable and watchable kind from discovery
    (preferred version) minus ``exclude``, re-discovered when a CRD changes.
    """

    def __init__(
        self,
        cluster: ClusterClient,
        *,
        kinds: Sequence[GroupVersionKind] | None = None,
        exclude: Collection[tuple[str, str]] = DEFAULT_EXCLUDED_KINDS,
        tracking_label: str = TRACKING_LABEL,
        tracking_annotation: str = TRACKING_ANNOTATION,
        keep_managed_fields: bool = False,
        watch_timeout_seconds: int = 300,
        list_page_size: int = 500,
        min_backoff: float = 0.1,
        max_backoff: float = 5.0,
    ) -> None:
        self.cluster = cluster
        self.resources = ResourceClient(cluster, list_page_size=list_page_size)
        self.kinds = list(kinds) if kinds is not None else None
        self.exclude = frozenset(exclude)
        self.tracking_label = tracking_label
        self.tracking_annotation = tracking_annotation
        self.keep_managed_fields = keep_managed_fields
        self.watch_timeout_seconds = watch_timeout_seconds
        self.list_page_size = list_page_size
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.watch_resources = self.resources
        self._watch_client: ClusterClient | None = None

        self._lock = threading.RLock()
        self._objects: dict[ObjectKey, KubeObject] = {}
        self._by_kind: dict[tuple[str, str], set[ObjectKey]] = {}
        self._by_uid: dict[str, ObjectKey] = {}
        self._children: dict[str, set[ObjectKey]] = {}
        self._by_label: dict[str, set[ObjectKey]] = {}
        self._by_annotation: dict[str, set[ObjectKey]] = {}
        self._watchers: dict[tuple[str, str], _KindWatcher] = {}
        self._pending: set[tuple[str, str]] = set()
        self._errors: dict[tuple[str, str], str] = {}
        self._subscribers: list[Subscription] = []
        self._ready = threading.Event()
        self._last_sync: datetime | None = None
        self._started = False
        self._stopped = threading.Event()
        self._rediscover = threading.Event()
        self._supervisor: threading.Thread | None = None

    # --- lifecycle ---

    def start(self) -> ClusterCache:
        """Discover kinds and start one LIST+WATCH thread per kind; returns at once (see :meth:`wait_ready`)."""
        with self._lock:
            if self._started:
                return self
            self._started = True
        apis = self._select_kinds()
        # Each watch holds a connection for its whole life: give the watches a pool of their own, sized to fit.
        self._watch_client = self.cluster.derive(pool_size=len(apis) + 8)
        self.watch_resources = ResourceClient(self._watch_client, list_page_size=self.list_page_size)
        self._sync_watchers(apis)
        if self.kinds is None:
            self._supervisor = threading.Thread(target=self._supervise, name="kube-cache-discovery", daemon=True)
            self._supervisor.start()
        return self

    def _select_kinds(self) -> list[ApiResource]:
        if self.kinds is not None:
            return [self.resources.resource_for(gvk) for gvk in self.kinds]
        chosen: dict[tuple[str, str], ApiResource] = {}
        for api in self.resources.api_resources(refresh=True):
            key = (api.group, api.kind)
            if key in self.exclude or key in chosen or not api.can("list", "watch"):
                continue
            chosen[key] = api  # discovery lists preferred versions first
        return list(chosen.values())

    def _sync_watchers(self, apis: Iterable[ApiResource]) -> None:
        wanted = {(a.group, a.kind): a for a in apis}
        started: list[_KindWatcher] = []
        removed: list[_KindWatcher] = []
        with self._lock:
            for key, api in wanted.items():
                if key not in self._watchers:
                    watcher = _KindWatcher(self, api)
                    self._watchers[key] = watcher
                    if not self._ready.is_set():
                        self._pending.add(key)
                    started.append(watcher)
            for key in list(self._watchers):
                if key not in wanted:
                    removed.append(self._watchers.pop(key))
                    self._pending.discard(key)
        for w in removed:
            w.stop()
            self._replace_kind(w, [])
        for w in started:
            w.start()
        self._check_ready()

    def _supervise(self) -> None:
        while not self._stopped.is_set():
            if not self._rediscover.wait(1.0):
                continue
            # Debounce: a chart installing ten CRDs should cost one discovery, not ten.
            self._stopped.wait(0.2)
            self._rediscover.clear()
            if self._stopped.is_set():
                return
            try:
                self._sync_watchers(self._select_kinds())
            except ArgoError as exc:
                log.warning("cluster cache rediscovery failed: %s", exc.message)
                self._rediscover.set()
                self._stopped.wait(self.max_backoff)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until every kind completed its initial LIST; False on timeout."""
        return self._ready.wait(timeout)

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def resynchronising(self) -> bool:
        """Whether a watch failed and has not relisted yet: asked before every comparison, so without the lock the
        watch threads hold while they apply events (a dict's truth is read atomically)."""
        return bool(self._errors)

    def invalidate(self) -> None:
        """Relist every kind (and rediscover kinds when they come from discovery)."""
        with self._lock:
            watchers = list(self._watchers.values())
        for w in watchers:
            w.request_relist()
        if self.kinds is None:
            self._rediscover.set()

    def stop(self) -> None:
        """Stop every watch and subscriber thread and close the watch connections."""
        self._stopped.set()
        with self._lock:
            watchers = list(self._watchers.values())
            subscribers = list(self._subscribers)
        for w in watchers:
            w.stop()
        for w in watchers:
            w.thread.join(5)
        if self._supervisor is not None:
            self._supervisor.join(5)
        for s in subscribers:
            s.cancel()
        if self._watch_client is not None:
            self._watch_client.close()

    def __enter__(self) -> ClusterCache:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- subscriptions ---

    def subscribe(self, callback: Callable[[CacheEvent], None]) -> Subscription:
        """Call ``callback`` for every change after a kind's initial LIST (relists report their differences)."""
        sub = Subscription(callback, self._unsubscribe)
        with self._lock:
            self._subscribers.append(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._subscribers.remove(sub)

    # --- reads ---

    def get(self, key: ObjectKey) -> KubeObject | None:
        with self._lock:
            return self._objects.get(key)

    def get_by_uid(self, uid: str) -> KubeObject | None:
        with self._lock:
            key = self._by_uid.get(uid)
            return self._objects.get(key) if key is not None else None

    def keys_for_app(self, app: str, *, by_label: bool = True, by_annotation: bool = True) -> set[ObjectKey]:
        """Keys of the objects tracking ``app`` (the app instance name), from the indexes."""
        with self._lock:
            keys: set[ObjectKey] = set()
            if by_label:
                keys |= self._by_label.get(app, set())
            if by_annotation:
                keys |= self._by_annotation.get(app, set())
            return keys

    def objects_for_app(self, app: str, *, by_label: bool = True, by_annotation: bool = True) -> list[KubeObject]:
        with self._lock:
            keys = self.keys_for_app(app, by_label=by_label, by_annotation=by_annotation)
            return [self._objects[k] for k in sorted(keys) if k in self._objects]

    def children(self, uid: str) -> list[KubeObject]:
        """Objects with an ownerReference to ``uid``."""
        with self._lock:
            return [self._objects[k] for k in sorted(self._children.get(uid, ())) if k in self._objects]

    def objects(
        self, *, group: str | None = None, kind: str | None = None, namespace: str | None = None
    ) -> list[KubeObject]:
        """Cached objects filtered by kind and namespace (a scan of that kind, or of everything without a kind)."""
        with self._lock:
            if group is not None and kind is not None:
                keys: Iterable[ObjectKey] = self._by_kind.get((group, kind), set())
            else:
                keys = self._objects
            return [
                self._objects[k]
                for k in keys
                if (kind is None or k.kind == kind)
                and (group is None or k.group == group)
                and (namespace is None or k.namespace == namespace)
            ]

    def scan_for_app(self, app: str) -> list[KubeObject]:
        """The index-free equivalent of :meth:`objects_for_app` (for benchmarks and consistency checks)."""
        with self._lock:
            found = [(k, o) for k, o in self._objects.items() if self._app_keys(o) & {app}]
        return [o for _, o in sorted(found, key=lambda pair: pair[0])]

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                resources_count=len(self._objects),
                apis_count=len(self._watchers),
                last_sync_time=self._last_sync,
                ready=self._ready.is_set(),
                errors={f"{g}/{k}" if g else k: m for (g, k), m in self._errors.items()},
            )

    # --- updates (called from watch threads) ---

    def _app_keys(self, obj: KubeObject) -> set[str]:
        meta = obj.get("metadata") or {}
        out = set()
        label = (meta.get("labels") or {}).get(self.tracking_label)
        if label:
            out.add(label)
        annotation = (meta.get("annotations") or {}).get(self.tracking_annotation)
        if annotation:
            app = app_of_tracking_id(annotation)
            if app:
                out.add(app)
        return out

    def _index(self, key: ObjectKey, obj: KubeObject) -> None:
        meta = obj.get("metadata") or {}
        uid = meta.get("uid")
        if uid:
            self._by_uid[uid] = key
        for ref in meta.get("ownerReferences") or ():
            owner = ref.get("uid")
            if owner:
                self._children.setdefault(owner, set()).add(key)
        label = (meta.get("labels") or {}).get(self.tracking_label)
        if label:
            self._by_label.setdefault(label, set()).add(key)
        annotation = (meta.get("annotations") or {}).get(self.tracking_annotation)
        if annotation:
            app = app_of_tracking_id(annotation)
            if app:
                self._by_annotation.setdefault(app, set()).add(key)

    @staticmethod
    def _discard(index: dict[str, set[ObjectKey]], value: str | None, key: ObjectKey) -> None:
        if not value:
            return
        keys = index.get(value)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del index[value]

    def _unindex(self, key: ObjectKey, obj: KubeObject) -> None:
        meta = obj.get("metadata") or {}
        uid = meta.get("uid")
        if uid and self._by_uid.get(uid) == key:
            del self._by_uid[uid]
        for ref in meta.get("ownerReferences") or ():
            self._discard(self._children, ref.get("uid"), key)
        self._discard(self._by_label, (meta.get("labels") or {}).get(self.tracking_label), key)
        annotation = (meta.get("annotations") or {}).get(self.tracking_annotation)
        self._discard(self._by_annotation, app_of_tracking_id(annotation) if annotation else None, key)

    def _tracked(self, meta: Mapping[str, Any]) -> bool:
        """Whether an app tracks the object: its field ownership feeds the diff (server-side diff, ignore rules by
        manager), so only untracked objects lose ``managedFields`` in the cache (as upstream keeps whole manifests
        only for managed resources)."""
        return self.tracking_annotation in (meta.get("annotations") or {}) or self.tracking_label in (
            meta.get("labels") or {}
        )

    def _compact(self, watcher: _KindWatcher, obj: KubeObject) -> KubeObject:
        meta = obj.get("metadata")
        if meta:
            if not self.keep_managed_fields and not self._tracked(meta):
                meta.pop("managedFields", None)
            namespace = meta.get("namespace")
            if namespace:
                # Thousands of objects share a few namespace names: one string each instead of one per object.
                meta["namespace"] = sys.intern(namespace)
        # Same idea for apiVersion/kind: point every object at the watcher's single copy.
        obj["apiVersion"] = watcher.api_version
        obj["kind"] = watcher.api.kind
        return obj

    def _key(self, watcher: _KindWatcher, obj: KubeObject) -> ObjectKey:
        meta = obj.get("metadata") or {}
        return ObjectKey(
            watcher.api.group, watcher.api.kind, str(meta.get("namespace") or ""), str(meta.get("name", ""))
        )

    def _store(self, watcher: _KindWatcher, key: ObjectKey, obj: KubeObject | None) -> CacheEvent | None:
        """Put (or with None remove) one object under the lock; the event to publish, if anything changed."""
        old = self._objects.get(key)
        if obj is None:
            if old is None:
                return None
            self._unindex(key, old)
            del self._objects[key]
            kind_keys = self._by_kind.get(watcher.kind_key)
            if kind_keys is not None:
                kind_keys.discard(key)
            return CacheEvent("DELETED", key, old)
        if old is not None:
            if (old.get("metadata") or {}).get("resourceVersion") == (obj.get("metadata") or {}).get("resourceVersion"):
                return None
            self._unindex(key, old)
        self._objects[key] = obj
        self._by_kind.setdefault(watcher.kind_key, set()).add(key)
        self._index(key, obj)
        return CacheEvent("ADDED" if old is None else "MODIFIED", key, obj)

    def _publish(self, events: list[CacheEvent]) -> None:
        if not events:
            return
        for sub in self._subscribers:
            for event in events:
                sub.put(event)

    def _apply(self, watcher: _KindWatcher, event_type: str, obj: KubeObject) -> None:
        self._compact(watcher, obj)
        key = self._key(watcher, obj)
        with self._lock:
            if watcher.stop_event.is_set():
                return
            event = self._store(watcher, key, None if event_type == "DELETED" else obj)
            if event is not None:
                self._publish([event])
        if watcher.kind_key == _CRD_KIND and self.kinds is None:
            self._rediscover.set()

    def _replace_kind(self, watcher: _KindWatcher, items: list[KubeObject]) -> None:
        """Install a fresh LIST of one kind: store what is new or changed, drop what disappeared."""
        fresh: dict[ObjectKey, KubeObject] = {}
        for obj in items:
            self._compact(watcher, obj)
            fresh[self._key(watcher, obj)] = obj
        with self._lock:
            events = [
                e
                for k in self._by_kind.get(watcher.kind_key, set()) - fresh.keys()
                if (e := self._store(watcher, k, None))
            ]
            events.extend(e for k, o in fresh.items() if (e := self._store(watcher, k, o)))
            first = not watcher.synced_once
            watcher.synced_once = True
            self._errors.pop(watcher.kind_key, None)
            # The initial LIST is the baseline, not news: subscribers hear about changes after it.
            if not first:
                self._publish(events)
                if self._ready.is_set():
                    self._last_sync = datetime.now(UTC)
            self._pending.discard(watcher.kind_key)
        self._check_ready()

    def _record_error(self, watcher: _KindWatcher, exc: ArgoError) -> None:
        log.debug("watch of %s failed: %s", watcher.api.kind, exc.message)
        with self._lock:
            self._errors[watcher.kind_key] = exc.message
            if isinstance(exc, PermissionDenied | NotFound) and not watcher.synced_once:
                # A kind we may not list (or whose CRD vanished) must not hold readiness hostage; it keeps retrying.
                self._pending.discard(watcher.kind_key)
        self._check_ready()

    def _clear_error(self, kind_key: tuple[str, str]) -> None:
        with self._lock:
            self._errors.pop(kind_key, None)

    def _check_ready(self) -> None:
        with self._lock:
            if self._pending or self._ready.is_set() or not self._started:
                return
            self._last_sync = datetime.now(UTC)
            self._ready.set()
