"""Wire models of the ApplicationService tag: Application, spec/status/operation, request bodies.

Shapes follow upstream's Go structs (`pkg/apis/application/v1alpha1`), which the REST API encodes;
where the swagger (generated from protobuf) disagrees with the Go JSON, the Go JSON wins:
`SyncStrategyHook` holds `force` directly, `KustomizeSelector` inlines its resource id, and
`ResourceNode` inlines its `ResourceRef`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from argocd_server.schemas.common import (
    ArgoModel,
    ListMeta,
    ObjectMeta,
    Time,
    always,
)

__all__ = [
    "AppHealthStatus",
    "Application",
    "ApplicationCondition",
    "ApplicationDestination",
    "ApplicationList",
    "ApplicationPatchRequest",
    "ApplicationResourceResponse",
    "ApplicationRollbackRequest",
    "ApplicationSource",
    "ApplicationSourceDirectory",
    "ApplicationSourceHelm",
    "ApplicationSourceJsonnet",
    "ApplicationSourceKustomize",
    "ApplicationSourcePlugin",
    "ApplicationSourcePluginParameter",
    "ApplicationSpec",
    "ApplicationStatus",
    "ApplicationSummary",
    "ApplicationSyncRequest",
    "ApplicationSyncWindow",
    "ApplicationSyncWindowsResponse",
    "ApplicationTree",
    "ApplicationWatchEvent",
    "Backoff",
    "ComparedTo",
    "DrySource",
    "EnvEntry",
    "HealthStatus",
    "HealthStatusCode",
    "HelmFileParameter",
    "HelmParameter",
    "HostInfo",
    "HostResourceInfo",
    "HydrateOperation",
    "HydrateTo",
    "Info",
    "InfoItem",
    "JsonnetVar",
    "KustomizePatch",
    "KustomizeReplica",
    "KustomizeSelector",
    "LogEntry",
    "ManagedNamespaceMetadata",
    "ManagedResourcesResponse",
    "Operation",
    "OperationInitiator",
    "OperationPhase",
    "OperationState",
    "ResourceDiff",
    "ResourceIgnoreDifferences",
    "ResourceNetworkingInfo",
    "ResourceNode",
    "ResourceRef",
    "ResourceResult",
    "ResourceStatus",
    "RetryStrategy",
    "RevisionHistory",
    "RevisionMetadata",
    "SourceHydrator",
    "SourceHydratorStatus",
    "SuccessfulHydrateOperation",
    "SyncOperation",
    "SyncOperationResource",
    "SyncOperationResult",
    "SyncOptions",
    "SyncPolicy",
    "SyncPolicyAutomated",
    "SyncSource",
    "SyncStatus",
    "SyncStatusCode",
    "SyncStrategy",
    "SyncStrategyApply",
    "SyncStrategyHook",
]


class SyncStatusCode(StrEnum):
    """`status.sync.status` values (the zero value `""` means "not compared yet")."""

    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    UNKNOWN = "Unknown"


class HealthStatusCode(StrEnum):
    """Health status values shared by applications and resources."""

    HEALTHY = "Healthy"
    PROGRESSING = "Progressing"
    DEGRADED = "Degraded"
    SUSPENDED = "Suspended"
    MISSING = "Missing"
    UNKNOWN = "Unknown"


class OperationPhase(StrEnum):
    """Phases of an operation (and of a hook)."""

    RUNNING = "Running"
    TERMINATING = "Terminating"
    FAILED = "Failed"
    ERROR = "Error"
    SUCCEEDED = "Succeeded"


# --- sources -------------------------------------------------------------------------------------


class HelmParameter(ArgoModel):
    """A `--set` style Helm parameter."""

    name: str = ""
    value: str = ""
    force_string: bool = False


class HelmFileParameter(ArgoModel):
    """A `--set-file` style Helm parameter."""

    name: str = ""
    path: str = ""


class ApplicationSourceHelm(ArgoModel):
    """Helm options; `valuesObject` is raw JSON (runtime.RawExtension), `values` a YAML string."""

    value_files: list[str] = Field(default_factory=list)
    parameters: list[HelmParameter] = Field(default_factory=list)
    release_name: str = ""
    values: str = ""
    file_parameters: list[HelmFileParameter] = Field(default_factory=list)
    version: str = ""
    pass_credentials: bool = False
    ignore_missing_value_files: bool = False
    skip_crds: bool = False
    values_object: Any = None
    namespace: str = ""
    kube_version: str = ""
    api_versions: list[str] = Field(default_factory=list)
    skip_tests: bool = False
    skip_schema_validation: bool = False


class KustomizeReplica(ArgoModel):
    """A replica override; `count` is an IntOrString, written as a number or a string."""

    name: str = always("")
    count: int | str = always(0)


class KustomizeSelector(ArgoModel):
    """Patch target. Go inlines the resource id and GVK here, unlike the swagger's nesting."""

    group: str = ""
    version: str = ""
    kind: str = ""
    name: str = ""
    namespace: str = ""
    annotation_selector: str = ""
    label_selector: str = ""


