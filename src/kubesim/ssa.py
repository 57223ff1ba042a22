"""Server-side apply: field ownership sets (``fieldsV1``), structured merge and conflicts."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubesim.errors import ApiError
from kubesim.patch import clone
from kubesim.resources import ResourceType

Path = tuple[str, ...]
_ITEM = object()  # a list element (or set) owned as a node, with no scalar value of its own

# Associative lists for server-side apply on built-in kinds, by field name.
SSA_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "env": ("name",),
    "volumes": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "imagePullSecrets": ("name",),
    "conditions": ("type",),
    "ownerReferences": ("uid",),
    "hostAliases": ("ip",),
    "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"),
    "resourceClaims": ("name",),
}
SSA_SETS = frozenset({"finalizers"})
_IGNORED_META = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    }
)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class _Schema:
    """Which lists are associative, for one resource type."""

    def __init__(self, rt: ResourceType | None) -> None:
        self.custom = rt is not None and rt.custom
        self.maps = rt.list_map_keys if rt is not None else {}

    def keys(self, name: str, items: list[Any], *, spath: str) -> tuple[str, ...] | None:
        if self.custom:
            return self.maps.get(spath)
        if name == "ports":
            if any(isinstance(i, dict) and "containerPort" in i for i in items):
                return ("containerPort", "protocol")
            if all(isinstance(i, dict) and "port" in i for i in items):
                return ("port", "protocol")
            return None
        return SSA_KEYS.get(name)

    def is_set(self, name: str) -> bool:
        return not self.custom and name in SSA_SETS


def list_keys_of(rt: ResourceType | None) -> Callable[[str, list[Any], str], tuple[str, ...] | None]:
    """``(field name, items, schema path) -> key fields`` of the associative lists of ``rt``."""
    schema = _Schema(rt)

    def keys(name: str, items: list[Any], spath: str) -> tuple[str, ...] | None:
        return schema.keys(name, items, spath=spath)

    return keys


def _key_of(item: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in keys:
        value = item.get(k)
        if value is None and k == "protocol":
            value = "TCP"  # the defaulted protocol is part of the port key
        if value is not None:
            out[k] = value
    return out


def flatten(obj: dict[str, Any], *, rt: ResourceType | None, scope: str) -> dict[Path, Any]:
    """Field paths of ``obj`` to their leaf values; ``scope`` is ``main`` or ``status``."""
    schema = _Schema(rt)
    out: dict[Path, Any] = {}
    for key, value in obj.items():
        if key in ("apiVersion", "kind"):
            continue
        if scope == "status" and key != "status":
            continue
        if scope == "main" and key == "status" and rt is not None and rt.has_status:
            continue
        if key == "metadata" and isinstance(value, dict):
            meta = {k: v for k, v in value.items() if k not in _IGNORED_META}
            if meta:
                _walk(meta, ("f:metadata",), spath=".metadata", out=out, schema=schema)
            continue
        _walk_value(key, value, path=(), spath="", out=out, schema=schema)
    return out


def _walk_value(key: str, value: Any, *, path: Path, spath: str, out: dict[Path, Any], schema: _Schema) -> None:
    p = (*path, "f:" + key)
    sp = f"{spath}.{key}"
    if isinstance(value, dict):
        if value:
            _walk(value, p, spath=sp, out=out, schema=schema)
        else:
            out[p] = {}
    elif isinstance(value, list):
        if schema.is_set(key):
            out[p] = _ITEM
            for item in value:
                out[(*p, "v:" + _dumps(item))] = item
            return
        keys = schema.keys(key, value, spath=sp)
        if keys and all(isinstance(i, dict) for i in value):
            for item in value:
                kp = (*p, "k:" + _dumps(_key_of(item, keys)))
                out[kp] = _ITEM
                _walk(item, kp, spath=sp + "[]", out=out, schema=schema)
        else:
            out[p] = value
    else:
        out[p] = value


def _walk(mapping: dict[str, Any], path: Path, *, spath: str, out: dict[Path, Any], schema: _Schema) -> None:
    for key, value in mapping.items():
        _walk_value(key, value, path=path, spath=spath, out=out, schema=schema)


def to_fields_v1(paths: set[Path] | dict[Path, Any]) -> dict[str, Any]:
    """Nest a path set in the ``fieldsV1`` form."""
    root: dict[str, Any] = {}
    for path in paths:
        node = root
        for part in path:
            node = node.setdefault(part, {})
        node.setdefault(".", {})
    _tidy(root)
    return root


def _tidy(node: dict[str, Any]) -> None:
    # A node owned with no owned children is written as a bare ``{}``.
    for child in node.values():
        if child:
            _tidy(child)
            if list(child.keys()) == ["."]:
                child.clear()


def from_fields_v1(tree: dict[str, Any], prefix: Path = ()) -> set[Path]:
    """Flatten a ``fieldsV1`` tree back to a path set."""
    out: set[Path] = set()
    for part, child in tree.items():
        if part == ".":
            continue
        path = (*prefix, part)
        if not isinstance(child, dict) or not child or "." in child:
            out.add(path)
        if isinstance(child, dict) and child:
            out |= from_fields_v1(child, path)
    return out


def path_string(path: Path) -> str:
    """The conflict wording of a path: ``.spec.containers[name="c"].image``."""
    text = ""
    for part in path:
        kind, _, rest = part.partition(":")
        if kind == "f":
            text += "." + rest
        elif kind == "k":
            try:
                key = json.loads(rest)
            except ValueError:
                key = {}
            text += "[" + ",".join(f"{k}={_dumps(v)}" for k, v in key.items()) + "]"
        elif kind == "v":
            text += f"[={rest}]"
        else:
            text += f"[{rest}]"
    return text


@dataclass
class ManagedEntry:
    """One ``managedFields`` entry, with its fields as a path set."""

    manager: str
    operation: str
    api_version: str
    time: str
    subresource: str = ""
    paths: set[Path] = field(default_factory=set)

    @property
    def identity(self) -> tuple[str, str, str]:
        return (self.manager, self.operation, self.subresource)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(self.paths),
        }
        if self.subresource:
            out["subresource"] = self.subresource
        return out


def parse_managed(obj: dict[str, Any]) -> list[ManagedEntry]:
    """The entries of an object's ``metadata.managedFields``."""
    out: list[ManagedEntry] = []
    for raw in (obj.get("metadata") or {}).get("managedFields") or []:
        if not isinstance(raw, dict) or not raw.get("manager"):
            continue
        out.append(
            ManagedEntry(
                manager=raw["manager"],
                operation=raw.get("operation", "Update"),
                api_version=raw.get("apiVersion", ""),
                time=raw.get("time", ""),
                subresource=raw.get("subresource", ""),
                paths=from_fields_v1(raw.get("fieldsV1") or {}),
            )
        )
    return out


