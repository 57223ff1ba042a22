"""Discovery and unstructured object operations on one cluster.

Role: typed functions over ``KubeObject = dict[str, Any]`` — discovery (``ApiResource``), get/list/create/replace/
delete/patch, server-side apply, kubectl-style client-side apply (three-way patch against the last-applied
annotation), pod logs, events and raw watch streams (consumed by ``kube/cache.py``). Boundary: requests go through
:class:`~argocd_server.kube.client.ClusterClient` (the official client's urllib3 pool, JSON via orjson, which is
several times faster than the client's model deserialisation for lists); every error leaves as an ``ArgoError``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from argocd_server.errors import AlreadyExists, ArgoError, InvalidArgument, NotFound
from argocd_server.kube.client import ClusterClient
from argocd_server.kube.errors import Gone, translate_status, translating

KubeObject = dict[str, Any]

LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
CLIENT_SIDE_APPLY_MANAGER = "kubectl-client-side-apply"
"""The field manager kubectl's client-side apply writes under (its ``--field-manager`` default)."""

# Built-in API groups: the API server accepts strategic merge patches only for these (compiled-in Go types);
# custom resources take JSON merge patches, as kubectl falls back to.
_BUILTIN_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "autoscaling",
        "policy",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "scheduling.k8s.io",
        "coordination.k8s.io",
        "node.k8s.io",
        "discovery.k8s.io",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "certificates.k8s.io",
        "events.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "resource.k8s.io",
    }
)

# patchMergeKey of the list fields of the built-in types (from the Kubernetes API reference).
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
}
_PRIMITIVE_MERGE_LISTS = frozenset({"finalizers"})


@dataclass(frozen=True)
class GroupVersionKind:
    group: str
    version: str
    kind: str

    @classmethod
    def from_api_version(cls, api_version: str, kind: str) -> GroupVersionKind:
        group, _, version = api_version.rpartition("/")
        return cls(group, version, kind)

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> GroupVersionKind:
        """The GVK an object declares; InvalidArgument when ``apiVersion`` or ``kind`` is missing."""
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not api_version or not kind:
            raise InvalidArgument("Object 'Kind' is missing or 'apiVersion' is missing")
        return cls.from_api_version(str(api_version), str(kind))

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def __str__(self) -> str:
        return f"{self.api_version}, Kind={self.kind}"


@dataclass(frozen=True)
class ApiResource:
    """One discovered resource type (subresources excluded)."""

    group: str
    version: str
    kind: str
    name: str
    namespaced: bool
    verbs: tuple[str, ...]
    short_names: tuple[str, ...] = ()
    preferred: bool = True
    """Whether ``version`` is the group's preferred version."""

    @property
    def gvk(self) -> GroupVersionKind:
        return GroupVersionKind(self.group, self.version, self.kind)

    @property
    def api_version(self) -> str:
        return self.gvk.api_version

    def can(self, *verbs: str) -> bool:
        return all(v in self.verbs for v in verbs)

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """The REST path of the collection (or one object); ``namespace`` is ignored for cluster-scoped types."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.name}"
        return f"{base}/{name}" if name else base


@dataclass(frozen=True)
class ObjectPage:
    items: list[KubeObject]
    resource_version: str
    continue_token: str


class PatchType(StrEnum):
    JSON = "application/json-patch+json"
    MERGE = "application/merge-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"


class ApplyAction(StrEnum):
    """kubectl's wording of what client-side apply did."""

    CREATED = "created"
    CONFIGURED = "configured"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class ApplyResult:
    object: KubeObject
    action: ApplyAction
    patch: KubeObject | None = None
    """The patch sent (None when created or unchanged)."""


@dataclass(frozen=True)
class WatchEvent:
    type: str
    """ADDED, MODIFIED, DELETED or BOOKMARK."""
    object: KubeObject


