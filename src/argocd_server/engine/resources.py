"""Resource identity and annotation helpers shared by the pure engine modules.

Reproduces gitops-engine's ``kube.ResourceKey`` (group, kind, namespace, name; the API version is
deliberately not part of the identity), ``apiVersion`` splitting, the scope of built-in kinds,
Argo's well-known annotation keys, the ``Key=Value`` sync-option lists read from applications and
from the ``argocd.argoproj.io/sync-options`` annotation, and hook-type detection (Argo and Helm hook
annotations), which both health aggregation and sync planning need. Everything here is a pure
function over ``KubeObject`` dicts.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

__all__ = [
    "ANNOTATION_COMPARE_OPTIONS",
    "ANNOTATION_HELM_HOOK",
    "ANNOTATION_HELM_HOOK_DELETE_POLICY",
    "ANNOTATION_HELM_HOOK_WEIGHT",
    "ANNOTATION_HELM_RESOURCE_POLICY",
    "ANNOTATION_HOOK",
    "ANNOTATION_HOOK_DELETE_POLICY",
    "ANNOTATION_IGNORE_HEALTHCHECK",
    "ANNOTATION_IGNORE_RESTART_POLICY",
    "ANNOTATION_LAST_APPLIED",
    "ANNOTATION_SYNC_OPTIONS",
    "ANNOTATION_SYNC_WAVE",
    "CLUSTER_SCOPED_KINDS",
    "HOOK_FINALIZER",
    "HookType",
    "KubeObject",
    "ResourceKey",
    "annotations_of",
    "deep_copy",
    "group_kind_of",
    "has_option",
    "hook_types",
    "is_crd",
    "is_hook",
    "is_ignored_hook",
    "is_namespaced_kind",
    "join_api_version",
    "labels_of",
    "parse_api_version",
    "parse_csv",
    "parse_sync_options",
    "sync_options_of",
    "sync_wave_of",
]

KubeObject = dict[str, Any]
"""A Kubernetes manifest as parsed from YAML/JSON (unstructured)."""

ANNOTATION_SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
ANNOTATION_COMPARE_OPTIONS = "argocd.argoproj.io/compare-options"
ANNOTATION_SYNC_WAVE = "argocd.argoproj.io/sync-wave"
ANNOTATION_HOOK = "argocd.argoproj.io/hook"
ANNOTATION_HOOK_DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy"
ANNOTATION_IGNORE_HEALTHCHECK = "argocd.argoproj.io/ignore-healthcheck"
ANNOTATION_IGNORE_RESTART_POLICY = "argocd.argoproj.io/ignore-restart-policy"
ANNOTATION_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ANNOTATION_HELM_HOOK = "helm.sh/hook"
ANNOTATION_HELM_HOOK_WEIGHT = "helm.sh/hook-weight"
ANNOTATION_HELM_HOOK_DELETE_POLICY = "helm.sh/hook-delete-policy"
ANNOTATION_HELM_RESOURCE_POLICY = "helm.sh/resource-policy"
HOOK_FINALIZER = "argocd.argoproj.io/hook-finalizer"

# Built-in kinds whose objects have no namespace, keyed by (group, kind). Custom resources are
# unknown here: the caller decides from discovery, and upstream treats an unknown scope as
# namespaced.
CLUSTER_SCOPED_KINDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("", "ComponentStatus"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        ("networking.k8s.io", "IngressClass"),
        ("node.k8s.io", "RuntimeClass"),
        ("policy", "PodSecurityPolicy"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "VolumeAttachment"),
    }
)

# Namespaced built-ins, so is_namespaced_kind can answer True rather than "unknown" for them.
_NAMESPACED_BUILTINS: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "ConfigMap"),
        ("", "Endpoints"),
        ("", "Event"),
        ("", "LimitRange"),
        ("", "PersistentVolumeClaim"),
        ("", "Pod"),
        ("", "PodTemplate"),
        ("", "ReplicationController"),
        ("", "ResourceQuota"),
        ("", "Secret"),
        ("", "Service"),
        ("", "ServiceAccount"),
        ("apps", "ControllerRevision"),
        ("apps", "DaemonSet"),
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "StatefulSet"),
        ("autoscaling", "HorizontalPodAutoscaler"),
        ("batch", "CronJob"),
        ("batch", "Job"),
        ("coordination.k8s.io", "Lease"),
        ("discovery.k8s.io", "EndpointSlice"),
        ("networking.k8s.io", "Ingress"),
        ("networking.k8s.io", "NetworkPolicy"),
        ("policy", "PodDisruptionBudget"),
        ("rbac.authorization.k8s.io", "Role"),
        ("rbac.authorization.k8s.io", "RoleBinding"),
        ("argoproj.io", "Application"),
        ("argoproj.io", "ApplicationSet"),
        ("argoproj.io", "AppProject"),
    }
)


@dataclass(frozen=True, order=True)
class ResourceKey:
    """Identity of a Kubernetes object across API versions; ``str()`` gives
    ``group/kind/namespace/name``."""

    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.group}/{self.kind}/{self.namespace}/{self.name}"

    @classmethod
    def from_object(cls, obj: Mapping[str, Any], *, default_namespace: str = "") -> ResourceKey:
        """Key of a manifest; ``default_namespace`` fills a missing namespace (cluster scope is not
        inferred)."""
        group, _ = parse_api_version(str(obj.get("apiVersion") or ""))
        metadata = obj.get("metadata") or {}
        namespace = str(metadata.get("namespace") or "") or default_namespace
        return cls(
            group=group,
            kind=str(obj.get("kind") or ""),
            namespace=namespace,
            name=str(metadata.get("name") or ""),
        )

    @classmethod
    def parse(cls, text: str) -> ResourceKey:
        """Inverse of ``str()``; names never contain ``/`` so the split is unambiguous."""
        parts = text.split("/")
        if len(parts) != 4:
            raise ValueError(f"invalid resource key {text!r}")
        return cls(group=parts[0], kind=parts[1], namespace=parts[2], name=parts[3])

    @property
    def group_kind(self) -> str:
        """``group/kind`` as Argo prints it in messages (``apps/Deployment``, ``/Service`` for
        core)."""
        return f"{self.group}/{self.kind}"

    def cluster_scoped(self) -> ResourceKey:
        """The same key without a namespace."""
        return ResourceKey(group=self.group, kind=self.kind, namespace="", name=self.name)


class HookType(StrEnum):
    """Hook types of ``argocd.argoproj.io/hook`` (upstream ``common.HookType``) plus the
    controller-level ones."""

    PRE_SYNC = "PreSync"
    SYNC = "Sync"
    POST_SYNC = "PostSync"
    SYNC_FAIL = "SyncFail"
    SKIP = "Skip"
    PRE_DELETE = "PreDelete"
    POST_DELETE = "PostDelete"


_HELM_HOOK_TYPES: dict[str, HookType] = {
    "pre-install": HookType.PRE_SYNC,
    "pre-upgrade": HookType.PRE_SYNC,
    "post-install": HookType.POST_SYNC,
    "post-upgrade": HookType.POST_SYNC,
    "pre-delete": HookType.PRE_DELETE,
    "post-delete": HookType.POST_DELETE,
}


def parse_api_version(api_version: str) -> tuple[str, str]:
    """Split ``apps/v1`` into ``("apps", "v1")``; the core ``v1`` has the empty group."""
    if "/" in api_version:
        group, _, version = api_version.partition("/")
        return group, version
    return "", api_version


def join_api_version(group: str, version: str) -> str:
    """Inverse of ``parse_api_version``."""
    return f"{group}/{version}" if group else version


def group_kind_of(obj: Mapping[str, Any]) -> tuple[str, str]:
    """``(group, kind)`` of a manifest."""
    group, _ = parse_api_version(str(obj.get("apiVersion") or ""))
    return group, str(obj.get("kind") or "")


def is_namespaced_kind(group: str, kind: str) -> bool | None:
    """Scope of a built-in kind: True namespaced, False cluster-scoped, None unknown (ask
    discovery)."""
    if (group, kind) in CLUSTER_SCOPED_KINDS:
        return False
    if (group, kind) in _NAMESPACED_BUILTINS:
        return True
    return None


def is_crd(obj: Mapping[str, Any]) -> bool:
    """True for ``apiextensions.k8s.io`` CustomResourceDefinitions."""
    return group_kind_of(obj) == ("apiextensions.k8s.io", "CustomResourceDefinition")


def annotations_of(obj: Mapping[str, Any] | None) -> dict[str, str]:
    """The object's annotations (empty when absent or null)."""
    if not obj:
        return {}
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def labels_of(obj: Mapping[str, Any] | None) -> dict[str, str]:
    """The object's labels (empty when absent or null)."""
    if not obj:
        return {}
    return dict((obj.get("metadata") or {}).get("labels") or {})