def render_managed(entries: list[ManagedEntry]) -> list[dict[str, Any]]:
    return [e.to_json() for e in entries if e.paths]


def _entry(
    entries: list[ManagedEntry],
    *,
    manager: str,
    operation: str,
    subresource: str,
    api_version: str,
    now: str,
) -> ManagedEntry:
    for e in entries:
        if e.identity == (manager, operation, subresource):
            e.api_version = api_version
            e.time = now
            return e
    e = ManagedEntry(manager, operation, api_version, now, subresource)
    entries.append(e)
    return e


def record_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    entries: list[ManagedEntry],
    manager: str,
    rt: ResourceType,
    api_version: str,
    subresource: str,
    now: str,
) -> list[ManagedEntry]:
    """Ownership after a non-apply write: the writer takes every field it changed."""
    scope = "status" if subresource == "status" else "main"
    after = flatten(new, rt=rt, scope=scope)
    before = flatten(old, rt=rt, scope=scope) if old is not None else {}
    changed = {p for p, v in after.items() if p not in before or before[p] != v}
    removed = set(before) - set(after)
    entries = [
        ManagedEntry(e.manager, e.operation, e.api_version, e.time, e.subresource, set(e.paths)) for e in entries
    ]
    for e in entries:
        e.paths -= removed
        if e.manager != manager:
            e.paths -= changed
    if changed:
        mine = _entry(
            entries,
            manager=manager,
            operation="Update",
            subresource=subresource if subresource == "status" else "",
            api_version=api_version,
            now=now,
        )
        mine.paths |= changed
    return [e for e in entries if e.paths]


def _conflict_error(conflicts: list[tuple[ManagedEntry, Path]]) -> ApiError:
    def who(e: ManagedEntry) -> str:
        text = json.dumps(e.manager)
        if e.subresource:
            text += f" with subresource {json.dumps(e.subresource)}"
        if e.operation == "Update":
            text += f" using {e.api_version}"
            if e.time:
                text += f" at {e.time}"
        return text

    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {who(e)}",
            "field": path_string(p),
        }
        for e, p in conflicts
    ]
    if len(conflicts) == 1:
        e, p = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {who(e)}: {path_string(p)}"
    else:
        by_manager: dict[str, list[Path]] = {}
        for e, p in conflicts:
            by_manager.setdefault(who(e), []).append(p)
        lines: list[str] = []
        for name in sorted(by_manager):
            lines.append(f"conflicts with {name}:")
            lines.extend(f"- {path_string(p)}" for p in by_manager[name])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApiError(409, message, reason="Conflict", details={"causes": causes})


