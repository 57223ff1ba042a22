"""The in-memory object store: CRUD semantics, resourceVersions, watch history, GC and oplog."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml

from kubesim import defaults, fields, ssa
from kubesim.errors import ApiError, already_exists, bad_request, conflict, invalid, not_found
from kubesim.patch import clone, json_patch, merge_patch, strategic_merge_patch
from kubesim.resources import CRD_KEY, NAMESPACE_KEY, Registry, ResourceType, TypeKey, crd_to_type
from kubesim.selectors import Matcher

Obj = dict[str, Any]
ObjKey = tuple[TypeKey, str, str]

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
APPLY_PATCH_CBOR = "application/apply-patch+cbor"

_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_MODIFIED_WHY = "the object has been modified; please apply your changes to the latest version and try again"


def now_iso() -> str:
    """Timestamps with second precision, as metav1.Time renders them."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(slots=True)
class Entry:
    """A stored object; treated as immutable, so its encoding is cached."""

    obj: Obj
    _raw: bytes | None = None

    def raw(self) -> bytes:
        if self._raw is None:
            self._raw = dumps(self.obj)
        return self._raw

    @property
    def rv(self) -> int:
        return int(self.obj["metadata"].get("resourceVersion") or 0)


@dataclass(slots=True)
class Event:
    """One change, as a watcher sees it."""

    type: str
    rv: int
    namespace: str
    entry: Entry
    old: Entry | None
    key: TypeKey
    _line: bytes | None = None

    def line(self) -> bytes:
        if self._line is None:
            self._line = b'{"type":"' + self.type.encode() + b'","object":' + self.entry.raw() + b"}\n"
        return self._line

    def retyped(self, kind: str) -> Event:
        return Event(kind, self.rv, self.namespace, self.entry, self.old, self.key)


@dataclass
class WriteContext:
    """Who writes and how: feeds managedFields, dry-run handling and the oplog."""

    user: str = "system:admin"
    field_manager: str | None = None
    dry_run: bool = False
    internal: bool = False
    version: str | None = None
    user_agent: str = ""
    field_validation: str | None = None
    """``Strict``, ``Warn`` or ``Ignore`` for a write received over HTTP; None (direct and internal writes):
    the body is stored as given."""
    warnings: list[str] = field(default_factory=list)
    """``Warning`` headers for the response."""
    created: bool = False
    """Set by an apply that created the object (the API server answers 201 then)."""

    def manager(self) -> str:
        if self.field_manager:
            return self.field_manager
        agent = self.user_agent.split("/", 1)[0].strip()
        return agent[:128] or "unknown"


@dataclass(eq=False)
class Watcher:
    """A live watch: filtered events are queued for the HTTP stream on its event loop."""

    key: TypeKey
    namespace: str | None
    label: Matcher | None
    fields: Matcher | None
    loop: asyncio.AbstractEventLoop | None = None
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)
    thread: int = field(default_factory=threading.get_ident)
    closed: bool = False

    def matches(self, obj: Obj) -> bool:
        if self.label is not None and not self.label(obj):
            return False
        return self.fields is None or self.fields(obj)

    def select(self, ev: Event) -> Event | None:
        """The event this watcher sees, turning selector entries/exits into ADDED/DELETED."""
        if self.namespace is not None and ev.namespace != self.namespace:
            return None
        if self.label is None and self.fields is None:
            return ev
        now = self.matches(ev.entry.obj)
        if ev.type != "MODIFIED" or ev.old is None:
            return ev if now else None
        before = self.matches(ev.old.obj)
        if now and before:
            return ev
        if now:
            return ev.retyped("ADDED")
        if before:
            return ev.retyped("DELETED")
        return None

    def push(self, ev: Event | None) -> None:
        if self.closed:
            return
        if ev is None:
            self.closed = True
        if self.loop is None or threading.get_ident() == self.thread:
            self.queue.put_nowait(ev)
        else:
            try:
                self.loop.call_soon_threadsafe(self.queue.put_nowait, ev)
            except RuntimeError:
                self.closed = True  # the loop is gone: the stream died with it

    def offer(self, ev: Event) -> None:
        selected = self.select(ev)
        if selected is not None:
            self.push(selected)


@dataclass
class ListResult:
    entries: list[Entry]
    resource_version: str
    continue_token: str = ""
    remaining: int | None = None


def _meta(obj: Obj) -> dict[str, Any]:
    meta = obj.get("metadata")
    if meta is None:
        meta = obj["metadata"] = {}
    if not isinstance(meta, dict):
        raise bad_request("metadata must be an object")
    return meta


def _spec_part(obj: Obj) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _comparable(obj: Obj) -> Obj:
    meta = dict(obj.get("metadata") or {})
    meta.pop("resourceVersion", None)
    meta["managedFields"] = [{k: v for k, v in mf.items() if k != "time"} for mf in meta.get("managedFields") or []]
    out = dict(obj)
    out["metadata"] = meta
    return out


def _generation_tracked(rt: ResourceType) -> bool:
    return (rt.has_status or rt.custom) and rt.key not in (NAMESPACE_KEY, ("", "nodes"))


