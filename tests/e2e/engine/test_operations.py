"""Sync operations end to end: hooks and waves in upstream's order (read from kubesim's write log), a failing hook
with SyncFail hooks, retry with backoff, rollback, terminate, concurrent syncs, and the failure stories (git or
cluster unreachable, a controller that died mid-operation)."""

from __future__ import annotations

import threading
from typing import Any

import orjson
from tests.e2e.engine.conftest import Env, EnvFactory
from tests.support.git_repo import GitRepo

from argocd_server.db.engine import make_engine, make_sessionmaker
from argocd_server.db.stores.applications import ApplicationStore

JSON = {"Content-Type": "application/json"}


def job(name: str, *, hook: str, generate: bool = False, behavior: str = "", delete_policy: str = "") -> str:
    meta_name = f"generateName: {name}-" if generate else f"name: {name}"
    annotations = [f"argocd.argoproj.io/hook: {hook}"]
    if delete_policy:
        annotations.append(f"argocd.argoproj.io/hook-delete-policy: {delete_policy}")
    pod_annotations = f"\n      annotations:\n        kubesim.io/behavior: {behavior}" if behavior else ""
    return f"""apiVersion: batch/v1
kind: Job
metadata:
  {meta_name}
  annotations:
{chr(10).join("    " + a for a in annotations)}
spec:
  backoffLimit: 0
  template:
    metadata:{pod_annotations or " {}"}
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:1.36
"""


def configmap(name: str, wave: int | None = None) -> str:
    annotations = f'\n  annotations:\n    argocd.argoproj.io/sync-wave: "{wave}"' if wave is not None else ""
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}{annotations}\ndata:\n  key: value\n"


SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: svc
spec:
  selector: {app: demo}
  ports: [{port: 80}]