class KustomizePatch(ArgoModel):
    """An inline or file Kustomize patch."""

    path: str = ""
    patch: str = ""
    target: KustomizeSelector | None = None
    options: dict[str, bool] = Field(default_factory=dict)


class ApplicationSourceKustomize(ArgoModel):
    """Kustomize options."""

    name_prefix: str = ""
    name_suffix: str = ""
    images: list[str] = Field(default_factory=list)
    common_labels: dict[str, str] = Field(default_factory=dict)
    version: str = ""
    common_annotations: dict[str, str] = Field(default_factory=dict)
    force_common_labels: bool = False
    force_common_annotations: bool = False
    namespace: str = ""
    common_annotations_envsubst: bool = False
    replicas: list[KustomizeReplica] = Field(default_factory=list)
    patches: list[KustomizePatch] = Field(default_factory=list)
    components: list[str] = Field(default_factory=list)
    label_without_selector: bool = False
    kube_version: str = ""
    api_versions: list[str] = Field(default_factory=list)
    ignore_missing_components: bool = False
    label_include_templates: bool = False


class JsonnetVar(ArgoModel):
    """A Jsonnet external variable or top-level argument."""

    name: str = always("")
    value: str = always("")
    code: bool = False


class ApplicationSourceJsonnet(ArgoModel):
    """Jsonnet options of a directory source."""

    ext_vars: list[JsonnetVar] = Field(default_factory=list)
    tlas: list[JsonnetVar] = Field(default_factory=list)
    libs: list[str] = Field(default_factory=list)


class ApplicationSourceDirectory(ArgoModel):
    """Plain-directory options; `jsonnet` is a non-pointer struct, hence `"jsonnet": {}`."""

    recurse: bool = False
    jsonnet: ApplicationSourceJsonnet = always(ApplicationSourceJsonnet)
    exclude: str = ""
    include: str = ""
    disable_extension_filter: bool = False


class EnvEntry(ArgoModel):
    """An environment variable passed to a config management plugin."""

    name: str = always("")
    value: str = always("")


class ApplicationSourcePluginParameter(ArgoModel):
    """A plugin parameter; `string`, `map`, `array` are pointers: written when set, even empty."""

    name: str = ""
    string: str | None = None
    map: dict[str, str] | None = None
    array: list[str] | None = None


class ApplicationSourcePlugin(ArgoModel):
    """Config management plugin options."""

    name: str = ""
    env: list[EnvEntry] = Field(default_factory=list)
    parameters: list[ApplicationSourcePluginParameter] = Field(default_factory=list)


class ApplicationSource(ArgoModel):
    """Where manifests come from. `repoURL` has no omitempty, so even a zero source writes it."""

    repo_url: str = always("", alias="repoURL")
    path: str = ""
    target_revision: str = ""
    helm: ApplicationSourceHelm | None = None
    kustomize: ApplicationSourceKustomize | None = None
    directory: ApplicationSourceDirectory | None = None
    plugin: ApplicationSourcePlugin | None = None
    chart: str = ""
    ref: str = ""
    name: str = ""
    tag_prefix: str = ""


class ApplicationDestination(ArgoModel):
    """Target cluster (by `server` URL or `name`) and namespace."""

    server: str = ""
    namespace: str = ""
    name: str = ""


# --- source hydrator -----------------------------------------------------------------------------


class DrySource(ArgoModel):
    """The "dry" (unrendered) source of the source hydrator."""

    repo_url: str = always("", alias="repoURL")
    target_revision: str = always("")
    path: str = always("")
    helm: ApplicationSourceHelm | None = None
    kustomize: ApplicationSourceKustomize | None = None
    directory: ApplicationSourceDirectory | None = None
    plugin: ApplicationSourcePlugin | None = None


