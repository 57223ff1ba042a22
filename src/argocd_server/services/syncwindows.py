"""Sync window evaluation: which windows are active, which apply to an application, may it sync now.

Reproduces upstream's ``SyncWindows`` methods in ``pkg/apis/application/v1alpha1/types.go`` (Active,
InactiveAllows, Matches, CanSync) and ``SyncWindow.Validate``. Pure functions over ``SyncWindow`` wire models and
an explicit ``now``; no I/O, so the project service (window state) and the application service (sync gating)
share them.

A window is active at ``now`` when its schedule's next fire time after ``now - duration`` lies strictly before
``now``, evaluated in the window's ``timeZone`` (empty = UTC), which is upstream's test as well.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from croniter.croniter import CroniterError

from argocd_server.auth.rbac import glob_match
from argocd_server.engine.durations import parse_go_duration
from argocd_server.errors import ArgoError, InvalidArgument
from argocd_server.schemas.project import SyncWindow

__all__ = [
    "MAX_DESCRIPTION",
    "active_windows",
    "can_sync",
    "is_active",
    "matches",
    "matching_windows",
    "validate_window",
]

MAX_DESCRIPTION = 255

# robfig/cron descriptors upstream's validation parser accepts; croniter knows these too.
_DESCRIPTORS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})


def _check_schedule(schedule: str) -> None:
    text = schedule.strip()
    if text in _DESCRIPTORS:
        return
    # robfig's parser takes exactly five fields here; croniter would also take six or seven.
    if len(text.split()) != 5 or not croniter.is_valid(text):
        raise ArgoError(f"cannot parse schedule '{schedule}': expected a valid 5-field cron expression")


def _duration(window: SyncWindow) -> timedelta:
    try:
        return timedelta(seconds=parse_go_duration(window.duration))
    except InvalidArgument as exc:
        # A plain error upstream (Unknown, HTTP 500).
        raise ArgoError(f"cannot parse duration '{window.duration}': {exc.message}") from None


@lru_cache(maxsize=256)
def _zone(name: str) -> tzinfo:
    if not name or name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ArgoError(f"cannot load location '{name}': unknown time zone {name}") from None


def validate_window(window: SyncWindow) -> None:
    """Upstream's ``SyncWindow.Validate``: kind, schedule, duration, description length (plain errors, 500)."""
    if window.kind not in {"allow", "deny"}:
        raise ArgoError(f"kind '{window.kind}' mismatch with allow or deny")
    _check_schedule(window.schedule)
    _duration(window)
    if len(window.description) > MAX_DESCRIPTION:
        raise ArgoError(f"description can have a maximum of {MAX_DESCRIPTION} characters")


def is_active(window: SyncWindow, now: datetime) -> bool:
    """Whether ``window`` is open at ``now`` (an aware datetime)."""
    _check_schedule(window.schedule)
    duration = _duration(window)
    local_now = now.astimezone(_zone(window.time_zone))
    try:
        fire = croniter(window.schedule.strip(), local_now - duration).get_next(datetime)
    except (CroniterError, ValueError) as exc:
        raise ArgoError(f"cannot parse schedule '{window.schedule}': {exc}") from None
    return bool(fire < local_now)


def active_windows(windows: Iterable[SyncWindow], now: datetime) -> list[SyncWindow]:
    """The windows open at ``now``, in their original order."""
    return [window for window in windows if is_active(window, now)]


def matches(window: SyncWindow, app_name: str, namespace: str, server: str, cluster_name: str) -> bool:
    """Whether ``window`` applies to an application with this name and destination.

    Each non-empty list (applications, clusters by name or server, namespaces) is tried; any hit selects the
    window, or with ``andOperator`` every non-empty list must hit. Patterns are globs with no separator.
    """
    checks: list[bool] = []
    if window.applications:
        checks.append(any(glob_match(pattern, app_name) for pattern in window.applications))
    if window.clusters:
        checks.append(
            any(
                (bool(cluster_name) and glob_match(pattern, cluster_name))
                or (bool(server) and glob_match(pattern, server))
                for pattern in window.clusters
            )
        )
    if window.namespaces:
        checks.append(any(glob_match(pattern, namespace) for pattern in window.namespaces))
    if not checks:
        return False
    return all(checks) if window.and_operator else any(checks)


def matching_windows(
    windows: Iterable[SyncWindow], *, app_name: str, namespace: str, server: str, cluster_name: str
) -> list[SyncWindow]:
    """The windows that apply to an application."""
    return [w for w in windows if matches(w, app_name, namespace, server, cluster_name)]


def _all_manual(windows: Sequence[SyncWindow]) -> bool:
    return all(window.manual_sync for window in windows)


def can_sync(
    windows: Iterable[SyncWindow],
    *,
    app_name: str,
    namespace: str,
    server: str,
    cluster_name: str,
    manual: bool,
    now: datetime,
) -> bool:
    """Whether an application may sync at ``now`` given its project's windows (upstream's CanSync).

    An active deny blocks unless the sync is manual and every active deny allows manual syncs; otherwise an active
    allow permits; otherwise existing (inactive) allow windows block unless manual and all of them allow manual
    syncs; with no applicable windows at all, syncing is allowed.
    """
    relevant = matching_windows(
        windows, app_name=app_name, namespace=namespace, server=server, cluster_name=cluster_name
    )
    if not relevant:
        return True
    active: list[SyncWindow] = []
    inactive_allows: list[SyncWindow] = []
    for window in relevant:
        if is_active(window, now):
            active.append(window)
        elif window.kind == "allow":
            inactive_allows.append(window)
    denies = [w for w in active if w.kind == "deny"]
    if denies:
        return manual and _all_manual(denies)
    if any(w.kind == "allow" for w in active):
        return True
    if inactive_allows:
        return manual and _all_manual(inactive_allows)
    return True
