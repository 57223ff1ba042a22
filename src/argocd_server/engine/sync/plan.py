"""The sync planner: which objects to apply, prune or run as hooks, in which phase, wave and order.

Reproduces the pure half of gitops-engine's ``pkg/sync`` (``sync_context.go`` task generation,
``sync_tasks.go`` ordering, ``hook`` and ``syncwaves`` packages) and the retry backoff of Argo CD's
controller: phases PreSync, Sync, PostSync, SyncFail (PreDelete/PostDelete hooks are recognised and
left to the deletion flow); hooks from ``argocd.argoproj.io/hook`` or Helm's ``helm.sh/hook``; waves
from ``argocd.argoproj.io/sync-wave`` falling back to ``helm.sh/hook-weight``; upstream's kind order
within a wave with Namespaces and CRDs hoisted before their first dependent; prune tasks in reverse
wave order, ``PruneLast`` after the last Sync wave; selective sync and the apply strategy skip
hooks; ``ApplyOutOfSyncOnly``; dry run. The executor (``engine/sync/apply.py``) runs the resulting
``SyncPlan`` group by group against a cluster; nothing here performs I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from argocd_server.engine.durations import parse_go_duration
from argocd_server.engine.resources import (
    ANNOTATION_HELM_HOOK_DELETE_POLICY,
    ANNOTATION_HELM_RESOURCE_POLICY,
    ANNOTATION_HOOK_DELETE_POLICY,
    HOOK_FINALIZER,
    HookType,
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
    parse_csv,
    parse_sync_options,
    sync_options_of,
    sync_wave_of,
)
from argocd_server.engine.tracking import TrackingMethod, is_self_referenced

__all__ = [
    "AUTO_SYNC_DEFAULT_RETRY",
    "KIND_ORDER",
    "HookDeletePolicy",
    "OperationPhase",
    "ResultCode",
    "RetryStrategy",
    "SyncAction",
    "SyncOptions",
    "SyncPhase",
    "SyncPlan",
    "SyncResourceFilter",
    "SyncStatusCode",
    "SyncTask",
    "SyncTaskGroup",
    "delete_policies_of",
    "generated_hook_name",
    "plan_cascade_deletion",
    "plan_sync",
    "self_heal_backoff",
]


class SyncPhase(StrEnum):
    """Sync phases (``common.SyncPhase``) plus the controller's deletion phases."""

    PRE_SYNC = "PreSync"
    SYNC = "Sync"
    POST_SYNC = "PostSync"
    SYNC_FAIL = "SyncFail"
    PRE_DELETE = "PreDelete"
    POST_DELETE = "PostDelete"


class HookDeletePolicy(StrEnum):
    """Values of ``argocd.argoproj.io/hook-delete-policy``."""

    HOOK_SUCCEEDED = "HookSucceeded"
    HOOK_FAILED = "HookFailed"
    BEFORE_HOOK_CREATION = "BeforeHookCreation"


class ResultCode(StrEnum):
    """Per-resource sync result status."""

    SYNCED = "Synced"
    SYNC_FAILED = "SyncFailed"
    PRUNED = "Pruned"
    PRUNE_SKIPPED = "PruneSkipped"


class OperationPhase(StrEnum):
    """Operation (and hook) phases."""

    RUNNING = "Running"
    TERMINATING = "Terminating"
    FAILED = "Failed"
    ERROR = "Error"
    SUCCEEDED = "Succeeded"

    @property
    def completed(self) -> bool:
        return self in (OperationPhase.FAILED, OperationPhase.ERROR, OperationPhase.SUCCEEDED)

    @property
    def successful(self) -> bool:
        return self is OperationPhase.SUCCEEDED


class SyncStatusCode(StrEnum):
    """Resource and application sync status."""

    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    UNKNOWN = "Unknown"


class SyncAction(StrEnum):
    """What the executor does with a task."""

    APPLY = "apply"
    PRUNE = "prune"
    HOOK = "hook-create"


