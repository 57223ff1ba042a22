"""Application state comparison: desired (rendered) objects versus the live managed set.

Reproduces the compare half of Argo CD's controller (``controller/state.go CompareAppState``): rendered objects get
the destination namespace when namespaced and the tracking metadata of the app (``annotation`` by default); the
live set is every root object tracked by the app plus any live object at a target key (adoption); each pair is
diffed with ``engine.diff`` and gets a resource sync status (hooks and copies get none), the app is OutOfSync when
any counted resource is, health is aggregated with ``engine.health``; conditions SharedResourceWarning,
RepeatedResourceWarning and OrphanedResourceWarning are derived here; ``status.summary`` images and external URLs
come from the live objects. Pure: the controller supplies the rendered objects, the live objects and the scope
lookup, so nothing here performs I/O.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from argocd_server.engine.diff import (
    DiffOptions,
    ResourceDiff,
    diff_resource,
    has_ignore_extraneous,
)
from argocd_server.engine.health import (
    AppResourceHealth,
    HealthStatus,
    HealthStatusCode,
    LuaHealthCheck,
    aggregate_health,
    assess_health,
)
from argocd_server.engine.resources import (
    KubeObject,
    ResourceKey,
    annotations_of,
    deep_copy,
    group_kind_of,
    hook_types,
    is_crd,
    is_hook,
    is_ignored_hook,
    is_namespaced_kind,
    parse_api_version,
    sync_wave_of,
)
from argocd_server.engine.tracking import (
    ANNOTATION_TRACKING_ID,
    TrackingMethod,
    get_app_name,
    is_self_referenced,
    set_tracking,
)

__all__ = [
    "CompareResult",
    "Condition",
    "ManagedResource",
    "NamespacedLookup",
    "compare_app_state",
    "external_urls_of",
    "images_of",
    "prepare_targets",
]

NamespacedLookup = Callable[[str, str], bool | None]
"""``(group, kind) -> namespaced?`` from discovery; None = unknown (treated as namespaced, as upstream does)."""

_ORPHAN_EXCEPTIONS = {
    ("", "ServiceAccount", "default"),
    ("", "ConfigMap", "kube-root-ca.crt"),
}
_LINK_PREFIX = "link.argocd.argoproj.io/"


@dataclass(frozen=True)
class Condition:
    type: str
    message: str


@dataclass(frozen=True)
class ManagedResource:
    """One entry of ``status.resources`` plus what managed-resources and sync need."""

    key: ResourceKey
    version: str
    target: KubeObject | None
    live: KubeObject | None
    diff: ResourceDiff
    status: str
    health: HealthStatus | None
    hook: bool = False
    requires_pruning: bool = False
    sync_wave: int = 0

    def to_status(self) -> dict[str, Any]:
        """``ResourceStatus`` wire shape (omitempty emulated)."""
        out: dict[str, Any] = {}
        for name, value in (
            ("group", self.key.group),
            ("version", self.version),
            ("kind", self.key.kind),
            ("namespace", self.key.namespace),
            ("name", self.key.name),
            ("status", self.status),
        ):
            if value:
                out[name] = value
        if self.health is not None and self.live is not None:
            health: dict[str, str] = {"status": str(self.health.status)}
            if self.health.message:
                health["message"] = self.health.message
            out["health"] = health
        elif self.live is None and not self.hook:
            out["health"] = {"status": str(HealthStatusCode.MISSING)}
        if self.hook:
            out["hook"] = True
        if self.requires_pruning:
            out["requiresPruning"] = True
        if self.sync_wave:
            out["syncWave"] = self.sync_wave
        return out


@dataclass(frozen=True)
class CompareResult:
    resources: tuple[ManagedResource, ...]
    sync_status: str
    health: HealthStatus
    conditions: tuple[Condition, ...] = ()
    images: tuple[str, ...] = ()
    external_urls: tuple[str, ...] = ()
    targets: tuple[KubeObject, ...] = field(default=(), repr=False)
    """The prepared targets (tracking set, namespaces defaulted), hooks included, for the sync planner."""
    live: tuple[KubeObject, ...] = field(default=(), repr=False)
    """The managed live set, for the sync planner."""

    @property
    def out_of_sync_keys(self) -> set[ResourceKey]:
        return {r.key for r in self.resources if r.diff.modified}


def _scope(obj: Mapping[str, Any], is_namespaced: NamespacedLookup | None) -> bool | None:
    group, kind = group_kind_of(obj)
    if is_namespaced is not None:
        answer = is_namespaced(group, kind)
        if answer is not None:
            return answer
    return is_namespaced_kind(group, kind)


def prepare_targets(
    rendered: Iterable[KubeObject],
    *,
    instance: str,
    destination_namespace: str,
    tracking_method: TrackingMethod = TrackingMethod.ANNOTATION,
    label_key: str = "app.kubernetes.io/instance",
    is_namespaced: NamespacedLookup | None = None,
) -> list[KubeObject]:
    """Rendered objects as the controller compares and applies them (``DeduplicateTargetObjects`` + tracking).

    Namespaced (or unknown-scope) objects without a namespace get the destination namespace; cluster-scoped ones
    lose any namespace; every object except CRDs carries the app's tracking metadata.
    """
    prepared: list[KubeObject] = []
    for raw in rendered:
        if not isinstance(raw, dict) or not raw.get("kind"):
            continue
        obj = deep_copy(raw)
        metadata = obj.setdefault("metadata", {})
        scope = _scope(obj, is_namespaced)
        if scope is False:
            metadata.pop("namespace", None)
        elif not metadata.get("namespace") and destination_namespace:
            metadata["namespace"] = destination_namespace
        prepared.append(
            set_tracking(
                obj, app=instance, method=tracking_method, label_key=label_key, namespace=destination_namespace
            )
        )
    return prepared


def _containers(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    spec = obj.get("spec") or {}
    kind = obj.get("kind")
    if kind == "Pod":
        pod = spec
    elif kind == "CronJob":
        pod = (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    else:
        pod = (spec.get("template") or {}).get("spec") or {}
    if not isinstance(pod, dict):
        return []
    return [c for c in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])] if isinstance(c, dict)]


def images_of(obj: Mapping[str, Any] | None) -> list[str]:
    """Container images of a Pod, a workload template or a CronJob's job template, in order, deduplicated."""
    if not obj:
        return []
    seen: list[str] = []
    for container in _containers(obj):
        image = container.get("image")
        if isinstance(image, str) and image and image not in seen:
            seen.append(image)
    return seen


