"""Unknown-field detection and pruning, as the API server does when it decodes a written object.

Built-in kinds are typed: their known fields come from the official client's model classes
(``kubernetes.client.models``: ``openapi_types`` gives each attribute's type, ``attribute_map`` its JSON
name), read lazily and cached per model class and per kind. Custom resources follow the structural
``openAPIV3Schema`` of their CRD version (``properties``, ``items``, ``additionalProperties``,
``x-kubernetes-preserve-unknown-fields``, ``x-kubernetes-embedded-resource``, ``x-kubernetes-int-or-string``).
Kinds with neither a model nor a schema stay open. ``object`` types (IntOrString, RawExtension, ``fieldsV1``,
JSON values) and scalars are leaves nothing is looked into.

Boundary: pure functions over JSON values; the store decides what a finding means (error, warning, silence).
"""

from __future__ import annotations

import importlib
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubesim.resources import ResourceType

FieldPath = tuple[str | int, ...]
"""Map keys and list indexes from the object root."""

ListKeys = Callable[[str, list[Any], str], "tuple[str, ...] | None"]
"""``(field name, items, schema path) -> key fields`` of an associative list, None when it is atomic."""


class _Open:
    """Anything goes: scalars, free-form values."""


@dataclass(frozen=True)
class _List:
    item: Node


@dataclass(frozen=True)
class _Map:
    """A map with free-form keys whose values share one schema."""

    value: Node


@dataclass
class _Struct:
    """Declared fields; ``preserve`` keeps undeclared ones (``x-kubernetes-preserve-unknown-fields``)."""

    declared: dict[str, Node] = field(default_factory=dict)
    preserve: bool = False

    def fields(self) -> Mapping[str, Node]:
        return self.declared


class _Model(_Struct):
    """The fields of one client model class, resolved on first use (model graphs are cyclic)."""

    def __init__(self, cls: Any) -> None:
        super().__init__()
        self.cls = cls
        self._resolved = False

    def fields(self) -> Mapping[str, Node]:
        if not self._resolved:
            types: dict[str, str] = getattr(self.cls, "openapi_types", {}) or {}
            names: dict[str, str] = getattr(self.cls, "attribute_map", {}) or {}
            self.declared = {names.get(attr, attr): _type_node(text) for attr, text in types.items()}
            self._resolved = True
        return self.declared


Node = _Open | _List | _Map | _Struct

OPEN = _Open()

_LIST_TYPE = re.compile(r"^(?:list|List)\[(?P<item>.+)\]$")
_DICT_TYPE = re.compile(r"^(?:dict\(str, (?P<a>.+)\)|Dict\[str, (?P<b>.+)\])$")
_SCALARS = frozenset({"str", "int", "float", "bool", "datetime", "date", "bytes", "bytearray", "file", "object"})

_lock = threading.Lock()
_models_by_class: dict[str, _Model] = {}
_builtin_roots: dict[tuple[str, str, str], Node | None] = {}
_custom_roots: dict[tuple[str, str, str], tuple[Any, Node | None]] = {}


def _models() -> Any:
    # Imported on first use: the client's model package is large and kubesim does not need it to start.
    return importlib.import_module("kubernetes.client.models")


def _model_node(name: str) -> Node:
    with _lock:
        found = _models_by_class.get(name)
        if found is not None:
            return found
    cls = getattr(_models(), name, None)
    if cls is None or not isinstance(getattr(cls, "openapi_types", None), dict):
        return OPEN
    node = _Model(cls)
    with _lock:
        return _models_by_class.setdefault(name, node)


def _type_node(text: str) -> Node:
    text = text.strip()
    if text in _SCALARS:
        return OPEN
    listed = _LIST_TYPE.match(text)
    if listed:
        return _List(_type_node(listed.group("item")))
    mapped = _DICT_TYPE.match(text)
    if mapped:
        return _Map(_type_node(mapped.group("a") or mapped.group("b")))
    return _model_node(text)


def _object_meta() -> Node:
    return _model_node("V1ObjectMeta")


def _builtin_root(group: str, version: str, kind: str) -> Node | None:
    key = (group, version, kind)
    with _lock:
        if key in _builtin_roots:
            return _builtin_roots[key]
    models = _models()
    prefix = group.split(".", 1)[0].capitalize() if group else "Core"
    ver = version[:1].upper() + version[1:]
    root: Node | None = None
    # The client prefixes a model with its group only when two groups share a kind (CoreV1Event, EventsV1Event).
    for name in (f"{prefix}{ver}{kind}", f"{ver}{kind}"):
        cls = getattr(models, name, None)
        names = getattr(cls, "attribute_map", None)
        if isinstance(names, dict) and "kind" in names.values() and "metadata" in names.values():
            root = _model_node(name)
            break
    with _lock:
        _builtin_roots[key] = root
    return root


