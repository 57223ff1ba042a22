"""Sync planning: phases, waves, kind order, hooks, pruning, selective sync and retry backoff."""

from __future__ import annotations

from typing import Any

import pytest

from argocd_server.engine.resources import KubeObject
from argocd_server.engine.sync import (
    AUTO_SYNC_DEFAULT_RETRY,
    HookDeletePolicy,
    OperationPhase,
    ResultCode,
    RetryStrategy,
    SyncAction,
    SyncPhase,
    SyncResourceFilter,
    plan_cascade_deletion,
    plan_sync,
    self_heal_backoff,
)
from argocd_server.engine.sync.plan import SyncPlan, delete_policies_of, generated_hook_name
from argocd_server.engine.tracking import set_tracking

REVISION = "0123456789abcdef0123456789abcdef01234567"


def manifest(
    api_version: str,
    kind: str,
    name: str,
    *,
    namespace: str | None = None,
    annotations: dict[str, str] | None = None,
    **fields: Any,
) -> KubeObject:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}


def tracked(obj: KubeObject, app: str = "guestbook") -> KubeObject:
    return set_tracking(obj, app=app, namespace="default")


def order(plan: SyncPlan) -> list[tuple[str, int, str, str]]:
    return [(t.phase.value, t.wave, t.key.kind, t.key.name) for t in plan.tasks]


def test_kind_order_within_a_wave() -> None:
    targets = [
        manifest("apps/v1", "Deployment", "web"),
        manifest("v1", "Service", "web"),
        manifest("example.com/v1", "Widget", "w"),
        manifest("v1", "ConfigMap", "cfg"),
        manifest("networking.k8s.io/v1", "Ingress", "web"),
        manifest("v1", "Namespace", "other"),
        manifest("rbac.authorization.k8s.io/v1", "ClusterRole", "reader"),
        manifest("example.com/v1", "Alpha", "a"),
        manifest("v1", "Secret", "creds"),
        manifest("v1", "ServiceAccount", "web"),
    ]
    plan = plan_sync(targets=targets, live=[], destination_namespace="default")
    assert [t.key.kind for t in plan.tasks] == [
        "Namespace",
        "ServiceAccount",
        "Secret",
        "ConfigMap",
        "ClusterRole",
        "Service",
        "Deployment",
        "Ingress",
        "Alpha",
        "Widget",
    ]
    assert all(t.action is SyncAction.APPLY for t in plan.tasks)
    assert plan.tasks[0].key.namespace == ""
    assert next(t for t in plan.tasks if t.key.kind == "Deployment").target["metadata"]["namespace"] == "default"  # type: ignore[index]


def test_waves_and_phases_with_hooks() -> None:
    targets = [
        manifest("apps/v1", "Deployment", "web", annotations={"argocd.argoproj.io/sync-wave": "1"}),
        manifest("v1", "ConfigMap", "cfg", annotations={"argocd.argoproj.io/sync-wave": "-1"}),
        manifest("batch/v1", "Job", "migrate", annotations={"argocd.argoproj.io/hook": "PreSync"}),
        manifest(
            "batch/v1",
            "Job",
            "smoke",
            annotations={"argocd.argoproj.io/hook": "PostSync", "argocd.argoproj.io/sync-wave": "5"},
        ),
        manifest("batch/v1", "Job", "notify", annotations={"argocd.argoproj.io/hook": "SyncFail"}),
        manifest("batch/v1", "Job", "inline", annotations={"argocd.argoproj.io/hook": "Sync"}),
        manifest("v1", "Pod", "skipped", annotations={"argocd.argoproj.io/hook": "Skip"}),
        manifest("batch/v1", "Job", "cleanup", annotations={"argocd.argoproj.io/hook": "PostDelete"}),
        manifest("v1", "Pod", "helm-test", annotations={"helm.sh/hook": "test"}),
    ]
    plan = plan_sync(
        targets=targets, live=[], destination_namespace="default", revision=REVISION, started_at=1700000000
    )
    assert order(plan) == [
        ("PreSync", 0, "Job", "migrate"),
        ("Sync", -1, "ConfigMap", "cfg"),
        ("Sync", 0, "Job", "inline"),
        ("Sync", 1, "Deployment", "web"),
        ("PostSync", 5, "Job", "smoke"),
        ("SyncFail", 0, "Job", "notify"),
    ]
    assert [(g.phase, g.wave) for g in plan.groups] == [
        (SyncPhase.PRE_SYNC, 0),
        (SyncPhase.SYNC, -1),
        (SyncPhase.SYNC, 0),
        (SyncPhase.SYNC, 1),
        (SyncPhase.POST_SYNC, 5),
    ]
    assert [t.key.name for t in plan.sync_fail_tasks] == ["notify"]
    hook = plan.tasks[0]
    assert hook.action is SyncAction.HOOK
    assert hook.is_hook
    assert hook.target is not None
    assert "argocd.argoproj.io/hook-finalizer" in hook.target["metadata"]["finalizers"]
    assert hook.delete_policies == (HookDeletePolicy.BEFORE_HOOK_CREATION,)
    assert hook.result_key == "batch/Job/default/migrate:PreSync"
    assert plan.multi_step is True


