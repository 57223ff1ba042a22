"""Discovery documents: /version, /api, /apis, group-version resource lists, aggregated v2."""

from __future__ import annotations

import hashlib
from typing import Any

from kubesim.resources import ALL_VERBS, SUB_VERBS, Registry, ResourceType

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

VERSION_INFO = {
    "major": "1",
    "minor": "33",
    "emulationMajor": "1",
    "emulationMinor": "33",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "32",
    "gitVersion": "v1.33.0+kubesim",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-04-23T00:00:00Z",
    "goVersion": "go1.24.2",
    "compiler": "gc",
    "platform": "linux/amd64",
}

_GROUP_ORDER = [
    "",
    "apiregistration.k8s.io",
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
]


def _order(group: str) -> tuple[int, str]:
    try:
        return (_GROUP_ORDER.index(group), group)
    except ValueError:
        return (len(_GROUP_ORDER), group)


def _gv(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def _hash(rt: ResourceType) -> str:
    digest = hashlib.sha256(f"{rt.group}/{rt.plural}/{rt.kind}".encode()).digest()
    import base64

    return base64.b64encode(digest[:8]).decode()


def _sub_kind(rt: ResourceType, sub: str) -> tuple[str, str, str]:
    if sub == "scale":
        return ("autoscaling", "v1", "Scale")
    return (rt.group, "", rt.kind)


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group_doc(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": _gv(name, v), "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(registry: Registry) -> dict[str, Any]:
    groups = registry.groups()
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group_doc(g, groups[g]) for g in sorted(groups, key=_order) if g != ""],
    }


def api_group(registry: Registry, group: str) -> dict[str, Any] | None:
    versions = registry.groups().get(group)
    if not versions or not group:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(group, versions)}


def resource_list(registry: Registry, group: str, *, version: str) -> dict[str, Any] | None:
    types = registry.in_group_version(group, version)
    if not types:
        return None
    resources: list[dict[str, Any]] = []
    for rt in sorted(types, key=lambda r: r.plural):
        entry: dict[str, Any] = {
            "name": rt.plural,
            "singularName": rt.singular_name,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(ALL_VERBS),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        entry["storageVersionHash"] = _hash(rt)
        resources.append(entry)
        for sub in rt.subresources:
            sgroup, sversion, skind = _sub_kind(rt, sub)
            sub_entry: dict[str, Any] = {
                "name": f"{rt.plural}/{sub}",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": skind,
                "verbs": ["get"] if sub == "log" else (["update"] if sub == "finalize" else list(SUB_VERBS)),
            }
            if sversion:
                sub_entry["group"] = sgroup
                sub_entry["version"] = sversion
            resources.append(sub_entry)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": _gv(group, version),
        "resources": resources,
    }


def _aggregated_resource(rt: ResourceType, version: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resource": rt.plural,
        "responseKind": {"group": rt.group, "version": version, "kind": rt.kind},
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular_name,
        "verbs": list(ALL_VERBS),
    }
    if rt.short_names:
        out["shortNames"] = list(rt.short_names)
    if rt.categories:
        out["categories"] = list(rt.categories)
    subs = []
    for sub in rt.subresources:
        sgroup, sversion, skind = _sub_kind(rt, sub)
        subs.append(
            {
                "subresource": sub,
                "responseKind": {"group": sgroup, "version": sversion or version, "kind": skind},
                "verbs": ["get"] if sub == "log" else (["update"] if sub == "finalize" else list(SUB_VERBS)),
            }
        )
    if subs:
        out["subresources"] = subs
    return out


def aggregated(registry: Registry, *, core: bool, version: str = "v2") -> dict[str, Any]:
    """The APIGroupDiscoveryList for /api (core) or /apis (everything else)."""
    groups = registry.groups()
    items = []
    for group in sorted(groups, key=_order):
        if (group == "") != core:
            continue
        versions = []
        for v in groups[group]:
            types = sorted(registry.in_group_version(group, v), key=lambda r: r.plural)
            versions.append(
                {
                    "version": v,
                    "resources": [_aggregated_resource(rt, v) for rt in types],
                    "freshness": "Current",
                }
            )
        meta: dict[str, Any] = {"creationTimestamp": None}
        if group:
            meta["name"] = group
        items.append({"metadata": meta, "versions": versions})
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": f"apidiscovery.k8s.io/{version}",
        "metadata": {},
        "items": items,
    }


def openapi_v3_index(registry: Registry) -> dict[str, Any]:
    """The /openapi/v3 root: one document per served group-version."""
    tag = str(registry.generation)
    paths: dict[str, Any] = {}
    for group, versions in registry.groups().items():
        for version in versions:
            rel = f"api/{version}" if not group else f"apis/{group}/{version}"
            paths[rel] = {"serverRelativeURL": f"/openapi/v3/{rel}?hash={tag}"}
    return {"paths": paths}


_PARAMS = [
    {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
    for name in ("dryRun", "fieldManager", "fieldValidation", "force")
]


def openapi_v3_group(registry: Registry, group: str, *, version: str) -> dict[str, Any] | None:
    """A skeletal OpenAPI v3 document: enough for kubectl to see that the server validates.

    Schemas are left open, so clients do no local validation and rely on the server.
    """
    types = registry.in_group_version(group, version)
    if not types:
        return None
    prefix = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for rt in types:
        gvk = {"group": rt.group, "version": version, "kind": rt.kind}
        base = f"{prefix}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{prefix}/{rt.plural}"
        operation = {
            "x-kubernetes-group-version-kind": gvk,
            "parameters": _PARAMS,
            "responses": {"200": {"description": "OK"}},
        }
        paths[base] = {"post": dict(operation), "get": dict(operation)}
        paths[f"{base}/{{name}}"] = {
            "get": dict(operation),
            "put": dict(operation),
            "patch": dict(operation),
            "delete": dict(operation),
        }
        schema_name = ".".join(filter(None, ["io.kubesim", rt.group or "core", version, rt.kind]))
        schemas[schema_name] = {
            "type": "object",
            "x-kubernetes-group-version-kind": [gvk],
            "x-kubernetes-preserve-unknown-fields": True,
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": VERSION_INFO["gitVersion"]},
        "paths": paths,
        "components": {"schemas": schemas},
    }
