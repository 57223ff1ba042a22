"""Resource health assessment and application health aggregation.

Reproduces gitops-engine's ``pkg/health`` built-in checks (Deployment, StatefulSet, DaemonSet,
ReplicaSet, Pod, Job, Service, Ingress, PersistentVolumeClaim, HorizontalPodAutoscaler, APIService,
Argo Workflow), the checks upstream ships as built-in Lua customisations (CronJob,
PodDisruptionBudget) re-expressed in Python, user Lua overrides from argocd-cm
``resource.customizations.health.<group>_<kind>`` (which win over every built-in, even with an empty
result), the "Pending deletion" rule, and Argo CD's application aggregation
(``controller/health.go``): worst-of in the order Healthy < Suspended < Progressing < Missing <
Degraded < Unknown, hooks and ignored objects excluded, missing resources not degrading the app.
Child ``argoproj.io/Application`` objects have no built-in check since Argo CD 1.8;
``APPLICATION_HEALTH_LUA`` is the opt-in override users configure for app-of-apps.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import yaml

from argocd_server.engine.lua import DEFAULT_TIMEOUT_SECONDS, LuaScriptError, run_lua
from argocd_server.engine.resources import (
    ANNOTATION_IGNORE_HEALTHCHECK,
    ANNOTATION_IGNORE_RESTART_POLICY,
    HOOK_FINALIZER,
    HookType,
    KubeObject,
    ResourceKey,
    annotations_of,
    hook_types,
    is_hook,
    is_ignored_hook,
    parse_api_version,
)

__all__ = [
    "APPLICATION_HEALTH_LUA",
    "AppResourceHealth",
    "HealthStatus",
    "HealthStatusCode",
    "LuaHealthCheck",
    "aggregate_health",
    "assess_health",
    "is_worse",
    "parse_health_customizations",
]


class HealthStatusCode(StrEnum):
    """Argo CD health statuses, exact wire values."""

    UNKNOWN = "Unknown"
    PROGRESSING = "Progressing"
    HEALTHY = "Healthy"
    SUSPENDED = "Suspended"
    DEGRADED = "Degraded"
    MISSING = "Missing"


_ORDER = (
    HealthStatusCode.HEALTHY,
    HealthStatusCode.SUSPENDED,
    HealthStatusCode.PROGRESSING,
    HealthStatusCode.MISSING,
    HealthStatusCode.DEGRADED,
    HealthStatusCode.UNKNOWN,
)


def is_worse(current: HealthStatusCode, new: HealthStatusCode) -> bool:
    """True when ``new`` ranks worse than ``current`` in upstream's aggregation order."""
    return _ORDER.index(new) > _ORDER.index(current)


@dataclass(frozen=True)
class HealthStatus:
    """Health of one object or of an application."""

    status: HealthStatusCode
    message: str = ""


@dataclass(frozen=True)
class LuaHealthCheck:
    """A health customisation script; ``use_open_libs`` mirrors
    ``resource.customizations.useOpenLibs.*``."""

    script: str
    use_open_libs: bool = False


APPLICATION_HEALTH_LUA = """
hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil and obj.status.health ~= nil then
  hs.status = obj.status.health.status
  if obj.status.health.message ~= nil then
    hs.message = obj.status.health.message
  end
end
return hs
"""


def parse_health_customizations(data: Mapping[str, str]) -> dict[str, LuaHealthCheck]:
    """Health scripts from argocd-cm data, keyed ``group/kind`` (globs allowed, core group empty).

    Reads ``resource.customizations.health.<group>_<kind>`` with
    ``resource.customizations.useOpenLibs.<group>_<kind>`` and the legacy
    ``resource.customizations`` YAML map (``health.lua`` / ``health.lua.useOpenLibs``).
    """
    result: dict[str, LuaHealthCheck] = {}
    legacy = data.get("resource.customizations")
    if legacy:
        parsed = yaml.safe_load(legacy) or {}
        if isinstance(parsed, dict):
            for group_kind, body in parsed.items():
                if isinstance(body, dict) and body.get("health.lua"):
                    result[str(group_kind)] = LuaHealthCheck(
                        script=str(body["health.lua"]),
                        use_open_libs=bool(body.get("health.lua.useOpenLibs", False)),
                    )
    prefix = "resource.customizations.health."
    for key, script in data.items():
        if not key.startswith(prefix) or not script:
            continue
        suffix = key[len(prefix) :]
        group, _, kind = suffix.rpartition("_")
        open_libs = data.get(f"resource.customizations.useOpenLibs.{suffix}", "false")
        result[f"{group}/{kind}"] = LuaHealthCheck(script=script, use_open_libs=open_libs.strip().lower() == "true")
    return result