class SyncSource(ArgoModel):
    """Where hydrated manifests are synced from."""

    target_branch: str = always("")
    path: str = always("")
    repo_url: str = Field(default="", alias="repoURL")


class HydrateTo(ArgoModel):
    """Staging branch for hydrated manifests."""

    target_branch: str = always("")


class SourceHydrator(ArgoModel):
    """`spec.sourceHydrator`."""

    dry_source: DrySource = always(DrySource)
    sync_source: SyncSource = always(SyncSource)
    hydrate_to: HydrateTo | None = None


class HydrateOperation(ArgoModel):
    """The hydrator's current operation."""

    started_at: Time | None = always(None)
    finished_at: Time | None = None
    phase: str = always("")
    message: str = always("")
    dry_sha: str = Field(default="", alias="drySHA")
    hydrated_sha: str = Field(default="", alias="hydratedSHA")
    source_hydrator: SourceHydrator = always(SourceHydrator)


class SuccessfulHydrateOperation(ArgoModel):
    """The hydrator's last successful operation."""

    dry_sha: str = Field(default="", alias="drySHA")
    hydrated_sha: str = Field(default="", alias="hydratedSHA")
    source_hydrator: SourceHydrator = always(SourceHydrator)


class SourceHydratorStatus(ArgoModel):
    """`status.sourceHydrator`, written as `{}` when the hydrator is unused."""

    last_successful_operation: SuccessfulHydrateOperation | None = None
    current_operation: HydrateOperation | None = None
    last_compared_dry_revision: str = ""


# --- spec ----------------------------------------------------------------------------------------


class Backoff(ArgoModel):
    """Retry backoff; `factor` is a pointer, so `0` is kept."""

    duration: str = ""
    factor: int | None = None
    max_duration: str = ""


class RetryStrategy(ArgoModel):
    """Sync retry policy."""

    limit: int = 0
    backoff: Backoff | None = None
    refresh: bool = False


class SyncPolicyAutomated(ArgoModel):
    """Automated sync. `enabled` is a pointer: absent means on, an explicit `false` must survive."""

    prune: bool = False
    self_heal: bool = False
    allow_empty: bool = False
    enabled: bool | None = None


class ManagedNamespaceMetadata(ArgoModel):
    """Labels/annotations put on a namespace created by `CreateNamespace=true`."""

    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class SyncPolicy(ArgoModel):
    """`spec.syncPolicy`."""

    automated: SyncPolicyAutomated | None = None
    sync_options: list[str] = Field(default_factory=list)
    retry: RetryStrategy | None = None
    managed_namespace_metadata: ManagedNamespaceMetadata | None = None

    def is_empty(self) -> bool:
        """Whether the policy carries nothing; such a policy is dropped when an app is stored."""
        return (
            self.automated is None
            and not self.sync_options
            and self.retry is None
            and self.managed_namespace_metadata is None
        )


class ResourceIgnoreDifferences(ArgoModel):
    """An ignoreDifferences rule; `kind` has no omitempty."""

    group: str = ""
    kind: str = always("")
    name: str = ""
    namespace: str = ""
    json_pointers: list[str] = Field(default_factory=list)
    jq_path_expressions: list[str] = Field(default_factory=list)
    managed_fields_managers: list[str] = Field(default_factory=list)


class Info(ArgoModel):
    """A free-form name/value pair (spec.info, operation.info)."""

    name: str = always("")
    value: str = always("")


class ApplicationSpec(ArgoModel):
    """`spec`: `destination` (a struct) and `project` (no omitempty) are always written."""

    source: ApplicationSource | None = None
    destination: ApplicationDestination = always(ApplicationDestination)
    project: str = always("")
    sync_policy: SyncPolicy | None = None
    ignore_differences: list[ResourceIgnoreDifferences] = Field(default_factory=list)
    info: list[Info] = Field(default_factory=list)
    revision_history_limit: int | None = None
    sources: list[ApplicationSource] = Field(default_factory=list)
    source_hydrator: SourceHydrator | None = None

    def has_multiple_sources(self) -> bool:
        """Upstream's rule: a non-empty `sources` list wins over `source`."""
        return bool(self.sources)


# --- status --------------------------------------------------------------------------------------


class HealthStatus(ArgoModel):
    """Health of a resource."""

    status: str = ""
    message: str = ""
    last_transition_time: Time | None = None


