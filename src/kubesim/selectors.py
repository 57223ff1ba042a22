"""Label and field selector parsing and matching, in the API server's syntax."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kubesim.errors import bad_request

Matcher = Callable[[dict[str, Any]], bool]

_REQ = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9._/-]+)\s*"
    r"(?:(?P<op>==|=|!=|>|<|\s+in\s+|\s+notin\s+)\s*(?P<val>.*?))?\s*$"
)
_SET = re.compile(r"^\((?P<body>[^()]*)\)$")


def _split_top(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p for p in (x.strip() for x in parts) if p]


def _requirement(text: str) -> Callable[[dict[str, str]], bool]:
    m = _REQ.match(text)
    if m is None:
        raise bad_request(f"unable to parse requirement: {text!r}")
    key = m.group("key")
    if m.group("neg"):
        if m.group("op"):
            raise bad_request(f"unable to parse requirement: {text!r}")
        return lambda labels: key not in labels
    op = (m.group("op") or "").strip()
    val = (m.group("val") or "").strip()
    if not op:
        return lambda labels: key in labels
    if op in ("=", "=="):
        return lambda labels: labels.get(key) == val
    if op == "!=":
        return lambda labels: labels.get(key) != val
    if op in (">", "<"):
        try:
            bound = int(val)
        except ValueError as exc:
            raise bad_request(f"unable to parse requirement: {text!r}") from exc

        def compare(labels: dict[str, str]) -> bool:
            try:
                have = int(labels[key])
            except (KeyError, ValueError):
                return False
            return have > bound if op == ">" else have < bound

        return compare
    sm = _SET.match(val)
    if sm is None:
        raise bad_request(f"unable to parse requirement: {text!r}")
    values = frozenset(v.strip() for v in sm.group("body").split(",") if v.strip())
    if op == "in":
        return lambda labels: labels.get(key) in values
    return lambda labels: labels.get(key) not in values


def parse_label_selector(text: str | None) -> Matcher | None:
    """A predicate over objects, or None when the selector selects everything."""
    if not text or not text.strip():
        return None
    reqs = [_requirement(part) for part in _split_top(text)]

    def match(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r(labels) for r in reqs)

    return match


def selector_from_match_labels(selector: dict[str, Any] | None) -> Matcher:
    """A predicate for a ``LabelSelector`` object (matchLabels and matchExpressions)."""
    selector = selector or {}
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        op = expr.get("operator", "")
        key = expr.get("key", "")
        values = ",".join(expr.get("values") or [])
        if op == "In":
            parts.append(f"{key} in ({values})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({values})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    matcher = parse_label_selector(",".join(parts))
    return matcher or (lambda _obj: True)


def _field_value(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def parse_field_selector(text: str | None) -> Matcher | None:
    """Field selectors: ``path=value``, ``path==value`` and ``path!=value``, comma-joined."""
    if not text or not text.strip():
        return None
    reqs: list[tuple[str, bool, str]] = []
    for part in _split_top(text):
        m = re.match(r"^\s*([A-Za-z0-9._-]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if m is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        reqs.append((m.group(1), m.group(2) != "!=", m.group(3)))

    def match(obj: dict[str, Any]) -> bool:
        return all((_field_value(obj, path) == val) == eq for path, eq, val in reqs)

    return match


def field_selector_name(text: str | None) -> str | None:
    """The name a field selector pins with ``metadata.name=``, letting lists skip a scan."""
    if not text:
        return None
    for part in _split_top(text):
        m = re.match(r"^\s*metadata\.name\s*==?\s*(.*?)\s*$", part)
        if m:
            return m.group(1)
    return None
