"""ApplicationService ServerSideDiff: what applying given target manifests would change, as the cluster predicts it.

Upstream takes the live objects from the request (``liveResources``), which a REST query cannot carry; here each
target's live counterpart is read from the app's destination cluster instead. The prediction is a server-side apply
dry run under the controller's field manager, so defaulting, admission and field ownership all come from the API
server, and ``engine.diff`` compares the normalised live object with that prediction. A target with no live object
is a creation: modified, with the normalised target as the prediction.

RBAC is ``applications get`` through the existence-hiding lookup; the transaction ends before any cluster I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from argocd_server.engine.diff import diff_resource
from argocd_server.errors import InvalidArgument, NotFound, Unavailable
from argocd_server.kube.resources import GroupVersionKind
from argocd_server.services.app_resources import ApplicationResourceService

__all__ = ["FIELD_MANAGER", "ApplicationDiffService"]

FIELD_MANAGER = "argocd-controller"
"""The manager the controller applies with; predicting under it makes ownership conflicts match a real sync."""


def _parse_target(text: str) -> dict[str, Any]:
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"error unmarshaling target manifest: {exc.msg}") from None
    if not isinstance(obj, dict):
        raise InvalidArgument("error unmarshaling target manifest: not a JSON object")
    meta = obj.get("metadata")
    if not obj.get("apiVersion") or not obj.get("kind") or not isinstance(meta, dict) or not meta.get("name"):
        raise InvalidArgument("target manifest needs apiVersion, kind and metadata.name")
    return obj


def _gvk(obj: Mapping[str, Any]) -> GroupVersionKind:
    api_version = str(obj["apiVersion"])
    group, _, version = api_version.rpartition("/")
    return GroupVersionKind(group, version, str(obj["kind"]))


class ApplicationDiffService(ApplicationResourceService):
    """Server-side diff of caller-supplied target manifests against an app's destination cluster."""

    def server_side_diff(
        self, name: str, *, app_namespace: str, project: str, target_manifests: Sequence[str]
    ) -> dict[str, Any]:
        doc, _ = self._app(name, app_namespace=app_namespace, project=project)
        targets = [_parse_target(text) for text in target_manifests]
        if self._controller is None:
            raise Unavailable("the application controller is not configured")
        options = self._controller.diff_options(doc)
        default_ns = str(((doc.get("spec") or {}).get("destination") or {}).get("namespace") or "")
        handle = self._handle(doc)
        resources = handle.resources
        items: list[dict[str, Any]] = []
        for target in targets:
            gvk = _gvk(target)
            api = resources.resource_for(gvk)
            meta = target["metadata"]
            # The controller puts namespaced objects without a namespace into the destination namespace.
            if api.namespaced and not meta.get("namespace") and default_ns:
                meta["namespace"] = default_ns
            namespace = str(meta.get("namespace") or "") if api.namespaced else ""
            obj_name = str(meta["name"])
            try:
                live: dict[str, Any] | None = resources.get(gvk, obj_name, namespace=namespace or None)
            except NotFound:
                live = None
            predicted = None
            if live is not None:
                # Forced, as the controller's server-side sync takes fields over from other managers: the prediction is
                # what a sync would leave, not a conflict report.
                predicted = resources.apply(target, field_manager=FIELD_MANAGER, force=True, dry_run=True)
            diff = diff_resource(target=target, live=live, options=options, server_side_live=predicted)
            item: dict[str, Any] = {
                "group": gvk.group,
                "kind": gvk.kind,
                "namespace": namespace,
                "name": obj_name,
                "targetState": diff.target,
                "liveState": diff.normalized_live,
                "normalizedLiveState": diff.normalized_live,
                "predictedLiveState": diff.predicted_live,
                "modified": diff.modified,
                "resourceVersion": str(((live or {}).get("metadata") or {}).get("resourceVersion") or ""),
            }
            # Proto3 JSON leaves out empty strings and false booleans.
            items.append({k: v for k, v in item.items() if v not in ("", False)})
        response: dict[str, Any] = {"items": items}
        if any(item.get("modified") for item in items):
            response["modified"] = True
        return response