class AppHealthStatus(ArgoModel):
    """Health of the application as a whole (`status.health`)."""

    status: str = ""
    message: str = ""
    last_transition_time: Time | None = None


class ComparedTo(ArgoModel):
    """What the last comparison used; `source` and `destination` are structs, always written."""

    source: ApplicationSource = always(ApplicationSource)
    destination: ApplicationDestination = always(ApplicationDestination)
    sources: list[ApplicationSource] = Field(default_factory=list)
    ignore_differences: list[ResourceIgnoreDifferences] = Field(default_factory=list)


class SyncStatus(ArgoModel):
    """`status.sync`; `status` has no omitempty, so a fresh app shows `"status": ""`."""

    status: str = always("")
    compared_to: ComparedTo = always(ComparedTo)
    revision: str = ""
    revisions: list[str] = Field(default_factory=list)


class ResourceStatus(ArgoModel):
    """A managed resource in `status.resources`."""

    group: str = ""
    version: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    status: str = ""
    health: HealthStatus | None = None
    hook: bool = False
    requires_pruning: bool = False
    sync_wave: int = 0
    requires_deletion_confirmation: bool = False


class ApplicationCondition(ArgoModel):
    """A condition (error or warning) on the application; `type` and `message` always written."""

    type: str = always("")
    message: str = always("")
    last_transition_time: Time | None = None


class ApplicationSummary(ArgoModel):
    """`status.summary`."""

    external_urls: list[str] = Field(default_factory=list, alias="externalURLs")
    images: list[str] = Field(default_factory=list)
    is_app_of_apps: bool = False


class OperationInitiator(ArgoModel):
    """Who started an operation."""

    username: str = ""
    automated: bool = False


class RevisionHistory(ArgoModel):
    """A deployment record; `deployedAt`, `id`, `source`, `initiatedBy` are always written."""

    revision: str = ""
    deployed_at: Time | None = always(None)
    id: int = always(0)
    source: ApplicationSource = always(ApplicationSource)
    sources: list[ApplicationSource] = Field(default_factory=list)
    revisions: list[str] = Field(default_factory=list)
    deploy_started_at: Time | None = None
    initiated_by: OperationInitiator = always(OperationInitiator)


# --- operation -----------------------------------------------------------------------------------


class SyncStrategyApply(ArgoModel):
    """`kubectl apply` strategy."""

    force: bool = False


class SyncStrategyHook(ArgoModel):
    """Hook strategy; Go inlines the apply options: `{"force": ...}`, not the swagger's nesting."""

    force: bool = False


class SyncStrategy(ArgoModel):
    """`apply` or `hook` sync strategy."""

    apply: SyncStrategyApply | None = None
    hook: SyncStrategyHook | None = None


class SyncOperationResource(ArgoModel):
    """A resource selected for a partial sync; `kind` and `name` always written."""

    group: str = ""
    kind: str = always("")
    name: str = always("")
    namespace: str = ""


class SyncOperation(ArgoModel):
    """`operation.sync` as stored (note `syncStrategy` and the plain `syncOptions` list)."""

    revision: str = ""
    prune: bool = False
    dry_run: bool = False
    sync_strategy: SyncStrategy | None = None
    resources: list[SyncOperationResource] = Field(default_factory=list)
    source: ApplicationSource | None = None
    manifests: list[str] = Field(default_factory=list)
    sync_options: list[str] = Field(default_factory=list)
    sources: list[ApplicationSource] = Field(default_factory=list)
    revisions: list[str] = Field(default_factory=list)
    auto_heal_attempts_count: int = 0


class Operation(ArgoModel):
    """A requested operation; `initiatedBy` and `retry` are structs and always written."""

    sync: SyncOperation | None = None
    initiated_by: OperationInitiator = always(OperationInitiator)
    info: list[Info] = Field(default_factory=list)
    retry: RetryStrategy = always(RetryStrategy)


class ResourceResult(ArgoModel):
    """Outcome for one resource of a sync; the identity members are always written."""

    group: str = always("")
    version: str = always("")
    kind: str = always("")
    namespace: str = always("")
    name: str = always("")
    status: str = ""
    message: str = ""
    hook_type: str = ""
    hook_phase: str = ""
    sync_phase: str = ""
    images: list[str] = Field(default_factory=list)


