"""RBAC enforcement: who may do what, decided the way Argo CD decides it.

Role: the process-wide permission oracle services ask through ``Enforcer.enforce``. It reproduces
upstream's ``util/rbac`` enforcer together with the server's claims-aware wrapper
(``server/rbacpolicy``):

* a Casbin model ``(sub, res, act, obj)`` with ``allow``/``deny`` effects where any matching deny
  wins, subjects inherited through ``g`` lines (never wildcarded), and resource/action/object
  matched by ``globOrRegexMatch``: glob without separators (``*`` crosses ``/``) or, with
  ``policy.matchMode: regex``, an unanchored regex search;
* the built-in ``role:readonly`` / ``role:admin`` policy, then ``policy.csv`` and ``policy.*.csv``
  from argocd-rbac-cm, then, per check, the policies of the project the object belongs to;
* ``policy.default`` consulted first (its grants cannot be revoked by a user-level deny),
  project-role subjects ``proj:<P>:<R>`` confined to their own project, and group claims only
  counted when some ``g`` line names them.

Decisions come from a compiled form of Casbin's loaded policy (per subject, the ``p`` lines of every
role it reaches, with precompiled patterns), which gives Casbin's answer in microseconds instead of
an evaluation of every line; Casbin itself remains the reference (``_PolicySet.casbin_allows``).

Boundary: pure Python over ``casbin``; it never reads files, a database or the network. Projects
come from the injected ``project_lookup`` callable, which is called for every project-scoped check
and so must be cheap (an in-memory read, like upstream's informer lister). Decisions are cached per
project *version*, so a roles change is seen as soon as the lookup reports a new version;
``invalidate_project`` covers callers that cannot bump it.
"""

from __future__ import annotations

import csv
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final

import casbin
import yaml
from casbin.persist import Adapter
from casbin.util.log import disabled_logging

from argocd_server.errors import ArgoError, PermissionDenied

__all__ = [
    "BUILTIN_POLICY",
    "CASBIN_MODEL",
    "DEFAULT_SCOPES",
    "PROJECT_SCOPED_RESOURCES",
    "Claims",
    "Enforcer",
    "PolicyRule",
    "ProjectRbac",
    "ProjectRole",
    "RbacConfig",
    "RbacConfigError",
    "builtin_policy_csv",
    "denial_message",
    "glob_match",
    "parse_policy_csv",
    "project_of",
    "project_policy_lines",
    "regex_match",
    "scope_values",
]

_log = logging.getLogger(__name__)

GLOB_MODE: Final = "glob"
REGEX_MODE: Final = "regex"
DEFAULT_SCOPES: Final[tuple[str, ...]] = ("groups",)

# The matcher function's name is part of the model text, so it is kept in one place.
_MATCH_FUNCTION: Final = "globOrRegexMatch"

CASBIN_MODEL: Final = f"""\
[request_definition]
r = sub, res, act, obj

[policy_definition]
p = sub, res, act, obj, eft

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = g(r.sub, p.sub) && {_MATCH_FUNCTION}(r.res, p.res) && {_MATCH_FUNCTION}(r.act, p.act) \
&& {_MATCH_FUNCTION}(r.obj, p.obj)
"""
"""The Casbin model: 4-field requests, 6-field ``p`` lines, two-place ``g``, deny overrides."""

PROJECT_SCOPED_RESOURCES: Final = frozenset(
    {"applications", "applicationsets", "repositories", "clusters", "logs", "exec"}
)
"""Resources whose object may be ``<project>/...``; such checks also consult that project."""

PolicyRule = tuple[str, ...]
"""One parsed policy line: ``("p", sub, res, act, obj, eft)`` or ``("g", member, role)``."""


# The built-in grants, written as data: which role may do which action on which object pattern.
# Project-scoped resources use ``*/*`` (any project, any name), the others ``*``.
_READONLY_GRANTS: Final[tuple[tuple[str, str, str], ...]] = (
    ("applications", "get", "*/*"),
    ("applicationsets", "get", "*/*"),
    ("certificates", "get", "*"),
    ("clusters", "get", "*"),
    ("repositories", "get", "*"),
    ("write-repositories", "get", "*"),
    ("projects", "get", "*"),
    ("accounts", "get", "*"),
    ("gpgkeys", "get", "*"),
    ("logs", "get", "*/*"),
)
_ADMIN_GRANTS: Final[tuple[tuple[str, str, str], ...]] = (
    *(
        ("applications", action, "*/*")
        for action in (
            "create",
            "update",
            "update/*",
            "delete",
            "delete/*",
            "sync",
            "rollback",
            "override",
            "action/*",
        )
    ),
    *(("applicationsets", action, "*/*") for action in ("get", "create", "update", "delete")),
    *(
        (resource, action, "*")
        for resource in (
            "certificates",
            "clusters",
            "repositories",
            "write-repositories",
            "projects",
        )
        for action in ("create", "update", "delete")
    ),
    ("accounts", "update", "*"),
    ("gpgkeys", "create", "*"),
    ("gpgkeys", "delete", "*"),
    ("exec", "create", "*/*"),
)