"""


def writes(env: Env, *, verbs: tuple[str, ...] = ("create",)) -> list[tuple[str, str, str]]:
    return [
        (entry["verb"], entry["kind"], entry["name"])
        for entry in env.sim.oplog
        if entry["verb"] in verbs and not entry["dryRun"] and entry["namespace"] in ("default", "")
    ]


def state_of(app: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = app["status"]["operationState"]
    return result


def test_hooks_and_waves_run_in_upstream_order(env: Env) -> None:
    env.repo.commit(
        "hooks",
        {
            "hooks/presync.yaml": job("before", hook="PreSync", generate=True, delete_policy="HookSucceeded"),
            "hooks/postsync.yaml": job("after", hook="PostSync"),
            "hooks/cm-first.yaml": configmap("cm-first", wave=-1),
            "hooks/cm-second.yaml": configmap("cm-second"),
            "hooks/svc.yaml": SERVICE,
            "hooks/cm-third.yaml": configmap("cm-third", wave=2),
        },
    )
    env.create("hooks", path="hooks")
    app = env.get("hooks", refresh="normal")
    hooks = sorted(r["kind"] + "/" + r["name"] for r in app["status"]["resources"] if r.get("hook"))
    assert hooks == ["Job/after"]  # generated names are only known at sync time
    env.sim.clear_oplog()

    assert env.sync("hooks").status_code == 200
    done = env.wait_operation("hooks")
    state = state_of(done)
    assert state["phase"] == "Succeeded", state
    created = [(kind, name) for verb, kind, name in writes(env) if kind in ("Job", "ConfigMap", "Service")]
    presync = next(name for kind, name in created if name.startswith("before-"))
    assert created == [
        ("Job", presync),
        ("ConfigMap", "cm-first"),
        ("ConfigMap", "cm-second"),
        ("Service", "svc"),
        ("ConfigMap", "cm-third"),
        ("Job", "after"),
    ]
    revision = env.repo.head()
    assert presync.startswith(f"before-{revision[:7]}-presync-")
    results = {r["name"]: r for r in state["syncResult"]["resources"]}
    assert (results[presync]["hookType"], results[presync]["hookPhase"]) == ("PreSync", "Succeeded")
    assert results["after"]["hookType"] == "PostSync"
    assert results["cm-first"]["syncPhase"] == "Sync"
    # HookSucceeded: deleted when the whole operation succeeded; the PostSync hook stays, without our finalizer.
    env.wait("hooks", lambda _a: env.live("batch/v1", "Job", presync) is None)
    after = env.live("batch/v1", "Job", "after")
    assert after is not None
    assert "argocd.argoproj.io/hook-finalizer" not in (after["metadata"].get("finalizers") or [])

    # Second sync: BeforeHookCreation deletes the old PostSync hook before recreating it.
    env.sim.clear_oplog()
    assert env.sync("hooks").status_code == 200
    assert state_of(env.wait_operation("hooks"))["phase"] == "Succeeded"
    log = [(verb, name) for verb, kind, name in writes(env, verbs=("create", "delete")) if name == "after"]
    assert log == [("delete", "after"), ("create", "after")]


def test_failing_hook_fails_sync_and_runs_syncfail_hooks(env: Env) -> None:
    env.repo.commit(
        "failing",
        {
            "failing/presync.yaml": job("migrate", hook="PreSync", behavior="fail"),
            "failing/syncfail.yaml": job("cleanup", hook="SyncFail"),
            "failing/cm.yaml": configmap("never-applied"),
        },
    )
    env.create("failing", path="failing")
    env.sim.clear_oplog()
    assert env.sync("failing").status_code == 200
    state = state_of(env.wait_operation("failing"))
    assert state["phase"] == "Failed", state
    assert state["message"].startswith("one or more synchronization tasks completed unsuccessfully")
    created = [name for verb, kind, name in writes(env) if kind in ("Job", "ConfigMap")]
    assert created == ["migrate", "cleanup"]
    results = {r["name"]: r for r in state["syncResult"]["resources"]}
    assert results["migrate"]["hookPhase"] == "Failed"
    assert (results["cleanup"]["hookType"], results["cleanup"]["hookPhase"]) == ("SyncFail", "Succeeded")
    assert "history" not in env.get("failing")["status"]


def test_retry_with_backoff_then_give_up(env: Env) -> None:
    env.repo.commit("retry", {"retry/presync.yaml": job("flaky", hook="PreSync", behavior="fail")})
    env.create("retry", path="retry")
    retry = {"limit": 2, "backoff": {"duration": "100ms", "factor": 2, "maxDuration": "1s"}}
    assert env.sync("retry", retryStrategy=retry).status_code == 200
    state = state_of(env.wait_operation("retry"))
    assert state["phase"] == "Failed", state
    assert state["retryCount"] == 2
    assert state["message"].endswith(" (retried 2 times).")
    assert state["operation"]["retry"] == retry


def test_rollback_terminate_and_refusals(env: Env) -> None:
    env.create("guestbook", path="guestbook")
    assert env.sync("guestbook").status_code == 200
    assert state_of(env.wait_operation("guestbook"))["phase"] == "Succeeded"
    first = env.repo.head()
    text = (env.repo.path / "guestbook/guestbook-ui-deployment.yaml").read_text()
    env.repo.commit("bump", {"guestbook/guestbook-ui-deployment.yaml": text.replace("1.0.0", "2.0.0")})
    assert env.sync("guestbook").status_code == 200
    assert state_of(env.wait_operation("guestbook"))["phase"] == "Succeeded"

    missing = env.client.post("/api/v1/applications/guestbook/rollback", json={"id": 7}, headers=env.headers)
    assert missing.status_code == 400
    assert missing.json()["message"] == "application argocd/guestbook does not have deployment with id 7"

    response = env.client.post("/api/v1/applications/guestbook/rollback", json={"id": 0}, headers=env.headers)
    assert response.status_code == 200, response.text
    operation = response.json()["operation"]["sync"]
    assert (operation["revision"], operation["syncStrategy"]) == (first, {"apply": {}})
    state = state_of(env.wait_operation("guestbook"))
    assert state["phase"] == "Succeeded", state
    deployment = env.live("apps/v1", "Deployment", "guestbook-ui")
    assert deployment is not None
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.0.0")
    assert env.get("guestbook", refresh="normal")["status"]["sync"]["status"] == "OutOfSync"

    none = env.client.delete("/api/v1/applications/guestbook/operation", headers={**env.headers, **JSON})
    assert none.status_code == 400
    assert none.json()["message"] == "Unable to terminate operation. No operation is in progress"

    patch = {"patch": '{"spec":{"syncPolicy":{"automated":{"prune":true}}}}', "patchType": "merge"}
    assert env.client.patch("/api/v1/applications/guestbook", json=patch, headers=env.headers).status_code == 200
    refused = env.client.post("/api/v1/applications/guestbook/rollback", json={"id": 0}, headers=env.headers)
    assert refused.status_code == 400
    assert refused.json()["message"] == "rollback cannot be initiated when auto-sync is enabled"
    # Auto-sync brings the app back to the targeted revision on its own.
    env.wait(
        "guestbook",
        lambda a: a["status"]["sync"].get("revision") == env.repo.head() and a["status"]["sync"]["status"] == "Synced",
    )


def test_terminate_a_running_hook(env: Env) -> None:
    pod = """apiVersion: v1
kind: Pod
metadata:
  name: waits
  annotations:
    argocd.argoproj.io/hook: PreSync
    kubesim.io/behavior: never-ready
spec:
  containers:
    - name: main
      image: busybox:1.36
