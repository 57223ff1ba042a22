"""The resource-type registry: built-in kinds and CRD-defined kinds, for routing and discovery."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SUB_VERBS = ("get", "patch", "update")

TypeKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class ResourceType:
    """One served resource (shared by all served versions of a CRD)."""

    group: str
    versions: tuple[str, ...]
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    custom: bool = False
    singular: str = ""
    list_kind: str = ""
    storage_version: str = ""
    # Fields that SSA treats as associative lists for custom kinds, by JSON path of the list.
    list_map_keys: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    # The ``openAPIV3Schema`` of each served version of a CRD, for field pruning and validation.
    schemas: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> TypeKey:
        return (self.group, self.plural)

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()

    @property
    def list_kind_name(self) -> str:
        return self.list_kind or self.kind + "List"

    @property
    def preferred_version(self) -> str:
        return self.versions[0]

    def api_version(self, version: str | None = None) -> str:
        version = version or self.preferred_version
        return f"{self.group}/{version}" if self.group else version

    @property
    def qualified_resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind


def _rt(
    group: str,
    version: str,
    *,
    plural: str,
    kind: str,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    subs: tuple[str, ...] = (),
    cats: tuple[str, ...] = (),
) -> ResourceType:
    return ResourceType(
        group=group,
        versions=(version,),
        plural=plural,
        kind=kind,
        namespaced=namespaced,
        short_names=short,
        categories=cats,
        subresources=subs,
    )


_ALL = ("all",)

BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _rt("", "v1", plural="namespaces", kind="Namespace", namespaced=False, short=("ns",), subs=("status", "finalize")),
    _rt("", "v1", plural="configmaps", kind="ConfigMap", namespaced=True, short=("cm",)),
    _rt("", "v1", plural="secrets", kind="Secret"),
    _rt("", "v1", plural="services", kind="Service", namespaced=True, short=("svc",), subs=("status",), cats=_ALL),
    _rt("", "v1", plural="pods", kind="Pod", namespaced=True, short=("po",), subs=("status", "log"), cats=_ALL),
    _rt("", "v1", plural="serviceaccounts", kind="ServiceAccount", namespaced=True, short=("sa",)),
    _rt(
        "",
        "v1",
        plural="persistentvolumeclaims",
        kind="PersistentVolumeClaim",
        namespaced=True,
        short=("pvc",),
        subs=("status",),
    ),
    _rt(
        "", "v1", plural="persistentvolumes", kind="PersistentVolume", namespaced=False, short=("pv",), subs=("status",)
    ),
    _rt("", "v1", plural="events", kind="Event", namespaced=True, short=("ev",)),
    _rt("", "v1", plural="endpoints", kind="Endpoints", namespaced=True, short=("ep",)),
    _rt("", "v1", plural="nodes", kind="Node", namespaced=False, short=("no",), subs=("status",)),
    _rt("", "v1", plural="limitranges", kind="LimitRange", namespaced=True, short=("limits",)),
    _rt("", "v1", plural="resourcequotas", kind="ResourceQuota", namespaced=True, short=("quota",), subs=("status",)),
    _rt(
        "apps",
        "v1",
        plural="deployments",
        kind="Deployment",
        namespaced=True,
        short=("deploy",),
        subs=("status", "scale"),
        cats=_ALL,
    ),
    _rt(
        "apps",
        "v1",
        plural="replicasets",
        kind="ReplicaSet",
        namespaced=True,
        short=("rs",),
        subs=("status", "scale"),
        cats=_ALL,
    ),
    _rt(
        "apps",
        "v1",
        plural="statefulsets",
        kind="StatefulSet",
        namespaced=True,
        short=("sts",),
        subs=("status", "scale"),
        cats=_ALL,
    ),
    _rt(
        "apps", "v1", plural="daemonsets", kind="DaemonSet", namespaced=True, short=("ds",), subs=("status",), cats=_ALL
    ),
    _rt("apps", "v1", plural="controllerrevisions", kind="ControllerRevision"),
    _rt("batch", "v1", plural="jobs", kind="Job", namespaced=True, short=(), subs=("status",), cats=_ALL),
    _rt("batch", "v1", plural="cronjobs", kind="CronJob", namespaced=True, short=("cj",), subs=("status",), cats=_ALL),
    _rt(
        "networking.k8s.io", "v1", plural="ingresses", kind="Ingress", namespaced=True, short=("ing",), subs=("status",)
    ),
    _rt("networking.k8s.io", "v1", plural="networkpolicies", kind="NetworkPolicy", namespaced=True, short=("netpol",)),
    _rt("networking.k8s.io", "v1", plural="ingressclasses", kind="IngressClass", namespaced=False),
    _rt("rbac.authorization.k8s.io", "v1", plural="roles", kind="Role"),
    _rt("rbac.authorization.k8s.io", "v1", plural="rolebindings", kind="RoleBinding"),
    _rt("rbac.authorization.k8s.io", "v1", plural="clusterroles", kind="ClusterRole", namespaced=False),
    _rt("rbac.authorization.k8s.io", "v1", plural="clusterrolebindings", kind="ClusterRoleBinding", namespaced=False),
    _rt(
        "policy",
        "v1",
        plural="poddisruptionbudgets",
        kind="PodDisruptionBudget",
        namespaced=True,
        short=("pdb",),
        subs=("status",),
    ),
    _rt(
        "autoscaling",
        "v2",
        plural="horizontalpodautoscalers",
        kind="HorizontalPodAutoscaler",
        namespaced=True,
        short=("hpa",),
        subs=("status",),
        cats=_ALL,
    ),
    _rt("storage.k8s.io", "v1", plural="storageclasses", kind="StorageClass", namespaced=False, short=("sc",)),
    _rt("coordination.k8s.io", "v1", plural="leases", kind="Lease"),
    _rt(
        "apiextensions.k8s.io",
        "v1",
        plural="customresourcedefinitions",
        kind="CustomResourceDefinition",
        namespaced=False,
        short=("crd", "crds"),
        subs=("status",),
    ),
    _rt(
        "apiregistration.k8s.io",
        "v1",
        plural="apiservices",
        kind="APIService",
        namespaced=False,
        short=(),
        subs=("status",),
    ),
)

CRD_KEY: TypeKey = ("apiextensions.k8s.io", "customresourcedefinitions")
NAMESPACE_KEY: TypeKey = ("", "namespaces")


def crd_to_type(crd: dict[str, Any]) -> ResourceType:
    """The resource a CustomResourceDefinition object declares."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    served = [v for v in spec.get("versions") or [] if v.get("served", True)]
    storage = next(
        (v["name"] for v in spec.get("versions") or [] if v.get("storage")),
        served[0]["name"] if served else "v1",
    )
    subs: tuple[str, ...] = ()
    list_map_keys: dict[str, tuple[str, ...]] = {}
    schemas: dict[str, Any] = {}
    for version in served:
        subresources = version.get("subresources") or {}
        if "status" in subresources:
            subs = (*subs, "status") if "status" not in subs else subs
        if "scale" in subresources and "scale" not in subs:
            subs = (*subs, "scale")
        schema = (version.get("schema") or {}).get("openAPIV3Schema") or {}
        # preserveUnknownFields (apiextensions v1beta1 leftovers) keeps everything: no schema to prune with.
        if isinstance(schema, dict) and schema and spec.get("preserveUnknownFields") is not True:
            schemas[str(version.get("name", ""))] = schema
        _collect_list_maps(schema, "", out=list_map_keys)
    return ResourceType(
        group=spec.get("group", ""),
        versions=tuple(v["name"] for v in served) or ("v1",),
        plural=names.get("plural", ""),
        kind=names.get("kind", ""),
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        short_names=tuple(names.get("shortNames") or ()),
        categories=tuple(names.get("categories") or ()),
        subresources=subs,
        custom=True,
        singular=names.get("singular", ""),
        list_kind=names.get("listKind", ""),
        storage_version=storage,
        list_map_keys=list_map_keys,
        schemas=schemas,
    )


