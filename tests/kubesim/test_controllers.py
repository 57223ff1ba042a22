"""Simulated controllers: rollouts, failure behaviours, jobs, networking, storage, events, logs."""

from __future__ import annotations

from typing import Any

import pytest
from ksim_helpers import deployment, eventually
from kubernetes import client
from kubernetes.client.rest import ApiException

from kubesim import KubeSim


def _conditions(obj: Any) -> dict[str, Any]:
    return {c.type: c for c in (obj.status.conditions or [])}


def test_deployment_becomes_available(*, apps: client.AppsV1Api, core: client.CoreV1Api, ns: str) -> None:
    apps.create_namespaced_deployment(ns, deployment("web", replicas=3))

    def available() -> Any:
        dep = apps.read_namespaced_deployment("web", ns)
        s = dep.status
        ok = (s.replicas, s.updated_replicas, s.ready_replicas, s.available_replicas) == (3, 3, 3, 3)
        return dep if ok and s.observed_generation == dep.metadata.generation else None

    dep = eventually(available)
    conds = _conditions(dep)
    assert conds["Available"].status == "True"
    assert conds["Available"].reason == "MinimumReplicasAvailable"
    assert conds["Progressing"].reason == "NewReplicaSetAvailable"
    [rs] = apps.list_namespaced_replica_set(ns).items
    assert rs.metadata.owner_references[0].kind == "Deployment"
    pods = core.list_namespaced_pod(ns, label_selector="app=web").items
    assert len(pods) == 3
    assert all(p.status.phase == "Running" and p.spec.node_name for p in pods)
    reasons = {e.reason for e in core.list_namespaced_event(ns).items}
    assert {"ScalingReplicaSet", "SuccessfulCreate", "Scheduled", "Started"} <= reasons


def test_template_change_rolls_out_new_replicaset(apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_deployment(ns, deployment("web", replicas=2))
    eventually(lambda: apps.read_namespaced_deployment("web", ns).status.available_replicas == 2)
    apps.patch_namespaced_deployment(
        "web", ns, {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:1.26"}]}}}}
    )

    def rolled() -> bool:
        dep = apps.read_namespaced_deployment("web", ns)
        s = dep.status
        done = _conditions(dep).get("Progressing")
        return bool(
            s.observed_generation == 2
            and s.updated_replicas == 2
            and s.available_replicas == 2
            and s.replicas == 2
            and done
            and done.reason == "NewReplicaSetAvailable"
        )

    eventually(rolled)
    sets = apps.list_namespaced_replica_set(ns).items
    assert len(sets) == 2
    assert sorted(rs.spec.replicas for rs in sets) == [0, 2]
    revisions = sorted(rs.metadata.annotations["deployment.kubernetes.io/revision"] for rs in sets)
    assert revisions == ["1", "2"]


@pytest.mark.parametrize("behavior", ["fail", "crash-loop"])
def test_failing_deployment_exceeds_progress_deadline(
    *, apps: client.AppsV1Api, core: client.CoreV1Api, ns: str, behavior: str
) -> None:
    apps.create_namespaced_deployment(ns, deployment("bad", replicas=1, annotations={"kubesim.io/behavior": behavior}))

    def degraded() -> bool:
        progress = _conditions(apps.read_namespaced_deployment("bad", ns)).get("Progressing")
        return bool(progress and progress.reason == "ProgressDeadlineExceeded" and progress.status == "False")

    eventually(degraded)
    [pod] = core.list_namespaced_pod(ns).items
    waiting = pod.status.container_statuses[0].state.waiting
    assert waiting.reason == ("ImagePullBackOff" if behavior == "fail" else "CrashLoopBackOff")
    assert _conditions(apps.read_namespaced_deployment("bad", ns))["Available"].status == "False"


def test_never_ready_stays_progressing(*, apps: client.AppsV1Api, core: client.CoreV1Api, ns: str) -> None:
    apps.create_namespaced_deployment(
        ns, deployment("stuck", replicas=1, annotations={"kubesim.io/behavior": "never-ready"})
    )
    eventually(lambda: [p for p in core.list_namespaced_pod(ns).items if p.status.phase == "Running"])
    dep = eventually(lambda: (d := apps.read_namespaced_deployment("stuck", ns)).status.conditions and d)
    conds = _conditions(dep)
    assert conds["Progressing"].reason == "ReplicaSetUpdated"
    assert conds["Available"].status == "False"
    assert not dep.status.ready_replicas


def test_statefulset_and_daemonset(*, apps: client.AppsV1Api, core: client.CoreV1Api, ns: str, sim: KubeSim) -> None:
    sts = deployment("db", replicas=2)
    sts["kind"] = "StatefulSet"
    sts["spec"]["serviceName"] = "db"
    sts["spec"]["volumeClaimTemplates"] = [
        {
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        }
    ]
    apps.create_namespaced_stateful_set(ns, sts)
    ds = deployment("agent")
    ds["kind"] = "DaemonSet"
    del ds["spec"]["replicas"]
    apps.create_namespaced_daemon_set(ns, ds)
    eventually(lambda: apps.read_namespaced_stateful_set("db", ns).status.ready_replicas == 2)
    pods = sorted(p.metadata.name for p in core.list_namespaced_pod(ns, label_selector="app=db").items)
    assert pods == ["db-0", "db-1"]
    eventually(lambda: {c.status.phase for c in core.list_namespaced_persistent_volume_claim(ns).items} == {"Bound"})

    def ds_ready() -> bool:
        s = apps.read_namespaced_daemon_set("agent", ns).status
        return s.desired_number_scheduled == 3 and s.number_ready == 3

    eventually(ds_ready)
    nodes = {p.spec.node_name for p in core.list_namespaced_pod(ns, label_selector="app=agent").items}
    assert nodes == set(sim.node_names)


def _job(name: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "backoffLimit": 1,
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "run", "image": "busybox"}]}},
        },
    }


