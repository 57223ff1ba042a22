"""Patch application: JSON patch (RFC 6902), JSON merge patch (RFC 7386), strategic merge patch."""

from __future__ import annotations

from typing import Any

from kubesim.errors import ApiError

Json = Any

# Lists the API server merges element-wise in strategic merge patch, by field name.
SMP_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "secrets": "name",
}
# Lists of scalars merged as sets.
SMP_PRIMITIVE_MERGE = frozenset({"finalizers"})


def clone(value: Json) -> Json:
    """A deep copy specialised for JSON values (several times faster than copy.deepcopy)."""
    if isinstance(value, dict):
        return {k: clone(v) if isinstance(v, dict | list) else v for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) if isinstance(v, dict | list) else v for v in value]
    return value


def _invalid(message: str) -> ApiError:
    return ApiError(422, message, reason="Invalid")


# --- JSON merge patch ---------------------------------------------------------------------


def merge_patch(target: Json, patch: Json) -> Json:
    """RFC 7386: maps merge recursively, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return clone(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = merge_patch(result.get(key), value)
        else:
            result[key] = clone(value)
    return result


# --- JSON patch ---------------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _invalid(f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list[Any], ref: str, *, allow_end: bool) -> int:
    if ref == "-" and allow_end:
        return len(container)
    try:
        idx = int(ref)
    except ValueError as exc:
        raise _invalid(f"invalid array index: {ref!r}") from exc
    limit = len(container) if allow_end else len(container) - 1
    if idx < 0 or idx > limit:
        raise _invalid(f"array index out of bounds: {idx}")
    return idx


def _parent(doc: Json, tokens: list[str], *, path: str) -> Json:
    cur = doc
    for step in tokens[:-1]:
        if isinstance(cur, dict):
            if step not in cur:
                raise _invalid(f"doc is missing path: {path!r}")
            cur = cur[step]
        elif isinstance(cur, list):
            cur = cur[_index(cur, step, allow_end=False)]
        else:
            raise _invalid(f"doc is missing path: {path!r}")
    return cur


def _get(doc: Json, path: str) -> Json:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, path=path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _invalid(f"doc is missing path: {path!r}")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, allow_end=False)]
    raise _invalid(f"doc is missing path: {path!r}")


def _remove(doc: Json, path: str) -> Json:
    tokens = _pointer(path)
    if not tokens:
        raise _invalid("cannot remove the whole document")
    parent = _parent(doc, tokens, path=path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _invalid(f"doc is missing path: {path!r}")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, allow_end=False))
    raise _invalid(f"doc is missing path: {path!r}")


def _add(doc: Json, path: str, *, value: Json, replace: bool) -> Json:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens, path=path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise _invalid(f"doc is missing key: {path!r}")
        parent[last] = value
    elif isinstance(parent, list):
        if replace:
            parent[_index(parent, last, allow_end=False)] = value
        else:
            parent.insert(_index(parent, last, allow_end=True), value)
    else:
        raise _invalid(f"doc is missing path: {path!r}")
    return doc


def json_patch(doc: Json, ops: Json) -> Json:
    """Apply an RFC 6902 operation list to a copy of ``doc``."""
    if not isinstance(ops, list):
        raise ApiError(400, "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = clone(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op:
            raise _invalid("invalid JSON patch operation")
        kind = op["op"]
        path = op.get("path", "")
        if kind == "add":
            doc = _add(doc, path, value=clone(op.get("value")), replace=False)
        elif kind == "replace":
            doc = _add(doc, path, value=clone(op.get("value")), replace=True)
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "move":
            value = _remove(doc, op.get("from", ""))
            doc = _add(doc, path, value=value, replace=False)
        elif kind == "copy":
            doc = _add(doc, path, value=clone(_get(doc, op.get("from", ""))), replace=False)
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise _invalid(f"testing value {path} failed: test failed")
        else:
            raise _invalid(f"Unexpected kind: {kind}")
    return doc


# --- strategic merge patch ----------------------------------------------------------------


def smp_merge_key(field: str, items: list[Any]) -> str | None:
    """The element key the API server merges ``field`` by, or None when it is atomic."""
    if field == "ports":
        for item in items:
            if isinstance(item, dict) and "containerPort" in item:
                return "containerPort"
        return "port"
    return SMP_MERGE_KEYS.get(field)


def _strip_directives(value: Json) -> Json:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def strategic_merge_patch(original: Json, patch: Json) -> Json:
    """Strategic merge for built-in kinds: keyed lists merge by element, directives honoured."""
    if not isinstance(patch, dict):
        return _strip_directives(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip_directives(patch)
    if directive == "delete":
        return None
    result = dict(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            drop = value if isinstance(value, list) else []
            result[field] = [x for x in result.get(field) or [] if x not in drop]
            continue
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = strategic_merge_patch(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(key, result.get(key), patch=value)
        else:
            result[key] = value
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        for key in list(result):
            if key not in retain:
                del result[key]
    return result


def _merge_list(field: str, current: Json, *, patch: list[Any]) -> list[Any]:
    existing = list(current) if isinstance(current, list) else []
    if field in SMP_PRIMITIVE_MERGE:
        out = list(existing)
        for item in patch:
            if item not in out:
                out.append(item)
        return out
    key = smp_merge_key(field, patch + existing)
    if key is None or not all(isinstance(i, dict) for i in patch):
        return _strip_directives(patch)  # type: ignore[no-any-return]
    if any(i.get("$patch") == "replace" for i in patch):
        return [_strip_directives(i) for i in patch if i.get("$patch") != "replace"]
    out = list(existing)
    for item in patch:
        wanted = item.get(key)
        idx = next((n for n, e in enumerate(out) if isinstance(e, dict) and e.get(key) == wanted), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            out.append(_strip_directives(item))
        else:
            out[idx] = strategic_merge_patch(out[idx], item)
    return out
