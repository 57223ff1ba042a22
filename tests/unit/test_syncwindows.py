"""Sync window evaluation: activity in a time zone, matching, CanSync, validation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from argocd_server.errors import ArgoError
from argocd_server.schemas.project import SyncWindow
from argocd_server.services.syncwindows import active_windows, can_sync, is_active, matches, validate_window

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def window(**fields: Any) -> SyncWindow:
    fields.setdefault("kind", "allow")
    fields.setdefault("schedule", "0 10 * * *")
    fields.setdefault("duration", "3h")
    fields.setdefault("applications", ["*"])
    return SyncWindow.from_wire(fields)


def test_active_while_within_duration_of_last_fire() -> None:
    assert is_active(window(), NOON)
    assert not is_active(window(duration="1h"), NOON)
    assert not is_active(window(schedule="0 13 * * *"), NOON)
    assert is_active(window(schedule="0 10 * * *", duration="1h59m59s"), datetime(2026, 3, 10, 11, 59, 58, tzinfo=UTC))


def test_fire_exactly_now_is_not_yet_active() -> None:
    assert not is_active(window(schedule="0 12 * * *", duration="1h"), NOON)


def test_time_zone_shifts_the_schedule() -> None:
    # 10:00 in New York (UTC-4 in March after DST starts on the 8th) is 14:00 UTC.
    new_york = window(schedule="0 10 * * *", duration="1h", timeZone="America/New_York")
    assert not is_active(new_york, NOON)
    assert is_active(new_york, datetime(2026, 3, 10, 14, 30, tzinfo=UTC))
    assert active_windows([new_york, window()], NOON) == [window()]


def test_bad_time_zone_is_a_plain_error() -> None:
    with pytest.raises(ArgoError, match="unknown time zone Mars/Base"):
        is_active(window(timeZone="Mars/Base"), NOON)


def test_matches_any_list_or_all_with_and_operator() -> None:
    w = window(applications=["web-*"], namespaces=["prod"], clusters=["in-cluster"])
    assert matches(w, "web-1", "dev", "https://x", "")
    assert matches(w, "api", "prod", "https://x", "")
    assert matches(w, "api", "dev", "https://x", "in-cluster")
    assert not matches(w, "api", "dev", "https://x", "other")
    both = window(applications=["web-*"], namespaces=["prod"], andOperator=True)
    assert matches(both, "web-1", "prod", "", "")
    assert not matches(both, "web-1", "dev", "", "")
    assert matches(window(applications=[], clusters=["https://*"]), "a", "n", "https://k8s/api", "")
    assert not matches(window(applications=[]), "a", "n", "s", "c")


def _can(windows: list[SyncWindow], *, manual: bool = False) -> bool:
    return can_sync(
        windows, app_name="web", namespace="prod", server="https://s", cluster_name="c", manual=manual, now=NOON
    )


def test_can_sync_rules() -> None:
    active_deny = window(kind="deny")
    manual_deny = window(kind="deny", manualSync=True, schedule="30 10 * * *")
    active_allow = window(kind="allow", schedule="0 11 * * *")
    inactive_allow = window(kind="allow", schedule="0 1 * * *", duration="1h")
    assert _can([])
    assert _can([window(applications=["other"], kind="deny")])
    assert not _can([active_deny, active_allow])
    assert not _can([active_deny], manual=True)
    assert _can([manual_deny], manual=True)
    assert not _can([manual_deny, active_deny], manual=True)
    assert _can([active_allow, inactive_allow])
    assert not _can([inactive_allow])
    assert not _can([inactive_allow], manual=True)
    assert _can([window(kind="allow", schedule="0 1 * * *", duration="1h", manualSync=True)], manual=True)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "sometimes"}, "kind 'sometimes' mismatch with allow or deny"),
        ({"schedule": "* * *"}, "cannot parse schedule '* * *'"),
        ({"schedule": "* * * * * *"}, "cannot parse schedule"),
        ({"duration": "forever"}, "cannot parse duration 'forever'"),
        ({"description": "x" * 256}, "description can have a maximum of 255 characters"),
    ],
)
def test_validate_window_errors(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ArgoError, match=message):
        validate_window(window(**fields))


def test_validate_window_accepts_descriptors() -> None:
    validate_window(window(schedule="@daily"))
    assert is_active(window(schedule="@daily", duration="24h"), NOON)