def test_job_completes_or_fails(batch: client.BatchV1Api, ns: str) -> None:
    batch.create_namespaced_job(ns, _job("ok"))
    batch.create_namespaced_job(ns, _job("bad", {"kubesim.io/behavior": "fail"}))

    def finished(name: str, kind: str) -> bool:
        conds = batch.read_namespaced_job(name, ns).status.conditions or []
        return any(c.type == kind and c.status == "True" for c in conds)

    eventually(lambda: finished("ok", "Complete"))
    assert batch.read_namespaced_job("ok", ns).status.succeeded == 1
    eventually(lambda: finished("bad", "Failed"))
    assert batch.read_namespaced_job("bad", ns).status.failed == 2


def test_cronjob_schedules(batch: client.BatchV1Api, ns: str) -> None:
    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "tick"},
        "spec": {"schedule": "* * * * *", "jobTemplate": _job("x")["spec"] and {"spec": _job("x")["spec"]}},
    }
    created = batch.create_namespaced_cron_job(ns, cron)
    assert created.spec.concurrency_policy == "Allow"
    # the next minute boundary may be up to a minute away: only check that status is maintained
    eventually(lambda: batch.read_namespaced_cron_job("tick", ns).status is not None)


def test_load_balancer_pvc_and_ingress(*, core: client.CoreV1Api, api_client: client.ApiClient, ns: str) -> None:
    core.create_namespaced_service(
        ns, {"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}
    )
    core.create_namespaced_persistent_volume_claim(
        ns,
        {
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}},
        },
    )
    net = client.NetworkingV1Api(api_client)
    net.create_namespaced_ingress(ns, {"metadata": {"name": "ing"}, "spec": {"rules": [{"host": "example.com"}]}})
    svc = eventually(lambda: (s := core.read_namespaced_service("lb", ns)).status.load_balancer.ingress and s)
    assert svc.status.load_balancer.ingress[0].ip
    pvc = eventually(
        lambda: (p := core.read_namespaced_persistent_volume_claim("data", ns)).status.phase == "Bound" and p
    )
    assert pvc.status.capacity == {"storage": "2Gi"}
    assert core.read_persistent_volume(pvc.spec.volume_name).status.phase == "Bound"
    ing = eventually(lambda: (i := net.read_namespaced_ingress("ing", ns)).status.load_balancer.ingress and i)
    assert ing.status.load_balancer.ingress[0].ip


def _pod(name: str, containers: list[str], *, behavior: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if behavior:
        meta["annotations"] = {"kubesim.io/behavior": behavior}
    return {"metadata": meta, "spec": {"containers": [{"name": c, "image": "busybox"} for c in containers]}}


def test_pod_logs(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, _pod("one", ["app"]))
    core.create_namespaced_pod(ns, _pod("two", ["app", "sidecar"]))
    eventually(lambda: core.read_namespaced_pod("one", ns).status.phase == "Running")
    eventually(lambda: core.read_namespaced_pod("two", ns).status.phase == "Running")
    text = core.read_namespaced_pod_log("one", ns)
    lines = text.splitlines()
    assert len(lines) >= 20
    assert lines[0].startswith("app [0] ")
    assert core.read_namespaced_pod_log("one", ns).splitlines()[:20] == lines[:20]
    tail = core.read_namespaced_pod_log("one", ns, tail_lines=3).splitlines()
    assert tail == core.read_namespaced_pod_log("one", ns).splitlines()[-3:]
    stamped = core.read_namespaced_pod_log("one", ns, tail_lines=1, timestamps=True)
    assert stamped[:4].isdigit()
    assert "Z " in stamped
    assert core.read_namespaced_pod_log("one", ns, since_seconds=3600).splitlines()
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod_log("two", ns)
    assert err.value.status == 400
    assert "a container name must be specified" in err.value.body
    assert core.read_namespaced_pod_log("two", ns, container="sidecar").startswith("sidecar [0]")
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod_log("one", ns, previous=True)
    assert err.value.status == 400


def test_pod_log_follow_and_previous(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, _pod("f", ["app"]))
    eventually(lambda: core.read_namespaced_pod("f", ns).status.phase == "Running")
    response = core.read_namespaced_pod_log("f", ns, follow=True, tail_lines=0, _preload_content=False)
    got: list[bytes] = []
    for chunk in response.stream(64):
        got.append(chunk)
        if b"".join(got).count(b"\n") >= 2:
            break
    response.release_conn()
    assert b"".join(got).startswith(b"app [")
    core.create_namespaced_pod(ns, _pod("crash", ["app"], behavior="crash-loop"))
    eventually(
        lambda: (
            (core.read_namespaced_pod("crash", ns).status.container_statuses or [None])[0]
            and core.read_namespaced_pod("crash", ns).status.container_statuses[0].restart_count >= 1
        )
    )
    previous = core.read_namespaced_pod_log("crash", ns, previous=True)
    assert previous.splitlines()[-1].startswith("panic:")
