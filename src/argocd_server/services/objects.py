"""Kubernetes-style metadata kept on every stored object: uid, resourceVersion, generation, timestamps.

resourceVersion is an opaque string to clients (upstream's comes from etcd); ours is a per-object counter bumped
on every write. generation is bumped only when the spec changes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson


def utcnow() -> datetime:
    return datetime.now(tz=UTC).replace(microsecond=0)


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def new_uid() -> str:
    return str(uuid.uuid4())


def stamp_new(meta: dict[str, Any], *, namespace: str, uid: str, created: datetime) -> None:
    """Server-set metadata of a newly created object (client values for these are ignored)."""
    meta["namespace"] = namespace
    meta["uid"] = uid
    meta["resourceVersion"] = "1"
    meta["generation"] = 1
    meta["creationTimestamp"] = rfc3339(created)
    meta.pop("deletionTimestamp", None)
    meta.pop("managedFields", None)
    meta.pop("selfLink", None)


def stamp_update(meta: dict[str, Any], *, previous: dict[str, Any], resource_version: int, generation: int) -> None:
    """Carry server-set fields over from the stored object and set the new version numbers."""
    for key in ("uid", "creationTimestamp", "namespace", "deletionTimestamp"):
        if key in previous:
            meta[key] = previous[key]
        else:
            meta.pop(key, None)
    meta["resourceVersion"] = str(resource_version)
    meta["generation"] = generation


def same_json(a: Any, b: Any) -> bool:
    """Structural equality of two JSON values, independent of key order."""
    return orjson.dumps(a, option=orjson.OPT_SORT_KEYS) == orjson.dumps(b, option=orjson.OPT_SORT_KEYS)


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)