def test_hook_with_several_phases_gets_one_task_each() -> None:
    hook = manifest("batch/v1", "Job", "check", annotations={"argocd.argoproj.io/hook": "PreSync,PostSync"})
    plan = plan_sync(targets=[hook], live=[], destination_namespace="default")
    assert [(t.phase, t.key.name) for t in plan.tasks] == [
        (SyncPhase.PRE_SYNC, "check"),
        (SyncPhase.POST_SYNC, "check"),
    ]


def test_helm_hooks_and_weights() -> None:
    targets = [
        manifest(
            "batch/v1",
            "Job",
            "db-init",
            annotations={
                "helm.sh/hook": "pre-install,pre-upgrade",
                "helm.sh/hook-weight": "-5",
                "helm.sh/hook-delete-policy": "hook-succeeded,before-hook-creation",
            },
        ),
        manifest("batch/v1", "Job", "announce", annotations={"helm.sh/hook": "post-upgrade"}),
        manifest("v1", "ConfigMap", "weighted", annotations={"helm.sh/hook-weight": "3"}),
        manifest(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "widgets.example.com",
            annotations={"helm.sh/hook": "crd-install"},
        ),
    ]
    plan = plan_sync(targets=targets, live=[], destination_namespace="default")
    assert order(plan) == [
        ("PreSync", -5, "Job", "db-init"),
        ("Sync", 0, "CustomResourceDefinition", "widgets.example.com"),
        ("Sync", 3, "ConfigMap", "weighted"),
        ("PostSync", 0, "Job", "announce"),
    ]
    assert plan.tasks[0].delete_policies == (HookDeletePolicy.HOOK_SUCCEEDED, HookDeletePolicy.BEFORE_HOOK_CREATION)


def test_delete_policy_union() -> None:
    obj = manifest(
        "batch/v1",
        "Job",
        "x",
        annotations={
            "argocd.argoproj.io/hook-delete-policy": "HookFailed, Bogus",
            "helm.sh/hook-delete-policy": "hook-succeeded",
        },
    )
    assert delete_policies_of(obj) == (HookDeletePolicy.HOOK_FAILED, HookDeletePolicy.HOOK_SUCCEEDED)


def test_generate_name_hooks() -> None:
    hook: KubeObject = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": "migrate-", "annotations": {"argocd.argoproj.io/hook": "PreSync"}},
    }
    plan = plan_sync(targets=[hook], live=[], destination_namespace="default", revision=REVISION, started_at=1700000000)
    assert plan.tasks[0].key.name == "migrate-0123456-presync-1700000000"
    again = plan_sync(
        targets=[hook], live=[], destination_namespace="default", revision=REVISION, started_at=1700000000
    )
    assert again.tasks[0].key == plan.tasks[0].key
    assert (
        generated_hook_name(generate_name="x-", revision="abc1234", phase=SyncPhase.POST_SYNC, started_at=1)
        == "x-abc1234-postsync-1"
    )


def test_hook_finds_existing_live_for_before_hook_creation() -> None:
    hook = manifest("batch/v1", "Job", "migrate", annotations={"argocd.argoproj.io/hook": "PreSync"})
    live = manifest(
        "batch/v1", "Job", "migrate", namespace="default", annotations={"argocd.argoproj.io/hook": "PreSync"}
    )
    plan = plan_sync(targets=[hook], live=[live], destination_namespace="default")
    assert len(plan.tasks) == 1
    assert plan.tasks[0].live is live