_PHASE_ORDER = {
    SyncPhase.PRE_SYNC: -1,
    SyncPhase.SYNC: 0,
    SyncPhase.POST_SYNC: 1,
    SyncPhase.SYNC_FAIL: 2,
}
_SYNC_HOOK_PHASES = {
    HookType.PRE_SYNC: SyncPhase.PRE_SYNC,
    HookType.SYNC: SyncPhase.SYNC,
    HookType.POST_SYNC: SyncPhase.POST_SYNC,
    HookType.SYNC_FAIL: SyncPhase.SYNC_FAIL,
}
_HELM_DELETE_POLICIES = {
    "before-hook-creation": HookDeletePolicy.BEFORE_HOOK_CREATION,
    "hook-succeeded": HookDeletePolicy.HOOK_SUCCEEDED,
    "hook-failed": HookDeletePolicy.HOOK_FAILED,
}

KIND_ORDER: tuple[str, ...] = (
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
)
"""Apply order of kinds within a wave; any other kind (group ignored) follows, sorted by kind
name."""
_KIND_RANK = {kind: index for index, kind in enumerate(KIND_ORDER)}


@dataclass(frozen=True)
class SyncOptions:
    """A parsed ``Key=Value`` option list; resource annotations override the application's list."""

    values: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, options: Iterable[str] | str | None) -> SyncOptions:
        return cls(values=parse_sync_options(options))

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def is_true(self, key: str) -> bool:
        return (self.values.get(key) or "").lower() == "true"

    def is_false(self, key: str) -> bool:
        return (self.values.get(key) or "").lower() == "false"

    def overridden_by(self, other: SyncOptions) -> SyncOptions:
        """These options with ``other``'s entries winning."""
        return SyncOptions(values={**self.values, **other.values})


@dataclass(frozen=True)
class SyncResourceFilter:
    """One ``operation.sync.resources[]`` entry; an empty namespace matches any."""

    group: str
    kind: str
    name: str
    namespace: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SyncResourceFilter:
        return cls(
            group=str(data.get("group") or ""),
            kind=str(data.get("kind") or ""),
            name=str(data.get("name") or ""),
            namespace=str(data.get("namespace") or ""),
        )

    def matches(self, key: ResourceKey) -> bool:
        if (self.group, self.kind, self.name) != (key.group, key.kind, key.name):
            return False
        return not self.namespace or self.namespace == key.namespace


@dataclass(frozen=True)
class SyncTask:
    """One unit of work: apply a desired object, prune a live one, or create a hook.

    ``target`` is the object to send (hooks already carry their generated name and the hook
    finalizer); ``options`` are the application's sync options overridden by the resource's own
    annotation.
    """

    phase: SyncPhase
    wave: int
    action: SyncAction
    key: ResourceKey
    target: KubeObject | None
    live: KubeObject | None
    options: SyncOptions = field(default_factory=SyncOptions)
    hook_type: HookType | None = None
    delete_policies: tuple[HookDeletePolicy, ...] = ()
    dry_run: bool = False

    @property
    def is_hook(self) -> bool:
        return self.action is SyncAction.HOOK

    @property
    def is_prune(self) -> bool:
        return self.action is SyncAction.PRUNE

    @property
    def result_key(self) -> str:
        """``<resourceKey>:<syncPhase>``, the identity of this task's entry in
        ``syncResult.resources``."""
        return f"{self.key}:{self.phase}"

    def has_delete_policy(self, policy: HookDeletePolicy) -> bool:
        return policy in self.delete_policies


@dataclass(frozen=True)
class SyncTaskGroup:
    """The tasks of one (phase, wave): the executor prunes first, then applies batch by batch."""

    phase: SyncPhase
    wave: int
    tasks: tuple[SyncTask, ...]

    @property
    def prunes(self) -> tuple[SyncTask, ...]:
        return tuple(t for t in self.tasks if t.is_prune)

    @property
    def applies(self) -> tuple[SyncTask, ...]:
        return tuple(t for t in self.tasks if not t.is_prune)

    def apply_batches(self) -> tuple[tuple[SyncTask, ...], ...]:
        """Consecutive tasks of the same kind, which upstream applies concurrently; batches run in
        order."""
        batches: list[list[SyncTask]] = []
        for task in self.applies:
            if batches and batches[-1][-1].key.kind == task.key.kind:
                batches[-1].append(task)
            else:
                batches.append([task])
        return tuple(tuple(batch) for batch in batches)