def deep_copy(obj: KubeObject) -> KubeObject:
    """A deep copy, so the pure functions never mutate their inputs.

    Objects are JSON data: a JSON round trip copies them several times faster than ``copy.deepcopy``. What JSON
    cannot carry (an integer beyond 64 bits, a non-string key) takes the slow path."""
    try:
        copied: KubeObject = orjson.loads(orjson.dumps(obj))
    except (TypeError, orjson.JSONEncodeError):
        return copy.deepcopy(obj)
    return copied


def parse_csv(value: str | None) -> list[str]:
    """Split a comma-separated annotation value, trimming blanks as upstream does."""
    if not value:
        return []
    return [item.strip() for item in value.split(",") if item.strip()]


def parse_sync_options(options: Iterable[str] | str | None) -> dict[str, str]:
    """Turn ``["Prune=false", "CreateNamespace=true"]`` (or a CSV string) into a dict; later entries
    win.

    Entries without ``=`` map to the empty string, which never equals ``true``/``false`` checks.
    """
    if options is None:
        return {}
    items = parse_csv(options) if isinstance(options, str) else [o.strip() for o in options]
    result: dict[str, str] = {}
    for item in items:
        if not item:
            continue
        key, _, value = item.partition("=")
        result[key.strip()] = value.strip()
    return result