# --- helpers --------------------------------------------------------------------------------------


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _conditions(status: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [c for c in status.get("conditions") or [] if isinstance(c, dict)]


def _condition(status: Mapping[str, Any], condition_type: str) -> dict[str, Any] | None:
    for condition in _conditions(status):
        if condition.get("type") == condition_type:
            return condition
    return None


def _healthy(message: str = "") -> HealthStatus:
    return HealthStatus(HealthStatusCode.HEALTHY, message)


def _progressing(message: str = "") -> HealthStatus:
    return HealthStatus(HealthStatusCode.PROGRESSING, message)


def _degraded(message: str = "") -> HealthStatus:
    return HealthStatus(HealthStatusCode.DEGRADED, message)


def _unsupported(obj: Mapping[str, Any]) -> HealthStatus:
    group, version = parse_api_version(str(obj.get("apiVersion") or ""))
    kind = obj.get("kind") or ""
    return HealthStatus(HealthStatusCode.UNKNOWN, f"unsupported {kind} GVK: {group}/{version}, Kind={kind}")


def _parts(obj: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    return (obj.get("metadata") or {}), (obj.get("spec") or {}), (obj.get("status") or {})


# --- built-in checks ------------------------------------------------------------------------------


def _deployment(obj: Mapping[str, Any]) -> HealthStatus:
    metadata, spec, status = _parts(obj)
    if spec.get("paused"):
        return HealthStatus(HealthStatusCode.SUSPENDED, "Deployment is paused")
    if _int(metadata.get("generation")) > _int(status.get("observedGeneration")):
        return _progressing(
            "Waiting for rollout to finish: observed deployment generation less than desired generation"
        )
    progressing = _condition(status, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return _degraded(f'Deployment "{metadata.get("name", "")}" exceeded its progress deadline')
    updated = _int(status.get("updatedReplicas"))
    if spec.get("replicas") is not None and updated < _int(spec.get("replicas")):
        return _progressing(
            f"Waiting for rollout to finish: {updated} out of {_int(spec.get('replicas'))} "
            "new replicas "
            "have been updated..."
        )
    if _int(status.get("replicas")) > updated:
        return _progressing(
            "Waiting for rollout to finish: "
            f"{_int(status.get('replicas')) - updated} old replicas are "
            "pending termination..."
        )
    available = _int(status.get("availableReplicas"))
    if available < updated:
        return _progressing(
            f"Waiting for rollout to finish: {available} of {updated} updated replicas are available..."
        )
    return _healthy()


def _statefulset(obj: Mapping[str, Any]) -> HealthStatus:
    metadata, spec, status = _parts(obj)
    observed = _int(status.get("observedGeneration"))
    if observed == 0 or _int(metadata.get("generation")) > observed:
        return _progressing("Waiting for statefulset spec update to be observed...")
    replicas = spec.get("replicas")
    ready = _int(status.get("readyReplicas"))
    if replicas is not None and ready < _int(replicas):
        return _progressing(f"Waiting for {_int(replicas) - ready} pods to be ready...")
    updated = _int(status.get("updatedReplicas"))
    strategy = spec.get("updateStrategy") or {}
    rolling = strategy.get("rollingUpdate")
    if strategy.get("type") == "RollingUpdate" and isinstance(rolling, dict):
        partition = rolling.get("partition")
        if replicas is not None and partition is not None:
            expected = _int(replicas) - _int(partition)
            if updated < expected:
                return _progressing(
                    f"Waiting for partitioned roll out to finish: {updated} out of {expected} "
                    "new pods "
                    "have been updated..."
                )
        return _healthy(f"partitioned roll out complete: {updated} new pods have been updated...")
    if strategy.get("type") == "OnDelete":
        return _healthy(f"statefulset has {ready} ready pods")
    update_revision = status.get("updateRevision") or ""
    current_revision = status.get("currentRevision") or ""
    if update_revision != current_revision:
        return _progressing(
            f"waiting for statefulset rolling update to complete {updated} pods at revision {update_revision}..."
        )
    return _healthy(
        "statefulset rolling update complete "
        f"{_int(status.get('currentReplicas'))} pods at revision "
        f"{current_revision}..."
    )


def _daemonset(obj: Mapping[str, Any]) -> HealthStatus:
    metadata, spec, status = _parts(obj)
    if _int(metadata.get("generation")) > _int(status.get("observedGeneration")):
        return _progressing(
            "Waiting for rollout to finish: observed daemon set generation less than desired generation"
        )
    updated = _int(status.get("updatedNumberScheduled"))
    desired = _int(status.get("desiredNumberScheduled"))
    if (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
        return _healthy(f"daemon set {updated} out of {desired} new pods have been updated")
    name = metadata.get("name", "")
    if updated < desired:
        return _progressing(
            f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {desired} '
            "new pods "
            "have been updated..."
        )
    available = _int(status.get("numberAvailable"))
    if available < desired:
        return _progressing(
            f'Waiting for daemon set "{name}" rollout to finish: {available} of {desired} updated pods are available...'
        )
    return _healthy()


def _replicaset(obj: Mapping[str, Any]) -> HealthStatus:
    metadata, spec, status = _parts(obj)
    if _int(metadata.get("generation")) > _int(status.get("observedGeneration")):
        return _progressing(
            "Waiting for rollout to finish: observed replica set generation less than desired generation"
        )
    failure = _condition(status, "ReplicaFailure")
    if failure and failure.get("status") == "True":
        return _degraded(str(failure.get("message") or ""))
    available = _int(status.get("availableReplicas"))
    if spec.get("replicas") is not None and available < _int(spec.get("replicas")):
        return _progressing(
            f"Waiting for rollout to finish: {available} out of {_int(spec.get('replicas'))} new "
            "replicas are available..."
        )
    return _healthy()


def _pod_failure_message(status: Mapping[str, Any]) -> str:
    statuses = list(status.get("initContainerStatuses") or []) + list(status.get("containerStatuses") or [])
    for container in statuses:
        terminated = ((container or {}).get("state") or {}).get("terminated")
        if not isinstance(terminated, dict):
            continue
        if terminated.get("message"):
            return str(terminated["message"])
        if terminated.get("reason") == "OOMKilled":
            return "OOMKilled"
        if _int(terminated.get("exitCode")) != 0:
            return f'container "{container.get("name", "")}" failed with exit code {_int(terminated.get("exitCode"))}'
    return ""


def _pod(obj: Mapping[str, Any]) -> HealthStatus:
    _, spec, status = _parts(obj)
    restart_policy = spec.get("restartPolicy") or "Always"
    ignore_policy = annotations_of(obj).get(ANNOTATION_IGNORE_RESTART_POLICY) == "true"
    long_running = restart_policy == "Always" or (ignore_policy and not is_hook(obj))
    message = str(status.get("message") or "")
    if long_running:
        waiting_messages: list[str] = []
        for container in status.get("containerStatuses") or []:
            waiting = ((container or {}).get("state") or {}).get("waiting")
            if not isinstance(waiting, dict):
                continue
            reason = str(waiting.get("reason") or "")
            if reason.startswith("Err") or reason.endswith(("Error", "BackOff")):
                waiting_messages.append(str(waiting.get("message") or ""))
        if waiting_messages:
            return _degraded(", ".join(waiting_messages))
    phase = status.get("phase")
    if phase == "Pending":
        return _progressing(message)
    if phase == "Succeeded":
        return _healthy(message)
    if phase == "Failed":
        return _degraded(message or _pod_failure_message(status))
    if phase == "Running":
        if not long_running:
            return _progressing(message)
        ready = _condition(status, "Ready")
        if ready and ready.get("status") == "True":
            return _healthy(message)
        for container in status.get("containerStatuses") or []:
            if ((container or {}).get("lastState") or {}).get("terminated"):
                return _degraded(message)
        return _progressing(message)
    return HealthStatus(HealthStatusCode.UNKNOWN, message)


def _job(obj: Mapping[str, Any]) -> HealthStatus:
    _, _, status = _parts(obj)
    failed = complete = suspended = False
    message = fail_message = ""
    for condition in _conditions(status):
        kind = condition.get("type")
        if kind == "Failed":
            failed = complete = True
            fail_message = str(condition.get("message") or "")
        elif kind == "Complete":
            complete = True
            message = str(condition.get("message") or "")
        elif kind == "Suspended":
            complete = True
            message = str(condition.get("message") or "")
            suspended = condition.get("status") == "True"
    if not complete:
        return _progressing(message)
    if failed:
        return _degraded(fail_message)
    if suspended:
        return HealthStatus(HealthStatusCode.SUSPENDED, message)
    return _healthy(message)


def _cronjob(obj: Mapping[str, Any]) -> HealthStatus:
    spec = obj.get("spec") or {}
    status = obj.get("status")
    if spec.get("suspend"):
        # Upstream's built-in script reports a suspended CronJob as Healthy, not Suspended.
        return _healthy("CronJob is Suspended")
    if status is None:
        return _progressing("Waiting for CronJob")
    if not status.get("lastScheduleTime"):
        return _healthy("CronJob has not been scheduled yet")
    if not status.get("lastSuccessfulTime"):
        return _healthy("The CronJob never completed successfully. It may not be healthy")
    if status.get("active"):
        return _healthy("The job is running. Its last execution may not have been successful")
    if str(status["lastSuccessfulTime"]) < str(status["lastScheduleTime"]):
        return _degraded("CronJob has not completed its last execution successfully")
    return _healthy("CronJob has completed its last execution successfully")


def _service(obj: Mapping[str, Any]) -> HealthStatus:
    _, spec, status = _parts(obj)
    if spec.get("type") == "LoadBalancer" and not (status.get("loadBalancer") or {}).get("ingress"):
        return _progressing()
    return _healthy()


def _ingress(obj: Mapping[str, Any]) -> HealthStatus:
    _, _, status = _parts(obj)
    if (status.get("loadBalancer") or {}).get("ingress"):
        return _healthy()
    return _progressing()


def _pvc(obj: Mapping[str, Any]) -> HealthStatus:
    phase = (obj.get("status") or {}).get("phase")
    if phase == "Bound":
        return _healthy()
    if phase == "Pending":
        return _progressing()
    if phase == "Lost":
        return _degraded()
    return HealthStatus(HealthStatusCode.UNKNOWN)


_HPA_DEGRADED = {
    ("AbleToScale", "FailedGetScale"),
    ("AbleToScale", "FailedUpdateScale"),
    ("ScalingActive", "FailedGetResourceMetric"),
    ("ScalingActive", "FailedGetObjectMetric"),
    ("ScalingActive", "FailedGetPodsMetric"),
    ("ScalingActive", "FailedGetExternalMetric"),
    ("ScalingActive", "FailedComputeMetricsReplicas"),
    ("ScalingActive", "InvalidSelector"),
}


def _hpa(obj: Mapping[str, Any]) -> HealthStatus:
    _, version = parse_api_version(str(obj.get("apiVersion") or ""))
    conditions: list[dict[str, Any]]
    if version == "v1":
        raw = annotations_of(obj).get("autoscaling.alpha.kubernetes.io/conditions")
        try:
            parsed = json.loads(raw) if raw else []
        except ValueError:
            parsed = []
        conditions = [c for c in parsed if isinstance(c, dict)] if isinstance(parsed, list) else []
    elif version == "v2":
        conditions = _conditions(obj.get("status") or {})
    else:
        return _unsupported(obj)
    for condition in conditions:
        if (condition.get("type"), condition.get("reason")) in _HPA_DEGRADED:
            return _degraded(str(condition.get("message") or ""))
    for condition in conditions:
        if condition.get("type") in ("AbleToScale", "ScalingLimited") and condition.get("status") == "True":
            return _healthy(str(condition.get("message") or ""))
    return _progressing("Waiting to Autoscale")


def _apiservice(obj: Mapping[str, Any]) -> HealthStatus:
    _, version = parse_api_version(str(obj.get("apiVersion") or ""))
    if version not in ("v1", "v1beta1"):
        return _unsupported(obj)
    available = _condition(obj.get("status") or {}, "Available")
    if available is None:
        return _progressing("Waiting to be processed")
    message = f"{available.get('reason', '')}: {available.get('message', '')}"
    if available.get("status") == "True":
        return _healthy(message)
    return _progressing(message)


def _workflow(obj: Mapping[str, Any]) -> HealthStatus:
    status = obj.get("status") or {}
    phase = status.get("phase") or ""
    message = str(status.get("message") or "")
    if phase in ("", "Pending", "Running"):
        return _progressing(message)
    if phase == "Succeeded":
        return _healthy(message)
    if phase in ("Failed", "Error"):
        return _degraded(message)
    return HealthStatus(HealthStatusCode.UNKNOWN, message)


def _pdb(obj: Mapping[str, Any]) -> HealthStatus:
    for condition in _conditions(obj.get("status") or {}):
        reason = str(condition.get("reason") or "")
        if condition.get("status") == "False" and reason != "InsufficientPods":
            return _degraded(f"PodDisruptionBudget has {reason}")
        return _healthy(f"PodDisruptionBudget has {reason}")
    return _progressing("Waiting for status")


def _versioned(
    check: Callable[[Mapping[str, Any]], HealthStatus], *versions: str
) -> Callable[[Mapping[str, Any]], HealthStatus]:
    def guarded(obj: Mapping[str, Any]) -> HealthStatus:
        _, version = parse_api_version(str(obj.get("apiVersion") or ""))
        return check(obj) if version in versions else _unsupported(obj)

    return guarded


_BUILTIN: dict[tuple[str, str], Callable[[Mapping[str, Any]], HealthStatus]] = {
    ("apps", "Deployment"): _versioned(_deployment, "v1"),
    ("apps", "StatefulSet"): _versioned(_statefulset, "v1"),
    ("apps", "DaemonSet"): _versioned(_daemonset, "v1"),
    ("apps", "ReplicaSet"): _versioned(_replicaset, "v1"),
    ("", "Pod"): _versioned(_pod, "v1"),
    ("", "Service"): _versioned(_service, "v1"),
    ("", "PersistentVolumeClaim"): _versioned(_pvc, "v1"),
    ("batch", "Job"): _versioned(_job, "v1"),
    ("batch", "CronJob"): _cronjob,
    ("networking.k8s.io", "Ingress"): _ingress,
    ("extensions", "Ingress"): _ingress,
    ("autoscaling", "HorizontalPodAutoscaler"): _hpa,
    ("apiregistration.k8s.io", "APIService"): _apiservice,
    ("argoproj.io", "Workflow"): _workflow,
    ("policy", "PodDisruptionBudget"): _pdb,
}


# --- entry points ---------------------------------------------------------------------------------


def _find_override(group: str, kind: str, overrides: Mapping[str, LuaHealthCheck]) -> LuaHealthCheck | None:
    exact = overrides.get(f"{group}/{kind}")
    if exact is not None:
        return exact
    for pattern in sorted(overrides):
        if any(ch in pattern for ch in "*?[") and fnmatch.fnmatchcase(f"{group}/{kind}", pattern):
            return overrides[pattern]
    return None


def _run_override(check: LuaHealthCheck, obj: Mapping[str, Any], *, timeout: float) -> HealthStatus | None:
    try:
        result = run_lua(check.script, obj=obj, use_open_libs=check.use_open_libs, timeout=timeout)
    except LuaScriptError as exc:
        return HealthStatus(HealthStatusCode.UNKNOWN, exc.message)
    if not result:
        return None
    if not isinstance(result, dict):
        return HealthStatus(HealthStatusCode.UNKNOWN, "Lua returned an invalid health status")
    try:
        code = HealthStatusCode(str(result.get("status") or ""))
    except ValueError:
        return HealthStatus(HealthStatusCode.UNKNOWN, "Lua returned an invalid health status")
    return HealthStatus(code, str(result.get("message") or ""))


def assess_health(
    obj: KubeObject,
    *,
    overrides: Mapping[str, LuaHealthCheck] | None = None,
    lua_timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> HealthStatus | None:
    """Health of one live object, or None when nothing assesses its kind
    (``health.GetResourceHealth``).

    A Lua override that returns an empty table also yields None: it suppresses the built-in check,
    and upstream's status-less result is ignored by aggregation just like a missing one.
    """
    metadata = obj.get("metadata") or {}
    if metadata.get("deletionTimestamp") and HOOK_FINALIZER not in (metadata.get("finalizers") or []):
        return _progressing("Pending deletion")
    group, _ = parse_api_version(str(obj.get("apiVersion") or ""))
    kind = str(obj.get("kind") or "")
    override = _find_override(group, kind, overrides or {})
    if override is not None:
        return _run_override(override, obj, timeout=lua_timeout)
    check = _BUILTIN.get((group, kind))
    return check(obj) if check is not None else None


@dataclass(frozen=True)
class AppResourceHealth:
    """One managed resource as aggregation sees it: desired and live manifests plus the live
    health."""

    key: ResourceKey
    health: HealthStatus | None
    target: KubeObject | None = None
    live: KubeObject | None = None


def _counted(entry: AppResourceHealth, app_key: ResourceKey | None) -> bool:
    if entry.target is not None and hook_types(entry.target) == [HookType.SKIP]:
        return False
    if entry.live is not None:
        if is_hook(entry.live) or is_ignored_hook(entry.live):
            return False
        if annotations_of(entry.live).get(ANNOTATION_IGNORE_HEALTHCHECK) == "true":
            return False
    return not (app_key is not None and entry.key == app_key)


def _describe(key: ResourceKey) -> str:
    group_kind = f"{key.group}/{key.kind}" if key.group else key.kind
    return f"{group_kind}:{key.namespace}/{key.name}" if key.namespace else f"{group_kind}:{key.name}"


def aggregate_health(resources: Iterable[AppResourceHealth], *, app_key: ResourceKey | None = None) -> HealthStatus:
    """Application health from its managed resources (``controller/health.go
    setApplicationHealth``).

    ``app_key`` is the Application's own key, excluded when an app manages itself.
    """
    counted = [entry for entry in resources if _counted(entry, app_key)]
    if counted and all(entry.live is None for entry in counted):
        return HealthStatus(HealthStatusCode.MISSING)
    worst = HealthStatusCode.HEALTHY
    culprits: list[ResourceKey] = []
    for entry in counted:
        if entry.live is None or entry.health is None:
            continue
        code = entry.health.status
        if (entry.key.group, entry.key.kind) == ("argoproj.io", "Application") and code in (
            HealthStatusCode.MISSING,
            HealthStatusCode.UNKNOWN,
        ):
            continue
        if is_worse(worst, code):
            worst = code
            culprits = [entry.key]
        elif code == worst:
            culprits.append(entry.key)
    if worst is HealthStatusCode.HEALTHY:
        return HealthStatus(worst)
    shown = ", ".join(_describe(key) for key in culprits[:3])
    more = f" and {len(culprits) - 3} more" if len(culprits) > 3 else ""
    return HealthStatus(worst, f"Caused by {shown}{more}")