def test_prune_tasks_reverse_waves_and_never_prune_hooks() -> None:
    live = [
        tracked(
            manifest(
                "v1", "ConfigMap", "early", namespace="default", annotations={"argocd.argoproj.io/sync-wave": "-1"}
            )
        ),
        tracked(
            manifest(
                "v1", "ConfigMap", "middle", namespace="default", annotations={"argocd.argoproj.io/sync-wave": "2"}
            )
        ),
        tracked(
            manifest("v1", "ConfigMap", "late", namespace="default", annotations={"argocd.argoproj.io/sync-wave": "5"})
        ),
        tracked(
            manifest(
                "batch/v1", "Job", "old-hook", namespace="default", annotations={"argocd.argoproj.io/hook": "PreSync"}
            )
        ),
    ]
    targets = [manifest("apps/v1", "Deployment", "web", annotations={"argocd.argoproj.io/sync-wave": "1"})]
    plan = plan_sync(targets=targets, live=live, destination_namespace="default")
    assert [(t.action.value, t.wave, t.key.name) for t in plan.tasks] == [
        ("prune", -1, "late"),
        ("apply", 1, "web"),
        ("prune", 2, "middle"),
        ("prune", 5, "early"),
    ]


def test_prune_last_app_option_and_annotation() -> None:
    live = [
        tracked(manifest("v1", "ConfigMap", "a", namespace="default")),
        tracked(
            manifest(
                "v1",
                "ConfigMap",
                "b",
                namespace="default",
                annotations={"argocd.argoproj.io/sync-options": "PruneLast=true"},
            )
        ),
    ]
    targets = [manifest("apps/v1", "Deployment", "web", annotations={"argocd.argoproj.io/sync-wave": "3"})]
    plan = plan_sync(targets=targets, live=live, destination_namespace="default")
    assert [(t.wave, t.key.name) for t in plan.tasks] == [(0, "a"), (3, "web"), (4, "b")]
    all_last = plan_sync(targets=targets, live=live, destination_namespace="default", sync_options=["PruneLast=true"])
    assert [(t.wave, t.key.name) for t in all_last.tasks] == [(3, "web"), (4, "a"), (4, "b")]
    group = all_last.groups[-1]
    assert [t.key.name for t in group.prunes] == ["a", "b"]


def test_prune_outcomes() -> None:
    live = [
        tracked(
            manifest(
                "v1",
                "ConfigMap",
                "keep",
                namespace="default",
                annotations={"argocd.argoproj.io/sync-options": "Prune=false"},
            )
        ),
        tracked(manifest("v1", "ConfigMap", "gone", namespace="default")),
        tracked(
            manifest(
                "v1",
                "ConfigMap",
                "careful",
                namespace="default",
                annotations={"argocd.argoproj.io/sync-options": "Prune=confirm"},
            )
        ),
    ]
    plan = plan_sync(targets=[], live=live, destination_namespace="default")
    by_name = {t.key.name: t for t in plan.tasks}
    assert plan.prune_outcome(by_name["keep"]) == (ResultCode.PRUNE_SKIPPED, "ignored (no prune)")
    assert plan.prune_outcome(by_name["gone"]) is None
    assert plan.requires_prune_confirmation(by_name["careful"])
    assert not plan.requires_prune_confirmation(by_name["gone"])
    no_prune = plan_sync(targets=[], live=live, destination_namespace="default", prune=False)
    assert no_prune.prune_outcome(no_prune.tasks[0]) == (ResultCode.PRUNE_SKIPPED, "ignored (requires pruning)")
    dry = plan_sync(targets=[], live=live, destination_namespace="default", dry_run=True)
    assert dry.prune_outcome(next(t for t in dry.tasks if t.key.name == "gone")) == (
        ResultCode.PRUNED,
        "pruned (dry run)",
    )
    assert all(t.dry_run for t in dry.tasks)
    assert dry.records_history is False
    app_default = plan_sync(targets=[], live=live, destination_namespace="default", sync_options=["Prune=false"])
    assert app_default.prune_outcome(next(t for t in app_default.tasks if t.key.name == "gone")) == (
        ResultCode.PRUNE_SKIPPED,
        "ignored (no prune)",
    )
    assert app_default.requires_prune_confirmation(next(t for t in app_default.tasks if t.key.name == "careful"))