def sync_options_of(obj: Mapping[str, Any] | None) -> dict[str, str]:
    """Options from the object's ``argocd.argoproj.io/sync-options`` annotation."""
    return parse_sync_options(annotations_of(obj).get(ANNOTATION_SYNC_OPTIONS))


def has_option(obj: Mapping[str, Any] | None, *, annotation: str, option: str) -> bool:
    """True when the CSV annotation lists ``option`` verbatim (e.g. ``Prune=false``,
    ``IgnoreExtraneous``)."""
    return option in parse_csv(annotations_of(obj).get(annotation))


def _parse_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def sync_wave_of(obj: Mapping[str, Any] | None) -> int:
    """``sync-wave`` if it parses as an int, else ``helm.sh/hook-weight`` if it does, else 0 (hook
    or not)."""
    annotations = annotations_of(obj)
    wave = _parse_int(annotations.get(ANNOTATION_SYNC_WAVE))
    if wave is not None:
        return wave
    weight = _parse_int(annotations.get(ANNOTATION_HELM_HOOK_WEIGHT))
    return weight if weight is not None else 0


def hook_types(obj: Mapping[str, Any] | None) -> list[HookType]:
    """Hook types in declaration order, deduplicated; Helm hooks are consulted only if no Argo type
    is valid.

    ``helm.sh/hook: crd-install`` and unknown Helm hooks such as ``test`` yield no types.
    """
    annotations = annotations_of(obj)
    result: list[HookType] = []
    for item in parse_csv(annotations.get(ANNOTATION_HOOK)):
        try:
            hook = HookType(item)
        except ValueError:
            continue
        if hook not in result:
            result.append(hook)
    if result:
        return result
    for item in parse_csv(annotations.get(ANNOTATION_HELM_HOOK)):
        mapped = _HELM_HOOK_TYPES.get(item)
        if mapped is not None and mapped not in result:
            result.append(mapped)
    return result


def _has_hook_annotation(obj: Mapping[str, Any] | None) -> bool:
    annotations = annotations_of(obj)
    if ANNOTATION_HOOK in annotations:
        return True
    helm = parse_csv(annotations.get(ANNOTATION_HELM_HOOK))
    # crd-install is Helm 2's way to order CRDs first; Argo applies such objects as normal
    # resources.
    return bool(helm) and helm != ["crd-install"]


def is_hook(obj: Mapping[str, Any] | None) -> bool:
    """A hook: an Argo hook annotation that is not only ``Skip``, or a Helm hook annotation (not
    ``crd-install``)."""
    if not _has_hook_annotation(obj):
        return False
    types = hook_types(obj)
    return types != [HookType.SKIP]


def is_ignored_hook(obj: Mapping[str, Any] | None) -> bool:
    """A hook annotation with no recognised type (``helm.sh/hook: test``): upstream drops the object
    entirely."""
    return _has_hook_annotation(obj) and not hook_types(obj)