BUILTIN_POLICY: Final[tuple[PolicyRule, ...]] = (
    *(("p", "role:readonly", res, act, obj, "allow") for res, act, obj in _READONLY_GRANTS),
    *(("p", "role:admin", res, act, obj, "allow") for res, act, obj in _ADMIN_GRANTS),
    ("g", "role:admin", "role:readonly"),
    ("g", "admin", "role:admin"),
)
"""Loaded first: ``role:readonly`` reads all, ``role:admin`` adds writes, ``admin`` is admin."""


def builtin_policy_csv() -> str:
    """The built-in policy rendered as CSV lines, one rule per line."""
    return "\n".join(", ".join(rule) for rule in BUILTIN_POLICY) + "\n"


class RbacConfigError(ArgoError):
    """argocd-rbac-cm or a project's role policies cannot be parsed; the previous policy stays."""


# --------------------------------------------------------------------------------------------------
# Configuration and inputs


@dataclass(frozen=True)
class Claims:
    """What RBAC needs from a verified token."""

    subject: str
    """The RBAC subject: account name (``admin``), SSO user id, or ``proj:<project>:<role>``."""
    groups: tuple[str, ...] = ()
    """Values of the configured scope claims (``RbacConfig.scopes``), in claim order."""
    iat: int | None = None
    """Issued-at (unix seconds); only used in the detailed permission-denied text."""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The full claim set, for callers that need more than RBAC does."""

    @classmethod
    def from_token_claims(cls, raw: Mapping[str, Any], *, scopes: Iterable[str]) -> Claims:
        """Subject: ``federated_claims.user_id``, else ``sub``; groups from the scope claims."""
        subject = ""
        federated = raw.get("federated_claims")
        if isinstance(federated, Mapping):
            user_id = federated.get("user_id")
            if isinstance(user_id, str):
                subject = user_id
        if not subject:
            sub = raw.get("sub")
            subject = sub if isinstance(sub, str) else ""
        iat = raw.get("iat")
        return cls(
            subject=subject,
            groups=scope_values(raw, scopes),
            iat=int(iat) if isinstance(iat, int | float) and not isinstance(iat, bool) else None,
            raw=raw,
        )


def scope_values(raw: Mapping[str, Any], scopes: Iterable[str]) -> tuple[str, ...]:
    """Group names from the given claims: a string is one group, a list contributes its strings."""
    groups: list[str] = []
    for scope in scopes:
        value = raw.get(scope)
        if isinstance(value, str):
            groups.append(value)
        elif isinstance(value, list | tuple):
            groups.extend(item for item in value if isinstance(item, str))
    return tuple(groups)


@dataclass(frozen=True)
class RbacConfig:
    """The parts of argocd-rbac-cm that drive enforcement."""

    policy_csv: str = ""
    """``policy.csv`` then every other ``policy.*.csv`` key in sorted order, newline-joined."""
    policy_default: str = ""
    """Role granted to every caller, anonymous included (e.g. ``role:readonly``); empty for none."""
    match_mode: str = GLOB_MODE
    """``glob`` or ``regex``; any other value behaves as ``glob``, as upstream does."""
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    """JWT claims holding group names."""

    @classmethod
    def from_configmap_data(cls, data: Mapping[str, str]) -> RbacConfig:
        """Read argocd-rbac-cm ``data``; RbacConfigError unless ``scopes`` is a YAML string list."""
        parts = [data.get("policy.csv", "")]
        parts.extend(
            data[key]
            for key in sorted(data)
            if key.startswith("policy.") and key.endswith(".csv") and key != "policy.csv"
        )
        return cls(
            policy_csv="\n".join(parts),
            policy_default=data.get("policy.default", ""),
            match_mode=data.get("policy.matchMode", "") or GLOB_MODE,
            scopes=_parse_scopes(data.get("scopes", "")),
        )


def _parse_scopes(text: str) -> tuple[str, ...]:
    if not text:
        return DEFAULT_SCOPES
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RbacConfigError(f"invalid scopes in argocd-rbac-cm: {exc}") from exc
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RbacConfigError(f"invalid scopes in argocd-rbac-cm: expected a list of strings, got {text!r}")
    return tuple(value)


@dataclass(frozen=True)
class ProjectRole:
    """One ``AppProject.spec.roles[]`` entry, as far as RBAC is concerned."""

    name: str
    policies: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProjectRbac:
    """A project's roles and a version that changes whenever they do (``resourceVersion``)."""

    name: str
    roles: tuple[ProjectRole, ...] = ()
    version: str = ""