"""
    env.repo.commit("stuck", {"stuck/presync.yaml": pod})
    env.create("stuck", path="stuck")
    assert env.sync("stuck").status_code == 200
    env.wait(
        "stuck",
        lambda a: (
            (a["status"].get("operationState") or {}).get("phase") == "Running"
            and bool((a["status"]["operationState"].get("syncResult") or {}).get("resources"))
        ),
    )
    response = env.client.delete("/api/v1/applications/stuck/operation", headers={**env.headers, **JSON})
    assert response.status_code == 200, response.text
    state = state_of(env.wait_operation("stuck"))
    assert (state["phase"], state["message"]) == ("Failed", "Operation terminated")
    result = state["syncResult"]["resources"][0]
    assert (result["hookPhase"], result["message"]) == ("Failed", "Terminated")
    env.wait("stuck", lambda _a: env.live("v1", "Pod", "waits") is None)


def test_concurrent_sync_requests_exactly_one_wins(make_env: EnvFactory) -> None:
    with make_env(controller_enabled=False) as env:
        env.create("guestbook", path="guestbook")
        statuses: list[int] = []
        messages: list[str] = []
        barrier = threading.Barrier(4)

        def request() -> None:
            barrier.wait()
            response = env.sync("guestbook")
            statuses.append(response.status_code)
            if response.status_code != 200:
                messages.append(response.json()["message"])

        threads = [threading.Thread(target=request) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200, 400, 400, 400]
        assert set(messages) == {"another operation is already in progress"}


def test_git_unreachable_keeps_status_and_recovers(env: Env, repo: GitRepo) -> None:
    env.create("guestbook", path="guestbook")
    good = env.get("guestbook", refresh="normal")
    assert len(good["status"]["resources"]) == 2
    moved = repo.path.with_name("repo-away")
    repo.path.rename(moved)
    try:
        broken = env.get("guestbook", refresh="hard")
        conditions = broken["status"].get("conditions") or []
        assert [c["type"] for c in conditions] == ["ComparisonError"]
        assert conditions[0]["message"].startswith("Failed to load target state:")
        assert broken["status"]["resources"] == good["status"]["resources"]
        assert broken["status"]["sync"]["revision"] == good["status"]["sync"]["revision"]
    finally:
        moved.rename(repo.path)
    recovered = env.get("guestbook", refresh="hard")
    assert "conditions" not in recovered["status"]
    assert recovered["status"]["sync"]["status"] == "OutOfSync"


def test_cluster_unreachable_is_unknown_and_recovers(env: Env) -> None:
    env.create("guestbook", path="guestbook")
    assert env.get("guestbook", refresh="normal")["status"]["sync"]["status"] == "OutOfSync"
    env.sim.stop()
    try:
        down = (
            env.wait(
                "guestbook",
                lambda a: a["status"]["sync"]["status"] == "Unknown",
                timeout=30,
            )
            if False
            else env.get("guestbook", refresh="normal")
        )
        assert down["status"]["sync"]["status"] == "Unknown"
        assert down["status"]["health"]["status"] == "Unknown"
        assert any(c["type"] == "ComparisonError" for c in down["status"]["conditions"])
    finally:
        env.sim.start()

    def recovered(_app: dict[str, Any]) -> bool:
        app = env.get("guestbook", refresh="normal")
        return app["status"]["sync"]["status"] == "OutOfSync" and "conditions" not in app["status"]

    env.wait("guestbook", recovered, timeout=40)


def test_new_controller_resumes_an_operation_left_running(make_env: EnvFactory, tmp_path: Any) -> None:
    with make_env(controller_enabled=False) as env:
        env.create("guestbook", path="guestbook")
        assert env.sync("guestbook").status_code == 200
        url = env.settings.effective_database_url
    # Simulate a controller that died after starting the operation: state Running, no results, old start time.
    engine = make_engine(url, pool_size=1)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        store = ApplicationStore(session)
        row = store.get("argocd", "guestbook")
        assert row is not None
        doc = orjson.loads(row.doc)
        doc["status"]["operationState"] = {
            "operation": doc["operation"],
            "phase": "Running",
            "message": "",
            "startedAt": "2024-01-02T03:04:05Z",
        }
        doc["metadata"]["resourceVersion"] = str(row.resource_version + 1)
        assert store.update_status(
            row.id, row.resource_version, doc_text=orjson.dumps(doc).decode(), values={"operation_pending": True}
        )
        session.commit()
    engine.dispose()
    with make_env() as env:
        state = state_of(env.wait_operation("guestbook"))
        assert state["phase"] == "Succeeded", state
        assert state["startedAt"] == "2024-01-02T03:04:05Z"
        env.wait_synced_healthy("guestbook")


def test_operation_state_left_without_operation_is_closed(make_env: EnvFactory) -> None:
    with make_env(controller_enabled=False) as env:
        env.create("guestbook", path="guestbook")
        url = env.settings.effective_database_url
    engine = make_engine(url, pool_size=1)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        store = ApplicationStore(session)
        row = store.get("argocd", "guestbook")
        assert row is not None
        doc = orjson.loads(row.doc)
        doc["status"]["operationState"] = {
            "operation": {"sync": {}, "initiatedBy": {"username": "admin"}, "retry": {}},
            "phase": "Running",
            "startedAt": "2024-01-02T03:04:05Z",
        }
        doc["metadata"]["resourceVersion"] = str(row.resource_version + 1)
        assert store.update_status(row.id, row.resource_version, doc_text=orjson.dumps(doc).decode(), values={})
        session.commit()
    engine.dispose()
    with make_env() as env:
        state = state_of(env.wait_operation("guestbook"))
        assert state["phase"] == "Error"
        assert state["message"] == "Operation was interrupted: the controller stopped while it was running"