class SyncOperationResult(ArgoModel):
    """Result of a sync; `revision` and `source` are always written."""

    resources: list[ResourceResult] = Field(default_factory=list)
    revision: str = always("")
    source: ApplicationSource = always(ApplicationSource)
    sources: list[ApplicationSource] = Field(default_factory=list)
    revisions: list[str] = Field(default_factory=list)
    managed_namespace_metadata: ManagedNamespaceMetadata | None = None


class OperationState(ArgoModel):
    """`status.operationState`."""

    operation: Operation = always(Operation)
    phase: str = always("")
    message: str = ""
    sync_result: SyncOperationResult | None = None
    started_at: Time | None = always(None)
    finished_at: Time | None = None
    retry_count: int = 0


class ApplicationStatus(ArgoModel):
    """`status`: every member is omitempty, but the struct members are still always written."""

    resources: list[ResourceStatus] = Field(default_factory=list)
    sync: SyncStatus = always(SyncStatus)
    health: AppHealthStatus = always(AppHealthStatus)
    history: list[RevisionHistory] = Field(default_factory=list)
    conditions: list[ApplicationCondition] = Field(default_factory=list)
    reconciled_at: Time | None = None
    operation_state: OperationState | None = None
    observed_at: Time | None = None
    source_type: str = ""
    summary: ApplicationSummary = always(ApplicationSummary)
    resource_health_source: str = ""
    source_types: list[str] = Field(default_factory=list)
    controller_namespace: str = ""
    source_hydrator: SourceHydratorStatus = always(SourceHydratorStatus)


class Application(ArgoModel):
    """An Argo CD Application (`argoproj.io/v1alpha1`)."""

    metadata: ObjectMeta = always(ObjectMeta)
    spec: ApplicationSpec = always(ApplicationSpec)
    status: ApplicationStatus = always(ApplicationStatus)
    operation: Operation | None = None


class ApplicationList(ArgoModel):
    """Response of `GET /api/v1/applications`; `items` is written even when nil (`null`)."""

    metadata: ListMeta = always(ListMeta)
    items: list[Application] | None = always(None)


class ApplicationWatchEvent(ArgoModel):
    """One message of the application watch stream (inside `{"result": ...}`)."""

    type: str = always("")
    application: Application = always(Application)


# --- sync request --------------------------------------------------------------------------------


class SyncOptions(ArgoModel):
    """Request-side wrapper: the sync request carries `syncOptions: {"items": [...]}`."""

    items: list[str] = Field(default_factory=list)


class ApplicationSyncRequest(ArgoModel):
    """Body of `POST /api/v1/applications/{name}/sync` (protobuf message, every member omitempty).

    Upstream's request names differ from the stored operation: `strategy`, `syncOptions.items`,
    `retryStrategy`, `infos` here versus `syncStrategy`, `syncOptions`, `retry`, `info` there.
    """

    name: str = ""
    revision: str = ""
    dry_run: bool = False
    prune: bool = False
    strategy: SyncStrategy | None = None
    resources: list[SyncOperationResource] = Field(default_factory=list)
    manifests: list[str] = Field(default_factory=list)
    infos: list[Info] = Field(default_factory=list)
    retry_strategy: RetryStrategy | None = None
    sync_options: SyncOptions | None = None
    app_namespace: str = ""
    project: str = ""
    source_positions: list[int] = Field(default_factory=list)
    revisions: list[str] = Field(default_factory=list)

    def to_operation(
        self,
        *,
        username: str = "",
        source: ApplicationSource | None = None,
        sources: list[ApplicationSource] | None = None,
    ) -> Operation:
        """The operation stored on the app for this request, with upstream's stored-side names.

        Revision resolution against the app spec (and `source`/`sources` overrides) is the
        service's job; the resolved values can be passed in here.
        """
        return Operation(
            sync=SyncOperation(
                revision=self.revision,
                prune=self.prune,
                dry_run=self.dry_run,
                sync_strategy=self.strategy.model_copy(deep=True) if self.strategy else None,
                resources=[r.model_copy() for r in self.resources],
                source=source,
                manifests=list(self.manifests),
                sync_options=list(self.sync_options.items) if self.sync_options else [],
                sources=list(sources) if sources else [],
                revisions=list(self.revisions),
            ),
            initiated_by=OperationInitiator(username=username),
            info=[i.model_copy() for i in self.infos],
            retry=self.retry_strategy.model_copy(deep=True) if self.retry_strategy else RetryStrategy(),
        )


