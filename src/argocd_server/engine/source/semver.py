"""Semantic versions and Masterminds-style constraints, as Argo CD applies them to tags and chart
versions.

Upstream uses github.com/Masterminds/semver/v3: loose versions (``v`` prefix, missing minor/patch),
constraints with ``=, !=, >, <, >=, <=, ~, ~>, ^``, wildcards (``1.x``, ``1.2.*``, ``*``), hyphen
ranges, ``,``/space for AND and ``||`` for OR; prereleases only match constraints that mention a
prerelease. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_VERSION = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)(?:\.(?P<minor>0|[1-9]\d*))?(?:\.(?P<patch>0|[1-9]\d*))?"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
_WILD = {"x", "X", "*"}
_PART = r"(?:0|[1-9]\d*|[xX*])"
_CVERSION = re.compile(
    rf"^v?(?P<major>{_PART})(?:\.(?P<minor>{_PART}))?(?:\.(?P<patch>{_PART}))?"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
_OPS = ("!=", ">=", "=>", "<=", "=<", "~>", ">", "<", "=", "~", "^")


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    original: str = ""

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        pre = tuple((0, int(p)) if p.isdigit() else (1, p) for p in self.prerelease)
        # A release sorts after all of its prereleases.
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        return f"{text}-{'.'.join(self.prerelease)}" if self.prerelease else text


def parse_version(text: str) -> Version | None:
    """A loose semver (``v1.2``, ``1.2.3-rc.1``) or ``None``."""
    m = _VERSION.match(text.strip())
    if not m:
        return None
    return Version(
        int(m["major"]),
        int(m["minor"] or 0),
        int(m["patch"] or 0),
        tuple(m["pre"].split(".")) if m["pre"] else (),
        text,
    )


@dataclass(frozen=True)
class _Range:
    """A version written in a constraint: the half-open interval of releases it denotes."""

    low: Version
    high: Version | None
    """Exclusive upper bound; ``None`` = unbounded (``*``)."""
    exact: bool
    parts: int
    """How many numeric parts were given (wildcards excluded)."""
    has_pre: bool


def _parse_range(text: str) -> _Range:
    m = _CVERSION.match(text.strip())
    if not m:
        raise ValueError(f"invalid version in constraint: {text!r}")
    raw = [m["major"], m["minor"], m["patch"]]
    nums: list[int] = []
    for part in raw:
        if part is None or part in _WILD:
            break
        nums.append(int(part))
    pre = tuple(m["pre"].split(".")) if m["pre"] and len(nums) == 3 else ()
    parts = len(nums)
    padded = [*nums, 0, 0, 0]
    low = Version(padded[0], padded[1], padded[2], pre)
    if parts == 3:
        high = Version(low.major, low.minor, low.patch + 1) if not pre else None
        return _Range(low, high, True, 3, bool(pre))
    if parts == 0:
        return _Range(low, None, False, 0, False)
    if parts == 1:
        return _Range(low, Version(nums[0] + 1, 0, 0), False, 1, False)
    return _Range(low, Version(nums[0], nums[1] + 1, 0), False, 2, False)


def _check(op: str, rng: _Range, v: Version) -> bool:
    if op in ("", "="):
        if rng.exact:
            return v == rng.low
        return v >= rng.low and (rng.high is None or v < rng.high)
    if op == "!=":
        return not _check("=", rng, v)
    if op == ">":
        if rng.exact:
            return v > rng.low
        return rng.high is not None and v >= rng.high
    if op in (">=", "=>"):
        return v >= rng.low
    if op == "<":
        return v < rng.low
    if op in ("<=", "=<"):
        if rng.exact:
            return v <= rng.low
        return rng.high is None or v < rng.high
    if op in ("~", "~>"):
        minor_bound = rng.parts > 1
        upper = Version(rng.low.major, rng.low.minor + 1, 0) if minor_bound else Version(rng.low.major + 1, 0, 0)
        return rng.low <= v < upper
    if op == "^":
        lo = rng.low
        if lo.major > 0 or rng.parts == 1:
            upper = Version(lo.major + 1, 0, 0)
        elif lo.minor > 0 or rng.parts == 2:
            upper = Version(0, lo.minor + 1, 0)
        else:
            upper = Version(0, 0, lo.patch + 1)
        return lo <= v < upper
    raise ValueError(f"unknown operator {op!r}")


@dataclass(frozen=True)
class Constraint:
    """An OR of ANDs of ``(operator, range)`` terms."""

    groups: tuple[tuple[tuple[str, _Range], ...], ...]

    def matches(self, version: Version) -> bool:
        for group in self.groups:
            allows_pre = any(rng.has_pre for _, rng in group)
            if version.prerelease and not allows_pre:
                continue
            if version.prerelease and allows_pre:
                # Masterminds only lets a prerelease through when some term names the same release
                # triple.
                same = any(
                    (rng.low.major, rng.low.minor, rng.low.patch) == (version.major, version.minor, version.patch)
                    for _, rng in group
                    if rng.has_pre
                )
                if not same:
                    continue
            if all(_check(op, rng, version) for op, rng in group):
                return True
        return False


_HYPHEN = re.compile(r"^\s*(\S+)\s+-\s+(\S+)\s*$")


def parse_constraint(text: str) -> Constraint | None:
    """Parse a Masterminds constraint; ``None`` when ``text`` is not one."""
    text = text.strip()
    if not text:
        return None
    groups: list[tuple[tuple[str, _Range], ...]] = []
    try:
        for alternative in text.split("||"):
            alternative = alternative.strip()
            if not alternative:
                return None
            hyphen = _HYPHEN.match(alternative)
            if hyphen:
                groups.append(((">=", _parse_range(hyphen[1])), ("<=", _parse_range(hyphen[2]))))
                continue
            terms: list[tuple[str, _Range]] = []
            tokens = [t for t in re.split(r"[\s,]+", alternative) if t]
            i = 0
            while i < len(tokens):
                token = tokens[i]
                op = next((o for o in _OPS if token.startswith(o)), "")
                rest = token[len(op) :]
                if not rest and op and i + 1 < len(tokens):
                    # ">= 1.2" written with a space.
                    i += 1
                    rest = tokens[i]
                terms.append((op, _parse_range(rest)))
                i += 1
            groups.append(tuple(terms))
    except ValueError:
        return None
    return Constraint(tuple(groups))


def max_satisfying(constraint: Constraint, candidates: dict[str, Version]) -> str | None:
    """The name (tag or version string) of the highest version matching ``constraint``."""
    best: tuple[Version, str] | None = None
    for name, version in candidates.items():
        if constraint.matches(version) and (best is None or version > best[0]):
            best = (version, name)
    return best[1] if best else None
