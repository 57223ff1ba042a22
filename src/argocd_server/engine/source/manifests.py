"""Parsing rendered output into Kubernetes objects: multi-document YAML and JSON, ``*List`` expansion.

YAML is read the way Argo CD's Go stack reads it before converting to JSON: timestamps stay strings
(Go has no date type in unstructured objects) and map keys become strings. Pure functions over text.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from argocd_server.errors import SourceError
from argocd_server.yamlload import GoYamlLoader

from .types import Manifest


def _stringify_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {_key(k): _stringify_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify_keys(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


def load_yaml_documents(text: str) -> list[Any]:
    """Every non-empty document of a YAML stream, keys as strings, timestamps as strings."""
    return [_stringify_keys(doc) for doc in yaml.load_all(text, Loader=GoYamlLoader) if doc is not None]


def load_yaml(text: str) -> Any:
    return _stringify_keys(yaml.load(text, Loader=GoYamlLoader))  # noqa: S506


def expand_lists(objects: list[Any], *, origin: str) -> list[Manifest]:
    """Flatten ``kind: *List`` objects and JSON arrays; drop lists with ``items: null``; reject non-
    objects.
    """
    out: list[Manifest] = []
    for obj in objects:
        if isinstance(obj, list):
            out.extend(expand_lists(obj, origin=origin))
            continue
        if not isinstance(obj, dict):
            raise SourceError(f"{origin}: expected a Kubernetes object, got {type(obj).__name__}")
        kind = obj.get("kind")
        if isinstance(kind, str) and kind.endswith("List") and "items" in obj:
            items = obj.get("items")
            if items is None:
                continue
            if not isinstance(items, list):
                raise SourceError(f"{origin}: 'items' of {kind} is not a list")
            out.extend(expand_lists(items, origin=origin))
            continue
        out.append(obj)
    return out


def parse_manifests(text: str, *, origin: str) -> list[Manifest]:
    """Parse tool output (multi-document YAML) into objects."""
    try:
        docs = load_yaml_documents(text)
    except yaml.YAMLError as exc:
        raise SourceError(f"{origin}: failed to unmarshal manifest: {_yaml_problem(exc)}") from None
    return expand_lists(docs, origin=origin)


def parse_json(text: str, *, origin: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{origin}: invalid JSON: {exc.msg} at line {exc.lineno}") from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f"{problem} (line {mark.line + 1})"
    return str(problem)
