"""Printing as upstream does: tab-aligned tables, indented JSON, YAML with sorted keys, and the fatal log line."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

import yaml

_PLAIN_LOG_VALUE = re.compile(r"^[A-Za-z0-9\-._/@^+]+$")


def table(rows: Sequence[Sequence[Any]], *, out: TextIO | None = None) -> None:
    """Columns padded to the widest cell plus two spaces; the last column is not padded (Go's tabwriter)."""
    stream = out or sys.stdout
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    if not cells:
        return
    columns = max(len(row) for row in cells)
    widths = [0] * columns
    for row in cells:
        for index, cell in enumerate(row[:-1]):
            widths[index] = max(widths[index], len(cell))
    for row in cells:
        parts = [cell.ljust(widths[index] + 2) for index, cell in enumerate(row[:-1])]
        parts.append(row[-1])
        stream.write("".join(parts) + "\n")
    stream.flush()


def kv(label: str, value: Any, *, width: int = 20) -> str:
    """A ``Label:   value`` summary line as upstream's ``%-20s%s``."""
    return f"{label:<{width}}{'' if value is None else value}"


def to_json(obj: Any) -> str:
    """Two-space indented JSON with Go's escaping of ``<``, ``>`` and ``&``."""
    text = json.dumps(obj, indent=2, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def to_yaml(obj: Any) -> str:
    return yaml.safe_dump(obj, default_flow_style=False, sort_keys=True, allow_unicode=True)


def print_object(obj: Any, output: str) -> bool:
    """Prints ``obj`` for ``-o json|yaml``; False when the format is something else for the caller to handle."""
    if output == "json":
        print(to_json(obj))
        return True
    if output == "yaml":
        sys.stdout.write(to_yaml(obj))
        return True
    return False


def _log_quote(value: str) -> str:
    if value and _PLAIN_LOG_VALUE.match(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def _rfc3339_now() -> str:
    now = datetime.now().astimezone()
    if now.utcoffset() == UTC.utcoffset(None):
        return now.strftime("%Y-%m-%dT%H:%M:%SZ")
    text = now.strftime("%Y-%m-%dT%H:%M:%S%z")
    return text[:-2] + ":" + text[-2:]


def log_line(level: str, message: str, *, log_format: str = "text", stream: TextIO | None = None) -> None:
    """A logrus-style line: ``FATA[0000] msg`` on a terminal, ``time=... level=... msg=...`` otherwise, or JSON."""
    out = stream or sys.stderr
    if log_format == "json":
        out.write(json.dumps({"level": level, "msg": message, "time": _rfc3339_now()}) + "\n")
    elif out.isatty():
        out.write(f"{level.upper()[:4]}[0000] {message}\n")
    else:
        out.write(f"time={_log_quote(_rfc3339_now())} level={level} msg={_log_quote(message)}\n")
    out.flush()


def parse_time(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def go_time(value: Any) -> str:
    """A timestamp as Go prints a ``time.Time`` in UTC: ``2006-01-02 15:04:05 +0000 UTC``."""
    parsed = parse_time(value)
    if parsed is None:
        return "" if value is None else str(value)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S +0000 UTC")


def human_age(value: Any) -> str:
    parsed = parse_time(value)
    if parsed is None:
        return ""
    seconds = int((datetime.now(UTC) - parsed).total_seconds())
    if seconds < 120:
        return f"{max(seconds, 0)}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"