def test_copies_are_neither_synced_nor_pruned() -> None:
    copy = manifest(
        "v1",
        "ConfigMap",
        "copied",
        namespace="team-b",
        annotations={"argocd.argoproj.io/tracking-id": "guestbook:/ConfigMap:default/cfg"},
    )
    plan = plan_sync(targets=[], live=[copy], destination_namespace="default")
    assert plan.tasks == ()


def test_live_only_skip_target_is_not_pruned() -> None:
    target = manifest("v1", "ConfigMap", "manual", annotations={"argocd.argoproj.io/hook": "Skip"})
    live = tracked(manifest("v1", "ConfigMap", "manual", namespace="default"))
    assert plan_sync(targets=[target], live=[live], destination_namespace="default").tasks == ()


def test_selective_sync_skips_hooks() -> None:
    targets = [
        manifest("apps/v1", "Deployment", "web"),
        manifest("v1", "Service", "web"),
        manifest("batch/v1", "Job", "migrate", annotations={"argocd.argoproj.io/hook": "PreSync"}),
    ]
    live = [tracked(manifest("v1", "ConfigMap", "old", namespace="default"))]
    plan = plan_sync(
        targets=targets,
        live=live,
        destination_namespace="default",
        resources=[
            SyncResourceFilter(group="apps", kind="Deployment", name="web"),
            SyncResourceFilter.from_dict({"kind": "ConfigMap", "name": "old", "namespace": "default"}),
        ],
    )
    assert [(t.action.value, t.key.kind) for t in plan.tasks] == [("prune", "ConfigMap"), ("apply", "Deployment")]
    assert plan.selective
    assert plan.hooks_skipped
    assert not plan.records_history


def test_apply_strategy_skips_hooks() -> None:
    hook = manifest("batch/v1", "Job", "migrate", annotations={"argocd.argoproj.io/hook": "PreSync"})
    plan = plan_sync(
        targets=[hook, manifest("v1", "Service", "web")], live=[], destination_namespace="default", skip_hooks=True
    )
    assert [t.key.kind for t in plan.tasks] == ["Service"]
    assert plan.records_history is True


def test_apply_out_of_sync_only() -> None:
    targets = [
        manifest("v1", "ConfigMap", "same"),
        manifest("v1", "ConfigMap", "changed"),
        manifest("v1", "ConfigMap", "new"),
    ]
    live = [tracked(manifest("v1", "ConfigMap", n, namespace="default")) for n in ("same", "changed")]
    changed = [
        t
        for t in plan_sync(targets=targets, live=live, destination_namespace="default").tasks
        if t.key.name == "changed"
    ]
    plan = plan_sync(
        targets=targets,
        live=live,
        destination_namespace="default",
        sync_options=["ApplyOutOfSyncOnly=true"],
        out_of_sync=[changed[0].key],
    )
    assert [t.key.name for t in plan.tasks] == ["changed", "new"]


def test_namespace_and_crd_hoisted_before_dependents() -> None:
    targets = [
        manifest("v1", "ConfigMap", "cfg", namespace="team-a"),
        manifest("v1", "Namespace", "team-a", annotations={"argocd.argoproj.io/sync-wave": "5"}),
        manifest("example.com/v1", "Widget", "w", annotations={"argocd.argoproj.io/sync-wave": "-1"}),
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com", "annotations": {"argocd.argoproj.io/sync-wave": "2"}},
            "spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"}, "scope": "Namespaced"},
        },
    ]
    plan = plan_sync(targets=targets, live=[], destination_namespace="default")
    assert order(plan) == [
        ("Sync", -1, "CustomResourceDefinition", "widgets.example.com"),
        ("Sync", -1, "Widget", "w"),
        ("Sync", 0, "Namespace", "team-a"),
        ("Sync", 0, "ConfigMap", "cfg"),
    ]


def test_apply_batches_group_consecutive_kinds() -> None:
    targets = [manifest("v1", "ConfigMap", n) for n in ("a", "b")] + [manifest("apps/v1", "Deployment", "web")]
    group = plan_sync(targets=targets, live=[], destination_namespace="default").groups[0]
    assert [[t.key.name for t in batch] for batch in group.apply_batches()] == [["a", "b"], ["web"]]