def _compile(schema: Mapping[str, Any], *, resource: bool = False) -> Node:
    """A structural schema node; ``resource`` marks the root or an embedded resource."""
    if schema.get("x-kubernetes-int-or-string"):
        return OPEN
    preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    resource = resource or bool(schema.get("x-kubernetes-embedded-resource"))
    kind = schema.get("type")
    items = schema.get("items")
    if kind == "array" or (kind is None and isinstance(items, Mapping)):
        return _List(_compile(items)) if isinstance(items, Mapping) else OPEN
    props = schema.get("properties")
    extra = schema.get("additionalProperties")
    if kind != "object" and props is None and extra is None and not resource:
        return OPEN
    if isinstance(extra, Mapping) and not props:
        return _Map(_compile(extra))
    if extra is True:
        return OPEN
    declared = {
        name: _compile(sub) for name, sub in (props or {}).items() if isinstance(name, str) and isinstance(sub, Mapping)
    }
    if resource:
        # apiVersion, kind and metadata are implicit in every resource, metadata as the typed ObjectMeta.
        declared["apiVersion"] = OPEN
        declared["kind"] = OPEN
        declared["metadata"] = _object_meta()
    return _Struct(declared, preserve=preserve)


def schema_for(rt: ResourceType, version: str) -> Node | None:
    """The schema objects of ``rt`` are decoded with in ``version``; None when nothing is known (open)."""
    if not rt.custom:
        return _builtin_root(rt.group, version, rt.kind)
    raw = rt.schemas.get(version)
    if not isinstance(raw, Mapping) or not raw:
        return None
    key = (rt.group, rt.plural, version)
    with _lock:
        cached = _custom_roots.get(key)
        if cached is not None and cached[0] is raw:
            return cached[1]
    node = _compile(raw, resource=True)
    with _lock:
        _custom_roots[key] = (raw, node)
    return node


# --- finding and dropping -------------------------------------------------------------------------------


def unknown_fields(obj: Any, node: Node) -> list[FieldPath]:
    """Every undeclared field of ``obj`` (not descending into it), in document order."""
    out: list[FieldPath] = []
    _find(obj, node, (), out)
    return out


def _find(value: Any, node: Node, path: FieldPath, out: list[FieldPath]) -> None:
    if isinstance(node, _Struct):
        if not isinstance(value, dict):
            return
        declared = node.fields()
        for key, sub in value.items():
            child = declared.get(key)
            if child is None:
                if not node.preserve:
                    out.append((*path, key))
                continue
            _find(sub, child, (*path, key), out)
    elif isinstance(node, _Map):
        if isinstance(value, dict):
            for key, sub in value.items():
                _find(sub, node.value, (*path, key), out)
    elif isinstance(node, _List) and isinstance(value, list):
        for index, item in enumerate(value):
            _find(item, node.item, (*path, index), out)


def drop_fields(obj: Any, paths: list[FieldPath]) -> None:
    """Remove the fields ``unknown_fields`` found (in place)."""
    for path in paths:
        parent = obj
        for step in path[:-1]:
            parent = parent[step]
        del parent[path[-1]]


def dotted(path: FieldPath) -> str:
    """The decoder's wording of a path: ``spec.template.spec.containers[0].imagee``."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += ("." if text else "") + step
    return text


# --- server-side apply ----------------------------------------------------------------------------------


def apply_unknown_fields(obj: Any, node: Node, *, list_keys: ListKeys) -> list[str]:
    """Undeclared fields as server-side apply's typed conversion reports them.

    The conversion stops at the first undeclared key of each map (keys visited in sorted order) and names list
    elements by their associative keys where the list has them: ``.spec.containers[name="c"].foo``.
    """
    out: list[str] = []
    _find_apply(obj, node, text="", name="", spath="", out=out, list_keys=list_keys)
    return out


def _find_apply(
    value: Any, node: Node, *, text: str, name: str, spath: str, out: list[str], list_keys: ListKeys
) -> None:
    if isinstance(node, _Struct):
        if not isinstance(value, dict):
            return
        declared = node.fields()
        for key in sorted(value):
            child = declared.get(key)
            if child is None:
                if node.preserve:
                    continue
                out.append(f"{text}.{key}")
                return
            _find_apply(
                value[key], child, text=f"{text}.{key}", name=key, spath=f"{spath}.{key}", out=out, list_keys=list_keys
            )
    elif isinstance(node, _Map):
        if isinstance(value, dict):
            for key in sorted(value):
                _find_apply(
                    value[key], node.value, text=f"{text}.{key}", name=key, spath=spath, out=out, list_keys=list_keys
                )
    elif isinstance(node, _List) and isinstance(value, list):
        keys = list_keys(name, value, spath)
        for index, item in enumerate(value):
            if keys and isinstance(item, dict):
                label = ",".join(f"{k}={json.dumps(item.get(k), separators=(',', ':'))}" for k in keys if k in item)
                step = f"[{label}]"
            else:
                step = f"[{index}]"
            _find_apply(item, node.item, text=text + step, name=name, spath=spath + "[]", out=out, list_keys=list_keys)


# --- Go renderings used in error messages ---------------------------------------------------------------


def go_quote(text: str) -> str:
    """``%q`` of a Go string (close enough: JSON string escaping, non-ASCII kept)."""
    return json.dumps(text, ensure_ascii=False)


def go_value(value: Any) -> str:
    """``%+v`` of a decoded JSON value (``map[k:v ...]`` with sorted keys), as patch errors quote the patch."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_value(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return str(value)
