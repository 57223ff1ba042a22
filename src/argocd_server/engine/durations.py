"""Go-style duration parsing for sync retry and backoff settings.

Argo CD stores retry backoffs (``duration``, ``maxDuration``) as Go ``time.Duration`` strings such
as ``5s``, ``3m0s`` or ``1h30m``; a bare integer is read as seconds, as upstream's retry code does.
This module is pure and shared by the engine modules.
"""

from __future__ import annotations

import re

from argocd_server.errors import InvalidArgument

__all__ = ["format_go_duration", "parse_go_duration"]

_UNIT_SECONDS: dict[str, float] = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_COMPONENT = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(text: str | int | float) -> float:
    """Parse a Go duration (``1h2m3.5s``, ``300ms``) or a bare number of seconds into seconds.

    Raises ``InvalidArgument`` for anything Go's ``time.ParseDuration`` would reject.
    """
    if isinstance(text, bool):
        raise InvalidArgument(f"invalid duration {text!r}")
    if isinstance(text, int | float):
        return float(text)
    raw = text.strip()
    if not raw:
        raise InvalidArgument('time: invalid duration ""')
    if re.fullmatch(r"[-+]?\d+", raw):
        return float(int(raw))
    sign = 1.0
    body = raw
    if body[0] in "+-":
        sign = -1.0 if body[0] == "-" else 1.0
        body = body[1:]
    if body == "0":
        return 0.0
    total = 0.0
    pos = 0
    while pos < len(body):
        match = _COMPONENT.match(body, pos)
        if match is None:
            raise InvalidArgument(f'time: invalid duration "{text}"')
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos == 0:
        raise InvalidArgument(f'time: invalid duration "{text}"')
    return sign * total


def format_go_duration(seconds: float) -> str:
    """Render seconds the way Go's ``Duration.String`` does for whole seconds and above (``3m0s``,
    ``1h0m0s``)."""
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    rest = abs(seconds)
    if rest < 1:
        millis = rest * 1000
        return f"{sign}{millis:g}ms"
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    secs_text = f"{secs:.9f}".rstrip("0").rstrip(".")
    if hours:
        return f"{sign}{int(hours)}h{int(minutes)}m{secs_text}s"
    if minutes:
        return f"{sign}{int(minutes)}m{secs_text}s"
    return f"{sign}{secs_text}s"