def project_policy_lines(project: ProjectRbac) -> list[str]:
    """Lines a project adds at check time: implicit ``projects get``, role lines, group bindings."""
    lines: list[str] = []
    for role in project.roles:
        subject = f"proj:{project.name}:{role.name}"
        lines.append(f"p, {subject}, projects, get, {project.name}, allow")
        lines.extend(role.policies)
        lines.extend(f"g, {group}, {subject}" for group in role.groups)
    return lines


# --------------------------------------------------------------------------------------------------
# Policy text


def parse_policy_csv(text: str) -> tuple[PolicyRule, ...]:
    """Parse policy text line by line; RbacConfigError names the first bad line.

    Each trimmed line is one CSV record with leading spaces of fields dropped (quotes allowed, so a
    group name may contain a comma). Empty lines and ``#`` comments are skipped. ``p`` lines need 6
    fields, ``g`` lines 3; any other line type is rejected, as upstream's adapter does.
    """
    rules: list[PolicyRule] = []
    for raw_line in text.split("\n"):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            fields = next(csv.reader([line], skipinitialspace=True, strict=True))
        except (csv.Error, StopIteration) as exc:
            raise RbacConfigError(f"invalid RBAC policy: {line}") from exc
        kind = fields[0] if fields else ""
        if (kind, len(fields)) not in {("p", 6), ("g", 3)}:
            raise RbacConfigError(f"invalid RBAC policy: {line}")
        rules.append(tuple(fields))
    return tuple(rules)


# --------------------------------------------------------------------------------------------------
# Pattern matching

_GLOB_SPECIALS: Final = frozenset("*?[{\\")


class _InvalidPattern(Exception):
    """A regex-mode policy pattern that does not compile; aborts the whole Casbin evaluation."""


def glob_match(pattern: str, value: str) -> bool:
    """Glob match without separators: ``*`` spans any characters (``/`` too), ``?`` exactly one.

    Also ``[abc]``, ``[a-z]``, ``[!...]`` classes, ``{a,b}`` alternatives and ``\\`` escapes. A
    malformed pattern matches nothing, as upstream logs and ignores it.
    """
    if pattern == "*":
        return True
    if _GLOB_SPECIALS.isdisjoint(pattern):
        return pattern == value
    compiled = _compile_glob(pattern)
    return compiled is not None and compiled.fullmatch(value) is not None


def regex_match(pattern: str, value: str) -> bool:
    """Unanchored regex search (policies anchor themselves); _InvalidPattern if it won't compile."""
    return _compile_regex(pattern).search(value) is not None


@lru_cache(maxsize=4096)
def _compile_regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise _InvalidPattern(f"invalid regex {pattern!r}: {exc}") from exc


@lru_cache(maxsize=4096)
def _compile_glob(pattern: str) -> re.Pattern[str] | None:
    translated = _translate_glob(pattern)
    return None if translated is None else re.compile(translated, re.DOTALL)


def _translate_glob(pattern: str) -> str | None:
    """Glob to Python regex, or None where upstream's glob library refuses the pattern."""
    out: list[str] = []
    depth = 0
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\":
            if i + 1 >= n:
                return None
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if char == "*":
            while i + 1 < n and pattern[i + 1] == "*":
                i += 1
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            parsed = _translate_class(pattern, i + 1)
            if parsed is None:
                return None
            regex, i = parsed
            out.append(regex)
            continue
        elif char == "{":
            depth += 1
            out.append("(?:")
        elif char == "," and depth:
            out.append("|")
        elif char == "}" and depth:
            depth -= 1
            out.append(")")
        else:
            out.append(re.escape(char))
        i += 1
    return None if depth else "".join(out)


def _translate_class(pattern: str, start: int) -> tuple[str, int] | None:
    """A ``[...]`` body at ``start``: one ``lo-hi`` range or a list of characters, maybe ``!``ed.

    Returns the regex and the index after ``]``. Mixed forms such as ``[a-z0-9]`` are a compile
    error upstream.
    """
    n = len(pattern)
    i = start
    negated = i < n and pattern[i] == "!"
    if negated:
        i += 1
    if i + 1 < n and pattern[i + 1] == "-":
        if i + 3 >= n or pattern[i + 3] != "]":
            return None
        low, high = pattern[i], pattern[i + 2]
        if low > high:
            return ("." if negated else "(?!)"), i + 4
        body = f"{re.escape(low)}-{re.escape(high)}"
        return (f"[^{body}]" if negated else f"[{body}]"), i + 4
    chars: list[str] = []
    while True:
        if i >= n:
            return None
        char = pattern[i]
        if char == "]":
            break
        if char == "\\":
            if i + 1 >= n:
                return None
            char = pattern[i + 1]
            i += 1
        chars.append(char)
        i += 1
    if not chars:
        return ("." if negated else "(?!)"), i + 1
    body = "".join(re.escape(c) for c in chars)
    return (f"[^{body}]" if negated else f"[{body}]"), i + 1