def external_urls_of(obj: Mapping[str, Any] | None) -> list[str]:
    """Ingress rule URLs and ``link.argocd.argoproj.io/*`` annotations (valid http(s) URLs only)."""
    if not obj:
        return []
    urls: list[str] = []
    for key, value in annotations_of(obj).items():
        if key.startswith(_LINK_PREFIX):
            url = value.split("|", 1)[-1].strip()
            if url.startswith(("http://", "https://")):
                urls.append(url)
    if group_kind_of(obj) in (("networking.k8s.io", "Ingress"), ("extensions", "Ingress")):
        if annotations_of(obj).get("argocd.argoproj.io/ignore-default-links") == "true":
            return urls
        spec = obj.get("spec") or {}
        tls_hosts = {h for t in spec.get("tls") or [] for h in (t.get("hosts") or [])}
        lb = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        fallback = next((str(i.get("hostname") or i.get("ip") or "") for i in lb if isinstance(i, dict)), "")
        for rule in spec.get("rules") or []:
            host = str(rule.get("host") or fallback)
            if not host:
                continue
            scheme = "https" if host in tls_hosts else "http"
            paths = ((rule.get("http") or {}).get("paths")) or [{}]
            for path in paths:
                url = f"{scheme}://{host}{path.get('path') or ''}"
                if url not in urls:
                    urls.append(url)
    return urls


def _display_instance(instance: str, controller_namespace: str) -> str:
    if "_" in instance:
        namespace, _, name = instance.partition("_")
        return f"{namespace}/{name}"
    return f"{controller_namespace}/{instance}"


def _orphan_count(
    candidates: Iterable[KubeObject],
    *,
    managed: set[ResourceKey],
    ignore: Sequence[Mapping[str, Any]],
) -> int:
    count = 0
    for obj in candidates:
        metadata = obj.get("metadata") or {}
        if metadata.get("ownerReferences"):
            continue
        key = ResourceKey.from_object(obj)
        if key in managed or not key.namespace:
            continue
        if (key.group, key.kind, key.name) in _ORPHAN_EXCEPTIONS:
            continue
        if (key.group, key.kind, key.namespace, key.name) == ("", "Service", "default", "kubernetes"):
            continue
        if annotations_of(obj).get(ANNOTATION_TRACKING_ID):
            continue  # owned by some other application
        if any(
            fnmatch.fnmatchcase(key.group, str(rule.get("group") or "*"))
            and fnmatch.fnmatchcase(key.kind, str(rule.get("kind") or "*"))
            and fnmatch.fnmatchcase(key.name, str(rule.get("name") or "*"))
            for rule in ignore
        ):
            continue
        count += 1
    return count