class WatchStream:
    """One open watch: iterate for events; ``close()`` from another thread interrupts a blocked read."""

    def __init__(self, response: Any) -> None:
        self._resp = response
        self._closed = False

    def __iter__(self) -> Iterator[WatchEvent]:
        buf = b""
        try:
            with translating():
                for chunk in self._resp.stream(65536, decode_content=True):
                    buf += chunk
                    if b"\n" not in buf:
                        continue
                    *lines, buf = buf.split(b"\n")
                    for line in lines:
                        if line.strip():
                            yield self._event(line)
                if buf.strip() and not self._closed:
                    yield self._event(buf)
        except ArgoError:
            if self._closed:
                return
            raise
        finally:
            self.close()

    @staticmethod
    def _event(line: bytes) -> WatchEvent:
        doc = orjson.loads(line)
        kind = str(doc.get("type", ""))
        obj = doc.get("object") or {}
        if kind == "ERROR":
            raise translate_status(int(obj.get("code") or 500), line if not obj else orjson.dumps(obj))
        return WatchEvent(kind, obj)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # shutdown() (urllib3 >= 2.3) unblocks a read in progress on another thread; close() alone would not.
        with contextlib.suppress(Exception):
            self._resp.shutdown()
        with contextlib.suppress(Exception):
            self._resp.release_conn()


def _dry(dry_run: bool) -> list[str] | None:
    return ["All"] if dry_run else None


def _write_query(dry_run: bool, field_manager: str | None, field_validation: str | None) -> dict[str, Any]:
    """The query of a create, update or patch (parameters left None are not sent)."""
    return {"dryRun": _dry(dry_run), "fieldManager": field_manager, "fieldValidation": field_validation}