def _matcher_for(mode: str) -> Callable[..., bool]:
    if mode == REGEX_MODE:

        def match_regex(value: object, pattern: object) -> bool:
            return isinstance(value, str) and isinstance(pattern, str) and regex_match(pattern, value)

        return match_regex

    def match_glob(value: object, pattern: object) -> bool:
        return isinstance(value, str) and isinstance(pattern, str) and glob_match(pattern, value)

    return match_glob


# --------------------------------------------------------------------------------------------------
# Compiled policy sets


class _RulesAdapter(Adapter):  # type: ignore[misc]
    """Feeds parsed rules to Casbin, bypassing its comma splitting (which ignores CSV quoting)."""

    def __init__(self, rules: Iterable[PolicyRule]) -> None:
        self._rules = tuple(rules)

    def load_policy(self, model: Any) -> None:
        for rule in self._rules:
            model.model[rule[0]][rule[0]].policy.append(list(rule[1:]))


# Decision engines of a policy set: the compiled fast path, Casbin itself, or both compared.
_COMPILED: Final = "compiled"
_CASBIN: Final = "casbin"
_VERIFY: Final = "verify"

_VIEW_CACHE_SIZE: Final = 4096
"""Compiled subject views kept per policy set; the oldest is dropped beyond this."""

_FieldMatcher = Callable[[str], object]
"""One compiled ``p`` field: called with the request value, truthy when it matches."""


def _any_value(_: str) -> bool:
    return True


def _no_value(_: str) -> bool:
    return False


def _glob_field(pattern: str) -> _FieldMatcher:
    """``glob_match(pattern, ·)`` as one call: ``*`` always, literals by ``==``, else the same regex."""
    if pattern == "*":
        return _any_value
    if _GLOB_SPECIALS.isdisjoint(pattern):
        return pattern.__eq__
    compiled = _compile_glob(pattern)
    return _no_value if compiled is None else compiled.fullmatch


def _regex_field(pattern: str) -> _FieldMatcher:
    """``regex_match(pattern, ·)`` as one call; an invalid pattern raises only once it is evaluated."""
    try:
        return _compile_regex(pattern).search
    except _InvalidPattern as exc:
        message = str(exc)

        def invalid(_: str) -> bool:
            raise _InvalidPattern(message)

        return invalid


@dataclass(frozen=True, slots=True)
class _Line:
    """A loaded ``p`` line compiled: its position, raw patterns, field matchers and effect."""

    index: int
    resource: str
    action: str
    object: str
    res: _FieldMatcher
    act: _FieldMatcher
    obj: _FieldMatcher
    allow: bool | None
    """True for ``allow``, False for ``deny``, None for any other effect (matches, decides nothing)."""


_Rule = tuple[_FieldMatcher, _FieldMatcher, bool]
_GenericRule = tuple[_FieldMatcher, _FieldMatcher, _FieldMatcher, bool]
_ObjectMatchers = tuple[_FieldMatcher | None, _FieldMatcher | None]
"""For one literal (resource, action): the merged allow and deny object patterns (None: no line)."""


def _merged_glob(patterns: Iterable[str]) -> _FieldMatcher | None:
    """One matcher for "any of these globs": a set lookup for literals, else one alternation regex."""
    unique = sorted(set(patterns))
    if not unique:
        return None
    if "*" in unique:
        return _any_value
    if all(_GLOB_SPECIALS.isdisjoint(pattern) for pattern in unique):
        return frozenset(unique).__contains__
    parts: list[str] = []
    for pattern in unique:
        translated = re.escape(pattern) if _GLOB_SPECIALS.isdisjoint(pattern) else _translate_glob(pattern)
        if translated is not None:  # a malformed glob matches nothing
            parts.append(f"(?:{translated})")
    return re.compile("|".join(parts), re.DOTALL).fullmatch if parts else None