@dataclass(frozen=True)
class SyncPlan:
    """Ordered tasks of one sync operation."""

    tasks: tuple[SyncTask, ...]
    prune: bool = True
    dry_run: bool = False
    hooks_skipped: bool = False
    selective: bool = False

    @property
    def groups(self) -> tuple[SyncTaskGroup, ...]:
        """(phase, wave) groups in execution order, SyncFail excluded (it only runs after a
        failure)."""
        return _group(t for t in self.tasks if t.phase is not SyncPhase.SYNC_FAIL)

    @property
    def sync_fail_tasks(self) -> tuple[SyncTask, ...]:
        return tuple(t for t in self.tasks if t.phase is SyncPhase.SYNC_FAIL)

    @property
    def multi_step(self) -> bool:
        """First and last task differ in phase or wave (SyncFail hooks included): health is waited
        for."""
        if not self.tasks:
            return False
        first, last = self.tasks[0], self.tasks[-1]
        return (first.phase, first.wave) != (last.phase, last.wave)

    @property
    def records_history(self) -> bool:
        """Whether a successful run of this plan is appended to ``status.history``."""
        return not self.dry_run and not self.selective

    def prune_outcome(self, task: SyncTask) -> tuple[ResultCode, str] | None:
        """The result a prune task gets without touching the cluster, or None when it must really
        delete."""
        if not self.prune:
            return ResultCode.PRUNE_SKIPPED, "ignored (requires pruning)"
        if task.options.is_false("Prune"):
            return ResultCode.PRUNE_SKIPPED, "ignored (no prune)"
        if self.dry_run or task.dry_run:
            return ResultCode.PRUNED, "pruned (dry run)"
        return None

    def requires_prune_confirmation(self, task: SyncTask) -> bool:
        """``Prune=confirm``: the app needs a ``deletion-approved`` time at or after the operation
        start."""
        return task.is_prune and (task.options.get("Prune") or "").lower() == "confirm"


def _group(tasks: Iterable[SyncTask]) -> tuple[SyncTaskGroup, ...]:
    groups: list[SyncTaskGroup] = []
    for task in tasks:
        if groups and (groups[-1].phase, groups[-1].wave) == (task.phase, task.wave):
            last = groups[-1]
            groups[-1] = SyncTaskGroup(phase=last.phase, wave=last.wave, tasks=(*last.tasks, task))
        else:
            groups.append(SyncTaskGroup(phase=task.phase, wave=task.wave, tasks=(task,)))
    return tuple(groups)


def delete_policies_of(obj: Mapping[str, Any] | None) -> tuple[HookDeletePolicy, ...]:
    """Union of Argo and Helm delete policies, ``BeforeHookCreation`` when none is given."""
    annotations = annotations_of(obj)
    policies: list[HookDeletePolicy] = []
    for item in parse_csv(annotations.get(ANNOTATION_HOOK_DELETE_POLICY)):
        try:
            policy = HookDeletePolicy(item)
        except ValueError:
            continue
        if policy not in policies:
            policies.append(policy)
    for item in parse_csv(annotations.get(ANNOTATION_HELM_HOOK_DELETE_POLICY)):
        mapped = _HELM_DELETE_POLICIES.get(item)
        if mapped is not None and mapped not in policies:
            policies.append(mapped)
    return tuple(policies) or (HookDeletePolicy.BEFORE_HOOK_CREATION,)


def generated_hook_name(*, generate_name: str, revision: str, phase: SyncPhase, started_at: int) -> str:
    """``<generateName><rev7>-<phase>-<unix start>`` lower-cased, stable across steps of one
    operation."""
    short = revision[:7] if len(revision) >= 8 else revision
    return generate_name + f"{short}-{phase}-{started_at}".lower()


