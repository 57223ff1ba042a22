"""Login throttling rules: failure window, lockout, and the cap on concurrent logins."""

from __future__ import annotations

from argocd_server.services.auth import LoginLimiter


def test_concurrent_login_cap() -> None:
    limiter = LoginLimiter(max_failures=5, window_seconds=300, max_concurrent=50)
    entered = [limiter.try_enter() for _ in range(50)]
    assert all(entered)
    assert limiter.try_enter() is False  # the 51st concurrent login is refused
    limiter.leave()
    assert limiter.try_enter() is True


def test_failures_expire_from_the_last_counted_failure() -> None:
    now = [0.0]
    limiter = LoginLimiter(max_failures=5, window_seconds=300, max_concurrent=1, clock=lambda: now[0])
    for step in range(5):
        now[0] = step * 100.0  # each failure within the window of the previous one
        limiter.record_failure("alice")
    assert limiter.locked("alice")
    assert not limiter.locked("bob")
    now[0] = 400.0 + 299
    assert limiter.locked("alice")
    now[0] = 400.0 + 301
    assert not limiter.locked("alice")


def test_success_clears_failures() -> None:
    limiter = LoginLimiter(max_failures=2, window_seconds=300, max_concurrent=1)
    limiter.record_failure("alice")
    limiter.clear("alice")
    limiter.record_failure("alice")
    assert not limiter.locked("alice")
