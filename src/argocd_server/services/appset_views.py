"""ApplicationSetService read views: ResourceTree and ListResourceEvents (upstream server/applicationset).

Both need ``applicationsets get`` on the set; as for the other ApplicationSet operations a missing set is a plain 404
and a forbidden one a detailed 403 (no existence hiding).

The tree lists the Applications the set owns as nodes whose parent is the set. Upstream reads them from the set's
``status.resources``; sets whose status was never written by a generator run still own applications through
``metadata.ownerReferences``, so those stored applications are added too (deduplicated, with their uid and current
health). Events are the stored core/v1 Events whose involved object is this set (same kind, name and uid).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from argocd_server.db.models import ApplicationSetRow
from argocd_server.db.stores.applications import ApplicationStore
from argocd_server.db.stores.events import EventStore
from argocd_server.errors import ArgoError, NotFound
from argocd_server.services.applicationsets import ApplicationSetService

__all__ = ["APPSET_GROUP", "APPSET_KIND", "APPSET_VERSION", "ApplicationSetViewService"]

APPSET_GROUP = "argoproj.io"
APPSET_VERSION = "v1alpha1"
APPSET_KIND = "ApplicationSet"
APP_KIND = "Application"


def _owned_by(doc: Mapping[str, Any], *, name: str, uid: str) -> bool:
    for ref in (doc.get("metadata") or {}).get("ownerReferences") or []:
        if not isinstance(ref, Mapping):
            continue
        if ref.get("kind") != APPSET_KIND or ref.get("name") != name:
            continue
        # A reference with another uid points at an earlier set of the same name.
        if not ref.get("uid") or not uid or ref.get("uid") == uid:
            return True
    return False


def _node_key(node: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (str(node.get("group", "")), str(node.get("kind", "")), str(node.get("namespace", "")), node["name"])


class ApplicationSetViewService(ApplicationSetService):
    """The resource tree and the events of one ApplicationSet."""

    def _authorized(self, *, name: str, appset_namespace: str) -> tuple[ApplicationSetRow, dict[str, Any]]:
        namespace = appset_namespace or self._ns
        if not self._namespace_enabled(namespace):
            raise ArgoError(f"namespace '{namespace}' is not permitted")
        row = self._store.get(namespace, name)
        if row is None:
            raise NotFound(f'error getting ApplicationSet: applicationset.argoproj.io "{name}" not found')
        self._access.check("applicationsets", "get", self._row_rbac_name(row))
        doc: dict[str, Any] = orjson.loads(row.doc)
        return row, doc

    def resource_tree(self, *, name: str, appset_namespace: str) -> dict[str, Any]:
        row, doc = self._authorized(name=name, appset_namespace=appset_namespace)
        parent = {
            "group": APPSET_GROUP,
            "version": APPSET_VERSION,
            "kind": APPSET_KIND,
            "namespace": row.namespace,
            "name": row.name,
            "uid": row.uid,
        }
        nodes: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        for entry in (doc.get("status") or {}).get("resources") or []:
            if not isinstance(entry, Mapping) or not entry.get("name"):
                continue
            # Generated applications live in the set's namespace whatever the status entry says.
            node: dict[str, Any] = {
                "group": str(entry.get("group") or ""),
                "version": str(entry.get("version") or ""),
                "kind": str(entry.get("kind") or ""),
                "namespace": row.namespace,
                "name": str(entry["name"]),
                "parentRefs": [dict(parent)],
            }
            if entry.get("health"):
                node["health"] = dict(entry["health"])
            nodes[_node_key(node)] = node
        apps = ApplicationStore(self._session).list_rows(namespaces=[row.namespace])
        for app_namespace, app_name, _project, _version, app_text in apps:
            app: dict[str, Any] = orjson.loads(app_text)
            if not _owned_by(app, name=row.name, uid=row.uid):
                continue
            key = (APPSET_GROUP, APP_KIND, app_namespace, app_name)
            node = nodes.setdefault(
                key,
                {
                    "group": APPSET_GROUP,
                    "version": APPSET_VERSION,
                    "kind": APP_KIND,
                    "namespace": app_namespace,
                    "name": app_name,
                    "parentRefs": [dict(parent)],
                },
            )
            if app["metadata"].get("uid"):
                node["uid"] = str(app["metadata"]["uid"])
            health = (app.get("status") or {}).get("health")
            if isinstance(health, Mapping) and health.get("status"):
                node["health"] = {k: v for k, v in health.items() if k in ("status", "message") and v}
        self._session.rollback()
        ordered = [{k: v for k, v in node.items() if v != ""} for _, node in sorted(nodes.items())]
        # Proto3 JSON leaves an empty repeated field out.
        return {"nodes": ordered} if ordered else {}

    def list_resource_events(self, *, name: str, appset_namespace: str) -> bytes:
        row, _ = self._authorized(name=name, appset_namespace=appset_namespace)
        docs = EventStore(self._session).docs_for(namespace=row.namespace, kind=APPSET_KIND, name=row.name, uid=row.uid)
        self._session.rollback()
        return b'{"metadata":{},"items":[' + ",".join(docs).encode() + b"]}"
