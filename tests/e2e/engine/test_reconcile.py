"""When the controller compares. ``status.reconciledAt`` advances on every reconcile, including one whose comparison
fails: the CLI's ``app wait`` waits for it to pass the operation's ``finishedAt`` and must not hang while Git is
unreachable. A write that moves nothing a comparison depends on is not compared again, and live changes made while an
operation step runs are compared once, after the step."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from tests.e2e.engine.conftest import Env, EnvFactory, commit_example
from tests.support.git_repo import GitRepo

from argocd_server.engine.controller import ApplicationController


class _Clock:
    """The controller's clock, pinned so reconcile stamps are exact (they have second precision)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _controller(env: Env) -> ApplicationController:
    controller = env.client.app.state.argo.controller  # type: ignore[attr-defined]
    assert isinstance(controller, ApplicationController)
    return controller


def test_reconciled_at_advances_when_git_is_unreachable(env: Env, repo: GitRepo) -> None:
    start = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)
    controller, clock = _controller(env), _Clock(start)
    controller.clock = clock
    env.create("guestbook", path="guestbook")
    good = env.get("guestbook", refresh="normal")
    assert good["status"]["reconciledAt"] == _stamp(start)

    later = start + timedelta(minutes=5)
    clock.now = later
    moved = repo.path.with_name("repo-away")
    repo.path.rename(moved)
    try:
        broken = env.get("guestbook", refresh="hard")
    finally:
        moved.rename(repo.path)
    conditions = broken["status"].get("conditions") or []
    assert [c["type"] for c in conditions] == ["ComparisonError"], conditions
    assert broken["status"]["reconciledAt"] == _stamp(later)
    # The last good comparison stays visible alongside the new stamp.
    assert broken["status"]["resources"] == good["status"]["resources"]


def test_a_write_that_moves_nothing_compared_is_not_compared_again(env: Env) -> None:
    # Upstream compares again when the spec moved, a refresh was asked for or the app is due; a write of labels,
    # status or an operation alone (the scan notices every write) costs no comparison and no status write.
    start = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)
    controller, clock = _controller(env), _Clock(start)
    controller.clock = clock
    env.create("guestbook", path="guestbook")
    env.get("guestbook", refresh="normal")
    controller.refresh_app("argocd", "guestbook", requested=False)
    assert env.get("guestbook")["status"]["reconciledAt"] == _stamp(start)

    clock.now = start + timedelta(minutes=1)
    assert _patched_then_reconciled_at(env, controller, '{"metadata": {"labels": {"team": "a"}}}') == _stamp(start)
    spec_change = '{"spec": {"info": [{"name": "owner", "value": "a"}]}}'
    assert _patched_then_reconciled_at(env, controller, spec_change) == _stamp(clock.now)


def _patched_then_reconciled_at(env: Env, controller: ApplicationController, patch: str) -> str:
    """Merge-patch the guestbook app, let the controller notice the write as its scan does, return reconciledAt."""
    patched = env.client.patch(
        "/api/v1/applications/guestbook", json={"patch": patch, "patchType": "merge"}, headers=env.headers
    )
    assert patched.status_code == 200, patched.text
    assert controller.refresh_app("argocd", "guestbook", requested=False)
    stamp: str = env.get("guestbook")["status"]["reconciledAt"]
    return stamp


def test_a_live_change_during_an_operation_step_is_compared_once_the_step_ends(env: Env) -> None:
    controller = _controller(env)
    env.create("guestbook", path="guestbook")
    assert env.sync("guestbook").status_code == 200
    env.wait_operation("guestbook")
    env.wait_synced_healthy("guestbook")
    key = ("argocd", "guestbook")
    with controller.operation_step(key):
        api = env.sim.api_client()
        try:
            k8s.AppsV1Api(api).patch_namespaced_deployment("guestbook-ui", "default", {"spec": {"replicas": 3}})
        finally:
            api.close()
        deadline = time.monotonic() + 10
        while not controller._operating.get(key) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert controller._operating.get(key), "the live change did not arrive"
        assert key not in controller._refresh_levels  # held back while the step runs
    assert key in controller._refresh_levels or env.get("guestbook")["status"]["sync"]["status"] == "OutOfSync"
    env.wait("guestbook", lambda app: app["status"]["sync"]["status"] == "OutOfSync")


def test_a_restarted_server_compares_with_the_manifests_rendered_before_it_stopped(
    make_env: EnvFactory, repo: GitRepo
) -> None:
    """The comparisons a restart brings (every app is due) read the sealed disk cache: no helm run again."""
    commit_example(repo, "helm-guestbook")
    with make_env() as env:
        env.create("guestbook", path="helm-guestbook")
        before = env.get("guestbook", refresh="normal")
        assert before["status"]["sync"]["status"] == "OutOfSync"
    with make_env() as env:
        renderer = env.client.app.state.argo.controller.renderer
        after = env.get("guestbook", refresh="normal")
        assert after["status"]["sync"]["revision"] == before["status"]["sync"]["revision"]
        assert after["status"]["sync"]["status"] == "OutOfSync"
        assert after["status"]["reconciledAt"] >= before["status"]["reconciledAt"]
        assert renderer.counters.helm_processes == 0
        assert renderer.manifests.disk_hits >= 1


def test_a_create_generates_its_manifests_while_another_writer_holds_the_database(env: Env, tmp_path: Path) -> None:
    """A create's validation reads do not take SQLite's single write lock: while another connection holds it, the
    manifests are generated (git, helm, kustomize) and only the insert waits for the lock."""
    renderer = _controller(env).renderer
    renders = renderer.counters.renders
    holder = sqlite3.connect(str(tmp_path / "argocd.db"), isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    answers: list[Any] = []
    creating = threading.Thread(target=lambda: answers.append(env.create("guestbook", path="guestbook")))
    creating.start()
    try:
        deadline = time.monotonic() + 5  # well within SQLite's busy timeout (10 s)
        while renderer.counters.renders == renders and time.monotonic() < deadline:
            time.sleep(0.02)
        assert renderer.counters.renders > renders, "the create waited for the lock before rendering"
        assert creating.is_alive(), "the insert did not wait for the lock"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        creating.join(60)
    assert [answer["metadata"]["name"] for answer in answers] == ["guestbook"]