def _collect_list_maps(schema: dict[str, Any], path: str, *, out: dict[str, tuple[str, ...]]) -> None:
    if schema.get("x-kubernetes-list-type") == "map" and schema.get("x-kubernetes-list-map-keys"):
        out[path] = tuple(schema["x-kubernetes-list-map-keys"])
    for name, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict):
            _collect_list_maps(sub, f"{path}.{name}", out=out)
    items = schema.get("items")
    if isinstance(items, dict):
        _collect_list_maps(items, path + "[]", out=out)


class Registry:
    """Thread-safe lookup of served resources, by group/version/plural and by kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[TypeKey, ResourceType] = {}
        self.generation = 0
        for rt in BUILTIN_TYPES:
            self._by_key[rt.key] = rt

    def add(self, rt: ResourceType) -> None:
        with self._lock:
            self._by_key[rt.key] = rt
            self.generation += 1

    def remove(self, key: TypeKey) -> None:
        with self._lock:
            rt = self._by_key.get(key)
            if rt is not None and rt.custom:
                del self._by_key[key]
                self.generation += 1

    def get(self, group: str, version: str, *, plural: str) -> ResourceType | None:
        rt = self._by_key.get((group, plural))
        if rt is None or version not in rt.versions:
            return None
        return rt

    def by_key(self, key: TypeKey) -> ResourceType | None:
        return self._by_key.get(key)

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        for rt in list(self._by_key.values()):
            if rt.group == group and rt.kind == kind and version in rt.versions:
                return rt
        return None

    def all(self) -> list[ResourceType]:
        return list(self._by_key.values())

    def groups(self) -> dict[str, list[str]]:
        """Group name to its served versions, preferred first; the core group is ``""``."""
        out: dict[str, list[str]] = {}
        for rt in self.all():
            versions = out.setdefault(rt.group, [])
            for v in rt.versions:
                if v not in versions:
                    versions.append(v)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for rt in self.all() if rt.group == group and version in rt.versions]