def merge_applied(live: Any, applied: Any, *, schema: _Schema, name: str, spath: str) -> Any:
    """Structured merge of an applied configuration onto the live object."""
    if isinstance(applied, dict):
        if not isinstance(live, dict):
            return {k: clone(v) for k, v in applied.items() if v is not None}
        out = dict(live)
        for k, v in applied.items():
            if v is None:
                continue
            out[k] = merge_applied(out.get(k), v, schema=schema, name=k, spath=f"{spath}.{k}")
        return out
    if isinstance(applied, list):
        if not isinstance(live, list):
            return clone(applied)
        if schema.is_set(name):
            merged = list(live)
            merged.extend(clone(i) for i in applied if i not in merged)
            return merged
        keys = schema.keys(name, applied + live, spath=spath)
        if not keys or not all(isinstance(i, dict) for i in applied + live):
            return clone(applied)
        merged = list(live)
        for item in applied:
            wanted = _key_of(item, keys)
            idx = next((n for n, e in enumerate(merged) if _key_of(e, keys) == wanted), None)
            if idx is None:
                merged.append(clone(item))
            else:
                merged[idx] = merge_applied(merged[idx], item, schema=schema, name=name, spath=spath + "[]")
        return merged
    return applied


def remove_path(obj: dict[str, Any], path: Path) -> None:
    """Delete the field, list element or set value a path names, if present."""
    parent: Any = obj
    for part in path[:-1]:
        parent = _step(parent, part)
        if parent is None:
            return
    last = path[-1]
    kind, _, rest = last.partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif kind == "k" and isinstance(parent, list):
        key = json.loads(rest)
        parent[:] = [i for i in parent if not (isinstance(i, dict) and _matches(i, key))]
    elif kind == "v" and isinstance(parent, list):
        value = json.loads(rest)
        parent[:] = [i for i in parent if i != value]


def _matches(item: dict[str, Any], key: dict[str, Any]) -> bool:
    return all(_key_of(item, (k,)).get(k) == v for k, v in key.items())


def _step(node: Any, part: str) -> Any:
    kind, _, rest = part.partition(":")
    if kind == "f":
        return node.get(rest) if isinstance(node, dict) else None
    if kind == "k" and isinstance(node, list):
        key = json.loads(rest)
        return next((i for i in node if isinstance(i, dict) and _matches(i, key)), None)
    return None


def _prune_empty(obj: dict[str, Any], path: Path) -> None:
    # Removing the last owned key of a map leaves no empty husk behind, as the real merge does.
    for depth in range(len(path) - 1, 0, -1):
        parent: Any = obj
        for part in path[: depth - 1]:
            parent = _step(parent, part)
            if parent is None:
                return
        node = _step(parent, path[depth - 1])
        kind, _, rest = path[depth - 1].partition(":")
        if kind == "f" and isinstance(parent, dict) and node in ({}, []) and rest != "metadata":
            parent.pop(rest, None)
        else:
            return


def server_side_apply(
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    *,
    entries: list[ManagedEntry],
    manager: str,
    force: bool,
    rt: ResourceType,
    api_version: str,
    subresource: str,
    now: str,
) -> tuple[dict[str, Any], list[ManagedEntry]]:
    """Merge ``applied`` onto ``live`` for ``manager``; raises a 409 on unforced conflicts."""
    scope = "status" if subresource == "status" else "main"
    schema = _Schema(rt)
    applied_flat = flatten(applied, rt=rt, scope=scope)
    live_flat = flatten(live, rt=rt, scope=scope) if live is not None else {}
    entries = [
        ManagedEntry(e.manager, e.operation, e.api_version, e.time, e.subresource, set(e.paths)) for e in entries
    ]
    sub = subresource if subresource == "status" else ""
    conflicts: list[tuple[ManagedEntry, Path]] = []
    for e in entries:
        if e.manager == manager:
            continue
        for p in sorted(e.paths & applied_flat.keys()):
            value = applied_flat[p]
            if value is _ITEM or p not in live_flat:
                continue
            if live_flat[p] != value:
                conflicts.append((e, p))
    if conflicts and not force:
        raise _conflict_error(conflicts)
    for e, p in conflicts:
        e.paths.discard(p)
    base = clone(live) if live is not None else {}
    if scope == "status":
        merged = dict(base)
        merged["status"] = merge_applied(
            base.get("status"),
            applied.get("status") or {},
            schema=schema,
            name="status",
            spath=".status",
        )
    else:
        body = {k: v for k, v in applied.items() if not (k == "status" and rt.has_status)}
        merged = merge_applied(base, body, schema=schema, name="", spath="")
    mine = _entry(
        entries,
        manager=manager,
        operation="Apply",
        subresource=sub,
        api_version=api_version,
        now=now,
    )
    previous = set(mine.paths)
    mine.paths = set(applied_flat)
    others = [e.paths for e in entries if e is not mine]
    removable: set[Path] = set()
    for p in previous - mine.paths:
        n = len(p)
        if any(q[:n] == p for paths in others for q in paths):
            continue
        if any(q[:n] == p for q in mine.paths):
            continue
        removable.add(p)
    # Only the outermost removable paths are cut: a list element goes as a whole, which its
    # key fields must still identify when it is removed.
    for p in sorted(removable, key=len, reverse=True):
        if any(p[:i] in removable for i in range(1, len(p))):
            continue
        remove_path(merged, p)
        _prune_empty(merged, p)
    return merged, [e for e in entries if e.paths]