def _initial_status(rt: ResourceType) -> Obj | None:
    if rt.key == ("", "pods"):
        return {"phase": "Pending", "qosClass": "BestEffort"}
    if rt.key == ("", "persistentvolumeclaims"):
        return {"phase": "Pending"}
    if rt.key == ("", "services"):
        return {"loadBalancer": {}}
    if rt.key == NAMESPACE_KEY:
        return {"phase": "Active"}
    # Non-omitempty integer fields of these statuses are always on the wire (clients need them).
    if rt.key in (("apps", "statefulsets"), ("apps", "replicasets")):
        return {"replicas": 0, "availableReplicas": 0} if rt.plural == "statefulsets" else {"replicas": 0}
    if rt.key == ("apps", "daemonsets"):
        return {
            "currentNumberScheduled": 0,
            "numberMisscheduled": 0,
            "desiredNumberScheduled": 0,
            "numberReady": 0,
        }
    if rt.key == ("autoscaling", "horizontalpodautoscalers"):
        return {"desiredReplicas": 0}
    if rt.key == ("policy", "poddisruptionbudgets"):
        return {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}
    if rt.custom:
        return None
    return {}


class Store:
    """All objects in memory, keyed by type, namespace and name, with one global revision."""

    def __init__(
        self,
        *,
        registry: Registry | None = None,
        event_window: int = 10_000,
        log_internal_writes: bool = False,
    ) -> None:
        self.lock = threading.RLock()
        self.registry = registry or Registry()
        self.event_window = event_window
        self.log_internal_writes = log_internal_writes
        self.ips = defaults.ClusterIPs()
        self._rv = 1
        self._data: dict[TypeKey, dict[str, dict[str, Entry]]] = {}
        self._uids: dict[str, ObjKey] = {}
        self._dependents: dict[str, set[ObjKey]] = {}
        self._history: dict[TypeKey, deque[Event]] = {}
        self._compacted: dict[TypeKey, int] = {}
        self._watchers: dict[TypeKey, set[Watcher]] = {}
        self._listeners: list[Callable[[Event], None]] = []
        self.oplog: list[dict[str, Any]] = []
        self._oplog_seq = 0

    # --- plumbing -------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        return self._rv

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener`` (under the store lock, so it must be quick) for every change."""
        with self.lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[Event], None]) -> None:
        with self.lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _bucket(self, key: TypeKey, ns: str) -> dict[str, Entry]:
        return self._data.setdefault(key, {}).setdefault(ns, {})

    def lookup(self, rt: ResourceType, ns: str, *, name: str) -> Entry | None:
        return self._data.get(rt.key, {}).get(ns if rt.namespaced else "", {}).get(name)

    def _lookup_key(self, key: ObjKey) -> Entry | None:
        return self._data.get(key[0], {}).get(key[1], {}).get(key[2])

    def _emit(self, ev: Event) -> None:
        history = self._history.get(ev.key)
        if history is None:
            history = self._history[ev.key] = deque()
        if len(history) >= self.event_window:
            dropped = history.popleft()
            self._compacted[ev.key] = dropped.rv
        history.append(ev)
        for w in list(self._watchers.get(ev.key, ())):
            w.offer(ev)
        for listener in list(self._listeners):
            listener(ev)

    def _index_owners(self, okey: ObjKey, old: Obj | None, *, new: Obj | None) -> None:
        before = {r.get("uid") for r in ((old or {}).get("metadata") or {}).get("ownerReferences") or []}
        after = {r.get("uid") for r in ((new or {}).get("metadata") or {}).get("ownerReferences") or []}
        for uid in before - after:
            deps = self._dependents.get(str(uid))
            if deps is not None:
                deps.discard(okey)
                if not deps:
                    del self._dependents[str(uid)]
        for uid in after - before:
            if uid:
                self._dependents.setdefault(str(uid), set()).add(okey)

    def _put(self, rt: ResourceType, obj: Obj, *, old: Entry | None) -> Entry:
        self._rv += 1
        meta = obj["metadata"]
        meta["resourceVersion"] = str(self._rv)
        ns = meta.get("namespace", "") if rt.namespaced else ""
        name = meta["name"]
        entry = Entry(obj)
        self._bucket(rt.key, ns)[name] = entry
        okey: ObjKey = (rt.key, ns, name)
        if old is None:
            self._uids[meta["uid"]] = okey
        self._index_owners(okey, old.obj if old else None, new=obj)
        self._emit(Event("MODIFIED" if old else "ADDED", self._rv, ns, entry, old, rt.key))
        if rt.key == CRD_KEY:
            self.registry.add(crd_to_type(obj))
        return entry

    def _log(self, verb: str, rt: ResourceType, *, ns: str, name: str, ctx: WriteContext, **extra: Any) -> None:
        if ctx.internal and not self.log_internal_writes:
            return
        self._oplog_seq += 1
        self.oplog.append(
            {
                "seq": self._oplog_seq,
                "time": time.time(),
                "verb": verb,
                "group": rt.group,
                "version": ctx.version or rt.preferred_version,
                "resource": rt.plural,
                "kind": rt.kind,
                "namespace": ns if rt.namespaced else "",
                "name": name,
                "fieldManager": ctx.field_manager or "",
                "fieldValidation": ctx.field_validation or "",
                "dryRun": ctx.dry_run,
                "user": ctx.user,
                **extra,
            }
        )

    def clear_oplog(self) -> None:
        with self.lock:
            self.oplog.clear()

    # --- reads ----------------------------------------------------------------------------

    def get(self, rt: ResourceType, ns: str, *, name: str) -> Entry:
        with self.lock:
            entry = self.lookup(rt, ns, name=name)
            if entry is None:
                raise not_found(group=rt.group, resource=rt.plural, name=name)
            return entry

    def list_entries(
        self,
        rt: ResourceType,
        ns: str | None,
        *,
        label: Matcher | None = None,
        field: Matcher | None = None,
        limit: int = 0,
        continue_token: str = "",
        name: str | None = None,
    ) -> ListResult:
        """Objects sorted by namespace then name; ``ns=None`` lists every namespace."""
        start: tuple[str, str] | None = None
        if continue_token:
            try:
                token = json.loads(base64.urlsafe_b64decode(continue_token.encode()))
                start = (str(token["start"][0]), str(token["start"][1]))
            except (ValueError, KeyError, TypeError, IndexError, binascii.Error) as exc:
                raise bad_request("continue key is not valid: invalid continue token") from exc
        with self.lock:
            rv = self._rv
            buckets = self._data.get(rt.key, {})
            if not rt.namespaced:
                namespaces = [""]
            elif ns is not None:
                namespaces = [ns]
            else:
                namespaces = sorted(buckets)
            out: list[Entry] = []
            last: tuple[str, str] | None = None
            remaining = 0
            for space in namespaces:
                if start is not None and space < start[0]:
                    continue
                bucket = buckets.get(space)
                if not bucket:
                    continue
                names = [name] if name is not None else sorted(bucket)
                for item in names:
                    if start is not None and (space, item) <= start:
                        continue
                    entry = bucket.get(item)
                    if entry is None:
                        continue
                    if label is not None and not label(entry.obj):
                        continue
                    if field is not None and not field(entry.obj):
                        continue
                    if limit and len(out) >= limit:
                        remaining += 1
                        continue
                    out.append(entry)
                    last = (space, item)
        token_out = ""
        if remaining and last is not None:
            token_out = base64.urlsafe_b64encode(json.dumps({"rv": rv, "start": list(last)}).encode()).decode()
        return ListResult(out, str(rv), token_out, remaining if remaining else None)

    def watch(
        self,
        rt: ResourceType,
        ns: str | None,
        *,
        since: str | None,
        label: Matcher | None = None,
        field: Matcher | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> tuple[Watcher, list[Event]]:
        """Register a watcher and return it with the backlog it must send first."""
        watcher = Watcher(rt.key, ns if rt.namespaced else None, label, field, loop)
        with self.lock:
            backlog: list[Event] = []
            if since in (None, "", "0"):
                listed = self.list_entries(rt, ns, label=label, field=field)
                for entry in listed.entries:
                    backlog.append(
                        Event(
                            "ADDED",
                            entry.rv,
                            entry.obj["metadata"].get("namespace", ""),
                            entry,
                            None,
                            rt.key,
                        )
                    )
            else:
                try:
                    since_rv = int(str(since))
                except ValueError as exc:
                    raise bad_request(f'invalid resource version: "{since}"') from exc
                if since_rv < self._compacted.get(rt.key, 0):
                    raise ApiError(
                        410,
                        f"too old resource version: {since_rv} ({self._compacted[rt.key] + 1})",
                        reason="Expired",
                    )
                for ev in self._history.get(rt.key, ()):
                    if ev.rv > since_rv:
                        selected = watcher.select(ev)
                        if selected is not None:
                            backlog.append(selected)
            self._watchers.setdefault(rt.key, set()).add(watcher)
        return watcher, backlog

    def unwatch(self, watcher: Watcher) -> None:
        with self.lock:
            self._watchers.get(watcher.key, set()).discard(watcher)
        watcher.closed = True

    def close_watchers(self) -> None:
        with self.lock:
            for watchers in self._watchers.values():
                for w in list(watchers):
                    w.push(None)

    def compact(self) -> int:
        """Forget all watch history, as an etcd compaction would; returns the revision."""
        with self.lock:
            for key in set(self._history) | set(self._data):
                self._compacted[key] = self._rv
            self._history.clear()
            return self._rv

    # --- writes ---------------------------------------------------------------------------

    def _check_body(self, rt: ResourceType, obj: Any, *, ctx: WriteContext, ns: str) -> dict[str, Any]:
        if not isinstance(obj, dict):
            raise bad_request("the body of the request was in an unknown format")
        version = ctx.version or rt.preferred_version
        expected = rt.api_version(version)
        api_version = obj.get("apiVersion")
        if api_version and api_version != expected:
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version ({expected})"
            )
        kind = obj.get("kind")
        if kind and kind != rt.kind:
            raise bad_request(f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
        obj["apiVersion"] = expected
        obj["kind"] = rt.kind
        meta = _meta(obj)
        if rt.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and body_ns != ns:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        return meta

    def _check_namespace(self, rt: ResourceType, ns: str) -> None:
        if not rt.namespaced:
            return
        entry = self._data.get(NAMESPACE_KEY, {}).get("", {}).get(ns)
        if entry is None:
            raise not_found(group="", resource="namespaces", name=ns)
        if entry.obj["metadata"].get("deletionTimestamp"):
            raise ApiError(
                403,
                f"{rt.plural} is forbidden: unable to create new content in namespace {ns} "
                "because it is being terminated",
                details={"group": rt.group, "kind": rt.plural} if rt.group else {"kind": rt.plural},
            )

    def _prepare_crd(self, obj: Obj) -> None:
        rt = crd_to_type(obj)
        name = obj["metadata"]["name"]
        if name != f"{rt.plural}.{rt.group}":
            raise invalid(
                group="apiextensions.k8s.io",
                kind="CustomResourceDefinition",
                name=name,
                causes=[
                    (
                        "metadata.name",
                        "FieldValueInvalid",
                        f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
                    )
                ],
            )
        names = (obj.get("spec") or {}).get("names") or {}
        accepted = dict(names)
        accepted.setdefault("singular", rt.singular_name)
        accepted.setdefault("listKind", rt.list_kind_name)
        ts = now_iso()
        obj["status"] = {
            "acceptedNames": accepted,
            "conditions": [
                {
                    "type": "NamesAccepted",
                    "status": "True",
                    "reason": "NoConflicts",
                    "message": "no conflicts found",
                    "lastTransitionTime": ts,
                },
                {
                    "type": "Established",
                    "status": "True",
                    "reason": "InitialNamesAccepted",
                    "message": "the initial names have been accepted",
                    "lastTransitionTime": ts,
                },
            ],
            "storedVersions": [rt.storage_version],
        }

    def create(self, rt: ResourceType, ns: str, *, body: Any, ctx: WriteContext) -> Entry:
        """POST: the object is stored with fresh uid/creationTimestamp/resourceVersion."""
        with self.lock:
            obj = body
            meta = self._check_body(rt, obj, ctx=ctx, ns=ns)
            self._decode_fields(rt, obj, ctx=ctx)
            name = meta.get("name")
            if not name:
                prefix = meta.get("generateName")
                if not prefix:
                    raise invalid(
                        group=rt.group,
                        kind=rt.kind,
                        name="",
                        causes=[
                            (
                                "metadata.name",
                                "FieldValueRequired",
                                "Required value: name or generateName is required",
                            )
                        ],
                    )
                name = prefix + "".join(random.choices(_NAME_CHARS, k=5))  # noqa: S311
                meta["name"] = name
            defaults.validate_name(rt, name)
            self._check_namespace(rt, ns)
            if self.lookup(rt, ns, name=name) is not None:
                raise already_exists(group=rt.group, resource=rt.plural, name=name)
            for k in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
                meta.pop(k, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_iso()
            if _generation_tracked(rt):
                meta["generation"] = 1
            else:
                meta.pop("generation", None)
            if rt.has_status and not ctx.internal:
                status = _initial_status(rt)
                if status is None:
                    obj.pop("status", None)
                else:
                    obj["status"] = status
            defaults.apply_defaults(rt, obj, ips=self.ips)
            defaults.validate(rt, obj)
            if rt.key == CRD_KEY:
                self._prepare_crd(obj)
            entries = ssa.record_update(
                None,
                obj,
                entries=[],
                manager=ctx.manager(),
                rt=rt,
                api_version=obj["apiVersion"],
                subresource="",
                now=meta["creationTimestamp"],
            )
            self._set_managed(obj, entries)
            self._log("create", rt, ns=ns, name=name, ctx=ctx)
            if ctx.dry_run:
                return Entry(obj)
            return self._put(rt, obj, old=None)

    def _set_managed(self, obj: Obj, entries: list[ssa.ManagedEntry]) -> None:
        rendered = ssa.render_managed(entries)
        if rendered:
            obj["metadata"]["managedFields"] = rendered
        else:
            obj["metadata"].pop("managedFields", None)

    def _check_rv(self, rt: ResourceType, old: Entry, *, obj: Obj) -> None:
        wanted = (obj.get("metadata") or {}).get("resourceVersion")
        if wanted and str(wanted) != old.obj["metadata"]["resourceVersion"]:
            raise conflict(group=rt.group, resource=rt.plural, name=old.obj["metadata"]["name"], why=_MODIFIED_WHY)

    def _overlay(self, rt: ResourceType, old: Obj, *, new: Obj, subresource: str) -> Obj:
        """The stored form of a write: subresource rules and immutable metadata applied."""
        if subresource == "status":
            out = clone(old)
            if "status" in new:
                out["status"] = new["status"]
            else:
                out.pop("status", None)
            return out  # type: ignore[no-any-return]
        out = new
        if rt.has_status:
            if "status" in old:
                out["status"] = clone(old["status"])
            else:
                out.pop("status", None)
        meta = _meta(out)
        old_meta = old["metadata"]
        for k in (
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "name",
            "namespace",
        ):
            if k in old_meta:
                meta[k] = old_meta[k]
            else:
                meta.pop(k, None)
        if "generation" in old_meta:
            meta["generation"] = old_meta["generation"]
        out["apiVersion"] = new.get("apiVersion") or old["apiVersion"]
        out["kind"] = rt.kind
        return out

    def _base_entries(self, old: Obj, new: Obj, *, subresource: str) -> list[ssa.ManagedEntry]:
        """The ownership a non-apply write starts from: the request's ``managedFields`` replace the stored ones,
        except on subresources, when they are absent or carry no entry (clients unaware of the field cannot
        wipe it); a list of only empty entries is the documented reset to none."""
        sent = (new.get("metadata") or {}).get("managedFields")
        if subresource or not isinstance(sent, list) or not sent or sent == old["metadata"].get("managedFields"):
            return ssa.parse_managed(old)
        if all(entry == {} for entry in sent):
            return []
        entries = ssa.parse_managed(new)
        return entries or ssa.parse_managed(old)

    def _commit(
        self,
        rt: ResourceType,
        old: Entry,
        *,
        new: Obj,
        entries: list[ssa.ManagedEntry],
        ctx: WriteContext,
        verb: str,
        subresource: str,
        extra: dict[str, Any] | None = None,
    ) -> Entry:
        meta = new["metadata"]
        name = meta["name"]
        ns = meta.get("namespace", "")
        if subresource != "status":
            defaults.apply_defaults(rt, new, ips=self.ips)
            defaults.validate(rt, new)
        if rt.key == CRD_KEY:
            self._prepare_crd(new)
            new["status"]["conditions"] = old.obj.get("status", {}).get("conditions", new["status"]["conditions"])
        if "generation" in old.obj["metadata"] and _spec_part(old.obj) != _spec_part(new):
            meta["generation"] = int(old.obj["metadata"]["generation"]) + 1
        self._set_managed(new, entries)
        meta["resourceVersion"] = old.obj["metadata"]["resourceVersion"]
        changed = _comparable(new) != _comparable(old.obj)
        self._log(verb, rt, ns=ns, name=name, ctx=ctx, subresource=subresource, changed=changed, **(extra or {}))
        if not changed:
            return old
        if ctx.dry_run:
            return Entry(new)
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            entry = self._put(rt, new, old=old)
            return self._remove(rt, entry)
        return self._put(rt, new, old=old)

    # --- field validation ---------------------------------------------------------------------------------

    @staticmethod
    def _schema(rt: ResourceType, ctx: WriteContext) -> fields.Node | None:
        """The schema a write over HTTP is decoded with (None: direct and internal writes, or an open kind)."""
        if ctx.field_validation is None:
            return None
        return fields.schema_for(rt, ctx.version or rt.preferred_version)

    def _unknown(self, rt: ResourceType, obj: Obj, *, ctx: WriteContext) -> list[fields.FieldPath]:
        node = self._schema(rt, ctx)
        if node is None:
            return []
        found = fields.unknown_fields(obj, node)
        if rt.custom:
            # Structural pruning reports its paths sorted; the typed JSON decoder in document order.
            found.sort(key=fields.dotted)
        return found

    def _settle(self, obj: Obj, found: list[fields.FieldPath], *, ctx: WriteContext) -> None:
        # Whatever the directive, the unknown fields are not stored: typed decoding or structural pruning drops them.
        if ctx.field_validation == "Warn":
            ctx.warnings.extend(_unknown_texts(found))
        fields.drop_fields(obj, found)

    def _decode_fields(self, rt: ResourceType, obj: Obj, *, ctx: WriteContext) -> None:
        """A create or update body decoded as the API server does: unknown fields fail, warn or vanish."""
        found = self._unknown(rt, obj, ctx=ctx)
        if not found:
            return
        if ctx.field_validation == "Strict":
            version = ctx.version or rt.preferred_version
            raise bad_request(
                f'{rt.kind} in version "{version}" cannot be handled as a {rt.kind}: ' + _strict_decoding_error(found)
            )
        self._settle(obj, found, ctx=ctx)

    def _patched_fields(self, rt: ResourceType, patched: Obj, *, ctx: WriteContext, patch: Any) -> None:
        """The patched object decoded: a strict failure is a 422 quoting the patched object (JSON and merge
        patches) or the patch itself (strategic merge patch)."""
        found = self._unknown(rt, patched, ctx=ctx)
        if not found:
            return
        if ctx.field_validation == "Strict":
            shown = fields.go_value(patch) if patch is not None else dumps(patched).decode()
            raise invalid(
                group="",
                kind="",
                name="",
                causes=[
                    (
                        "patch",
                        "FieldValueInvalid",
                        f"Invalid value: {fields.go_quote(shown)}: {_strict_decoding_error(found)}",
                    )
                ],
            )
        self._settle(patched, found, ctx=ctx)

    def _typed_apply(self, rt: ResourceType, applied: Obj, *, ctx: WriteContext, name: str) -> None:
        """Server-side apply converts the configuration to its typed form first, whatever the field validation
        directive: an undeclared field always fails (an unclassified error, hence 500 with no reason)."""
        node = self._schema(rt, ctx)
        if node is None:
            return
        version = ctx.version or rt.preferred_version
        schema = ssa.list_keys_of(rt)
        found = fields.apply_unknown_fields(applied, node, list_keys=schema)
        if not found:
            return
        problems = [f"{path}: field not declared in schema" for path in found]
        text = problems[0] if len(problems) == 1 else "errors:\n" + "\n".join("  " + p for p in problems)
        gvk = f"{rt.group}/{version}, Kind={rt.kind}"
        raise ApiError(500, f"failed to create typed patch object ({name}; {gvk}): {text}", reason="")

    def update(
        self,
        rt: ResourceType,
        ns: str,
        *,
        name: str,
        body: Any,
        ctx: WriteContext,
        subresource: str = "",
    ) -> Entry:
        """PUT: a full replacement guarded by the resourceVersion the client read."""
        with self.lock:
            old = self.lookup(rt, ns, name=name)
            if old is None:
                raise not_found(group=rt.group, resource=rt.plural, name=name)
            meta = self._check_body(rt, body, ctx=ctx, ns=ns)
            self._decode_fields(rt, body, ctx=ctx)
            if meta.get("name") and meta["name"] != name:
                raise bad_request(
                    f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
                )
            meta["name"] = name
            self._check_rv(rt, old, obj=body)
            new = self._overlay(rt, old.obj, new=body, subresource=subresource)
            entries = ssa.record_update(
                old.obj,
                new,
                entries=self._base_entries(old.obj, body, subresource=subresource),
                manager=ctx.manager(),
                rt=rt,
                api_version=rt.api_version(ctx.version),
                subresource=subresource,
                now=now_iso(),
            )
            return self._commit(rt, old, new=new, entries=entries, ctx=ctx, verb="update", subresource=subresource)

    def patch(
        self,
        rt: ResourceType,
        ns: str,
        *,
        name: str,
        content_type: str,
        body: bytes,
        ctx: WriteContext,
        subresource: str = "",
        force: bool = False,
    ) -> Entry:
        """PATCH in any of the four patch flavours; server-side apply may create."""
        content_type = content_type.split(";")[0].strip().lower()
        if content_type in (APPLY_PATCH, APPLY_PATCH_CBOR):
            return self._apply(rt, ns, name=name, body=body, ctx=ctx, subresource=subresource, force=force)
        if content_type not in (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH):
            raise _unsupported_patch(rt)
        if content_type == STRATEGIC_PATCH and rt.custom:
            raise _unsupported_patch(rt)
        try:
            doc = json.loads(body or b"null")
        except ValueError as exc:
            raise bad_request(f"error decoding patch: {exc}") from exc
        if force:
            raise bad_request("force is only allowed for apply requests")
        with self.lock:
            old = self.lookup(rt, ns, name=name)
            if old is None:
                raise not_found(group=rt.group, resource=rt.plural, name=name)
            base = clone(old.obj)
            if content_type == JSON_PATCH:
                patched = json_patch(base, doc)
            elif content_type == MERGE_PATCH:
                if not isinstance(doc, dict):
                    raise bad_request("merge patch must be a JSON object")
                patched = merge_patch(base, doc)
            else:
                if not isinstance(doc, dict):
                    raise bad_request("strategic merge patch must be a JSON object")
                patched = strategic_merge_patch(base, doc)
            if not isinstance(patched, dict):
                raise bad_request("patch produced a non-object")
            self._patched_fields(rt, patched, ctx=ctx, patch=doc if content_type == STRATEGIC_PATCH else None)
            self._check_rv(rt, old, obj=patched)
            meta = _meta(patched)
            meta["name"] = name
            patched["apiVersion"] = rt.api_version(ctx.version)
            new = self._overlay(rt, old.obj, new=patched, subresource=subresource)
            entries = ssa.record_update(
                old.obj,
                new,
                entries=self._base_entries(old.obj, patched, subresource=subresource),
                manager=ctx.manager(),
                rt=rt,
                api_version=rt.api_version(ctx.version),
                subresource=subresource,
                now=now_iso(),
            )
            return self._commit(
                rt,
                old,
                new=new,
                entries=entries,
                ctx=ctx,
                verb="patch",
                subresource=subresource,
                extra={"patchType": content_type},
            )

    def _apply(
        self,
        rt: ResourceType,
        ns: str,
        *,
        name: str,
        body: bytes,
        ctx: WriteContext,
        subresource: str,
        force: bool,
    ) -> Entry:
        if not ctx.field_manager:
            raise ApiError(
                422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'
            )
        try:
            applied = yaml.safe_load(body or b"")
        except yaml.YAMLError as exc:
            raise bad_request(f"error decoding YAML: {exc}") from exc
        if not isinstance(applied, dict):
            raise bad_request("apply patch must be an object")
        sent_meta = applied.get("metadata")
        if not isinstance(sent_meta, dict):
            sent_meta = {}
        # Typed-conversion errors name the object as sent (an omitted namespace stays empty).
        sent_name = f"{sent_meta.get('namespace') or ''}/{sent_meta.get('name') or ''}"
        with self.lock:
            meta = self._check_body(rt, applied, ctx=ctx, ns=ns)
            self._typed_apply(rt, applied, ctx=ctx, name=sent_name)
            if meta.get("name") and meta["name"] != name:
                raise bad_request(
                    f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
                )
            meta["name"] = name
            api_version = applied["apiVersion"]
            old = self.lookup(rt, ns, name=name)
            if old is None:
                if subresource:
                    raise not_found(group=rt.group, resource=rt.plural, name=name)
                ctx.created = True
                self._check_rv_absent(rt, applied)
                obj = clone(applied)
                defaults.validate_name(rt, name)
                self._check_namespace(rt, ns)
                ometa = obj["metadata"]
                ometa["uid"] = str(uuid.uuid4())
                ometa["creationTimestamp"] = now_iso()
                if _generation_tracked(rt):
                    ometa["generation"] = 1
                if rt.has_status:
                    status = _initial_status(rt)
                    if status is None:
                        obj.pop("status", None)
                    else:
                        obj["status"] = status
                defaults.apply_defaults(rt, obj, ips=self.ips)
                defaults.validate(rt, obj)
                if rt.key == CRD_KEY:
                    self._prepare_crd(obj)
                entry = ssa.ManagedEntry(
                    ctx.field_manager,
                    "Apply",
                    api_version,
                    ometa["creationTimestamp"],
                    "",
                    set(ssa.flatten(applied, rt=rt, scope="main")),
                )
                self._set_managed(obj, [entry])
                self._log("apply", rt, ns=ns, name=name, ctx=ctx, force=force, created=True)
                if ctx.dry_run:
                    return Entry(obj)
                return self._put(rt, obj, old=None)
            self._check_rv(rt, old, obj=applied)
            merged, entries = ssa.server_side_apply(
                old.obj,
                applied,
                entries=ssa.parse_managed(old.obj),
                manager=ctx.field_manager,
                force=force,
                rt=rt,
                api_version=api_version,
                subresource=subresource,
                now=now_iso(),
            )
            merged["apiVersion"] = api_version
            new = self._overlay(rt, old.obj, new=merged, subresource=subresource)
            return self._commit(
                rt,
                old,
                new=new,
                entries=entries,
                ctx=ctx,
                verb="apply",
                subresource=subresource,
                extra={"force": force},
            )

    def _check_rv_absent(self, rt: ResourceType, obj: Obj) -> None:
        if (obj.get("metadata") or {}).get("resourceVersion"):
            raise conflict(
                group=rt.group,
                resource=rt.plural,
                name=obj["metadata"].get("name", ""),
                why=_MODIFIED_WHY,
            )

    # --- deletion and garbage collection ----------------------------------------------------

    def delete(
        self,
        rt: ResourceType,
        ns: str,
        *,
        name: str,
        ctx: WriteContext,
        propagation: str | None = None,
        preconditions: dict[str, Any] | None = None,
    ) -> tuple[Entry, bool]:
        """DELETE; returns the object and whether it is gone (False: finalizers pending)."""
        with self.lock:
            old = self.lookup(rt, ns, name=name)
            if old is None:
                raise not_found(group=rt.group, resource=rt.plural, name=name)
            meta = old.obj["metadata"]
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != meta["uid"]:
                raise conflict(
                    group=rt.group,
                    resource=rt.plural,
                    name=name,
                    why=(f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {meta['uid']}"),
                )
            if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
                raise conflict(
                    group=rt.group,
                    resource=rt.plural,
                    name=name,
                    why=(
                        "Precondition failed: ResourceVersion in precondition: "
                        f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                        f"{meta['resourceVersion']}"
                    ),
                )
            if propagation not in (None, "Background", "Foreground", "Orphan"):
                raise bad_request(f"unsupported propagation policy: {propagation}")
            self._log("delete", rt, ns=ns, name=name, ctx=ctx, propagationPolicy=propagation or "")
            if ctx.dry_run:
                return old, not meta.get("finalizers")
            return self._delete(rt, old, propagation=propagation or "Background")

    def _delete(self, rt: ResourceType, old: Entry, *, propagation: str) -> tuple[Entry, bool]:
        meta = old.obj["metadata"]
        uid = meta["uid"]
        if propagation == "Orphan":
            self._orphan(uid)
        finalizers = list(meta.get("finalizers") or [])
        has_dependents = bool(self._dependents.get(uid))
        if propagation == "Foreground" and has_dependents and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        is_namespace = rt.key == NAMESPACE_KEY
        if meta.get("deletionTimestamp"):
            if finalizers != list(meta.get("finalizers") or []):
                new = clone(old.obj)
                new["metadata"]["finalizers"] = finalizers
                old = self._put(rt, new, old=old)
            if "foregroundDeletion" in finalizers:
                self._delete_dependents(uid)
            return old, False
        if not finalizers and not is_namespace:
            return self._remove(rt, old), True
        new = clone(old.obj)
        new["metadata"]["deletionTimestamp"] = now_iso()
        new["metadata"]["deletionGracePeriodSeconds"] = 0
        if finalizers:
            new["metadata"]["finalizers"] = finalizers
        if is_namespace:
            new.setdefault("status", {})["phase"] = "Terminating"
        entry = self._put(rt, new, old=old)
        if "foregroundDeletion" in finalizers:
            self._delete_dependents(uid)
            entry = (
                self._lookup_key(
                    (rt.key, "", meta["name"])
                    if not rt.namespaced
                    else (rt.key, meta.get("namespace", ""), meta["name"])
                )
                or entry
            )
            self._finish_foreground(uid)
        if is_namespace:
            self._empty_namespace(meta["name"])
            current = self.lookup(rt, "", name=meta["name"])
            return (current or entry), current is None
        current = self.lookup(rt, meta.get("namespace", ""), name=meta["name"])
        return (current or entry), current is None

    def _orphan(self, uid: str) -> None:
        for okey in list(self._dependents.get(uid, ())):
            dep = self._lookup_key(okey)
            rt = self.registry.by_key(okey[0])
            if dep is None or rt is None:
                continue
            new = clone(dep.obj)
            refs = [r for r in new["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
            if refs:
                new["metadata"]["ownerReferences"] = refs
            else:
                new["metadata"].pop("ownerReferences", None)
            self._put(rt, new, old=dep)

    def _delete_dependents(self, uid: str) -> None:
        for okey in list(self._dependents.get(uid, ())):
            dep = self._lookup_key(okey)
            rt = self.registry.by_key(okey[0])
            if dep is None or rt is None:
                continue
            live_owners = [
                r
                for r in dep.obj["metadata"].get("ownerReferences") or []
                if r.get("uid") != uid and r.get("uid") in self._uids
            ]
            if live_owners:
                continue
            self._delete(rt, dep, propagation="Background")

    def _finish_foreground(self, uid: str) -> None:
        okey = self._uids.get(uid)
        if okey is None:
            return
        owner = self._lookup_key(okey)
        rt = self.registry.by_key(okey[0])
        if owner is None or rt is None:
            return
        finalizers = owner.obj["metadata"].get("finalizers") or []
        if "foregroundDeletion" not in finalizers:
            return
        if any(self._lookup_key(k) is not None for k in self._dependents.get(uid, ())):
            return
        new = clone(owner.obj)
        rest = [f for f in finalizers if f != "foregroundDeletion"]
        if rest:
            new["metadata"]["finalizers"] = rest
            self._put(rt, new, old=owner)
        else:
            new["metadata"].pop("finalizers", None)
            self._remove(rt, self._put(rt, new, old=owner))

    def _remove(self, rt: ResourceType, old: Entry) -> Entry:
        meta = old.obj["metadata"]
        ns = meta.get("namespace", "") if rt.namespaced else ""
        name = meta["name"]
        self._rv += 1
        obj = dict(old.obj)
        obj["metadata"] = dict(meta)
        obj["metadata"]["resourceVersion"] = str(self._rv)
        entry = Entry(obj)
        bucket = self._data.get(rt.key, {}).get(ns, {})
        bucket.pop(name, None)
        if not bucket:
            self._data.get(rt.key, {}).pop(ns, None)
        uid = meta["uid"]
        self._uids.pop(uid, None)
        okey: ObjKey = (rt.key, ns, name)
        self._index_owners(okey, old.obj, new=None)
        self._emit(Event("DELETED", self._rv, ns, entry, None, rt.key))
        if self._dependents.get(uid):
            self._delete_dependents(uid)
        for ref in meta.get("ownerReferences") or []:
            if ref.get("uid"):
                self._finish_foreground(str(ref["uid"]))
        if rt.key == CRD_KEY:
            self._drop_custom_type(obj)
        if rt.namespaced:
            self._finish_namespace(ns)
        return entry

    def _drop_custom_type(self, crd: Obj) -> None:
        ct = crd_to_type(crd)
        for ns, bucket in list(self._data.get(ct.key, {}).items()):
            for item in list(bucket.values()):
                live = self.lookup(ct, ns, name=item.obj["metadata"]["name"])
                if live is not None:
                    self._remove(ct, live)
        self._data.pop(ct.key, None)
        self.registry.remove(ct.key)

    def _empty_namespace(self, ns: str) -> None:
        for key, buckets in list(self._data.items()):
            rt = self.registry.by_key(key)
            if rt is None or not rt.namespaced:
                continue
            for entry in list(buckets.get(ns, {}).values()):
                live = self.lookup(rt, ns, name=entry.obj["metadata"]["name"])
                if live is not None and not live.obj["metadata"].get("deletionTimestamp"):
                    self._delete(rt, live, propagation="Background")
        self._finish_namespace(ns)

    def _finish_namespace(self, ns: str) -> None:
        entry = self._data.get(NAMESPACE_KEY, {}).get("", {}).get(ns)
        if entry is None or not entry.obj["metadata"].get("deletionTimestamp"):
            return
        if any(buckets.get(ns) for buckets in self._data.values()):
            return
        rt = self.registry.by_key(NAMESPACE_KEY)
        assert rt is not None
        if entry.obj["metadata"].get("finalizers"):
            return
        self._remove(rt, entry)

    def delete_collection(
        self,
        rt: ResourceType,
        ns: str | None,
        *,
        ctx: WriteContext,
        label: Matcher | None = None,
        field: Matcher | None = None,
        propagation: str | None = None,
    ) -> list[Entry]:
        with self.lock:
            listed = self.list_entries(rt, ns, label=label, field=field)
            out = []
            for entry in listed.entries:
                meta = entry.obj["metadata"]
                gone, _ = self.delete(
                    rt, meta.get("namespace", ""), name=meta["name"], ctx=ctx, propagation=propagation
                )
                out.append(gone)
            return out

    # --- persistence helpers ------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """Every object, CRDs first, with the revision counter; for snapshots."""
        with self.lock:
            objects: list[Obj] = []
            keys = sorted(self._data, key=lambda k: (k != CRD_KEY, k != NAMESPACE_KEY, k))
            for key in keys:
                for bucket in self._data[key].values():
                    objects.extend(e.obj for e in bucket.values())
            return {"resourceVersion": self._rv, "objects": objects}

    def load(self, state: dict[str, Any]) -> int:
        """Restore a dump, replacing nothing that exists; returns the number loaded."""
        count = 0
        with self.lock:
            for obj in state.get("objects") or []:
                rt = self.registry.by_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
                if rt is None:
                    continue
                meta = obj["metadata"]
                ns = meta.get("namespace", "") if rt.namespaced else ""
                entry = Entry(obj)
                self._bucket(rt.key, ns)[meta["name"]] = entry
                okey: ObjKey = (rt.key, ns, meta["name"])
                self._uids[meta["uid"]] = okey
                self._index_owners(okey, None, new=obj)
                if rt.key == CRD_KEY:
                    self.registry.add(crd_to_type(obj))
                count += 1
            self._rv = max(self._rv, int(state.get("resourceVersion") or 0))
            for key in self._data:
                self._compacted[key] = self._rv
        return count

    def iter_objects(self, key: TypeKey) -> Iterable[Entry]:
        with self.lock:
            return [e for bucket in self._data.get(key, {}).values() for e in bucket.values()]


def _unknown_texts(found: list[fields.FieldPath]) -> list[str]:
    return [f"unknown field {fields.go_quote(fields.dotted(path))}" for path in found]


def _strict_decoding_error(found: list[fields.FieldPath]) -> str:
    return "strict decoding error: " + ", ".join(_unknown_texts(found))


def _unsupported_patch(rt: ResourceType) -> ApiError:
    accepted = "application/json-patch+json, application/merge-patch+json"
    if not rt.custom:
        accepted += ", application/strategic-merge-patch+json"
    accepted += ", application/apply-patch+yaml"
    return ApiError(
        415,
        "the body of the request was in an unknown format - accepted media types include: " + accepted,
    )
