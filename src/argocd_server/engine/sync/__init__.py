"""Sync: the pure planner (``plan``) and, separately, the executor that runs a plan against a
cluster."""

from argocd_server.engine.sync.plan import (
    AUTO_SYNC_DEFAULT_RETRY,
    KIND_ORDER,
    HookDeletePolicy,
    OperationPhase,
    ResultCode,
    RetryStrategy,
    SyncAction,
    SyncOptions,
    SyncPhase,
    SyncPlan,
    SyncResourceFilter,
    SyncStatusCode,
    SyncTask,
    SyncTaskGroup,
    plan_cascade_deletion,
    plan_sync,
    self_heal_backoff,
)

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
    "plan_cascade_deletion",
    "plan_sync",
    "self_heal_backoff",
]