class ResourceClient:
    """Discovery (cached, refreshable) and object operations on one cluster."""

    def __init__(self, cluster: ClusterClient, *, list_page_size: int = 500) -> None:
        self.cluster = cluster
        self.list_page_size = list_page_size
        self._lock = threading.Lock()
        self._resources: list[ApiResource] | None = None
        self._by_gvk: dict[GroupVersionKind, ApiResource] = {}
        self._preferred: dict[tuple[str, str], ApiResource] = {}

    # --- discovery ---

    def api_resources(self, *, refresh: bool = False) -> list[ApiResource]:
        """Every resource type of every served group version, preferred versions first; cached until refreshed."""
        with self._lock:
            if self._resources is not None and not refresh:
                return list(self._resources)
        found = self._discover()
        with self._lock:
            self._resources = found
            self._by_gvk = {r.gvk: r for r in found}
            self._preferred = {}
            for r in found:
                self._preferred.setdefault((r.group, r.kind), r)
        return list(found)

    def scope_lookup(self) -> Callable[[str, str], bool | None]:
        """``(group, kind) -> namespaced?`` of the preferred version (None: unknown kind), from cached discovery."""
        if self._resources is None:
            self.api_resources()
        preferred = self._preferred  # replaced, never changed, when discovery is refreshed

        def namespaced(group: str, kind: str) -> bool | None:
            found = preferred.get((group, kind))
            return found.namespaced if found is not None else None

        return namespaced

    def refresh_discovery(self) -> list[ApiResource]:
        return self.api_resources(refresh=True)

    def _discover(self) -> list[ApiResource]:
        versions: list[tuple[str, str, bool]] = []
        core = self.cluster.request_json("GET", "/api")
        versions.extend(("", v, i == 0) for i, v in enumerate(core.get("versions") or []))
        groups = self.cluster.request_json("GET", "/apis")
        for group in groups.get("groups") or []:
            preferred = (group.get("preferredVersion") or {}).get("version")
            for v in group.get("versions") or []:
                versions.append((group["name"], v["version"], v["version"] == preferred))

        def fetch(entry: tuple[str, str, bool]) -> list[ApiResource]:
            group, version, preferred = entry
            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            try:
                doc = self.cluster.request_json("GET", path)
            except NotFound:
                return []  # a group version removed between the two discovery calls
            out = []
            for res in doc.get("resources") or []:
                if "/" in res["name"]:
                    continue
                out.append(
                    ApiResource(
                        group=group,
                        version=version,
                        kind=res["kind"],
                        name=res["name"],
                        namespaced=bool(res.get("namespaced")),
                        verbs=tuple(res.get("verbs") or ()),
                        short_names=tuple(res.get("shortNames") or ()),
                        preferred=preferred,
                    )
                )
            return out

        with ThreadPoolExecutor(max_workers=min(8, max(1, len(versions)))) as pool:
            chunks = list(pool.map(fetch, versions))
        found = [r for chunk in chunks for r in chunk]
        found.sort(key=lambda r: not r.preferred)
        return found

    def resource_for(self, gvk: GroupVersionKind) -> ApiResource:
        """The resource type of a GVK; refreshes discovery once on a miss (a CRD may have just been created)."""
        for attempt in range(2):
            self.api_resources(refresh=attempt == 1)
            with self._lock:
                found = self._by_gvk.get(gvk)
            if found is not None:
                return found
        raise NotFound(f'no matches for kind "{gvk.kind}" in version "{gvk.api_version}"')

    def preferred_resource(self, group: str, kind: str) -> ApiResource:
        """The preferred-version resource type of a group/kind."""
        for attempt in range(2):
            self.api_resources(refresh=attempt == 1)
            with self._lock:
                found = self._preferred.get((group, kind))
            if found is not None:
                return found
        raise NotFound(f'no matches for kind "{kind}" in group "{group}"')

    def _target(self, obj: Mapping[str, Any]) -> tuple[ApiResource, str, str | None]:
        api = self.resource_for(GroupVersionKind.of(obj))
        meta = obj.get("metadata") or {}
        name = str(meta.get("name") or "")
        namespace = meta.get("namespace") or None
        if api.namespaced and not namespace:
            raise InvalidArgument(f"{api.kind} {name!r}: a namespace is required for namespaced kinds")
        return api, name, namespace if api.namespaced else None

    # --- reads ---

    def get(self, gvk: GroupVersionKind, name: str, *, namespace: str | None = None) -> KubeObject:
        api = self.resource_for(gvk)
        result: KubeObject = self.cluster.request_json("GET", api.path(namespace, name))
        return result

    def list_page(
        self,
        api: ApiResource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> ObjectPage:
        """One page of a LIST; items get ``apiVersion``/``kind`` filled in as a real API server leaves them out."""
        query = {
            "labelSelector": label_selector or None,
            "fieldSelector": field_selector or None,
            "limit": limit or None,
            "continue": continue_token or None,
        }
        doc = self.cluster.request_json("GET", api.path(namespace), query=query)
        items = doc.get("items") or []
        api_version = api.api_version
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", api.kind)
        meta = doc.get("metadata") or {}
        return ObjectPage(items, str(meta.get("resourceVersion") or ""), str(meta.get("continue") or ""))

    def list_all(
        self,
        api: ApiResource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> ObjectPage:
        """Every object of a type, paged; restarts once from scratch when a continue token expires (410)."""
        for attempt in range(2):
            items: list[KubeObject] = []
            token = ""
            try:
                while True:
                    page = self.list_page(
                        api,
                        namespace=namespace,
                        label_selector=label_selector,
                        field_selector=field_selector,
                        limit=self.list_page_size,
                        continue_token=token,
                    )
                    items.extend(page.items)
                    token = page.continue_token
                    if not token:
                        return ObjectPage(items, page.resource_version, "")
            except Gone:
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def list_objects(
        self,
        gvk: GroupVersionKind,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[KubeObject]:
        """Objects of a GVK in one namespace (or all namespaces when None)."""
        api = self.resource_for(gvk)
        return self.list_all(
            api, namespace=namespace, label_selector=label_selector, field_selector=field_selector
        ).items

    def watch(
        self,
        api: ApiResource,
        *,
        resource_version: str,
        namespace: str | None = None,
        timeout_seconds: int = 300,
        read_timeout: float | None = None,
    ) -> WatchStream:
        """Open a watch from ``resource_version`` (bookmarks on); 410 raises ``Gone`` on open or while reading."""
        query = {
            "watch": "true",
            "resourceVersion": resource_version or None,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": timeout_seconds,
        }
        resp = self.cluster.request(
            "GET",
            api.path(namespace),
            query=query,
            stream=True,
            read_timeout=read_timeout if read_timeout is not None else timeout_seconds + 30.0,
        )
        return WatchStream(resp)

    # --- writes ---

    def create(
        self,
        obj: KubeObject,
        *,
        dry_run: bool = False,
        field_manager: str | None = None,
        field_validation: str | None = None,
    ) -> KubeObject:
        """POST; ``field_validation`` (``Strict``/``Warn``/``Ignore``, None: the server's default) decides what
        unknown fields do."""
        api, _, namespace = self._target(obj)
        query = _write_query(dry_run, field_manager, field_validation)
        result: KubeObject = self.cluster.request_json("POST", api.path(namespace), query=query, body=obj)
        return result

    def replace(
        self,
        obj: KubeObject,
        *,
        dry_run: bool = False,
        field_manager: str | None = None,
        field_validation: str | None = None,
    ) -> KubeObject:
        """PUT the whole object; a stale ``metadata.resourceVersion`` is Aborted (409)."""
        api, name, namespace = self._target(obj)
        query = _write_query(dry_run, field_manager, field_validation)
        result: KubeObject = self.cluster.request_json("PUT", api.path(namespace, name), query=query, body=obj)
        return result

    def delete(
        self,
        gvk: GroupVersionKind,
        name: str,
        *,
        namespace: str | None = None,
        propagation_policy: str | None = None,
        dry_run: bool = False,
        grace_period_seconds: int | None = None,
    ) -> KubeObject | None:
        """Delete one object; returns it while finalizers keep it (``deletionTimestamp`` set), else None."""
        api = self.resource_for(gvk)
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if dry_run:
            options["dryRun"] = ["All"]
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        doc = self.cluster.request_json(
            "DELETE", api.path(namespace, name), query={"dryRun": _dry(dry_run)}, body=options
        )
        if isinstance(doc, dict) and doc.get("kind") != "Status":
            return doc
        return None

    def patch(
        self,
        gvk: GroupVersionKind,
        name: str,
        patch: Any,
        *,
        namespace: str | None = None,
        patch_type: PatchType = PatchType.MERGE,
        dry_run: bool = False,
        field_manager: str | None = None,
        field_validation: str | None = None,
    ) -> KubeObject:
        api = self.resource_for(gvk)
        query = _write_query(dry_run, field_manager, field_validation)
        result: KubeObject = self.cluster.request_json(
            "PATCH", api.path(namespace, name), query=query, body=patch, content_type=patch_type.value
        )
        return result

    def apply(
        self,
        obj: KubeObject,
        *,
        field_manager: str,
        force: bool = False,
        dry_run: bool = False,
        field_validation: str | None = None,
    ) -> KubeObject:
        """Server-side apply; conflicts with other managers are Aborted naming them, unless ``force``."""
        api, name, namespace = self._target(obj)
        query = {
            "fieldManager": field_manager,
            "force": "true" if force else None,
            "dryRun": _dry(dry_run),
            "fieldValidation": field_validation,
        }
        # JSON is valid YAML, so the apply body goes out as JSON under the apply-patch media type.
        result: KubeObject = self.cluster.request_json(
            "PATCH", api.path(namespace, name), query=query, body=obj, content_type=PatchType.APPLY.value
        )
        return result

    def client_side_apply(
        self,
        obj: KubeObject,
        *,
        dry_run: bool = False,
        field_manager: str | None = CLIENT_SIDE_APPLY_MANAGER,
        field_validation: str | None = None,
        probably_missing: bool = False,
    ) -> ApplyResult:
        """kubectl-style apply: create when missing, else a three-way patch (last-applied, desired, live).

        ``probably_missing`` (the caller's cache has no such object) tries the create first and reads the live
        object only when it exists after all: one request instead of two for a new object.

        Fields present in the last-applied annotation but dropped from ``obj`` are removed; fields other writers
        set are left alone. The annotation is rewritten to ``obj``. Strategic merge for built-in kinds, JSON merge
        patch for custom resources. Both writes go out under kubectl's client-side apply field manager unless
        told otherwise, so a later server-side apply can take that ownership over
        (:func:`client_side_apply_migration_patch`).
        """
        api, name, namespace = self._target(obj)
        desired = _with_last_applied(obj)
        if probably_missing:
            try:
                created = self.create(
                    desired, dry_run=dry_run, field_manager=field_manager, field_validation=field_validation
                )
                return ApplyResult(created, ApplyAction.CREATED)
            except AlreadyExists:
                pass
        try:
            live = self.cluster.request_json("GET", api.path(namespace, name))
        except NotFound:
            created = self.create(
                desired, dry_run=dry_run, field_manager=field_manager, field_validation=field_validation
            )
            return ApplyResult(created, ApplyAction.CREATED)
        annotations = (live.get("metadata") or {}).get("annotations") or {}
        original: KubeObject = {}
        if annotations.get(LAST_APPLIED_ANNOTATION):
            try:
                loaded = orjson.loads(annotations[LAST_APPLIED_ANNOTATION])
            except orjson.JSONDecodeError:
                loaded = {}
            original = loaded if isinstance(loaded, dict) else {}
        strategic = api.group in _BUILTIN_GROUPS
        patch = three_way_patch(original, desired, live, strategic=strategic)
        if not patch:
            return ApplyResult(live, ApplyAction.UNCHANGED)
        patched = self.patch(
            api.gvk,
            name,
            patch,
            namespace=namespace,
            patch_type=PatchType.STRATEGIC if strategic else PatchType.MERGE,
            dry_run=dry_run,
            field_manager=field_manager,
            field_validation=field_validation,
        )
        return ApplyResult(patched, ApplyAction.CONFIGURED, patch)

    # --- pods and events ---

    def pod_logs(
        self,
        namespace: str,
        name: str,
        *,
        container: str | None = None,
        tail_lines: int | None = None,
        since_seconds: int | None = None,
        follow: bool = False,
        previous: bool = False,
        timestamps: bool = False,
    ) -> Iterator[str]:
        """Log lines of a pod container (without newlines); with ``follow`` the iterator lasts as long as the stream.

        Errors opening the stream (missing pod, bad container) raise on the first ``next()``.
        """
        query = {
            "container": container,
            "tailLines": tail_lines,
            "sinceSeconds": since_seconds,
            "follow": "true" if follow else None,
            "previous": "true" if previous else None,
            "timestamps": "true" if timestamps else None,
        }
        path = f"/api/v1/namespaces/{namespace}/pods/{name}/log"
        resp = self.cluster.request("GET", path, query=query, accept="*/*", stream=True, read_timeout=None)
        return _lines(resp)

    def events(
        self,
        namespace: str | None = None,
        *,
        involved_kind: str | None = None,
        involved_name: str | None = None,
        involved_uid: str | None = None,
    ) -> list[KubeObject]:
        """Core v1 Events, optionally only those about one object, oldest first."""
        fields = [
            f"involvedObject.{k}={v}"
            for k, v in (("kind", involved_kind), ("name", involved_name), ("uid", involved_uid))
            if v
        ]
        api = self.resource_for(GroupVersionKind("", "v1", "Event"))
        items = self.list_all(api, namespace=namespace, field_selector=",".join(fields) or None).items
        items.sort(key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
        return items


def _lines(resp: Any) -> Iterator[str]:
    buf = b""
    try:
        with translating():
            for chunk in resp.stream(8192, decode_content=True):
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    yield line.decode(errors="replace")
            if buf:
                yield buf.decode(errors="replace")
    finally:
        # A follow stream abandoned half-way must not go back to the pool with unread data.
        if not resp.isclosed():
            with contextlib.suppress(Exception):
                resp.shutdown()
        with contextlib.suppress(Exception):
            resp.release_conn()


# --- client-side to server-side apply migration -------------------------------------------------------------------


def _union_fields(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    # fieldsV1 trees are sets of paths: the union of two is the recursive union of their keys.
    for key, value in other.items():
        mine = into.get(key)
        if isinstance(mine, dict) and isinstance(value, Mapping):
            _union_fields(mine, value)
        elif key not in into:
            into[key] = orjson.loads(orjson.dumps(value))


def client_side_apply_migration_patch(
    live: Mapping[str, Any], *, csa_managers: Sequence[str], ssa_manager: str
) -> list[dict[str, Any]] | None:
    """A JSON patch handing the fields client-side apply owns over to a server-side apply manager, or None.

    Reproduces client-go's ``csaupgrade.UpgradeManagedFieldsPatch``: the ``Update`` entries (main resource) of
    each CSA manager are merged into the SSA manager's ``Apply`` entry, which the newest CSA entry becomes when
    there is none, and removed; without that, fields dropped from the configuration would stay, owned by the
    CSA manager, after the next server-side apply. The patch also writes back the resourceVersion that was read,
    so a concurrent change fails with a 409 conflict instead of being overwritten.
    """
    metadata = live.get("metadata") or {}
    original = [e for e in metadata.get("managedFields") or [] if isinstance(e, dict)]
    entries: list[dict[str, Any]] = orjson.loads(orjson.dumps(original))

    def is_csa(entry: Mapping[str, Any], manager: str) -> bool:
        return entry.get("manager") == manager and entry.get("operation") == "Update" and not entry.get("subresource")

    for manager in csa_managers:
        owned = [e for e in entries if is_csa(e, manager)]
        if not owned:
            continue
        target = next(
            (
                e
                for e in entries
                if e.get("manager") == ssa_manager and e.get("operation") == "Apply" and not e.get("subresource")
            ),
            None,
        )
        if target is None:
            # As client-go does, the first entry of the CSA manager becomes the SSA manager's.
            target = owned[0]
            target["manager"] = ssa_manager
            target["operation"] = "Apply"
        fields_v1 = target.setdefault("fieldsV1", {})
        target.setdefault("fieldsType", "FieldsV1")
        for entry in owned:
            if entry is not target:
                _union_fields(fields_v1, entry.get("fieldsV1") or {})
        entries = [e for e in entries if not is_csa(e, manager)]
    if entries == original:
        return None
    return [
        {"op": "replace", "path": "/metadata/managedFields", "value": entries},
        {"op": "replace", "path": "/metadata/resourceVersion", "value": metadata.get("resourceVersion")},
    ]


# --- the three-way patch ------------------------------------------------------------------------------------------


def _with_last_applied(obj: KubeObject) -> KubeObject:
    """``obj`` with the last-applied annotation set to ``obj`` itself (minus that annotation)."""
    meta = dict(obj.get("metadata") or {})
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED_ANNOTATION}
    meta.pop("resourceVersion", None)
    stripped = dict(obj)
    stripped["metadata"] = dict(meta, annotations=annotations) if annotations else meta
    if not annotations:
        stripped["metadata"].pop("annotations", None)
    # kubectl writes the annotation as compact JSON plus a trailing newline.
    text = orjson.dumps(stripped, option=orjson.OPT_SORT_KEYS).decode() + "\n"
    out = dict(stripped)
    out["metadata"] = dict(stripped["metadata"], annotations={**annotations, LAST_APPLIED_ANNOTATION: text})
    return out


def _merge_key(field: str, items: Sequence[Any]) -> str | None:
    if field == "ports":
        return "containerPort" if any(isinstance(i, dict) and "containerPort" in i for i in items) else "port"
    return _MERGE_KEYS.get(field)


def three_way_patch(original: KubeObject, modified: KubeObject, current: KubeObject, *, strategic: bool) -> KubeObject:
    """A patch turning ``current`` into ``modified`` where they differ, deleting what ``original`` had and
    ``modified`` dropped; fields only ``current`` has (set by other writers or defaulting) are kept."""
    return _diff_map(original, modified, current, strategic=strategic)


def _diff_map(original: Any, modified: Mapping[str, Any], current: Any, *, strategic: bool) -> KubeObject:
    orig = original if isinstance(original, dict) else {}
    cur = current if isinstance(current, dict) else {}
    patch: KubeObject = {}
    for key, want in modified.items():
        have = cur.get(key)
        if isinstance(want, dict) and isinstance(have, dict):
            sub = _diff_map(orig.get(key), want, have, strategic=strategic)
            if sub:
                patch[key] = sub
        elif strategic and isinstance(want, list) and isinstance(have, list):
            if key in _PRIMITIVE_MERGE_LISTS:
                _diff_primitive_merge(patch, key, orig.get(key), want, have)
            else:
                merge_key = _merge_key(key, [*want, *have])
                if merge_key is not None and all(isinstance(i, dict) for i in [*want, *have]):
                    items = _diff_keyed_list(merge_key, orig.get(key), want, have)
                    if items:
                        patch[key] = items
                elif want != have:
                    patch[key] = want
        elif key not in cur or want != have:
            patch[key] = want
    for key in orig:
        if key not in modified and key in cur:
            patch[key] = None
    return patch


def _diff_primitive_merge(patch: KubeObject, key: str, original: Any, want: list[Any], have: list[Any]) -> None:
    # Merged primitive lists (finalizers) union on patch, so removals need the explicit deletion directive.
    added = [v for v in want if v not in have]
    dropped = [v for v in (original or []) if v not in want and v in have]
    if added:
        patch[key] = added
    if dropped:
        patch[f"$deleteFromPrimitiveList/{key}"] = dropped


def _diff_keyed_list(merge_key: str, original: Any, want: list[Any], have: list[Any]) -> list[Any]:
    orig = {i.get(merge_key): i for i in original or [] if isinstance(i, dict)}
    cur = {i.get(merge_key): i for i in have}
    items: list[Any] = []
    for item in want:
        ident = item.get(merge_key)
        live = cur.get(ident)
        if live is None:
            items.append(item)
            continue
        sub = _diff_map(orig.get(ident), item, live, strategic=True)
        if sub:
            items.append({merge_key: ident, **sub})
    wanted = {i.get(merge_key) for i in want}
    items.extend({merge_key: ident, "$patch": "delete"} for ident in orig if ident not in wanted and ident in cur)
    return items
