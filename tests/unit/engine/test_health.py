"""Built-in health checks, Lua overrides and application health aggregation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from argocd_server.engine.health import (
    APPLICATION_HEALTH_LUA,
    AppResourceHealth,
    HealthStatus,
    HealthStatusCode,
    LuaHealthCheck,
    aggregate_health,
    assess_health,
    is_worse,
    parse_health_customizations,
)
from argocd_server.engine.resources import KubeObject, ResourceKey

H = HealthStatusCode


def obj(api_version: str, kind: str, *, name: str = "web", generation: int = 1, **fields: Any) -> KubeObject:
    result: dict[str, Any] = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": "default", "generation": generation},
    }
    result.update(fields)
    return result


def check(resource: KubeObject) -> tuple[HealthStatusCode, str] | None:
    health = assess_health(resource)
    return None if health is None else (health.status, health.message)


def deployment(spec: KubeObject | None = None, status: KubeObject | None = None, generation: int = 1) -> KubeObject:
    return obj(
        "apps/v1", "Deployment", generation=generation, spec={"replicas": 3, **(spec or {})}, status=status or {}
    )


Case = tuple[KubeObject, tuple[HealthStatusCode, str] | None]

DEPLOYMENT_CASES: list[Case] = [
    (deployment({"paused": True}), (H.SUSPENDED, "Deployment is paused")),
    (
        deployment(generation=2, status={"observedGeneration": 1}),
        (H.PROGRESSING, "Waiting for rollout to finish: observed deployment generation less than desired generation"),
    ),
    (
        deployment(
            status={
                "observedGeneration": 1,
                "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}],
            }
        ),
        (H.DEGRADED, 'Deployment "web" exceeded its progress deadline'),
    ),
    (
        deployment(status={"observedGeneration": 1, "updatedReplicas": 1, "replicas": 3}),
        (H.PROGRESSING, "Waiting for rollout to finish: 1 out of 3 new replicas have been updated..."),
    ),
    (
        deployment(status={"observedGeneration": 1, "updatedReplicas": 3, "replicas": 4}),
        (H.PROGRESSING, "Waiting for rollout to finish: 1 old replicas are pending termination..."),
    ),
    (
        deployment(status={"observedGeneration": 1, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 2}),
        (H.PROGRESSING, "Waiting for rollout to finish: 2 of 3 updated replicas are available..."),
    ),
    (
        deployment(status={"observedGeneration": 1, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 3}),
        (H.HEALTHY, ""),
    ),
    (
        obj("apps/v1beta2", "Deployment", spec={}, status={}),
        (H.UNKNOWN, "unsupported Deployment GVK: apps/v1beta2, Kind=Deployment"),
    ),
]


def statefulset(spec: KubeObject, status: KubeObject, generation: int = 1) -> KubeObject:
    return obj("apps/v1", "StatefulSet", generation=generation, spec={"replicas": 3, **spec}, status=status)


STATEFULSET_CASES = [
    (statefulset({}, {}), (H.PROGRESSING, "Waiting for statefulset spec update to be observed...")),
    (
        statefulset({}, {"observedGeneration": 1, "readyReplicas": 1}),
        (H.PROGRESSING, "Waiting for 2 pods to be ready..."),
    ),
    (
        statefulset(
            {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}},
            {"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 1},
        ),
        (H.PROGRESSING, "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated..."),
    ),
    (
        statefulset(
            {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}},
            {"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 3},
        ),
        (H.HEALTHY, "partitioned roll out complete: 3 new pods have been updated..."),
    ),
    (
        statefulset({"updateStrategy": {"type": "OnDelete"}}, {"observedGeneration": 1, "readyReplicas": 3}),
        (H.HEALTHY, "statefulset has 3 ready pods"),
    ),
    (
        statefulset(
            {"updateStrategy": {"type": "RollingUpdate"}},
            {
                "observedGeneration": 1,
                "readyReplicas": 3,
                "updatedReplicas": 2,
                "updateRevision": "web-2",
                "currentRevision": "web-1",
            },
        ),
        (H.PROGRESSING, "waiting for statefulset rolling update to complete 2 pods at revision web-2..."),
    ),
    (
        statefulset(
            {"updateStrategy": {"type": "RollingUpdate"}},
            {
                "observedGeneration": 1,
                "readyReplicas": 3,
                "currentReplicas": 3,
                "updateRevision": "web-1",
                "currentRevision": "web-1",
            },
        ),
        (H.HEALTHY, "statefulset rolling update complete 3 pods at revision web-1..."),
    ),
]


def daemonset(spec: KubeObject, status: KubeObject, generation: int = 1) -> KubeObject:
    return obj("apps/v1", "DaemonSet", generation=generation, spec=spec, status=status)


DAEMONSET_CASES = [
    (
        daemonset({}, {"observedGeneration": 0}),
        (H.PROGRESSING, "Waiting for rollout to finish: observed daemon set generation less than desired generation"),
    ),
    (
        daemonset(
            {"updateStrategy": {"type": "OnDelete"}},
            {"observedGeneration": 1, "updatedNumberScheduled": 1, "desiredNumberScheduled": 3},
        ),
        (H.HEALTHY, "daemon set 1 out of 3 new pods have been updated"),
    ),
    (
        daemonset({}, {"observedGeneration": 1, "updatedNumberScheduled": 1, "desiredNumberScheduled": 3}),
        (H.PROGRESSING, 'Waiting for daemon set "web" rollout to finish: 1 out of 3 new pods have been updated...'),
    ),
    (
        daemonset(
            {},
            {"observedGeneration": 1, "updatedNumberScheduled": 3, "desiredNumberScheduled": 3, "numberAvailable": 2},
        ),
        (H.PROGRESSING, 'Waiting for daemon set "web" rollout to finish: 2 of 3 updated pods are available...'),
    ),
    (
        daemonset(
            {},
            {"observedGeneration": 1, "updatedNumberScheduled": 3, "desiredNumberScheduled": 3, "numberAvailable": 3},
        ),
        (H.HEALTHY, ""),
    ),
]

REPLICASET_CASES = [
    (
        obj("apps/v1", "ReplicaSet", generation=2, spec={"replicas": 2}, status={"observedGeneration": 1}),
        (H.PROGRESSING, "Waiting for rollout to finish: observed replica set generation less than desired generation"),
    ),
    (
        obj(
            "apps/v1",
            "ReplicaSet",
            spec={"replicas": 2},
            status={
                "observedGeneration": 1,
                "conditions": [
                    {"type": "ReplicaFailure", "status": "True", "message": 'pods "web-x" is forbidden: exceeded quota'}
                ],
            },
        ),
        (H.DEGRADED, 'pods "web-x" is forbidden: exceeded quota'),
    ),
    (
        obj("apps/v1", "ReplicaSet", spec={"replicas": 2}, status={"observedGeneration": 1, "availableReplicas": 1}),
        (H.PROGRESSING, "Waiting for rollout to finish: 1 out of 2 new replicas are available..."),
    ),
    (
        obj("apps/v1", "ReplicaSet", spec={"replicas": 2}, status={"observedGeneration": 1, "availableReplicas": 2}),
        (H.HEALTHY, ""),
    ),
]


def pod(status: KubeObject, *, restart_policy: str = "Always", annotations: KubeObject | None = None) -> KubeObject:
    result = obj("v1", "Pod", spec={"restartPolicy": restart_policy, "containers": [{"name": "main"}]}, status=status)
    if annotations:
        result["metadata"]["annotations"] = annotations
    return result


READY = {"type": "Ready", "status": "True"}
POD_CASES = [
    (
        pod(
            {
                "phase": "Running",
                "containerStatuses": [
                    {
                        "name": "main",
                        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting"}},
                    },
                    {"name": "side", "state": {"waiting": {"reason": "ErrImagePull", "message": "pull failed"}}},
                    {"name": "ok", "state": {"waiting": {"reason": "ContainerCreating"}}},
                ],
            }
        ),
        (H.DEGRADED, "back-off 5m0s restarting, pull failed"),
    ),
    (pod({"phase": "Pending", "message": "0/3 nodes available"}), (H.PROGRESSING, "0/3 nodes available")),
    (pod({"phase": "Succeeded"}, restart_policy="Never"), (H.HEALTHY, "")),
    (pod({"phase": "Failed", "message": "evicted"}, restart_policy="Never"), (H.DEGRADED, "evicted")),
    (
        pod(
            {"phase": "Failed", "containerStatuses": [{"name": "main", "state": {"terminated": {"exitCode": 3}}}]},
            restart_policy="Never",
        ),
        (H.DEGRADED, 'container "main" failed with exit code 3'),
    ),
    (
        pod(
            {
                "phase": "Failed",
                "initContainerStatuses": [
                    {"name": "init", "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}
                ],
            },
            restart_policy="Never",
        ),
        (H.DEGRADED, "OOMKilled"),
    ),
    (
        pod(
            {
                "phase": "Failed",
                "containerStatuses": [{"name": "main", "state": {"terminated": {"exitCode": 1, "message": "boom"}}}],
            },
            restart_policy="OnFailure",
        ),
        (H.DEGRADED, "boom"),
    ),
    (pod({"phase": "Running", "conditions": [READY]}), (H.HEALTHY, "")),
    (
        pod(
            {"phase": "Running", "containerStatuses": [{"name": "main", "lastState": {"terminated": {"exitCode": 1}}}]}
        ),
        (H.DEGRADED, ""),
    ),
    (pod({"phase": "Running"}), (H.PROGRESSING, "")),
    (pod({"phase": "Running", "conditions": [READY]}, restart_policy="Never"), (H.PROGRESSING, "")),
    (
        pod(
            {"phase": "Running", "conditions": [READY]},
            restart_policy="OnFailure",
            annotations={"argocd.argoproj.io/ignore-restart-policy": "true"},
        ),
        (H.HEALTHY, ""),
    ),
    (
        pod(
            {"phase": "Running", "conditions": [READY]},
            restart_policy="Never",
            annotations={"argocd.argoproj.io/ignore-restart-policy": "true", "argocd.argoproj.io/hook": "PreSync"},
        ),
        (H.PROGRESSING, ""),
    ),
    (pod({"phase": "Weird"}), (H.UNKNOWN, "")),
]


def job(conditions: list[KubeObject]) -> KubeObject:
    return obj("batch/v1", "Job", spec={}, status={"conditions": conditions})


JOB_CASES = [
    (job([]), (H.PROGRESSING, "")),
    (
        job([{"type": "Failed", "status": "True", "message": "Job has reached the specified backoff limit"}]),
        (H.DEGRADED, "Job has reached the specified backoff limit"),
    ),
    (job([{"type": "Complete", "status": "True", "message": "done"}]), (H.HEALTHY, "done")),
    (job([{"type": "Suspended", "status": "True", "message": "Job suspended"}]), (H.SUSPENDED, "Job suspended")),
    # Upstream quirk: a Suspended=False condition alone counts as complete.
    (job([{"type": "Suspended", "status": "False", "message": "Job resumed"}]), (H.HEALTHY, "Job resumed")),
]


def cronjob(spec: KubeObject, status: KubeObject | None) -> KubeObject:
    result = obj("batch/v1", "CronJob", spec={"schedule": "*/5 * * * *", **spec})
    if status is not None:
        result["status"] = status
    return result


CRONJOB_CASES = [
    (cronjob({"suspend": True}, {}), (H.HEALTHY, "CronJob is Suspended")),
    (cronjob({}, None), (H.PROGRESSING, "Waiting for CronJob")),
    (cronjob({}, {}), (H.HEALTHY, "CronJob has not been scheduled yet")),
    (
        cronjob({}, {"lastScheduleTime": "2024-05-01T10:00:00Z"}),
        (H.HEALTHY, "The CronJob never completed successfully. It may not be healthy"),
    ),
    (
        cronjob(
            {},
            {
                "lastScheduleTime": "2024-05-01T10:05:00Z",
                "lastSuccessfulTime": "2024-05-01T10:00:30Z",
                "active": [{"name": "x"}],
            },
        ),
        (H.HEALTHY, "The job is running. Its last execution may not have been successful"),
    ),
    (
        cronjob({}, {"lastScheduleTime": "2024-05-01T10:05:00Z", "lastSuccessfulTime": "2024-05-01T10:00:30Z"}),
        (H.DEGRADED, "CronJob has not completed its last execution successfully"),
    ),
    (
        cronjob({}, {"lastScheduleTime": "2024-05-01T10:05:00Z", "lastSuccessfulTime": "2024-05-01T10:05:20Z"}),
        (H.HEALTHY, "CronJob has completed its last execution successfully"),
    ),
]

LB_INGRESS = {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}}
NETWORK_CASES = [
    (obj("v1", "Service", spec={"type": "ClusterIP"}), (H.HEALTHY, "")),
    (obj("v1", "Service", spec={"type": "LoadBalancer"}, status={"loadBalancer": {}}), (H.PROGRESSING, "")),
    (obj("v1", "Service", spec={"type": "LoadBalancer"}, status=LB_INGRESS), (H.HEALTHY, "")),
    (obj("networking.k8s.io/v1", "Ingress", spec={}, status=LB_INGRESS), (H.HEALTHY, "")),
    (obj("networking.k8s.io/v1", "Ingress", spec={}), (H.PROGRESSING, "")),
    (obj("extensions/v1beta1", "Ingress", spec={}, status=LB_INGRESS), (H.HEALTHY, "")),
]

PVC_CASES = [
    (obj("v1", "PersistentVolumeClaim", status={"phase": "Bound"}), (H.HEALTHY, "")),
    (obj("v1", "PersistentVolumeClaim", status={"phase": "Pending"}), (H.PROGRESSING, "")),
    (obj("v1", "PersistentVolumeClaim", status={"phase": "Lost"}), (H.DEGRADED, "")),
    (obj("v1", "PersistentVolumeClaim", status={}), (H.UNKNOWN, "")),
]


def hpa_v2(conditions: list[KubeObject]) -> KubeObject:
    return obj("autoscaling/v2", "HorizontalPodAutoscaler", spec={}, status={"conditions": conditions})


def hpa_v1(conditions: list[KubeObject] | None) -> KubeObject:
    result = obj("autoscaling/v1", "HorizontalPodAutoscaler", spec={})
    if conditions is not None:
        result["metadata"]["annotations"] = {"autoscaling.alpha.kubernetes.io/conditions": json.dumps(conditions)}
    return result


HPA_CASES = [
    (
        hpa_v2(
            [
                {
                    "type": "AbleToScale",
                    "status": "True",
                    "reason": "SucceededGetScale",
                    "message": "the HPA controller was able to get the target's current scale",
                },
                {
                    "type": "ScalingActive",
                    "status": "False",
                    "reason": "FailedGetResourceMetric",
                    "message": "missing request for cpu",
                },
            ]
        ),
        (H.DEGRADED, "missing request for cpu"),
    ),
    (
        hpa_v2(
            [
                {
                    "type": "AbleToScale",
                    "status": "True",
                    "reason": "ReadyForNewScale",
                    "message": "recommended size matches current size",
                }
            ]
        ),
        (H.HEALTHY, "recommended size matches current size"),
    ),
    (
        hpa_v2([{"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound"}]),
        (H.PROGRESSING, "Waiting to Autoscale"),
    ),
    (hpa_v1(None), (H.PROGRESSING, "Waiting to Autoscale")),
    (
        hpa_v1(
            [{"type": "AbleToScale", "status": "False", "reason": "FailedGetScale", "message": "no such deployment"}]
        ),
        (H.DEGRADED, "no such deployment"),
    ),
    (
        hpa_v1([{"type": "ScalingLimited", "status": "True", "reason": "TooFewReplicas", "message": "at min"}]),
        (H.HEALTHY, "at min"),
    ),
    (
        obj("autoscaling/v2beta2", "HorizontalPodAutoscaler", spec={}),
        (H.UNKNOWN, "unsupported HorizontalPodAutoscaler GVK: autoscaling/v2beta2, Kind=HorizontalPodAutoscaler"),
    ),
]

APISERVICE_CASES = [
    (
        obj(
            "apiregistration.k8s.io/v1",
            "APIService",
            status={
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "Passed", "message": "all checks passed"}
                ]
            },
        ),
        (H.HEALTHY, "Passed: all checks passed"),
    ),
    (
        obj(
            "apiregistration.k8s.io/v1",
            "APIService",
            status={
                "conditions": [
                    {
                        "type": "Available",
                        "status": "False",
                        "reason": "MissingEndpoints",
                        "message": "endpoints for service/metrics-server in kube-system have no addresses",
                    }
                ]
            },
        ),
        (H.PROGRESSING, "MissingEndpoints: endpoints for service/metrics-server in kube-system have no addresses"),
    ),
    (obj("apiregistration.k8s.io/v1beta1", "APIService", status={}), (H.PROGRESSING, "Waiting to be processed")),
]

OTHER_CASES = [
    (obj("argoproj.io/v1alpha1", "Workflow", status={"phase": "Running"}), (H.PROGRESSING, "")),
    (obj("argoproj.io/v1alpha1", "Workflow", status={"phase": "Succeeded"}), (H.HEALTHY, "")),
    (
        obj("argoproj.io/v1alpha1", "Workflow", status={"phase": "Error", "message": "child failed"}),
        (H.DEGRADED, "child failed"),
    ),
    (obj("policy/v1", "PodDisruptionBudget", status={}), (H.PROGRESSING, "Waiting for status")),
    (
        obj(
            "policy/v1",
            "PodDisruptionBudget",
            status={"conditions": [{"type": "DisruptionAllowed", "status": "True", "reason": "SufficientPods"}]},
        ),
        (H.HEALTHY, "PodDisruptionBudget has SufficientPods"),
    ),
    (
        obj(
            "policy/v1",
            "PodDisruptionBudget",
            status={"conditions": [{"type": "DisruptionAllowed", "status": "False", "reason": "InsufficientPods"}]},
        ),
        (H.HEALTHY, "PodDisruptionBudget has InsufficientPods"),
    ),
    (
        obj(
            "policy/v1",
            "PodDisruptionBudget",
            status={"conditions": [{"type": "DisruptionAllowed", "status": "False", "reason": "SyncFailed"}]},
        ),
        (H.DEGRADED, "PodDisruptionBudget has SyncFailed"),
    ),
    (obj("v1", "ConfigMap", data={"a": "b"}), None),
    (obj("argoproj.io/v1alpha1", "Application", status={"health": {"status": "Degraded"}}), None),
]


@pytest.mark.parametrize(
    ("resource", "expected"),
    DEPLOYMENT_CASES
    + STATEFULSET_CASES
    + DAEMONSET_CASES
    + REPLICASET_CASES
    + POD_CASES
    + JOB_CASES
    + CRONJOB_CASES
    + NETWORK_CASES
    + PVC_CASES
    + HPA_CASES
    + APISERVICE_CASES
    + OTHER_CASES,
)
def test_builtin_health(resource: KubeObject, expected: tuple[HealthStatusCode, str] | None) -> None:
    assert check(resource) == expected


def test_pending_deletion_wins_unless_hook_finalizer() -> None:
    deleting = deployment(status={"observedGeneration": 1, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 3})
    deleting["metadata"]["deletionTimestamp"] = "2024-05-01T10:00:00Z"
    assert check(deleting) == (H.PROGRESSING, "Pending deletion")
    deleting["metadata"]["finalizers"] = ["argocd.argoproj.io/hook-finalizer"]
    assert check(deleting) == (H.HEALTHY, "")


def test_status_order() -> None:
    assert is_worse(H.HEALTHY, H.SUSPENDED)
    assert is_worse(H.SUSPENDED, H.PROGRESSING)
    assert is_worse(H.PROGRESSING, H.MISSING)
    assert is_worse(H.MISSING, H.DEGRADED)
    assert is_worse(H.DEGRADED, H.UNKNOWN)
    assert not is_worse(H.DEGRADED, H.PROGRESSING)
    assert [code.value for code in H] == ["Unknown", "Progressing", "Healthy", "Suspended", "Degraded", "Missing"]


CERT_LUA = """
hs = {}
if obj.status ~= nil and obj.status.conditions ~= nil then
  for i, condition in ipairs(obj.status.conditions) do
    if condition.type == "Ready" and condition.status == "False" then
      hs.status = "Degraded"
      hs.message = condition.message
      return hs
    end
    if condition.type == "Ready" and condition.status == "True" then
      hs.status = "Healthy"
      hs.message = condition.message
      return hs
    end
  end
