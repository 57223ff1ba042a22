"""Deterministic pod log generation for ``/pods/<name>/log``."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from kubesim.errors import bad_request

_STARTUP_LINES = 20
_MAX_LINES = 10_000
_WORDS = (
    "request served",
    "cache refreshed",
    "health probe ok",
    "connection accepted",
    "config reloaded",
    "worker idle",
    "batch flushed",
    "lease renewed",
)


def _parse_time(text: str | None) -> float:
    if not text:
        return 0.0
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def format_ts(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def line_text(*, pod: str, container: str, index: int, instance: int) -> str:
    """The content of line ``index``: a pure function of its coordinates."""
    digest = hashlib.blake2b(f"{pod}/{container}/{instance}/{index}".encode(), digest_size=4)
    word = _WORDS[digest.digest()[0] % len(_WORDS)]
    return f"{container} [{index}] {word} id={digest.hexdigest()}"


def pick_container(pod: dict[str, Any], container: str | None) -> str:
    """The container the request is about, with the API server's errors for ambiguity."""
    name = pod["metadata"]["name"]
    names = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]
    names += [c.get("name", "") for c in (pod.get("spec") or {}).get("initContainers") or []]
    if container:
        if container not in names:
            raise bad_request(f"container {container} is not valid for pod {name}")
        return container
    if len(names) == 1:
        return str(names[0])
    if not names:
        raise bad_request(f"pod {name} has no containers")
    choices = " ".join(names)
    raise bad_request(f"a container name must be specified for pod {name}, choose one of: [{choices}]")


def _container_status(pod: dict[str, Any], container: str) -> dict[str, Any]:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == container:
            return dict(status)
    return {}


def generate(
    pod: dict[str, Any],
    *,
    container: str,
    now: float,
    previous: bool = False,
    tail_lines: int | None = None,
    since_seconds: int | None = None,
) -> tuple[list[tuple[float, str]], int]:
    """The lines written so far as ``(timestamp, text)`` pairs, and the next line index."""
    name = pod["metadata"]["name"]
    status = _container_status(pod, container)
    restarts = int(status.get("restartCount") or 0)
    state = status.get("state") or {}
    if previous:
        if restarts == 0:
            raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
        instance = restarts - 1
        start = _parse_time(pod["metadata"].get("creationTimestamp")) + instance
        count = _STARTUP_LINES
        lines = [
            (start + i / 1000, line_text(pod=name, container=container, index=i, instance=instance))
            for i in range(count)
        ]
        lines.append((start + count / 1000, "panic: simulated crash (kubesim)"))
    else:
        if ("waiting" in state and restarts == 0) or not status:
            reason = (state.get("waiting") or {}).get("reason", "ContainerCreating")
            raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
        started = (state.get("running") or state.get("terminated") or {}).get("startedAt")
        start = _parse_time(started) or _parse_time(pod["metadata"].get("creationTimestamp"))
        end = _parse_time((state.get("terminated") or {}).get("finishedAt")) or now
        count = min(_MAX_LINES, _STARTUP_LINES + max(0, int(end - start)))
        lines = [
            (
                start + (i / 1000 if i < _STARTUP_LINES else i - _STARTUP_LINES + 1),
                line_text(pod=name, container=container, index=i, instance=restarts),
            )
            for i in range(count)
        ]
        if "terminated" in state:
            code = (state.get("terminated") or {}).get("exitCode", 0)
            lines.append((end, f"exiting with code {code}"))
    next_index = len(lines)
    if since_seconds is not None:
        lines = [entry for entry in lines if entry[0] >= now - since_seconds]
    if tail_lines is not None:
        lines = lines[-tail_lines:] if tail_lines > 0 else []
    return lines, next_index
