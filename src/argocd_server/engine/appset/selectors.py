"""Label selectors of ApplicationSet generators (``matchLabels`` and ``matchExpressions``).

Two flavours, as upstream: the cluster generator's selector is Kubernetes' own (label values validated), the
post-generation ``selector`` of a generator is Argo CD's copy without value restrictions (so it can match URLs in
parameters). Operators are ``In``, ``NotIn``, ``Exists`` and ``DoesNotExist``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from argocd_server.labels import Requirement, Selector

from .goformat import go_quote

__all__ = ["SelectorError", "label_selector"]

_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_PREFIX = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_OPERATORS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}


class SelectorError(ValueError):
    """A selector Kubernetes would refuse; the text is apimachinery's."""


def _go_strings(values: list[str]) -> str:
    return "[]string{" + ", ".join(go_quote(v) for v in values) + "}"


def _check_key(key: str) -> None:
    prefix, sep, name = key.rpartition("/")
    problems: list[str] = []
    if sep and (not prefix or len(prefix) > 253 or not _PREFIX.fullmatch(prefix)):
        problems.append("prefix part must be a lowercase RFC 1123 subdomain")
    if not name:
        problems.append("name part must be non-empty")
    elif len(name) > 63:
        problems.append("name part must be no more than 63 characters")
    elif not _NAME.fullmatch(name):
        problems.append(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
            "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        )
    if problems:
        raise SelectorError(f"key: Invalid value: {go_quote(key)}: " + "; ".join(problems))


def _check_value(index: int, value: str) -> None:
    if len(value) > 63 or (value and not _NAME.fullmatch(value)):
        raise SelectorError(
            f"values[{index}][{value}]: Invalid value: {go_quote(value)}: a valid label must be an empty string or "
            "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
            "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
            "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        )


def _requirement(key: str, op: str, values: list[str], *, validate_values: bool) -> Requirement:
    _check_key(key)
    if op in ("in", "notin") and not values:
        raise SelectorError(
            f"values: Invalid value: {_go_strings(values)}: for 'in', 'notin' operators, values set can't be empty"
        )
    if op in ("exists", "!exists") and values:
        raise SelectorError(
            f"values: Invalid value: {_go_strings(values)}: values set must be empty for exists and does not exist"
        )
    if validate_values:
        for index, value in enumerate(values):
            _check_value(index, value)
    return Requirement(key=key, op=op, values=frozenset(values))


def label_selector(raw: Mapping[str, Any] | None, *, kubernetes: bool) -> Selector:
    """A matcher for a ``metav1.LabelSelector``; an empty selector matches everything.

    ``kubernetes`` picks apimachinery's flavour (label values validated, its operator message) over Argo CD's.
    Raises SelectorError.
    """
    raw = raw or {}
    requirements: list[Requirement] = []
    for key, value in sorted((raw.get("matchLabels") or {}).items()):
        requirements.append(_requirement(str(key), "in", [str(value)], validate_values=kubernetes))
    for expression in raw.get("matchExpressions") or []:
        expression = expression or {}
        operator = str(expression.get("operator") or "")
        op = _OPERATORS.get(operator)
        if op is None:
            kind = "label" if kubernetes else "pod"
            raise SelectorError(f"{go_quote(operator)} is not a valid {kind} selector operator")
        values = [str(v) for v in expression.get("values") or []]
        requirements.append(_requirement(str(expression.get("key") or ""), op, values, validate_values=kubernetes))
    return Selector(requirements=tuple(requirements))