class _SubjectView:
    """The ``p`` lines one subject reaches through ``g``, laid out for evaluation.

    Glob matching never fails, so the outcome does not depend on line order: lines with an unknown
    effect are dropped, lines with a literal resource and action are indexed by both and their object
    patterns merged into one allow and one deny matcher, the rest are tried one by one. Regex matching
    can fail on an invalid pattern, which aborts Casbin's evaluation: a regex view tries every line,
    fields in Casbin's short-circuit order (resource, action, object), so that a pattern raises exactly
    when Casbin would reach it. Casbin stops early only at a matching deny, and both a deny and an
    abort end in "no", so the line order never changes the outcome; Casbin's order is kept anyway.
    """

    __slots__ = ("_by_resource", "_generic", "_has_deny", "_ordered")

    def __init__(self, lines: Iterable[_Line], *, ordered: bool) -> None:
        selected = sorted(lines, key=lambda line: line.index)
        self._ordered: tuple[_Line, ...] | None = tuple(selected) if ordered else None
        exact: dict[str, dict[str, tuple[list[str], list[str]]]] = {}
        other: dict[str, list[_Rule]] = {}
        generic: list[_GenericRule] = []
        for line in selected if not ordered else ():
            if line.allow is None:
                continue
            if line.resource == "*" or not _GLOB_SPECIALS.isdisjoint(line.resource):
                generic.append((line.res, line.act, line.obj, line.allow))
            elif line.action != "*" and _GLOB_SPECIALS.isdisjoint(line.action):
                allows, denies = exact.setdefault(line.resource, {}).setdefault(line.action, ([], []))
                (allows if line.allow else denies).append(line.object)
            else:
                other.setdefault(line.resource, []).append((line.act, line.obj, line.allow))
        self._by_resource: dict[str, tuple[dict[str, _ObjectMatchers], tuple[_Rule, ...]]] = {
            resource: (
                {
                    action: (_merged_glob(allows), _merged_glob(denies))
                    for action, (allows, denies) in exact.get(resource, {}).items()
                },
                tuple(other.get(resource, ())),
            )
            for resource in exact.keys() | other.keys()
        }
        self._generic = tuple(generic)
        self._has_deny = any(line.allow is False for line in selected)

    def object_predicate(self, resource: str, action: str) -> _FieldMatcher | None:
        """``allows(resource, action, ·)`` as a function of the object alone, where it reduces to the merged
        allow and deny matchers of that literal resource and action; None where other lines could take part
        (ordered evaluation, per-line rules or generic lines that match this resource and action)."""
        if self._ordered is not None:
            return None
        if any(res_match(resource) and act_match(action) for res_match, act_match, _, _ in self._generic):
            return None
        bucket = self._by_resource.get(resource)
        if bucket is None:
            return _no_value
        by_action, rules = bucket
        if any(act_match(action) for act_match, _, _ in rules):
            return None
        matchers = by_action.get(action)
        if matchers is None:
            return _no_value
        allow_match, deny_match = matchers
        if allow_match is None:
            return _no_value
        if deny_match is None:
            return allow_match
        allowed, denied = allow_match, deny_match
        return lambda obj: bool(allowed(obj)) and not denied(obj)

    def allows(self, resource: str, action: str, obj: str) -> bool:
        """Some matching allow and no matching deny; _InvalidPattern where Casbin's evaluation fails."""
        if self._ordered is not None:
            return self._allows_in_order(resource, action, obj)
        allowed = False
        bucket = self._by_resource.get(resource)
        if bucket is not None:
            by_action, rules = bucket
            matchers = by_action.get(action)
            if matchers is not None:
                allow_match, deny_match = matchers
                if deny_match is not None and deny_match(obj):
                    return False
                if allow_match is not None and allow_match(obj):
                    if not self._has_deny:
                        return True
                    allowed = True
            for act_match, obj_match, allow in rules:
                if act_match(action) and obj_match(obj):
                    if not allow:
                        return False
                    if not self._has_deny:
                        return True
                    allowed = True
        for res_match, act_match, obj_match, allow in self._generic:
            if res_match(resource) and act_match(action) and obj_match(obj):
                if not allow:
                    return False
                if not self._has_deny:
                    return True
                allowed = True
        return allowed

    def _allows_in_order(self, resource: str, action: str, obj: str) -> bool:
        assert self._ordered is not None
        allowed = False
        for line in self._ordered:
            if line.res(resource) and line.act(action) and line.obj(obj):
                if line.allow is False:
                    return False
                allowed = allowed or line.allow is True
        return allowed