end
hs.status = "Progressing"
hs.message = "Waiting for certificate"
return hs
"""


def certificate(ready: str | None) -> KubeObject:
    status = {"conditions": [{"type": "Ready", "status": ready, "message": f"ready={ready}"}]} if ready else {}
    return obj("cert-manager.io/v1", "Certificate", spec={"secretName": "tls"}, status=status)


@pytest.mark.parametrize(
    ("ready", "expected"),
    [
        ("True", HealthStatus(H.HEALTHY, "ready=True")),
        ("False", HealthStatus(H.DEGRADED, "ready=False")),
        (None, HealthStatus(H.PROGRESSING, "Waiting for certificate")),
    ],
)
def test_lua_custom_health(ready: str | None, expected: HealthStatus) -> None:
    overrides = {"cert-manager.io/Certificate": LuaHealthCheck(script=CERT_LUA)}
    assert assess_health(certificate(ready), overrides=overrides) == expected


def test_lua_wildcard_override() -> None:
    overrides = {"cert-manager.io/*": LuaHealthCheck(script=CERT_LUA)}
    assert assess_health(certificate("True"), overrides=overrides) == HealthStatus(H.HEALTHY, "ready=True")


def test_lua_override_beats_builtin_even_when_empty() -> None:
    healthy = deployment(status={"observedGeneration": 1, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 3})
    degraded = {"apps/Deployment": LuaHealthCheck(script='return {status = "Degraded", message = "custom"}')}
    assert assess_health(healthy, overrides=degraded) == HealthStatus(H.DEGRADED, "custom")
    empty = {"apps/Deployment": LuaHealthCheck(script="return {}")}
    assert assess_health(healthy, overrides=empty) is None


def test_lua_invalid_status_and_errors_are_unknown() -> None:
    invalid = {"apps/Deployment": LuaHealthCheck(script='return {status = "Fine"}')}
    assert assess_health(deployment(), overrides=invalid) == HealthStatus(
        H.UNKNOWN, "Lua returned an invalid health status"
    )
    failing = {"apps/Deployment": LuaHealthCheck(script='error("cannot read replicas")')}
    health = assess_health(deployment(), overrides=failing)
    assert health is not None
    assert health.status is H.UNKNOWN
    assert "cannot read replicas" in health.message
    syntax = {"apps/Deployment": LuaHealthCheck(script="return {")}
    health = assess_health(deployment(), overrides=syntax)
    assert health is not None
    assert health.status is H.UNKNOWN


def test_lua_sandbox_blocks_os_execute_and_io() -> None:
    for script in (
        'os.execute("touch /tmp/pwned") return {status = "Healthy"}',
        'local f = io.open("/etc/passwd") return {status = "Healthy"}',
        'require("os") return {status = "Healthy"}',
        'return {status = python.eval("1")}',
        'loadstring("return 1")() return {status = "Healthy"}',
    ):
        health = assess_health(deployment(), overrides={"apps/Deployment": LuaHealthCheck(script=script)})
        assert health is not None
        assert health.status is H.UNKNOWN, script


def test_lua_safe_os_time_available() -> None:
    script = 'if os.time() > 0 then return {status = "Healthy", message = string.upper("ok")} end'
    assert assess_health(deployment(), overrides={"apps/Deployment": LuaHealthCheck(script=script)}) == HealthStatus(
        H.HEALTHY, "OK"
    )


def test_lua_open_libs_allows_os() -> None:
    script = 'return {status = "Healthy", message = type(os.getenv)}'
    closed = assess_health(deployment(), overrides={"apps/Deployment": LuaHealthCheck(script=script)})
    opened = assess_health(
        deployment(), overrides={"apps/Deployment": LuaHealthCheck(script=script, use_open_libs=True)}
    )
    assert closed == HealthStatus(H.HEALTHY, "nil")
    assert opened == HealthStatus(H.HEALTHY, "function")


@pytest.mark.timeout(10)
def test_lua_timeout() -> None:
    for script in ("while true do end", "local co = coroutine.wrap(function() while true do end end) co()"):
        health = assess_health(
            deployment(), overrides={"apps/Deployment": LuaHealthCheck(script=script)}, lua_timeout=0.2
        )
        assert health is not None
        assert health.status is H.UNKNOWN
        assert "timeout" in health.message


def test_application_health_lua() -> None:
    app = obj(
        "argoproj.io/v1alpha1", "Application", status={"health": {"status": "Degraded", "message": "child broken"}}
    )
    overrides = {"argoproj.io/Application": LuaHealthCheck(script=APPLICATION_HEALTH_LUA)}
    assert assess_health(app, overrides=overrides) == HealthStatus(H.DEGRADED, "child broken")
    fresh = obj("argoproj.io/v1alpha1", "Application")
    assert assess_health(fresh, overrides=overrides) == HealthStatus(H.PROGRESSING, "")


def test_parse_health_customizations() -> None:
    parsed = parse_health_customizations(
        {
            "resource.customizations.health.cert-manager.io_Certificate": CERT_LUA,
            "resource.customizations.useOpenLibs.cert-manager.io_Certificate": "true",
            "resource.customizations.health.argoproj.io_Application": APPLICATION_HEALTH_LUA,
            "resource.customizations": "example.com/Widget:\n  health.lua: |\n    return {status = 'Healthy'}\n",
        }
    )
    assert parsed["cert-manager.io/Certificate"].use_open_libs is True
    assert parsed["argoproj.io/Application"].use_open_libs is False
    assert "example.com/Widget" in parsed


def entry(
    kind: str,
    name: str,
    status: HealthStatusCode | None,
    *,
    group: str = "apps",
    live: bool = True,
    annotations: KubeObject | None = None,
    target: KubeObject | None = None,
) -> AppResourceHealth:
    live_obj = None
    if live:
        live_obj = {
            "apiVersion": f"{group}/v1" if group else "v1",
            "kind": kind,
            "metadata": {"name": name, "namespace": "default", "annotations": annotations or {}},
        }
    return AppResourceHealth(
        key=ResourceKey(group=group, kind=kind, namespace="default", name=name),
        health=HealthStatus(status) if status is not None else None,
        target=target,
        live=live_obj,
    )


def test_aggregate_worst_of_with_message() -> None:
    result = aggregate_health(
        [
            entry("Deployment", "web", H.HEALTHY),
            entry("Deployment", "api", H.PROGRESSING),
            entry("StatefulSet", "db", H.DEGRADED),
            entry("Service", "web", H.SUSPENDED, group=""),
        ]
    )
    assert result == HealthStatus(H.DEGRADED, "Caused by apps/StatefulSet:default/db")


def test_aggregate_lists_three_culprits_and_more() -> None:
    result = aggregate_health([entry("Deployment", f"d{i}", H.PROGRESSING) for i in range(5)])
    assert result.status is H.PROGRESSING
    assert (
        result.message
        == "Caused by apps/Deployment:default/d0, apps/Deployment:default/d1, apps/Deployment:default/d2 and 2 more"
    )


def test_aggregate_exclusions() -> None:
    skip_target = {"metadata": {"annotations": {"argocd.argoproj.io/hook": "Skip"}}}
    result = aggregate_health(
        [
            entry("Deployment", "web", H.HEALTHY),
            entry("Job", "migrate", H.DEGRADED, group="batch", annotations={"argocd.argoproj.io/hook": "PreSync"}),
            entry("Deployment", "ignored", H.DEGRADED, annotations={"argocd.argoproj.io/ignore-healthcheck": "true"}),
            entry("Deployment", "missing", H.MISSING, live=False),
            entry("Deployment", "skipped", H.DEGRADED, target=skip_target),
            entry("ConfigMap", "cfg", None, group=""),
            entry("Application", "child", H.UNKNOWN, group="argoproj.io"),
            entry("Application", "self", H.DEGRADED, group="argoproj.io"),
        ],
        app_key=ResourceKey(group="argoproj.io", kind="Application", namespace="default", name="self"),
    )
    assert result == HealthStatus(H.HEALTHY)


def test_aggregate_missing_and_empty() -> None:
    assert aggregate_health([entry("Deployment", "web", None, live=False)]).status is H.MISSING
    assert aggregate_health([]) == HealthStatus(H.HEALTHY)