def test_single_wave_plan_is_not_multi_step_and_sync_options_merge() -> None:
    target = manifest(
        "v1", "ConfigMap", "cfg", annotations={"argocd.argoproj.io/sync-options": "Replace=true,ServerSideApply=false"}
    )
    plan = plan_sync(
        targets=[target],
        live=[],
        destination_namespace="default",
        sync_options=["ServerSideApply=true", "Validate=false"],
    )
    assert plan.multi_step is False
    options = plan.tasks[0].options
    assert options.is_true("Replace")
    assert options.is_false("ServerSideApply")
    assert options.is_false("Validate")


def test_unknown_scope_pairs_with_cluster_scoped_live() -> None:
    target = manifest("example.com/v1", "ClusterWidget", "cw")
    live = tracked(manifest("example.com/v1", "ClusterWidget", "cw"))
    plan = plan_sync(targets=[target], live=[live], destination_namespace="default")
    assert [(t.action, t.key.namespace) for t in plan.tasks] == [(SyncAction.APPLY, "")]
    scoped = plan_sync(targets=[target], live=[live], destination_namespace="default", is_namespaced=lambda g, k: False)
    assert scoped.tasks[0].target is not None
    assert "namespace" not in scoped.tasks[0].target["metadata"]


def test_cascade_deletion_waves() -> None:
    live = [
        manifest("v1", "ConfigMap", "a", namespace="default"),
        manifest(
            "apps/v1", "Deployment", "web", namespace="default", annotations={"argocd.argoproj.io/sync-wave": "2"}
        ),
        manifest(
            "v1", "Secret", "keep", namespace="default", annotations={"argocd.argoproj.io/sync-options": "Delete=false"}
        ),
        manifest(
            "v1", "PersistentVolumeClaim", "data", namespace="default", annotations={"helm.sh/resource-policy": "keep"}
        ),
        manifest("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com"),
    ]
    waves = plan_cascade_deletion(live)
    assert [[o["metadata"]["name"] for o in wave] for wave in waves] == [["web"], ["a"]]
    assert plan_cascade_deletion(live, sync_options=["Delete=false"]) == ()


@pytest.mark.parametrize(("count", "delay"), [(1, 10.0), (2, 20.0), (3, 40.0), (5, 160.0), (6, 180.0), (10, 180.0)])
def test_retry_backoff_defaults(count: int, delay: float) -> None:
    assert RetryStrategy(limit=5).delay(count) == delay


def test_retry_backoff_from_spec() -> None:
    strategy = RetryStrategy.from_dict(
        {"limit": 3, "backoff": {"duration": "10s", "factor": 3, "maxDuration": "2m0s"}, "refresh": True}
    )
    assert (strategy.limit, strategy.duration, strategy.factor, strategy.max_duration, strategy.refresh) == (
        3,
        10.0,
        3.0,
        120.0,
        True,
    )
    assert [strategy.delay(n) for n in (1, 2, 3)] == [30.0, 90.0, 120.0]
    assert strategy.can_retry(2)
    assert not strategy.can_retry(3)
    assert RetryStrategy.from_dict({"limit": -1}).can_retry(1000)
    assert RetryStrategy.from_dict({"limit": 2, "backoff": {"duration": "30"}}).duration == 30.0
    assert RetryStrategy.from_dict(None).can_retry(0) is False
    assert AUTO_SYNC_DEFAULT_RETRY.limit == 5


@pytest.mark.parametrize(("attempts", "delay"), [(0, 0.0), (1, 2.0), (2, 6.0), (3, 18.0), (5, 162.0), (6, 300.0)])
def test_self_heal_backoff(attempts: int, delay: float) -> None:
    assert self_heal_backoff(attempts) == delay


def test_enum_values_match_argo() -> None:
    assert [c.value for c in ResultCode] == ["Synced", "SyncFailed", "Pruned", "PruneSkipped"]
    assert [p.value for p in OperationPhase] == ["Running", "Terminating", "Failed", "Error", "Succeeded"]
    assert OperationPhase.ERROR.completed
    assert not OperationPhase.TERMINATING.completed
    assert [p.value for p in SyncPhase] == ["PreSync", "Sync", "PostSync", "SyncFail", "PreDelete", "PostDelete"]
