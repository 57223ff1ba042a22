"""The sync executor: runs a ``SyncPlan`` against a cluster one step at a time.

Reproduces gitops-engine's ``sync_context.Sync`` step function (``pkg/sync/sync_context.go``): every call rebuilds
the task list from the plan, re-attaches the results recorded so far (``syncResult.resources``, keyed
``<resourceKey>:<syncPhase>``), refreshes running tasks from live health, waits between waves when the operation
has several (and always for running hooks), starts the SyncFail phase after a failure, and otherwise runs exactly
the next (phase, wave) group: prunes first (reverse waves, foreground propagation by default, ``Prune=false``,
``Prune=confirm``), BeforeHookCreation deletions, then applies in same-kind batches run concurrently. Apply
strategies: client-side apply with the last-applied annotation (default, field manager ``kubectl-client-side-apply``),
server-side apply with the field manager ``argocd-controller`` and forced conflicts (``ServerSideApply=true``, first
taking over what client-side apply owned unless ``ClientSideApplyMigration=false``), ``Replace=true`` and
``Force=true``; every write asks for strict server-side field validation (``Validate=false``: ignore). Hooks get
the hook finalizer, which is removed when they complete; HookSucceeded/HookFailed deletions happen when the whole
operation ends. The dry run is upstream's client-side one: REST mapping and scope checks, no server round trip.

The deletion helpers at the end serve the controller's cascade deletion (``controller/appcontroller.go``
``finalizeApplicationDeletion``): deleting one wave of objects with a propagation policy, and running an app's
PostDelete hooks (create the missing ones, report their aggregated phase, clean them up by delete policy).

Because all state lives in the results the caller persists, a step can be re-run by a new process after a crash
and continues where the last one stopped. Boundary: uses ``kube`` for I/O; health is injected as a callable so this
module stays independent of ``engine.health``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from argocd_server.engine.resources import (
    HOOK_FINALIZER,
    KubeObject,
    ResourceKey,
    is_crd,
    parse_api_version,
)
from argocd_server.engine.sync.plan import (
    HookDeletePolicy,
    OperationPhase,
    ResultCode,
    SyncPhase,
    SyncPlan,
    SyncTask,
    delete_policies_of,
)
from argocd_server.errors import Aborted, AlreadyExists, ArgoError, NotFound
from argocd_server.kube import GroupVersionKind, PatchType, ResourceClient
from argocd_server.kube.resources import CLIENT_SIDE_APPLY_MANAGER, client_side_apply_migration_patch

__all__ = [
    "FIELD_MANAGER",
    "DeletionHooksOutcome",
    "HealthFn",
    "StepContext",
    "StepOutcome",
    "SyncExecutor",
    "cleanup_deletion_hooks",
    "delete_objects",
    "result_key_of",
    "run_deletion_hooks",
]

FIELD_MANAGER = "argocd-controller"

HealthFn = Callable[[KubeObject], tuple[str, str] | None]
"""``live object -> (health status, message)``, or None when nothing assesses the kind."""

_RUNNING = OperationPhase.RUNNING.value
_SUCCEEDED = OperationPhase.SUCCEEDED.value
_FAILED = OperationPhase.FAILED.value
_ERROR = OperationPhase.ERROR.value


def result_key_of(result: Mapping[str, Any]) -> str:
    """The identity of a stored ``ResourceResult``, matching ``SyncTask.result_key``."""
    key = ResourceKey(
        group=str(result.get("group") or ""),
        kind=str(result.get("kind") or ""),
        namespace=str(result.get("namespace") or ""),
        name=str(result.get("name") or ""),
    )
    return f"{key}:{result.get('syncPhase') or ''}"


@dataclass(frozen=True)
class StepContext:
    """What one step needs besides the plan and the recorded results."""

    destination_namespace: str = ""
    create_namespace: bool = False
    managed_namespace_metadata: Mapping[str, Any] | None = None
    force: bool = False
    """``syncStrategy.apply.force`` / ``hook.force``."""
    started_at: datetime | None = None
    deletion_approved_at: datetime | None = None
    client_side_apply_migration_manager: str = ""
    """The Application's ``argocd.argoproj.io/client-side-apply-migration-manager`` annotation: the field manager
    whose client-side apply ownership moves to ``argocd-controller`` before a server-side apply (empty:
    ``kubectl-client-side-apply``)."""


@dataclass(frozen=True)
class StepOutcome:
    phase: OperationPhase
    message: str
    results: list[dict[str, Any]] = field(default_factory=list)
    requeue_after: float | None = None
    """Seconds until the next step should run (None: the operation is complete)."""


def _images(obj: Mapping[str, Any] | None) -> list[str]:
    if not obj:
        return []
    spec = obj.get("spec") or {}
    kind = obj.get("kind")
    if kind == "Pod":
        pod = spec
    elif kind == "CronJob":
        pod = (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    else:
        pod = (spec.get("template") or {}).get("spec") or {}
    images: list[str] = []
    for container in (pod.get("containers") or []) if isinstance(pod, dict) else []:
        image = container.get("image") if isinstance(container, dict) else None
        if isinstance(image, str) and image not in images:
            images.append(image)
    return images


def _describe(task: SyncTask) -> str:
    return f"{task.key.group}/{task.key.kind}/{task.key.name}"


def _kubectl_name(obj: Mapping[str, Any]) -> str:
    """``deployment.apps/name`` as kubectl prints it in apply messages."""
    group, _ = parse_api_version(str(obj.get("apiVersion") or ""))
    kind = str(obj.get("kind") or "").lower()
    name = str((obj.get("metadata") or {}).get("name") or "")
    return f"{kind}.{group}/{name}" if group else f"{kind}/{name}"


class _Results:
    """Ordered results keyed by result key (first insertion keeps its position, as upstream's ``Order``)."""

    def __init__(self, previous: Iterable[Mapping[str, Any]]) -> None:
        self._items: dict[str, dict[str, Any]] = {}
        for item in previous:
            self._items[result_key_of(item)] = dict(item)

    def get(self, task: SyncTask) -> dict[str, Any] | None:
        return self._items.get(task.result_key)

    def set(
        self,
        task: SyncTask,
        *,
        status: str | None = None,
        phase: str | None = None,
        message: str | None = None,
    ) -> None:
        current = self._items.get(task.result_key)
        if current is None:
            obj = task.target if task.target is not None else task.live or {}
            _, version = parse_api_version(str(obj.get("apiVersion") or ""))
            current = {
                "group": task.key.group,
                "version": version,
                "kind": task.key.kind,
                "namespace": task.key.namespace,
                "name": task.key.name,
                "syncPhase": str(task.phase),
            }
            if task.hook_type is not None:
                current["hookType"] = str(task.hook_type)
            images = _images(obj)
            if images:
                current["images"] = images
            self._items[task.result_key] = current
        if status is not None:
            current["status"] = status
        if phase is not None:
            current["hookPhase"] = phase
        if message:
            current["message"] = message

    def add_raw(self, key: str, value: dict[str, Any]) -> None:
        self._items.setdefault(key, value)

    def dump(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(v) for v in self._items.values()]


def _phase_of(result: Mapping[str, Any] | None) -> str:
    return str((result or {}).get("hookPhase") or "")


def _failed(result: Mapping[str, Any] | None) -> bool:
    if result is None:
        return False
    return _phase_of(result) in (_FAILED, _ERROR) or result.get("status") == ResultCode.SYNC_FAILED.value


class SyncExecutor:
    """Runs plan steps against one cluster; safe to share between threads."""

    def __init__(
        self,
        resources: ResourceClient,
        *,
        health: HealthFn,
        wave_delay: float = 2.0,
        poll_interval: float = 1.0,
        max_parallel: int = 8,
    ) -> None:
        self.resources = resources
        self.health = health
        self.wave_delay = wave_delay
        self.poll_interval = poll_interval
        self.max_parallel = max(1, max_parallel)

    # --- kube helpers -------------------------------------------------------------------------------------------

    def _gvk(self, obj: Mapping[str, Any]) -> GroupVersionKind:
        return GroupVersionKind.of(obj)

    def _get_live(self, task: SyncTask) -> KubeObject | None:
        obj = task.target if task.target is not None else task.live
        if obj is None:
            return None
        try:
            api = self.resources.resource_for(self._gvk(obj))
            return self.resources.get(api.gvk, task.key.name, namespace=task.key.namespace or None)
        except NotFound:
            return None

    def _strip_hook_finalizer(self, task: SyncTask, live: KubeObject | None) -> None:
        if live is None:
            return
        finalizers = list((live.get("metadata") or {}).get("finalizers") or [])
        if HOOK_FINALIZER not in finalizers:
            return
        remaining = [f for f in finalizers if f != HOOK_FINALIZER]
        try:
            self.resources.patch(
                self._gvk(live),
                task.key.name,
                {"metadata": {"finalizers": remaining or None}},
                namespace=task.key.namespace or None,
                patch_type=PatchType.MERGE,
            )
        except NotFound:
            return

    def _delete(self, task: SyncTask, obj: Mapping[str, Any], *, policy: str, dry_run: bool = False) -> None:
        try:
            self.resources.delete(
                self._gvk(obj),
                task.key.name,
                namespace=task.key.namespace or None,
                propagation_policy=policy,
                dry_run=dry_run,
            )
        except NotFound:
            return

    def _delete_hook(self, task: SyncTask) -> None:
        live = self._get_live(task)
        if live is None:
            return
        self._strip_hook_finalizer(task, live)
        self._delete(task, live, policy=self._propagation(task))

    @staticmethod
    def _propagation(task: SyncTask) -> str:
        value = (task.options.get("PrunePropagationPolicy") or "foreground").lower()
        return {"foreground": "Foreground", "background": "Background", "orphan": "Orphan"}.get(value, "Foreground")

    # --- applying -----------------------------------------------------------------------------------------------

    def _apply(self, task: SyncTask, ctx: StepContext) -> tuple[bool, str]:
        assert task.target is not None
        obj = copy.deepcopy(task.target)
        dry_run = task.dry_run
        options = task.options
        force = ctx.force or options.is_true("Force")
        # kubectl --validate: strict server-side field validation, switched off by Validate=false.
        validation = "Ignore" if options.is_false("Validate") else "Strict"
        name = _kubectl_name(obj)
        suffix = " (dry run)" if dry_run else ""
        try:
            if options.is_true("Replace"):
                live = self._get_live(task)
                if live is None:
                    self.resources.create(obj, dry_run=dry_run, field_validation=validation)
                    return True, f"{name} created{suffix}"
                if force and not is_crd(obj) and obj.get("kind") != "Namespace":
                    if not dry_run:
                        self._delete(task, live, policy="Foreground")
                        self._wait_gone(task)
                    self.resources.create(obj, dry_run=dry_run, field_validation=validation)
                    return True, f"{name} replaced{suffix}"
                obj.setdefault("metadata", {})["resourceVersion"] = (live.get("metadata") or {}).get("resourceVersion")
                self.resources.replace(obj, dry_run=dry_run, field_validation=validation)
                return True, f"{name} replaced{suffix}"
            if options.is_true("ServerSideApply"):
                if not dry_run and task.live is not None and not options.is_false("ClientSideApplyMigration"):
                    try:
                        self._migrate_client_side_apply(task, ctx)
                    except ArgoError as exc:
                        return False, f"Failed to perform client-side apply migration: {exc.message}"
                self.resources.apply(
                    obj, field_manager=FIELD_MANAGER, force=True, dry_run=dry_run, field_validation=validation
                )
                return True, f"{name} serverside-applied{suffix}"
            try:
                result = self.resources.client_side_apply(
                    obj,
                    dry_run=dry_run,
                    field_manager=CLIENT_SIDE_APPLY_MANAGER,
                    field_validation=validation,
                    probably_missing=task.live is None,
                )
            except ArgoError:
                if not force:
                    raise
                live = self._get_live(task)
                if live is not None and not dry_run:
                    self._delete(task, live, policy="Foreground")
                    self._wait_gone(task)
                self.resources.create(
                    obj, dry_run=dry_run, field_manager=CLIENT_SIDE_APPLY_MANAGER, field_validation=validation
                )
                return True, f"{name} replaced{suffix}"
            return True, f"{name} {result.action.value}{suffix}"
        except ArgoError as exc:
            return False, exc.message

    def _migrate_client_side_apply(self, task: SyncTask, ctx: StepContext, attempts: int = 3) -> None:
        """Move the client-side apply manager's field ownership to ``argocd-controller`` (a managedFields JSON
        patch), so the server-side apply that follows removes what the manifest no longer has; upstream's
        ``csaupgrade`` step before SSA. A conflict (the object changed since it was read) is retried."""
        manager = ctx.client_side_apply_migration_manager or CLIENT_SIDE_APPLY_MANAGER
        for attempt in range(attempts):
            live = self._get_live(task)
            if live is None:
                return
            patch = client_side_apply_migration_patch(live, csa_managers=[manager], ssa_manager=FIELD_MANAGER)
            if patch is None:
                return
            try:
                self.resources.patch(
                    self._gvk(live),
                    task.key.name,
                    patch,
                    namespace=task.key.namespace or None,
                    patch_type=PatchType.JSON,
                )
                return
            except NotFound:
                return
            except Aborted:
                if attempt == attempts - 1:
                    raise

    def _wait_gone(self, task: SyncTask, attempts: int = 50) -> None:
        import time

        for _ in range(attempts):
            if self._get_live(task) is None:
                return
            time.sleep(0.1)

    def _ensure_namespace(self, ctx: StepContext, results: _Results) -> str | None:
        namespace = ctx.destination_namespace
        gvk = GroupVersionKind("", "v1", "Namespace")
        try:
            self.resources.get(gvk, namespace)
            if not ctx.managed_namespace_metadata:
                return None
            exists = True
        except NotFound:
            exists = False
        obj: KubeObject = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        metadata = ctx.managed_namespace_metadata or {}
        for field_name in ("labels", "annotations"):
            if metadata.get(field_name):
                obj["metadata"][field_name] = dict(metadata[field_name])
        try:
            if exists:
                self.resources.apply(obj, field_manager=FIELD_MANAGER, force=True, field_validation="Strict")
                message = f"namespace/{namespace} serverside-applied"
            else:
                self.resources.create(obj, field_validation="Strict")
                message = f"namespace/{namespace} created"
        except AlreadyExists:
            message = f"namespace/{namespace} unchanged"
        except ArgoError as exc:
            return f"the namespace failed to apply: {exc.message}"
        key = ResourceKey(group="", kind="Namespace", namespace="", name=namespace)
        results.add_raw(
            f"{key}:{SyncPhase.PRE_SYNC}",
            {
                "group": "",
                "version": "v1",
                "kind": "Namespace",
                "namespace": "",
                "name": namespace,
                "status": ResultCode.SYNCED.value,
                "message": message,
                "hookPhase": _SUCCEEDED,
                "syncPhase": str(SyncPhase.PRE_SYNC),
            },
        )
        return None

    def _validate(self, plan: SyncPlan, results: _Results) -> list[str]:
        """REST mapping of every task (upstream's task validation + client dry run)."""
        crd_kinds = {
            (
                str((t.target.get("spec") or {}).get("group") or ""),
                str(((t.target.get("spec") or {}).get("names") or {}).get("kind") or ""),
            )
            for t in plan.tasks
            if t.target is not None and is_crd(t.target)
        }
        errors: list[str] = []
        for task in plan.tasks:
            obj = task.target if task.target is not None else task.live
            if obj is None or task.is_prune:
                continue
            try:
                api = self.resources.resource_for(self._gvk(obj))
            except NotFound as exc:
                if task.options.is_true("SkipDryRunOnMissingResource") or (task.key.group, task.key.kind) in crd_kinds:
                    continue
                message = (
                    f"The Kubernetes API could not find {task.key.group}/{task.key.kind} for requested resource "
                    f'{task.key.namespace}/{task.key.name}. Make sure the "{task.key.kind}" CRD is installed on '
                    "the destination cluster."
                    if "no matches" in exc.message
                    else exc.message
                )
                results.set(task, status=ResultCode.SYNC_FAILED.value, phase=_FAILED, message=message)
                errors.append(message)
                continue
            if api.namespaced and not task.key.namespace:
                message = f"{task.key.kind} {task.key.name}: a namespace is required for namespaced kinds"
                results.set(task, status=ResultCode.SYNC_FAILED.value, phase=_FAILED, message=message)
                errors.append(message)
        return sorted(set(errors))

    # --- the step -----------------------------------------------------------------------------------------------

    def step(self, plan: SyncPlan, *, previous: Sequence[Mapping[str, Any]], ctx: StepContext) -> StepOutcome:
        """Advance the operation by one step; the caller persists ``results`` and calls again after
        ``requeue_after``."""
        results = _Results(previous)
        first = not previous
        errors = self._validate(plan, results)
        if errors:
            return StepOutcome(
                OperationPhase.FAILED,
                "one or more synchronization tasks are not valid: " + "; ".join(errors),
                results.dump(),
            )
        if first and ctx.create_namespace and ctx.destination_namespace:
            has_manifest = any(
                (t.key.group, t.key.kind, t.key.name) == ("", "Namespace", ctx.destination_namespace)
                for t in plan.tasks
            )
            if not has_manifest and not plan.dry_run:
                failure = self._ensure_namespace(ctx, results)
                if failure:
                    return StepOutcome(OperationPhase.FAILED, failure, results.dump())

        self._refresh_running(plan, results)

        running = [t for t in plan.tasks if _phase_of(results.get(t)) == _RUNNING]
        running_hooks = [t for t in running if t.is_hook]
        if running_hooks or (plan.multi_step and running):
            subjects = running_hooks or running
            what = "hook" if running_hooks else "healthy state of"
            noun = "hooks" if running_hooks else "resources"
            message = f"waiting for completion of hook {_describe(subjects[0])}"
            if not running_hooks:
                message = f"waiting for {what} {_describe(subjects[0])}"
            if len(subjects) > 1:
                message += f" and {len(subjects) - 1} more {noun}"
            return StepOutcome(OperationPhase.RUNNING, message, results.dump(), self.poll_interval)

        if not plan.dry_run:
            for task in plan.tasks:
                result = results.get(task)
                if task.is_prune and result is not None and result.get("status") == ResultCode.PRUNED.value:
                    live = self._get_live(task)
                    if live is not None and (live.get("metadata") or {}).get("deletionTimestamp"):
                        return StepOutcome(
                            OperationPhase.RUNNING,
                            f"waiting for deletion of {_describe(task)}",
                            results.dump(),
                            self.poll_interval,
                        )

        main_tasks = [t for t in plan.tasks if t.phase is not SyncPhase.SYNC_FAIL]
        failed = [t for t in main_tasks if _failed(results.get(t))]
        if failed:
            # Tasks that already ran (hooks, health-checked resources) and ended badly.
            return self._sync_fail(
                plan, results, failed, ctx, "one or more synchronization tasks completed unsuccessfully"
            )

        pending = [t for t in main_tasks if results.get(t) is None or not _phase_of(results.get(t))]
        if not pending:
            self._delete_hooks(plan, results, HookDeletePolicy.HOOK_SUCCEEDED)
            return StepOutcome(OperationPhase.SUCCEEDED, "successfully synced (no more tasks)", results.dump())

        head = pending[0]
        group = [t for t in pending if (t.phase, t.wave) == (head.phase, head.wave)]
        state, pending_message = self._run_group(plan, group, results, ctx)
        if state == "failed":
            failed = [t for t in main_tasks if _failed(results.get(t))]
            # The cluster refused a create/apply/prune in this very step: upstream words this differently from
            # tasks that ran and failed later, and clients match on the text.
            return self._sync_fail(plan, results, failed, ctx, "one or more objects failed to apply")
        if state == "pending":
            return StepOutcome(OperationPhase.RUNNING, pending_message, results.dump(), self.poll_interval)
        remaining = [t for t in pending if t not in group]
        if not remaining and not any(t.is_hook for t in group):
            self._delete_hooks(plan, results, HookDeletePolicy.HOOK_SUCCEEDED)
            return StepOutcome(OperationPhase.SUCCEEDED, "successfully synced (all tasks run)", results.dump())
        delay = 0.0 if plan.dry_run else (self.wave_delay if remaining else self.poll_interval)
        return StepOutcome(OperationPhase.RUNNING, "", results.dump(), delay)

    def _refresh_running(self, plan: SyncPlan, results: _Results) -> None:
        for task in plan.tasks:
            result = results.get(task)
            if _phase_of(result) != _RUNNING or task.is_prune:
                continue
            live = self._get_live(task)
            if live is None:
                results.set(
                    task,
                    status=ResultCode.SYNC_FAILED.value,
                    phase=_ERROR,
                    message=f"Resource {_describe(task)} is missing, it might have been deleted",
                )
                continue
            assessed = self.health(live)
            status, message = assessed if assessed is not None else ("", "")
            if task.is_hook:
                if status in ("", "Healthy"):
                    results.set(
                        task, phase=_SUCCEEDED, message=message or (None if assessed else f"{task.key.name} created")
                    )
                elif status in ("Progressing", "Suspended"):
                    if message:
                        results.set(task, message=message)
                    continue
                else:
                    results.set(task, phase=_FAILED, message=message or f"{task.key.name} failed")
                self._strip_hook_finalizer(task, live)
            elif status in ("", "Healthy"):
                results.set(task, phase=_SUCCEEDED)
            elif status == "Degraded":
                results.set(task, phase=_FAILED, message=message)

    def _run_group(
        self, plan: SyncPlan, group: Sequence[SyncTask], results: _Results, ctx: StepContext
    ) -> tuple[str, str]:
        failed = False
        waiting: list[str] = []
        for task in [t for t in group if t.is_prune]:
            outcome = plan.prune_outcome(task)
            if outcome is not None:
                results.set(task, status=outcome[0].value, phase=_SUCCEEDED, message=outcome[1])
                continue
            if plan.requires_prune_confirmation(task) and not self._approved(ctx):
                waiting.append(f"waiting for pruning confirmation of {_describe(task)}")
                continue
            assert task.live is not None
            try:
                self._delete(task, task.live, policy=self._propagation(task))
                results.set(task, status=ResultCode.PRUNED.value, phase=_SUCCEEDED, message="pruned")
            except ArgoError as exc:
                results.set(task, status=ResultCode.SYNC_FAILED.value, phase=_FAILED, message=exc.message)
                failed = True
        if waiting:
            return "pending", waiting[0]
        for task in [t for t in group if t.is_hook and not t.dry_run]:
            if HookDeletePolicy.BEFORE_HOOK_CREATION not in task.delete_policies:
                continue
            live = self._get_live(task)
            if live is not None:
                self._strip_hook_finalizer(task, live)
                self._delete(task, live, policy=self._propagation(task))
                waiting.append(f"waiting for deletion of hook {_describe(task)}")
        if waiting:
            return "pending", waiting[0]
        applies = [t for t in group if not t.is_prune]
        batches: list[list[SyncTask]] = []
        for task in applies:
            if batches and batches[-1][-1].key.kind == task.key.kind:
                batches[-1].append(task)
            else:
                batches.append([task])
        for batch in batches:
            if len(batch) == 1:
                outcomes = [self._apply(batch[0], ctx)]
            else:
                with ThreadPoolExecutor(max_workers=min(self.max_parallel, len(batch))) as pool:
                    outcomes = list(pool.map(lambda t: self._apply(t, ctx), batch))
            for task, (ok, message) in zip(batch, outcomes, strict=True):
                if ok:
                    phase = _SUCCEEDED if task.dry_run else _RUNNING
                    results.set(task, status=ResultCode.SYNCED.value, phase=phase, message=message)
                else:
                    results.set(task, status=ResultCode.SYNC_FAILED.value, phase=_FAILED, message=message)
                    failed = True
        return ("failed" if failed else "ok"), ""

    @staticmethod
    def _approved(ctx: StepContext) -> bool:
        if ctx.deletion_approved_at is None:
            return False
        return ctx.started_at is None or ctx.deletion_approved_at >= ctx.started_at

    def _delete_hooks(self, plan: SyncPlan, results: _Results, policy: HookDeletePolicy) -> None:
        if plan.dry_run:
            return
        for task in plan.tasks:
            if task.is_hook and results.get(task) is not None and task.has_delete_policy(policy):
                try:
                    self._delete_hook(task)
                except ArgoError:
                    continue

    def _sync_fail(
        self, plan: SyncPlan, results: _Results, failed: Sequence[SyncTask], ctx: StepContext, base: str
    ) -> StepOutcome:
        reasons: list[str] = []
        for task in failed:
            message = str((results.get(task) or {}).get("message") or "")
            if message and message not in reasons:
                reasons.append(message)
        message = base
        if reasons:
            message += ", reason: " + ",".join(reasons)
        self._delete_hooks(plan, results, HookDeletePolicy.HOOK_FAILED)
        sync_fail = list(plan.sync_fail_tasks)
        if not sync_fail:
            return StepOutcome(OperationPhase.FAILED, message, results.dump())
        not_started = [t for t in sync_fail if results.get(t) is None]
        if not_started:
            self._run_group(plan, not_started, results, ctx)
        still_running = [t for t in sync_fail if _phase_of(results.get(t)) == _RUNNING]
        if still_running:
            return StepOutcome(OperationPhase.RUNNING, message, results.dump(), self.poll_interval)
        hook_failures = [str((results.get(t) or {}).get("message") or "") for t in sync_fail if _failed(results.get(t))]
        if hook_failures:
            message += "\none or more SyncFail hooks failed, reason: " + ",".join(hook_failures)
        return StepOutcome(OperationPhase.FAILED, message, results.dump())

    def terminate(self, plan: SyncPlan, *, previous: Sequence[Mapping[str, Any]]) -> StepOutcome:
        """Stop a running operation: running hooks lose their finalizer and are deleted, their results fail."""
        results = _Results(previous)
        errors = False
        for task in plan.tasks:
            if not task.is_hook or _phase_of(results.get(task)) != _RUNNING:
                continue
            try:
                self._delete_hook(task)
            except ArgoError:
                errors = True
            results.set(task, phase=_FAILED, message="Terminated")
        if errors:
            return StepOutcome(OperationPhase.ERROR, "Operation termination had errors", results.dump())
        return StepOutcome(OperationPhase.FAILED, "Operation terminated", results.dump())


# --- deletion -----------------------------------------------------------------------------------------------------


def _object_label(obj: Mapping[str, Any]) -> str:
    key = ResourceKey.from_object(obj)
    return f"{key.kind}/{key.namespace}/{key.name}" if key.namespace else f"{key.kind}/{key.name}"


def delete_objects(resources: ResourceClient, objects: Iterable[KubeObject], *, propagation: str) -> list[str]:
    """Delete every object with ``propagation`` (``foreground``/``background``); the failures' messages.

    An object that is already gone counts as deleted, so a step interrupted half way can simply be run again.
    """
    errors: list[str] = []
    for obj in objects:
        metadata = obj.get("metadata") or {}
        try:
            resources.delete(
                GroupVersionKind.of(obj),
                str(metadata.get("name") or ""),
                namespace=str(metadata.get("namespace") or "") or None,
                propagation_policy=propagation,
            )
        except NotFound:
            continue
        except ArgoError as exc:
            errors.append(f"failed to delete {_object_label(obj)}: {exc.message}")
    return errors


@dataclass(frozen=True)
class DeletionHooksOutcome:
    """Where an app's PostDelete (or PreDelete) hooks stand after one step."""

    phase: OperationPhase
    """RUNNING while any hook is unfinished, FAILED when one is Degraded, else SUCCEEDED."""
    message: str = ""


def run_deletion_hooks(
    resources: ResourceClient,
    hooks: Sequence[KubeObject],
    *,
    live: Callable[[KubeObject], KubeObject | None],
    health: HealthFn,
) -> DeletionHooksOutcome:
    """Create the hooks not yet in the cluster and aggregate the health of those that are.

    ``live`` looks the hook up (the cluster cache); a hook the cache has not seen yet is created, and one that
    already exists (the cache lagging behind our own create) is simply waited for. A kind no health check knows
    is complete as soon as it exists, as for sync hooks.
    """
    failures: list[str] = []
    running = False
    for hook in hooks:
        current = live(hook)
        if current is None:
            try:
                resources.create(hook)
            except AlreadyExists:
                pass
            except ArgoError as exc:
                failures.append(f"failed to create hook {_object_label(hook)}: {exc.message}")
                continue
            running = True
            continue
        assessed = health(current)
        if assessed is None or assessed[0] == "Healthy":
            continue
        if assessed[0] == "Degraded":
            failures.append(f"hook {_object_label(hook)} failed: {assessed[1]}".rstrip(": "))
        else:
            running = True
    if failures:
        return DeletionHooksOutcome(OperationPhase.FAILED, "; ".join(failures))
    if running:
        return DeletionHooksOutcome(OperationPhase.RUNNING, "waiting for post-delete hooks to complete")
    return DeletionHooksOutcome(OperationPhase.SUCCEEDED)


def cleanup_deletion_hooks(resources: ResourceClient, hooks: Sequence[KubeObject], *, succeeded: bool) -> list[str]:
    """Delete the hooks whose delete policy matches the outcome (HookSucceeded or HookFailed); errors."""
    wanted = HookDeletePolicy.HOOK_SUCCEEDED if succeeded else HookDeletePolicy.HOOK_FAILED
    doomed = [hook for hook in hooks if wanted in delete_policies_of(hook)]
    return delete_objects(resources, doomed, propagation="Background")