def _kind_sort_key(kind: str) -> tuple[int, str]:
    rank = _KIND_RANK.get(kind)
    return (rank, "") if rank is not None else (len(KIND_ORDER), kind)


def _task_sort_key(task: SyncTask) -> tuple[int, int, tuple[int, str], str]:
    return (
        _PHASE_ORDER.get(task.phase, 3),
        task.wave,
        _kind_sort_key(task.key.kind),
        task.key.name,
    )


def _hoist_dependencies(tasks: list[SyncTask]) -> list[SyncTask]:
    """Move Namespaces and CRDs before their first dependent, adopting its phase and wave."""

    def move(index: int, is_dependent: Callable[[SyncTask], bool]) -> None:
        task = tasks[index]
        for position, candidate in enumerate(tasks[:index]):
            if candidate.target is not None and not candidate.is_prune and is_dependent(candidate):
                tasks.pop(index)
                tasks.insert(
                    position,
                    dataclasses.replace(task, phase=candidate.phase, wave=candidate.wave),
                )
                return

    for task in list(tasks):
        if task.is_prune or task.target is None:
            continue
        index = tasks.index(task)
        if (task.key.group, task.key.kind) == ("", "Namespace"):
            namespace = task.key.name
            move(index, lambda c, ns=namespace: c.key.namespace == ns)  # type: ignore[misc]
        elif is_crd(task.target):
            spec = task.target.get("spec") or {}
            crd_group = str(spec.get("group") or "")
            crd_kind = str((spec.get("names") or {}).get("kind") or "")
            move(
                index,
                lambda c, g=crd_group, k=crd_kind: (c.key.group, c.key.kind) == (g, k),  # type: ignore[misc]
            )
    return tasks


def _scope(obj: Mapping[str, Any], is_namespaced: Callable[[str, str], bool | None] | None) -> bool | None:
    group, kind = group_kind_of(obj)
    if is_namespaced is not None:
        answer = is_namespaced(group, kind)
        if answer is not None:
            return answer
    return is_namespaced_kind(group, kind)


def _target_key_and_object(
    target: KubeObject,
    *,
    destination_namespace: str,
    is_namespaced: Callable[[str, str], bool | None] | None,
) -> tuple[ResourceKey, KubeObject, bool | None]:
    obj = deep_copy(target)
    metadata = obj.setdefault("metadata", {})
    scope = _scope(obj, is_namespaced)
    if scope is False:
        metadata.pop("namespace", None)
    elif not metadata.get("namespace") and destination_namespace:
        metadata["namespace"] = destination_namespace
    return ResourceKey.from_object(obj), obj, scope