class ApplicationRollbackRequest(ArgoModel):
    """Body of `POST /api/v1/applications/{name}/rollback`."""

    name: str = ""
    id: int = 0
    dry_run: bool = False
    prune: bool = False
    app_namespace: str = ""
    project: str = ""


class ApplicationPatchRequest(ArgoModel):
    """Body of `PATCH /api/v1/applications/{name}`: `patch` is a JSON or merge patch as a string."""

    name: str = ""
    patch: str = ""
    patch_type: str = ""
    app_namespace: str = ""
    project: str = ""


class ApplicationResourceResponse(ArgoModel):
    """A live resource manifest as a JSON string."""

    manifest: str = ""


class ApplicationSyncWindow(ArgoModel):
    """A sync window as reported for one application."""

    kind: str = ""
    schedule: str = ""
    duration: str = ""
    manual_sync: bool = False


class ApplicationSyncWindowsResponse(ArgoModel):
    """Sync windows affecting an application; `canSync` is always written upstream."""

    active_windows: list[ApplicationSyncWindow] = Field(default_factory=list)
    assigned_windows: list[ApplicationSyncWindow] = Field(default_factory=list)
    can_sync: bool = always(False)


class LogEntry(ArgoModel):
    """A container log line of the log stream."""

    content: str = ""
    time_stamp: Time | None = None
    last: bool = False
    time_stamp_str: str = ""
    pod_name: str = ""


# --- tree and diffs ------------------------------------------------------------------------------


class ResourceRef(ArgoModel):
    """Identity of a live resource."""

    group: str = ""
    version: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    uid: str = ""


class InfoItem(ArgoModel):
    """A name/value shown on a tree node."""

    name: str = ""
    value: str = ""


class ResourceNetworkingInfo(ArgoModel):
    """Networking details of a tree node; `ingress` entries are core LoadBalancerIngress objects."""

    target_labels: dict[str, str] = Field(default_factory=dict)
    target_refs: list[ResourceRef] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    ingress: list[dict[str, Any]] = Field(default_factory=list)
    external_urls: list[str] = Field(default_factory=list, alias="externalURLs")


class ResourceNode(ArgoModel):
    """A node of the resource tree; Go inlines the `ResourceRef` members at the top level."""

    group: str = ""
    version: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    uid: str = ""
    parent_refs: list[ResourceRef] = Field(default_factory=list)
    info: list[InfoItem] = Field(default_factory=list)
    networking_info: ResourceNetworkingInfo | None = None
    resource_version: str = ""
    images: list[str] = Field(default_factory=list)
    health: HealthStatus | None = None
    created_at: Time | None = None


class HostResourceInfo(ArgoModel):
    """Resource usage of a node for the app."""

    resource_name: str = ""
    requested_by_app: int = 0
    requested_by_neighbors: int = 0
    capacity: int = 0


class HostInfo(ArgoModel):
    """A node hosting app pods; `systemInfo` (core NodeSystemInfo) is kept as a raw object."""

    name: str = ""
    resources_info: list[HostResourceInfo] = Field(default_factory=list)
    system_info: dict[str, Any] | None = None
    labels: dict[str, str] = Field(default_factory=dict)


class ApplicationTree(ArgoModel):
    """Response of the resource-tree endpoint."""

    nodes: list[ResourceNode] = Field(default_factory=list)
    orphaned_nodes: list[ResourceNode] = Field(default_factory=list)
    hosts: list[HostInfo] = Field(default_factory=list)
    shards_count: int = 0


class ResourceDiff(ArgoModel):
    """A managed resource with its states as JSON strings (`"null"` for a missing side)."""

    group: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    target_state: str = ""
    live_state: str = ""
    diff: str = ""
    hook: bool = False
    normalized_live_state: str = ""
    predicted_live_state: str = ""
    resource_version: str = ""
    modified: bool = False


class ManagedResourcesResponse(ArgoModel):
    """Response of the managed-resources endpoint."""

    items: list[ResourceDiff] = Field(default_factory=list)


class RevisionMetadata(ArgoModel):
    """Commit metadata; `date` is a pointer without omitempty (`null` when unknown)."""

    author: str = ""
    date: Time | None = always(None)
    tags: list[str] = Field(default_factory=list)
    message: str = ""
    signature_info: str = ""
    references: list[dict[str, Any]] = Field(default_factory=list)
    source_integrity_result: dict[str, Any] | None = None