def compare_app_state(
    *,
    targets: Sequence[KubeObject],
    live: Iterable[KubeObject],
    instance: str,
    controller_namespace: str,
    diff_options: DiffOptions,
    health_overrides: Mapping[str, LuaHealthCheck] | None = None,
    is_namespaced: NamespacedLookup | None = None,
    orphan_candidates: Iterable[KubeObject] | None = None,
    orphaned_resources: Mapping[str, Any] | None = None,
    predict: Callable[[KubeObject, KubeObject], KubeObject] | None = None,
) -> CompareResult:
    """Compare prepared ``targets`` (see :func:`prepare_targets`) with the app's managed ``live`` objects.

    ``predict`` (server-side diff) answers what the cluster would make of a target that has a live counterpart;
    its errors propagate.

    ``live`` must already hold both the objects tracked by ``instance`` and any live object at a target key.
    ``orphan_candidates`` (the destination namespace's objects) are counted only when the project sets
    ``orphanedResources``.
    """
    method = diff_options.tracking_method or TrackingMethod.ANNOTATION
    conditions: list[Condition] = []
    target_by_key: dict[ResourceKey, KubeObject] = {}
    counts: dict[ResourceKey, int] = {}
    unnamed: list[KubeObject] = []
    for desired in targets:
        if is_ignored_hook(desired):
            continue
        if not (desired.get("metadata") or {}).get("name"):
            # generateName hooks get their name at sync time; they are not resources of the app before that.
            unnamed.append(desired)
            continue
        key = ResourceKey.from_object(desired)
        counts[key] = counts.get(key, 0) + 1
        target_by_key[key] = desired
    for key, count in counts.items():
        if count > 1:
            conditions.append(
                Condition(
                    "RepeatedResourceWarning",
                    f"Resource {key} appeared {count} times among application resources.",
                )
            )

    live_by_key: dict[ResourceKey, KubeObject] = {}
    for obj in live:
        key = ResourceKey.from_object(obj)
        if key in target_by_key:
            live_by_key[key] = obj
            continue
        # Only roots are attributed to an app by tracking; descendants belong to it through their owners.
        if (obj.get("metadata") or {}).get("ownerReferences"):
            continue
        if get_app_name(obj, method=method, label_key=diff_options.label_key) != instance:
            continue
        live_by_key[key] = obj

    resources: list[ManagedResource] = []
    health_inputs: list[AppResourceHealth] = []
    out_of_sync = False
    images: list[str] = []
    urls: list[str] = []
    this_app = _display_instance(instance, controller_namespace)
    for key in sorted(set(target_by_key) | set(live_by_key)):
        target = target_by_key.get(key)
        live_obj = live_by_key.get(key)
        if live_obj is not None and target is not None and not is_crd(live_obj):
            owner = get_app_name(live_obj, method=method, label_key=diff_options.label_key)
            if owner and owner != instance:
                conditions.append(
                    Condition(
                        "SharedResourceWarning",
                        f"{key.kind}/{key.name} is part of applications {this_app} and "
                        f"{_display_instance(owner, controller_namespace)}",
                    )
                )
        hook = (target is not None and is_hook(target)) or (
            target is None and live_obj is not None and is_hook(live_obj)
        )
        skip_only = target is not None and hook_types(target) == ["Skip"]
        cluster_scoped = _scope(target or live_obj or {}, is_namespaced) is False
        self_ref = live_obj is None or is_self_referenced(
            live_obj, method=method, target=target, cluster_scoped=cluster_scoped
        )
        predicted = (
            predict(target, live_obj)
            if predict is not None and target is not None and live_obj is not None and not hook
            else None
        )
        diff = diff_resource(target=target, live=live_obj, options=diff_options, server_side_live=predicted)
        status = ""
        requires_pruning = False
        if not hook and not skip_only and self_ref:
            if target is None:
                status = "OutOfSync"
                requires_pruning = True
                if not has_ignore_extraneous(live_obj):
                    out_of_sync = True
            elif live_obj is None or diff.modified:
                status = "OutOfSync"
                out_of_sync = True
            else:
                status = "Synced"
        health = assess_health(live_obj, overrides=health_overrides) if live_obj is not None else None
        subject = target or live_obj or {}
        _, version = parse_api_version(str(subject.get("apiVersion") or ""))
        resources.append(
            ManagedResource(
                key=key,
                version=version,
                target=target,
                live=live_obj,
                diff=diff,
                status=status,
                health=health,
                hook=hook,
                requires_pruning=requires_pruning,
                sync_wave=sync_wave_of(target if target is not None else live_obj),
            )
        )
        if not hook:
            health_inputs.append(AppResourceHealth(key=key, health=health, target=target, live=live_obj))
        for image in images_of(live_obj):
            if image not in images:
                images.append(image)
        for url in external_urls_of(live_obj):
            if url not in urls:
                urls.append(url)

    if orphaned_resources is not None and orphan_candidates is not None:
        orphans = _orphan_count(
            orphan_candidates,
            managed=set(live_by_key) | set(target_by_key),
            ignore=list(orphaned_resources.get("ignore") or []),
        )
        if orphans and orphaned_resources.get("warn"):
            conditions.append(Condition("OrphanedResourceWarning", f"Application has {orphans} orphaned resources"))

    return CompareResult(
        resources=tuple(resources),
        sync_status="OutOfSync" if out_of_sync else "Synced",
        health=aggregate_health(health_inputs),
        conditions=tuple(conditions),
        images=tuple(sorted(images)),
        external_urls=tuple(urls),
        targets=(*target_by_key.values(), *unnamed),
        live=tuple(live_by_key.values()),
    )