def plan_sync(
    *,
    targets: Sequence[KubeObject],
    live: Iterable[KubeObject],
    destination_namespace: str = "",
    sync_options: Iterable[str] | str | None = None,
    prune: bool = True,
    dry_run: bool = False,
    resources: Sequence[SyncResourceFilter] | None = None,
    skip_hooks: bool = False,
    revision: str = "",
    started_at: int = 0,
    out_of_sync: Iterable[ResourceKey] | None = None,
    tracking_method: TrackingMethod = TrackingMethod.ANNOTATION,
    is_namespaced: Callable[[str, str], bool | None] | None = None,
) -> SyncPlan:
    """Build the ordered task list of a sync operation (``sync_context.getSyncTasks`` and its
    sorting).

    ``live`` is the app's managed live set. ``sync_options`` are the operation's (copied from the
    app). ``resources`` non-empty makes a selective sync; selective syncs and ``skip_hooks`` (apply
    strategy) run no hooks. ``out_of_sync`` lists keys whose diff is modified, consulted with
    ``ApplyOutOfSyncOnly=true``. ``is_namespaced(group, kind)`` answers scope from discovery (None =
    unknown, treated as namespaced).
    """
    app_options = SyncOptions.parse(sync_options)
    selective = bool(resources)
    run_hooks = not skip_hooks and not selective
    live_by_key: dict[ResourceKey, KubeObject] = {}
    for obj in live:
        live_by_key[ResourceKey.from_object(obj)] = obj

    tasks: list[SyncTask] = []
    hooks: list[tuple[KubeObject, bool | None]] = []
    consumed: set[ResourceKey] = set()

    for raw in targets:
        if is_ignored_hook(raw):
            continue
        key, target, scope = _target_key_and_object(
            raw, destination_namespace=destination_namespace, is_namespaced=is_namespaced
        )
        if is_hook(raw):
            hooks.append((target, scope))
            continue
        live_obj = live_by_key.get(key)
        if live_obj is None and scope is None:
            # Unknown scope: the live object may have been stored cluster-scoped.
            cluster_key = key.cluster_scoped()
            if cluster_key in live_by_key:
                key, live_obj = cluster_key, live_by_key[cluster_key]
        if live_obj is not None:
            consumed.add(key)
        if hook_types(raw) == [HookType.SKIP]:
            continue
        if live_obj is not None and not is_self_referenced(
            live_obj, method=tracking_method, target=target, cluster_scoped=scope is False
        ):
            continue
        tasks.append(
            SyncTask(
                phase=SyncPhase.SYNC,
                wave=sync_wave_of(target),
                action=SyncAction.APPLY,
                key=key,
                target=target,
                live=live_obj,
                options=app_options.overridden_by(SyncOptions(values=sync_options_of(target))),
                dry_run=dry_run,
            )
        )

    for key, live_obj in live_by_key.items():
        if key in consumed or is_hook(live_obj) or is_ignored_hook(live_obj):
            continue
        if not is_self_referenced(live_obj, method=tracking_method):
            continue
        tasks.append(
            SyncTask(
                phase=SyncPhase.SYNC,
                wave=sync_wave_of(live_obj),
                action=SyncAction.PRUNE,
                key=key,
                target=None,
                live=live_obj,
                options=app_options.overridden_by(SyncOptions(values=sync_options_of(live_obj))),
                dry_run=dry_run,
            )
        )

    if resources:
        tasks = [t for t in tasks if any(f.matches(t.key) for f in resources)]

    if app_options.is_true("ApplyOutOfSyncOnly") and out_of_sync is not None:
        modified = set(out_of_sync)
        tasks = [t for t in tasks if t.action is not SyncAction.APPLY or t.live is None or t.key in modified]

    if run_hooks:
        tasks.extend(
            _hook_tasks(
                hooks,
                live_by_key=live_by_key,
                app_options=app_options,
                revision=revision,
                started_at=started_at,
                dry_run=dry_run,
            )
        )

    tasks = _adjust_prune_waves(tasks, prune_last=app_options.is_true("PruneLast"))
    tasks.sort(key=_task_sort_key)
    tasks = _hoist_dependencies(tasks)
    return SyncPlan(
        tasks=tuple(tasks),
        prune=prune,
        dry_run=dry_run,
        hooks_skipped=not run_hooks,
        selective=selective,
    )


def _hook_tasks(
    hooks: Sequence[tuple[KubeObject, bool | None]],
    *,
    live_by_key: Mapping[ResourceKey, KubeObject],
    app_options: SyncOptions,
    revision: str,
    started_at: int,
    dry_run: bool,
) -> list[SyncTask]:
    result: list[SyncTask] = []
    for hook, _scope_answer in hooks:
        for hook_type in hook_types(hook):
            phase = _SYNC_HOOK_PHASES.get(hook_type)
            if phase is None:
                continue
            obj = deep_copy(hook)
            metadata = obj.setdefault("metadata", {})
            if not metadata.get("name") and metadata.get("generateName"):
                metadata["name"] = generated_hook_name(
                    generate_name=str(metadata["generateName"]),
                    revision=revision,
                    phase=phase,
                    started_at=started_at,
                )
            finalizers = list(metadata.get("finalizers") or [])
            if HOOK_FINALIZER not in finalizers:
                finalizers.append(HOOK_FINALIZER)
            metadata["finalizers"] = finalizers
            key = ResourceKey.from_object(obj)
            result.append(
                SyncTask(
                    phase=phase,
                    wave=sync_wave_of(obj),
                    action=SyncAction.HOOK,
                    key=key,
                    target=obj,
                    live=live_by_key.get(key),
                    options=app_options.overridden_by(SyncOptions(values=sync_options_of(obj))),
                    hook_type=hook_type,
                    delete_policies=delete_policies_of(obj),
                    dry_run=dry_run,
                )
            )
    return result


