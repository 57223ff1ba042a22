"""The cluster layer: connections, discovery, unstructured object operations and the live-state cache.

The bottom layer of argocd_server: it imports nothing from ``api``, ``services``, ``db`` or ``engine``. The untyped
``kubernetes`` package stays inside this package; callers see typed functions over ``KubeObject = dict[str, Any]``
and ``argocd_server.errors`` classes only.
"""

from argocd_server.kube.cache import CacheEvent, CacheStats, ClusterCache, ObjectKey
from argocd_server.kube.client import (
    KUBERNETES_DEFAULT_SVC,
    ClientOptions,
    ClusterClient,
    ClusterClientFactory,
    ClusterCredentials,
    ClusterSource,
    ConnectionStatus,
    ExecProvider,
    InClusterResolver,
)
from argocd_server.kube.errors import Gone
from argocd_server.kube.resources import (
    ApiResource,
    ApplyAction,
    ApplyResult,
    GroupVersionKind,
    KubeObject,
    PatchType,
    ResourceClient,
)

__all__ = [
    "KUBERNETES_DEFAULT_SVC",
    "ApiResource",
    "ApplyAction",
    "ApplyResult",
    "CacheEvent",
    "CacheStats",
    "ClientOptions",
    "ClusterCache",
    "ClusterClient",
    "ClusterClientFactory",
    "ClusterCredentials",
    "ClusterSource",
    "ConnectionStatus",
    "ExecProvider",
    "Gone",
    "GroupVersionKind",
    "InClusterResolver",
    "KubeObject",
    "ObjectKey",
    "PatchType",
    "ResourceClient",
]
