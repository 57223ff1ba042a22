"""Kubernetes label selectors (the full string syntax) parsed once and matched against label maps.

``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x,y)``, ``a`` (exists), ``!a`` (does not exist),
requirements joined by commas (all must hold). A malformed selector is InvalidArgument.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from argocd_server.errors import InvalidArgument

_KEY = r"[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)?"
_SET_RE = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s*\(([^)]*)\)\s*$")
_EQ_RE = re.compile(rf"^\s*({_KEY})\s*(==|!=|=)\s*({_VALUE})\s*$")
_EXISTS_RE = re.compile(rf"^\s*(!?)\s*({_KEY})\s*$")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "in", "notin", "exists", "!exists"
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.op == "exists":
            return self.key in labels
        if self.op == "!exists":
            return self.key not in labels
        if self.op == "in":
            return self.key in labels and labels[self.key] in self.values
        return self.key not in labels or labels[self.key] not in self.values


@dataclass(frozen=True)
class Selector:
    requirements: tuple[Requirement, ...]

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        current = labels or {}
        return all(r.matches(current) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


def _split(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def parse_selector(text: str) -> Selector:
    """Parse a label selector string; the empty string selects everything."""
    if not text.strip():
        return Selector(())
    requirements = []
    for part in _split(text):
        if not part.strip():
            raise InvalidArgument(f"unable to parse requirement: found '', expected: identifier in selector {text!r}")
        if m := _SET_RE.match(part):
            values = frozenset(v.strip() for v in m.group(4).split(",") if v.strip())
            requirements.append(Requirement(m.group(1), m.group(3), values))
            continue
        if m := _EQ_RE.match(part):
            op = "notin" if m.group(3) == "!=" else "in"
            requirements.append(Requirement(m.group(1), op, frozenset({m.group(4)})))
            continue
        if m := _EXISTS_RE.match(part):
            requirements.append(Requirement(m.group(2), "!exists" if m.group(1) else "exists"))
            continue
        raise InvalidArgument(f"unable to parse requirement: {part.strip()!r} in selector {text!r}")
    return Selector(tuple(requirements))
