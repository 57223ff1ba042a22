"""``status.reconciledAt`` advances on every reconcile, including one whose comparison fails: the CLI's ``app wait``
waits for it to pass the operation's ``finishedAt`` and must not hang while Git is unreachable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.e2e.engine.conftest import Env
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


def test_reconciled_at_advances_when_git_is_unreachable(env: Env, repo: GitRepo) -> None:
    controller = env.client.app.state.argo.controller  # type: ignore[attr-defined]
    assert isinstance(controller, ApplicationController)
    start = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)
    clock = _Clock(start)
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
