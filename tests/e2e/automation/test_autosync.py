"""Automated sync end to end: a commit is synced automatically, self-heal (and its absence), the "never retry a
failed revision" guard with its SyncError condition, allowEmpty, and sync windows moved through the controller's
clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.e2e.automation.conftest import Clock, conditions, controller_of, last_state, patch_deployment
from tests.e2e.engine.conftest import Env

AUTO: dict[str, Any] = {"syncPolicy": {"automated": {"prune": True}}}

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  key: {value}\n"

FAILING_HOOK = """apiVersion: batch/v1
kind: Job
metadata:
  name: gate
  annotations:
    argocd.argoproj.io/hook: PreSync
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations:
        kubesim.io/behavior: fail
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:1.36
"""


def synced_to(revision: str) -> Any:
    def check(app: dict[str, Any]) -> bool:
        state = last_state(app)
        return (
            "operation" not in app
            and state.get("phase") == "Succeeded"
            and (state.get("syncResult") or {}).get("revision") == revision
            and app["status"]["sync"]["status"] == "Synced"
        )

    return check


def test_commit_is_synced_automatically_and_recorded_as_events(env: Env) -> None:
    env.create("auto", path="guestbook", **AUTO)
    first = env.wait("auto", synced_to(env.repo.head()))
    assert last_state(first)["operation"]["initiatedBy"] == {"automated": True}
    assert last_state(first)["operation"]["retry"] == {"limit": 5}
    assert first["status"]["history"][0]["initiatedBy"] == {"automated": True}

    revision = env.repo.commit("extra", {"guestbook/extra.yaml": CONFIGMAP.format(value="one")})
    env.get("auto", refresh="normal")
    env.wait("auto", synced_to(revision))
    assert env.live("v1", "ConfigMap", "extra") is not None

    events = env.client.get("/api/v1/applications/auto/events", headers=env.headers).json()
    reasons = [item["reason"] for item in events.get("items") or []]
    assert reasons.count("OperationStarted") >= 2
    assert reasons.count("OperationCompleted") >= 2
    started = [e["message"] for e in events["items"] if e["reason"] == "OperationStarted"]
    assert f"Initiated automated sync to '{revision}'" in started


def test_self_heal_reverts_drift(fast_env: Env) -> None:
    env = fast_env
    env.create("heal", path="guestbook", syncPolicy={"automated": {"selfHeal": True}})
    env.wait("heal", synced_to(env.repo.head()))
    patch_deployment(env, "guestbook-ui", {"spec": {"replicas": 3}})

    def healed(app: dict[str, Any]) -> bool:
        live = env.live("apps/v1", "Deployment", "guestbook-ui") or {}
        sync = (last_state(app).get("operation") or {}).get("sync") or {}
        return live.get("spec", {}).get("replicas") == 1 and sync.get("autoHealAttemptsCount") == 1

    app = env.wait("heal", healed)
    heal = last_state(app)["operation"]["sync"]
    # A self-heal syncs only what drifted.
    assert heal["resources"] == [
        {"group": "apps", "kind": "Deployment", "namespace": "default", "name": "guestbook-ui"}
    ]
    assert len(app["status"]["history"]) == 1  # selective: no history entry


def test_no_self_heal_without_self_heal(fast_env: Env) -> None:
    env = fast_env
    env.create("noheal", path="guestbook", syncPolicy={"automated": {}})
    synced = env.wait("noheal", synced_to(env.repo.head()))
    started = last_state(synced)["startedAt"]
    patch_deployment(env, "guestbook-ui", {"spec": {"replicas": 3}})
    env.wait("noheal", lambda app: app["status"]["sync"]["status"] == "OutOfSync")
    for _ in range(3):
        app = env.get("noheal", refresh="normal")
        assert app["status"]["sync"]["status"] == "OutOfSync"
        assert "operation" not in app
        assert last_state(app)["startedAt"] == started
    assert (env.live("apps/v1", "Deployment", "guestbook-ui") or {})["spec"]["replicas"] == 3


def test_failed_revision_is_not_retried_until_a_new_commit(env: Env) -> None:
    bad = env.repo.commit("bad", {"gated/hook.yaml": FAILING_HOOK, "gated/cm.yaml": CONFIGMAP.format(value="a")})
    env.create("gated", path="gated", syncPolicy={"automated": {"prune": True}, "retry": {"limit": 0}})
    failed = env.wait("gated", lambda app: bool(conditions(app, "SyncError")))
    state = last_state(failed)
    assert state["phase"] == "Failed"
    message = conditions(failed, "SyncError")[0]["message"]
    assert message.startswith(f"Failed last sync attempt to [{bad}]: ")
    for _ in range(3):
        again = env.get("gated", refresh="normal")
        assert "operation" not in again
        assert last_state(again)["startedAt"] == state["startedAt"]
        assert conditions(again, "SyncError")

    env.repo.git("rm", "-q", "gated/hook.yaml")
    fixed = env.repo.commit("fix")
    env.get("gated", refresh="normal")
    app = env.wait("gated", synced_to(fixed))
    assert not conditions(app, "SyncError")


def test_allow_empty_guards_against_wiping_everything(env: Env) -> None:
    env.repo.commit("one", {"solo/cm.yaml": CONFIGMAP.format(value="a"), "solo/README.md": "keep the dir\n"})
    env.create("solo", path="solo", **AUTO)
    env.wait("solo", synced_to(env.repo.head()))
    env.repo.git("rm", "-q", "solo/cm.yaml")
    empty = env.repo.commit("empty")
    env.get("solo", refresh="normal")
    app = env.wait("solo", lambda a: bool(conditions(a, "SyncError")))
    assert conditions(app, "SyncError")[0]["message"] == (
        f"Skipping sync attempt to [{empty}]: auto-sync will wipe out all resources"
    )
    assert env.live("v1", "ConfigMap", "extra") is not None

    patch = {"patch": '{"spec":{"syncPolicy":{"automated":{"prune":true,"allowEmpty":true}}}}', "patchType": "merge"}
    assert env.client.patch("/api/v1/applications/solo", json=patch, headers=env.headers).status_code == 200
    done = env.wait("solo", synced_to(empty))
    assert not conditions(done, "SyncError")
    env.wait("solo", lambda _a: env.live("v1", "ConfigMap", "extra") is None)


def _set_windows(env: Env, windows: list[dict[str, Any]]) -> None:
    project = env.client.get("/api/v1/projects/default", headers=env.headers).json()
    project["spec"]["syncWindows"] = windows
    response = env.client.put("/api/v1/projects/default", json={"project": project}, headers=env.headers)
    assert response.status_code == 200, response.text


def test_sync_windows_gate_automated_sync(env: Env) -> None:
    clock = Clock(datetime(2030, 1, 7, 10, 30, tzinfo=UTC))
    controller_of(env).clock = clock
    _set_windows(
        env,
        [
            {"kind": "deny", "schedule": "0 10 * * *", "duration": "1h", "applications": ["*"], "manualSync": True},
            {"kind": "allow", "schedule": "0 14 * * *", "duration": "1h", "applications": ["windowed"]},
        ],
    )
    env.repo.commit("den", {"den/cm.yaml": CONFIGMAP.replace("extra", "den").format(value="a")})
    env.create("windowed", path="guestbook", **AUTO)
    env.create("denied", path="den", **AUTO)
    for name in ("windowed", "denied"):
        app = env.get(name, refresh="normal")
        assert app["status"]["sync"]["status"] == "OutOfSync"
        assert "operation" not in app
        assert not last_state(app)

    # 12:00: the deny window is over; "windowed" is still outside its allow window, "denied" may sync.
    clock.fixed = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
    env.get("denied", refresh="normal")
    env.wait("denied", synced_to(env.repo.head()))
    app = env.get("windowed", refresh="normal")
    assert "operation" not in app
    assert not last_state(app)

    clock.fixed = datetime(2030, 1, 7, 14, 30, tzinfo=UTC)
    env.get("windowed", refresh="normal")
    env.wait("windowed", synced_to(env.repo.head()))