class _PolicySet:
    """A Casbin enforcer over fixed rules, its compiled fast path, and the ``g`` left sides.

    Casbin stays the source of truth: the compiled lines are read from its loaded policy and the
    role graph from its role manager (same depth limit as its ``has_link``). Per subject, the lines
    of every role it reaches are compiled once into a ``_SubjectView``; a decision then costs a
    dictionary read and a few matcher calls instead of a Casbin evaluation of every line.
    """

    def __init__(self, rules: tuple[PolicyRule, ...], *, match_mode: str, engine: str = _COMPILED) -> None:
        model = casbin.Model()
        model.load_model_from_text(CASBIN_MODEL)
        self._casbin = casbin.Enforcer(model, _RulesAdapter(rules))
        self._casbin.add_function(_MATCH_FUNCTION, _matcher_for(match_mode))
        self.group_members = frozenset(rule[1] for rule in rules if rule[0] == "g")
        self._engine = engine
        # Casbin's role manager records every name it is asked about: one caller at a time.
        self._lock = threading.Lock()

        self._ordered = match_mode == REGEX_MODE
        field = _regex_field if self._ordered else _glob_field
        self._lines: dict[str, list[_Line]] = {}
        for index, (sub, res, act, obj, eft) in enumerate(self._casbin.get_policy()):
            allow = True if eft == "allow" else False if eft == "deny" else None
            line = _Line(index, res, act, obj, field(res), field(act), field(obj), allow)
            self._lines.setdefault(sub, []).append(line)
        role_manager = self._casbin.get_role_manager()
        self._max_depth: int = role_manager.max_hierarchy_level
        members = {str(link[0]) for link in self._casbin.get_grouping_policy()}
        self._roles: dict[str, tuple[str, ...]] = {
            member: tuple(str(role) for role in role_manager.get_roles(member)) for member in sorted(members)
        }
        self._views: dict[str, _SubjectView] = {}

    def allows(self, subject: str, request: tuple[str, str, str]) -> bool:
        if self._engine == _CASBIN:
            return self.casbin_allows(subject, request)
        decision = self.compiled_allows(subject, request)
        if self._engine == _VERIFY:
            expected = self.casbin_allows(subject, request)
            if decision != expected:
                _log.error("rbac fast path disagrees with casbin for %s %s: %s", subject, request, decision)
                return expected
        return decision

    def compiled_allows(self, subject: str, request: tuple[str, str, str]) -> bool:
        """The decision from the compiled lines of every role ``subject`` reaches."""
        view = self._views.get(subject)
        if view is None:
            view = self._view(subject)
        try:
            return view.allows(*request)
        except _InvalidPattern as exc:
            _log.debug("rbac evaluation failed: %s", exc)
            return False

    def decider(self, subject: str) -> Callable[[str, str, str], bool]:
        """``allows(subject, ·)`` as one callable with the subject's compiled view resolved up front.

        Bulk checks ask the same subject about thousands of objects; resolving the view once keeps each
        decision down to the view's own matcher calls. Other engines keep their full ``allows`` path."""
        if self._engine != _COMPILED:
            return lambda resource, action, obj: self.allows(subject, (resource, action, obj))
        view = self._views.get(subject)
        if view is None:
            view = self._view(subject)
        view_allows = view.allows

        def decide(resource: str, action: str, obj: str) -> bool:
            try:
                return view_allows(resource, action, obj)
            except _InvalidPattern as exc:
                _log.debug("rbac evaluation failed: %s", exc)
                return False

        return decide

    def predicate(self, subject: str, resource: str, action: str) -> _FieldMatcher | None:
        """The subject's decision for one resource and action as a function of the object (see
        ``_SubjectView.object_predicate``); None where only the full evaluation will do."""
        if self._engine != _COMPILED:
            return None
        view = self._views.get(subject)
        if view is None:
            view = self._view(subject)
        return view.object_predicate(resource, action)

    def casbin_allows(self, subject: str, request: tuple[str, str, str]) -> bool:
        """The decision Casbin's own evaluation gives: the reference the compiled path must match."""
        try:
            with self._lock:
                return bool(self._casbin.enforce(subject, *request))
        except _InvalidPattern as exc:
            # Upstream's evaluation errors out, so this evaluation is not an allow; the caller's
            # later steps (other subjects, groups) still run.
            _log.debug("rbac evaluation failed: %s", exc)
            return False

    def reachable(self, subject: str) -> frozenset[str]:
        """Names ``g(subject, name)`` holds for: ``subject`` and the roles within Casbin's depth limit.

        Casbin's ``has_link`` walks breadth-first, one level per step, for ``max_hierarchy_level``
        steps, the subject itself being the first.
        """
        if self._max_depth <= 0:
            return frozenset()
        reached = {subject}
        frontier = [subject]
        for _ in range(self._max_depth - 1):
            found = {role for name in frontier for role in self._roles.get(name, ())} - reached
            if not found:
                break
            reached |= found
            frontier = list(found)
        return frozenset(reached)

    def _view(self, subject: str) -> _SubjectView:
        lines = [line for name in self.reachable(subject) for line in self._lines.get(name, ())]
        view = _SubjectView(lines, ordered=self._ordered)
        with self._lock:
            self._views[subject] = view
            if len(self._views) > _VIEW_CACHE_SIZE:
                del self._views[next(iter(self._views))]
        return view


# --------------------------------------------------------------------------------------------------
# The enforcer

_K8S_NAME: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def project_of(resource: str, obj: str) -> str | None:
    """The project a check's object belongs to (before upstream looks it up), or None."""
    if resource == "projects":
        return obj
    if resource in PROJECT_SCOPED_RESOURCES:
        project, sep, _ = obj.partition("/")
        if sep:
            return project
    return None


