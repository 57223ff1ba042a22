"""Application deletion end to end: cascade (foreground and background propagation, read from kubesim's write log)
removes the resources and then the app, non-cascade leaves them, PostDelete hooks run after the resources are gone,
and a stopped cluster shows DeletionError until it is back."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.automation.conftest import conditions, gone
from tests.e2e.engine.conftest import Env

POST_DELETE_JOB = """apiVersion: batch/v1
kind: Job
metadata:
  name: farewell
  annotations:
    argocd.argoproj.io/hook: PostDelete
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:1.36
"""

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  key: value\n"


def deploy(env: Env, name: str, *, path: str = "guestbook") -> None:
    env.create(name, path=path)
    assert env.sync(name).status_code == 200
    assert env.wait_operation(name)["status"]["operationState"]["phase"] == "Succeeded"


def delete(env: Env, name: str, **query: str) -> None:
    headers = {**env.headers, "Content-Type": "application/json"}
    response = env.client.delete(f"/api/v1/applications/{name}", params=query, headers=headers)
    assert response.status_code == 200, response.text


def wait_gone(env: Env, name: str) -> None:
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        if gone(env, name):
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} was not deleted; last: {env.get(name).get('status')}")


def guestbook_live(env: Env) -> list[Any]:
    return [
        env.live("apps/v1", "Deployment", "guestbook-ui"),
        env.live("v1", "Service", "guestbook-ui"),
    ]


@pytest.mark.parametrize(("policy", "expected"), [("foreground", "Foreground"), ("background", "Background")])
def test_cascade_deletion_removes_resources_then_the_app(env: Env, policy: str, expected: str) -> None:
    deploy(env, "doomed")
    assert all(guestbook_live(env))
    env.sim.clear_oplog()
    delete(env, "doomed", cascade="true", propagationPolicy=policy)
    wait_gone(env, "doomed")
    assert guestbook_live(env) == [None, None]
    deletes = {
        (entry["kind"], entry["name"]): entry.get("propagationPolicy")
        for entry in env.sim.oplog
        if entry["verb"] == "delete" and entry["kind"] in ("Deployment", "Service")
    }
    assert deletes == {("Deployment", "guestbook-ui"): expected, ("Service", "guestbook-ui"): expected}


def test_non_cascade_deletion_leaves_resources(env: Env) -> None:
    deploy(env, "kept")
    delete(env, "kept", cascade="false")
    assert gone(env, "kept")
    assert all(guestbook_live(env))


def test_waves_are_deleted_highest_first(env: Env) -> None:
    files = {
        "waves/low.yaml": CONFIGMAP.format(name="low"),
        "waves/high.yaml": CONFIGMAP.format(name="high").replace(
            "metadata:\n", 'metadata:\n  annotations:\n    argocd.argoproj.io/sync-wave: "5"\n'
        ),
    }
    env.repo.commit("waves", files)
    deploy(env, "waves", path="waves")
    env.sim.clear_oplog()
    delete(env, "waves")
    wait_gone(env, "waves")
    order = [e["name"] for e in env.sim.oplog if e["verb"] == "delete" and e["kind"] == "ConfigMap"]
    assert order == ["high", "low"]


def test_post_delete_hook_runs_after_resources_are_gone(env: Env) -> None:
    env.repo.commit("hooked", {"hooked/cm.yaml": CONFIGMAP.format(name="hooked"), "hooked/job.yaml": POST_DELETE_JOB})
    deploy(env, "hooked", path="hooked")
    assert env.live("batch/v1", "Job", "farewell") is None  # not a sync hook
    env.sim.clear_oplog()
    delete(env, "hooked")
    wait_gone(env, "hooked")
    log = [(e["verb"], e["kind"], e["name"]) for e in env.sim.oplog if e["verb"] in ("create", "delete")]
    assert ("delete", "ConfigMap", "hooked") in log
    assert log.index(("delete", "ConfigMap", "hooked")) < log.index(("create", "Job", "farewell"))
    job = env.live("batch/v1", "Job", "farewell")
    assert job is not None  # the default delete policy (BeforeHookCreation) keeps it


def test_deletion_error_while_cluster_is_down_then_recovers(env: Env) -> None:
    deploy(env, "stranded")
    env.sim.stop()
    try:
        delete(env, "stranded")
        app = env.wait("stranded", lambda a: bool(conditions(a, "DeletionError")))
        assert "cannot delete the application's resources" in conditions(app, "DeletionError")[0]["message"]
        assert app["metadata"]["deletionTimestamp"]
    finally:
        env.sim.start()
    wait_gone(env, "stranded")
    assert guestbook_live(env) == [None, None]
