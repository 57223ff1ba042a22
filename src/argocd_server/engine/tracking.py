"""Application instance tracking: which Argo CD application owns a Kubernetes object.

Reproduces upstream's resource tracking (``util/argo/resource_tracking.go``): the ``label`` method
writes ``<labelKey>=<instance>``; the ``annotation`` method (upstream's default) writes
``argocd.argoproj.io/tracking-id: <instance>:<group>/<kind>:<namespace>/<name>``;
``annotation+label`` writes both but reads only the annotation. The instance is the app name,
prefixed ``<appNamespace>_`` for apps outside the controller's namespace. An annotation whose id
does not describe the object itself (a copy made by another tool) is not ownership.
CustomResourceDefinitions never get tracking metadata. Pure functions; inputs are never mutated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from argocd_server.engine.resources import (
    KubeObject,
    annotations_of,
    deep_copy,
    is_crd,
    is_namespaced_kind,
    labels_of,
    parse_api_version,
)

__all__ = [
    "ANNOTATION_INSTALLATION_ID",
    "ANNOTATION_TRACKING_ID",
    "DEFAULT_LABEL_KEY",
    "TrackingId",
    "TrackingMethod",
    "format_tracking_id",
    "get_app_name",
    "instance_name",
    "is_self_referenced",
    "normalize_tracking_migration",
    "parse_tracking_id",
    "parse_tracking_method",
    "set_tracking",
    "truncate_label_value",
]

ANNOTATION_TRACKING_ID = "argocd.argoproj.io/tracking-id"
ANNOTATION_INSTALLATION_ID = "argocd.argoproj.io/installation-id"
DEFAULT_LABEL_KEY = "app.kubernetes.io/instance"
_LABEL_VALUE_MAX = 63


class TrackingMethod(StrEnum):
    """Values of argocd-cm ``application.resourceTrackingMethod``."""

    LABEL = "label"
    ANNOTATION = "annotation"
    ANNOTATION_AND_LABEL = "annotation+label"


def parse_tracking_method(value: str | None) -> TrackingMethod:
    """Read the argocd-cm setting; empty or unknown falls back to ``annotation`` as upstream
    does."""
    try:
        return TrackingMethod(value or TrackingMethod.ANNOTATION)
    except ValueError:
        return TrackingMethod.ANNOTATION


@dataclass(frozen=True)
class TrackingId:
    """The parsed ``tracking-id`` annotation."""

    app_name: str
    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return format_tracking_id(
            app=self.app_name,
            group=self.group,
            kind=self.kind,
            namespace=self.namespace,
            name=self.name,
        )


def instance_name(app_name: str, *, app_namespace: str = "", controller_namespace: str = "") -> str:
    """The string written into tracking metadata: ``<ns>_<app>`` for apps outside the controller's
    namespace."""
    if app_namespace and controller_namespace and app_namespace != controller_namespace:
        return f"{app_namespace}_{app_name}"
    return app_name


def format_tracking_id(*, app: str, group: str, kind: str, namespace: str, name: str) -> str:
    """``<app>:<group>/<kind>:<namespace>/<name>``; the core group is the empty string."""
    return f"{app}:{group}/{kind}:{namespace}/{name}"


def parse_tracking_id(value: str | None) -> TrackingId | None:
    """Parse a tracking id; None (untracked) when it does not split into the expected parts."""
    if not value:
        return None
    parts = value.split(":", 2)
    if len(parts) != 3:
        return None
    app, group_kind, namespace_name = parts
    gk = group_kind.split("/")
    nn = namespace_name.split("/")
    if len(gk) != 2 or len(nn) != 2:
        return None
    return TrackingId(app_name=app, group=gk[0], kind=gk[1], namespace=nn[0], name=nn[1])


def truncate_label_value(value: str) -> str:
    """Shorten to 63 chars and trim trailing non-alphanumerics so the value stays a valid label
    value."""
    if len(value) <= _LABEL_VALUE_MAX:
        return value
    return re.sub(r"[^A-Za-z0-9]+$", "", value[:_LABEL_VALUE_MAX])


def _metadata(obj: KubeObject) -> dict[str, Any]:
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
        obj["metadata"] = metadata
    return metadata


def _set_map_entry(obj: KubeObject, *, field: str, key: str, value: str) -> None:
    metadata = _metadata(obj)
    values = metadata.get(field)
    if not isinstance(values, dict):
        values = {}
        metadata[field] = values
    values[key] = value


def _drop_map_entry(obj: KubeObject, *, field: str, key: str) -> None:
    values = (obj.get("metadata") or {}).get(field)
    if isinstance(values, dict):
        values.pop(key, None)
        if not values:
            del obj["metadata"][field]


def set_tracking(
    obj: KubeObject,
    *,
    app: str,
    method: TrackingMethod = TrackingMethod.ANNOTATION,
    label_key: str = DEFAULT_LABEL_KEY,
    namespace: str = "",
    installation_id: str | None = None,
) -> KubeObject:
    """Return a copy of ``obj`` carrying tracking metadata for instance ``app``.

    ``namespace`` stands in for the object's namespace in the tracking id when the object has none
    (upstream passes the app's destination namespace, so cluster-scoped objects usually carry it).
    CRDs are returned unchanged.
    """
    result = deep_copy(obj)
    if is_crd(obj):
        return result
    if method is TrackingMethod.LABEL:
        _set_map_entry(result, field="labels", key=label_key, value=app)
        return result
    group, _ = parse_api_version(str(obj.get("apiVersion") or ""))
    metadata = obj.get("metadata") or {}
    tracking_id = format_tracking_id(
        app=app,
        group=group,
        kind=str(obj.get("kind") or ""),
        namespace=str(metadata.get("namespace") or "") or namespace,
        name=str(metadata.get("name") or ""),
    )
    _set_map_entry(result, field="annotations", key=ANNOTATION_TRACKING_ID, value=tracking_id)
    if installation_id:
        _set_map_entry(result, field="annotations", key=ANNOTATION_INSTALLATION_ID, value=installation_id)
    else:
        _drop_map_entry(result, field="annotations", key=ANNOTATION_INSTALLATION_ID)
    if method is TrackingMethod.ANNOTATION_AND_LABEL:
        _set_map_entry(result, field="labels", key=label_key, value=truncate_label_value(app))
    return result


def get_app_name(
    obj: Mapping[str, Any] | None,
    *,
    method: TrackingMethod = TrackingMethod.ANNOTATION,
    label_key: str = DEFAULT_LABEL_KEY,
    installation_id: str | None = None,
) -> str | None:
    """The instance name tracking ``obj``, or None when untracked.

    Annotation methods read only the annotation; an unparsable id, a different ``installation-id``
    or an id describing another object (a copy) all mean untracked.
    """
    if not obj:
        return None
    annotations = annotations_of(obj)
    if installation_id and annotations.get(ANNOTATION_INSTALLATION_ID) != installation_id:
        return None
    if method is TrackingMethod.LABEL:
        return labels_of(obj).get(label_key) or None
    tracking = parse_tracking_id(annotations.get(ANNOTATION_TRACKING_ID))
    if tracking is None or not _describes(tracking, obj):
        return None
    return tracking.app_name


def _describes(tracking: TrackingId, obj: Mapping[str, Any], *, cluster_scoped: bool = False) -> bool:
    group, _ = parse_api_version(str(obj.get("apiVersion") or ""))
    kind = str(obj.get("kind") or "")
    metadata = obj.get("metadata") or {}
    if (tracking.group, tracking.kind, tracking.name) != (group, kind, metadata.get("name") or ""):
        return False
    if cluster_scoped or is_namespaced_kind(group, kind) is False:
        return True
    namespace = str(metadata.get("namespace") or "")
    # Objects rendered without a namespace are tracked with the destination namespace, so only
    # compare real ones.
    return not namespace or tracking.namespace == namespace


def is_self_referenced(
    live: Mapping[str, Any],
    *,
    method: TrackingMethod = TrackingMethod.ANNOTATION,
    target: Mapping[str, Any] | None = None,
    cluster_scoped: bool | None = None,
) -> bool:
    """False when the live object's tracking annotation was copied from another object.

    The expected identity comes from ``target`` when given (survives API-group migrations), else
    from the live annotation itself. The label method cannot tell copies apart, so every object
    counts as self-referenced.
    """
    if method is TrackingMethod.LABEL:
        return True
    tracking = parse_tracking_id(annotations_of(live).get(ANNOTATION_TRACKING_ID))
    if tracking is None:
        return True
    subject = target if target is not None else live
    return _describes(tracking, subject, cluster_scoped=bool(cluster_scoped))


def normalize_tracking_migration(
    live: KubeObject,
    target: KubeObject,
    *,
    method: TrackingMethod = TrackingMethod.ANNOTATION,
    label_key: str = DEFAULT_LABEL_KEY,
) -> KubeObject:
    """Copy of ``live`` adjusted so switching from label to annotation tracking does not make
    everything drift.

    Only for annotation methods and non-CRDs: a live object with the instance label but no tracking
    annotation gets the target's annotation; if the target has no instance label the live label is
    dropped.
    """
    result = deep_copy(live)
    if method is TrackingMethod.LABEL or is_crd(target) or is_crd(live):
        return result
    live_labels = labels_of(live)
    if label_key not in live_labels or ANNOTATION_TRACKING_ID in annotations_of(live):
        return result
    target_id = annotations_of(target).get(ANNOTATION_TRACKING_ID)
    if target_id is not None:
        _set_map_entry(result, field="annotations", key=ANNOTATION_TRACKING_ID, value=target_id)
    if label_key not in labels_of(target):
        _drop_map_entry(result, field="labels", key=label_key)
    return result