@dataclass
class _ProjectEntry:
    version: str
    token: int
    policy: _PolicySet | None = None
    broken: bool = False


@dataclass(frozen=True)
class _State:
    config: RbacConfig
    global_rules: tuple[PolicyRule, ...]
    global_policy: _PolicySet


_CacheKey = tuple[str | None, tuple[str, ...], str, str, str, int | None]


class Enforcer:
    """Thread-safe RBAC decisions with a bounded decision cache; one instance per server process."""

    _engine: str = _COMPILED
    """How policy sets decide: compiled lines (default), Casbin alone, or both with a check (tests)."""

    def __init__(
        self,
        *,
        config: RbacConfig,
        project_lookup: Callable[[str], ProjectRbac | None],
        cache_size: int = 16384,
    ) -> None:
        # Casbin logs every decision at INFO/WARNING unless its loggers are switched off.
        disabled_logging()
        self._project_lookup = project_lookup
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._decisions: OrderedDict[_CacheKey, bool] = OrderedDict()
        self._projects: dict[str, _ProjectEntry] = {}
        self._tokens = 0
        self._state = self._build_state(config)

    @property
    def config(self) -> RbacConfig:
        return self._state.config

    def set_config(self, config: RbacConfig) -> None:
        """Swap in a new argocd-rbac-cm; on RbacConfigError the previous policy stays in force."""
        state = self._build_state(config)
        with self._lock:
            self._state = state
            self._decisions.clear()
            self._projects.clear()

    def invalidate_project(self, name: str) -> None:
        """Forget what was derived from project ``name`` (after a roles change or deletion)."""
        with self._lock:
            self._projects.pop(name, None)

    def enforce(self, claims: Claims | None, resource: str, action: str, obj: str) -> bool:
        """Whether ``claims`` (None = anonymous) may perform ``action`` on ``resource`` ``obj``."""
        state = self._state
        project = self._lookup(project_of(resource, obj))
        entry = self._project_entry(project) if project is not None else None
        key: _CacheKey = (
            None if claims is None else claims.subject,
            () if claims is None else claims.groups,
            resource,
            action,
            obj,
            None if entry is None else entry.token,
        )
        with self._lock:
            cached = self._decisions.get(key)
            if cached is not None:
                self._decisions.move_to_end(key)
                return cached
        decision = self._decide(
            state=state,
            claims=claims,
            request=(resource, action, obj),
            project=project,
            entry=entry,
        )
        with self._lock:
            if self._state is state:
                self._decisions[key] = decision
                if len(self._decisions) > self._cache_size:
                    self._decisions.popitem(last=False)
        return decision

    def allowed_many(self, claims: Claims | None, resource: str, action: str, objects: Iterable[str]) -> list[bool]:
        """``enforce`` for every object, in order, with the per-check setup done once per project.

        A list of thousands of apps names a handful of projects: the project lookup, its policy set and the
        subjects' compiled views are resolved once per distinct project, then each object costs only the
        matcher calls ``_decide`` would make. Decisions bypass the shared LRU so one big list does not evict
        everyone else's entries."""
        state = self._state
        objects = list(objects)
        # Objects by project, in a pass without a call per object for the usual resources.
        if resource == "projects":
            names: list[str | None] = list(objects)
        elif resource in PROJECT_SCOPED_RESOURCES:
            names = [obj.partition("/")[0] if "/" in obj else None for obj in objects]
        else:
            names = [None] * len(objects)
        groups: dict[str | None, list[int]] = {}
        for index, name in enumerate(names):
            members = groups.get(name)
            if members is None:
                groups[name] = [index]
            else:
                members.append(index)
        decisions = [False] * len(objects)
        for name, indexes in groups.items():
            plan = self._plan(state, claims, name)
            predicates = [policy.predicate(subject, resource, action) for policy, subject in plan]
            if predicates and all(p is not None for p in predicates):
                # The decision depends on the object alone: the matchers run over the group without the
                # per-check machinery (most lists: one predicate, one compiled pattern, called from C).
                checks = [p for p in predicates if p is not None]
                if len(checks) == 1:
                    found = list(map(checks[0], [objects[i] for i in indexes]))
                else:
                    found = [any(check(objects[i]) for check in checks) for i in indexes]
                for index, ok in zip(indexes, found, strict=True):
                    decisions[index] = bool(ok)
                continue
            deciders = [policy.decider(subject) for policy, subject in plan]
            for index in indexes:
                obj = objects[index]
                decisions[index] = any(decide(resource, action, obj) for decide in deciders)
        return decisions

    def enforce_or_raise(self, claims: Claims | None, resource: str, action: str, obj: str) -> None:
        """PermissionDenied with upstream's detailed text when ``enforce`` says no."""
        if not self.enforce(claims, resource, action, obj):
            raise PermissionDenied(denial_message(claims, resource=resource, action=action, obj=obj))

    # -- internals --

    def _build_state(self, config: RbacConfig) -> _State:
        rules = BUILTIN_POLICY + parse_policy_csv(config.policy_csv)
        return _State(
            config=config,
            global_rules=rules,
            global_policy=_PolicySet(rules, match_mode=config.match_mode, engine=self._engine),
        )

    def _lookup(self, name: str | None) -> ProjectRbac | None:
        # No AppProject can carry such a name (``https:`` from a cluster URL): skip the lookup.
        if name is None or len(name) > 253 or not _K8S_NAME.fullmatch(name):
            return None
        return self._project_lookup(name)

    def _project_entry(self, project: ProjectRbac) -> _ProjectEntry:
        with self._lock:
            entry = self._projects.get(project.name)
            if entry is None or entry.version != project.version:
                self._tokens += 1
                entry = _ProjectEntry(version=project.version, token=self._tokens)
                self._projects[project.name] = entry
            return entry

    def _project_policy(self, *, state: _State, project: ProjectRbac, entry: _ProjectEntry) -> _PolicySet | None:
        """Global + project rules as one Casbin enforcer, built once per project version."""
        if entry.policy is not None or entry.broken:
            return entry.policy
        try:
            extra = parse_policy_csv("\n".join(project_policy_lines(project)))
        except RbacConfigError as exc:
            _log.warning("project %s has unusable role policies: %s", project.name, exc.message)
            entry.broken = True
            return None
        policy = _PolicySet(state.global_rules + extra, match_mode=state.config.match_mode, engine=self._engine)
        if self._state is state:
            entry.policy = policy
        return policy

    def _plan(
        self, state: _State, claims: Claims | None, project_name: str | None
    ) -> tuple[tuple[_PolicySet, str], ...]:
        """The checks ``_decide`` makes for any object of one project: (policy set, subject) pairs to try in order.

        ``_decide`` is an "any of" over (policy set, subject) pairs chosen by the project alone, its early
        "no"s depending only on the project too, so the same pairs give the same answer for every object.
        The project's policy set is built here even where the default role alone would have said yes; that
        only fills the per-version cache ``_decide`` would fill on its next check."""
        default_role = state.config.policy_default
        steps: list[tuple[_PolicySet, str]] = []
        if default_role:
            steps.append((state.global_policy, default_role))
        if claims is None:
            return tuple(steps)
        subject = claims.subject
        policy = state.global_policy
        project = self._lookup(project_name)
        if project is not None:
            project_policy = self._project_policy(state=state, project=project, entry=self._project_entry(project))
            if project_policy is None:
                return tuple(steps)
            policy = project_policy
            if default_role:
                steps.append((policy, default_role))
            if subject.startswith("proj:"):
                parts = subject.split(":")
                if len(parts) == 3 and parts[1] == project.name:
                    steps.append((policy, subject))
                return tuple(steps)
        steps.append((policy, subject))
        steps.extend((policy, group) for group in claims.groups if group in policy.group_members)
        return tuple(steps)

    def _decide(
        self,
        *,
        state: _State,
        claims: Claims | None,
        request: tuple[str, str, str],
        project: ProjectRbac | None,
        entry: _ProjectEntry | None,
    ) -> bool:
        """Upstream's order: default role, then (with claims) the subject, then bound groups."""
        default_role = state.config.policy_default
        if default_role and state.global_policy.allows(default_role, request):
            return True
        if claims is None:
            return False
        subject = claims.subject

        policy = state.global_policy
        if project is not None and entry is not None:
            project_policy = self._project_policy(state=state, project=project, entry=entry)
            if project_policy is None:
                # Upstream cannot build an enforcer for it and the request errors: fail closed.
                return False
            policy = project_policy
            # The default role is asked again because project group bindings may extend it.
            if default_role and policy.allows(default_role, request):
                return True
            if subject.startswith("proj:"):
                # A project token only ever speaks for its own project, and has no groups.
                parts = subject.split(":")
                if len(parts) != 3 or parts[1] != project.name:
                    return False
                return policy.allows(subject, request)

        if policy.allows(subject, request):
            return True
        return any(group in policy.group_members and policy.allows(group, request) for group in claims.groups)


def denial_message(claims: Claims | None, *, resource: str, action: str, obj: str) -> str:
    """``permission denied: <res>, <act>, <obj>[, sub: <user>][, iat: <RFC3339>]``."""
    parts = [resource, action, obj]
    if claims is not None:
        if claims.subject:
            parts.append(f"sub: {claims.subject}")
        if claims.iat is not None:
            issued = datetime.fromtimestamp(claims.iat, tz=UTC)
            parts.append(f"iat: {issued.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    return "permission denied: " + ", ".join(parts)