def _adjust_prune_waves(tasks: list[SyncTask], *, prune_last: bool) -> list[SyncTask]:
    prune_waves = sorted({t.wave for t in tasks if t.is_prune})
    mirrored = {wave: prune_waves[len(prune_waves) - 1 - i] for i, wave in enumerate(prune_waves)}
    adjusted = [dataclasses.replace(t, wave=mirrored[t.wave]) if t.is_prune else t for t in tasks]
    last_sync_wave = max([0, *(t.wave for t in adjusted if t.phase is SyncPhase.SYNC)]) + 1
    return [
        dataclasses.replace(t, wave=last_sync_wave)
        if t.is_prune and (prune_last or t.options.is_true("PruneLast"))
        else t
        for t in adjusted
    ]


def plan_cascade_deletion(
    live: Iterable[KubeObject],
    *,
    sync_options: Iterable[str] | str | None = None,
    app_key: ResourceKey | None = None,
) -> tuple[tuple[KubeObject, ...], ...]:
    """Waves of a cascading app deletion, highest sync wave first.

    Excludes CRDs, the Application itself, ``Delete=false`` (annotation or app default) and Helm
    ``resource-policy: keep`` objects; the controller deletes the first wave and re-plans until
    nothing is left.
    """
    app_options = SyncOptions.parse(sync_options)
    by_wave: dict[int, list[KubeObject]] = {}
    for obj in live:
        if is_crd(obj) or (app_key is not None and ResourceKey.from_object(obj) == app_key):
            continue
        options = app_options.overridden_by(SyncOptions(values=sync_options_of(obj)))
        if options.is_false("Delete"):
            continue
        if annotations_of(obj).get(ANNOTATION_HELM_RESOURCE_POLICY) == "keep":
            continue
        by_wave.setdefault(sync_wave_of(obj), []).append(obj)
    return tuple(tuple(by_wave[wave]) for wave in sorted(by_wave, reverse=True))


@dataclass(frozen=True)
class RetryStrategy:
    """``syncPolicy.retry``: attempts and exponential backoff, durations in seconds."""

    limit: int = 0
    duration: float = 5.0
    factor: float = 2.0
    max_duration: float = 180.0
    refresh: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> RetryStrategy:
        """Read ``{"limit": 5, "backoff": {"duration": "5s", "factor": 2, "maxDuration":
        "3m0s"}}``."""
        if not data:
            return cls()
        backoff = data.get("backoff") or {}
        return cls(
            limit=int(data.get("limit") or 0),
            duration=parse_go_duration(backoff["duration"]) if backoff.get("duration") else 5.0,
            factor=float(backoff["factor"]) if backoff.get("factor") is not None else 2.0,
            max_duration=(parse_go_duration(backoff["maxDuration"]) if backoff.get("maxDuration") else 180.0),
            refresh=bool(data.get("refresh", False)),
        )

    def can_retry(self, retry_count: int) -> bool:
        """Whether another attempt is allowed after ``retry_count`` retries; a negative limit is
        unlimited."""
        return self.limit < 0 or retry_count < self.limit

    def delay(self, retry_count: int) -> float:
        """Seconds to wait after the failure, given the already incremented ``retry_count``."""
        return min(self.max_duration, self.duration * self.factor**retry_count)


AUTO_SYNC_DEFAULT_RETRY = RetryStrategy(limit=5)
"""Retry used by automated syncs when the app configures none."""


def self_heal_backoff(attempts: int, *, timeout: float = 2.0, factor: float = 3.0, cap: float = 300.0) -> float:
    """Seconds self-heal waits after ``attempts`` previous heals: 0, then ``timeout *
    factor**(n-1)`` capped."""
    if attempts <= 0:
        return 0.0
    return min(cap, timeout * factor ** (attempts - 1))
