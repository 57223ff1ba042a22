"""ApplicationService operations backed by the controller: Sync, Rollback, TerminateOperation, Get with ``refresh``,
ResourceTree and ManagedResources (upstream ``server/application/application.go``), plus the controller wiring.

Sync follows upstream's order: existence-hiding lookup (``get``), sync windows for a manual sync (403 ``cannot sync:
blocked by sync window``), ``sync`` RBAC, the deleting check, revision resolution (400 when unresolvable), then the
operation is recorded with a compare-and-swap so two concurrent requests cannot both win (the loser answers
FailedPrecondition ``another operation is already in progress``) and ``status.operationState`` is nulled. The
stored operation uses upstream's stored names (``syncStrategy``, plain ``syncOptions``, ``retry``, ``info``).
Rollback builds an apply-strategy sync from a history entry and is refused while auto-sync is on; terminate marks
the running operation ``Terminating`` for the controller to finish. Get with ``refresh`` sets the refresh
annotations and waits for the controller to rewrite the app without them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from argocd_server.auth.secretbox import SecretBox
from argocd_server.config import ArgoConfig
from argocd_server.db.engine import read_only
from argocd_server.db.models import RepoCredsRow, RepositoryRow
from argocd_server.db.stores.clusters import ClusterStore
from argocd_server.db.stores.projects import ProjectStore
from argocd_server.engine.clusters import ClusterProvider, KubeClusterProvider
from argocd_server.engine.controller import (
    ANNOTATION_REFRESH,
    ANNOTATION_REFRESH_TIMESTAMP,
    ApplicationController,
)
from argocd_server.engine.source import Refresh, RepoCredentials, RepoType, SourceRenderer, SourceSettings
from argocd_server.errors import ArgoError, FailedPrecondition, InvalidArgument, PermissionDenied
from argocd_server.kube import ClientOptions, ClusterClientFactory, ClusterCredentials, InClusterResolver
from argocd_server.schemas import to_wire
from argocd_server.schemas.application import (
    ApplicationRollbackRequest,
    ApplicationSource,
    ApplicationSyncRequest,
)
from argocd_server.schemas.cluster import ClusterConfig
from argocd_server.schemas.project import SyncWindow
from argocd_server.services.access import Access
from argocd_server.services.applications import ApplicationService, _validation_text
from argocd_server.services.clusters import cluster_credentials, secret_purpose
from argocd_server.services.repositories import resolve_repo_credentials
from argocd_server.services.syncwindows import active_windows, can_sync, matching_windows
from argocd_server.settings import Settings
from argocd_server.tools import find_binary

__all__ = ["ApplicationOperationsService", "EmbeddedCluster", "build_controller"]

log = logging.getLogger(__name__)

REFRESH_DEADLINE_SECONDS = 30.0
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"


def _now_nano() -> str:
    return datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- wiring ---------------------------------------------------------------------------------------------------------


class EmbeddedCluster:
    """The simulator that stands in for ``https://kubernetes.default.svc`` outside a pod, started on first use."""

    def __init__(self, snapshot: Path) -> None:
        self._snapshot = snapshot
        self._lock = threading.Lock()
        self._sim: Any = None

    def url(self) -> str:
        with self._lock:
            if self._sim is None:
                from kubesim.server import KubeSim

                self._sim = KubeSim(snapshot=self._snapshot, pace=1.0).start()
                log.warning("in-cluster destination is a simulated cluster (embedded kubesim at %s)", self._sim.url)
            return str(self._sim.url)

    def stop(self) -> None:
        with self._lock:
            if self._sim is not None:
                self._sim.stop()
                self._sim = None


class RepoCredentialsCache:
    """The sources layer's credential lookup, remembered per (URL, project).

    Every app compare, sync request and validation asks for its repository's credentials; resolving them reads
    the repository, its credential templates and opens the sealed secrets, which cost more than the rest of a
    small app's work. Answers are kept until a session of this process commits a change to a repository or a
    template, and at most ``ttl`` seconds, which bounds how long a change made by another process (a separate
    controller, another replica) takes to be seen.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        box: SecretBox,
        *,
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, int, RepoCredentials | None]] = {}
        self._generation = 0
        event.listen(sessions, "after_flush", self._after_flush)
        event.listen(sessions, "after_commit", self._after_commit)

    @staticmethod
    def _after_flush(session: Session, _context: Any) -> None:
        touched = (*session.new, *session.dirty, *session.deleted)
        if any(isinstance(obj, (RepositoryRow, RepoCredsRow)) for obj in touched):
            session.info["repo_credentials_changed"] = True

    def _after_commit(self, session: Session) -> None:
        if session.info.pop("repo_credentials_changed", False):
            self.invalidate()

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def __call__(self, url: str, project: str) -> RepoCredentials | None:
        key = (url, project)
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and now - entry[0] < self._ttl:
                return entry[2]
            generation = self._generation
        found = _repo_credentials(self._sessions, self._box, url, project)
        with self._lock:
            # A change committed while this lookup ran may not be in its answer: do not keep it.
            if generation == self._generation:
                self._entries[key] = (now, generation, found)
        return found


def _repo_credentials(
    sessions: sessionmaker[Session], box: SecretBox, url: str, project: str
) -> RepoCredentials | None:
    with sessions() as session:
        found = resolve_repo_credentials(session, box, url, project=project)
    if not found:
        return None
    kind = str(found.get("type") or "git")
    return RepoCredentials(
        url=url,
        type=RepoType(kind) if kind in {t.value for t in RepoType} else RepoType.GIT,
        username=str(found.get("username") or ""),
        password=str(found.get("password") or ""),
        bearer_token=str(found.get("bearerToken") or ""),
        ssh_private_key=str(found.get("sshPrivateKey") or ""),
        tls_client_cert_data=str(found.get("tlsClientCertData") or ""),
        tls_client_cert_key=str(found.get("tlsClientCertKey") or ""),
        insecure=bool(found.get("insecure")),
        proxy=str(found.get("proxy") or ""),
        no_proxy=str(found.get("noProxy") or ""),
        enable_lfs=bool(found.get("enableLfs")),
        force_http_basic_auth=bool(found.get("forceHttpBasicAuth")),
        enable_oci=bool(found.get("enableOCI")),
        insecure_oci_force_http=bool(found.get("insecureOCIForceHttp")),
    )


def _cluster_credentials(sessions: sessionmaker[Session], box: SecretBox, server: str) -> ClusterCredentials | None:
    with sessions() as session:
        row = ClusterStore(session).get_by_server(server)
        if row is None:
            return None
        sealed, uid = row.secrets, row.uid
    config = ClusterConfig()
    if sealed:
        config = ClusterConfig.from_wire_json(box.open(sealed, purpose=secret_purpose(uid)))
    return cluster_credentials(server, config)


def _sync_window_gate(
    app: Mapping[str, Any],
    project: Mapping[str, Any] | None,
    *,
    manual: bool,
    now: datetime,
    started_at: datetime | None = None,
) -> bool:
    """The controller's view of the project's sync windows (``CanSync``), with ``syncOverrun`` for operations
    already running: one allowed at ``started_at`` may carry on when every window now blocking it allows overrun.
    Unparsable windows raise, and the controller treats that as blocked."""
    raw = ((project or {}).get("spec") or {}).get("syncWindows") or []
    if not raw:
        return True
    windows = [SyncWindow.from_wire(w) for w in raw]
    meta = app.get("metadata") or {}
    destination = (app.get("spec") or {}).get("destination") or {}
    target = {
        "app_name": str(meta.get("name") or ""),
        "namespace": str(destination.get("namespace") or ""),
        "server": str(destination.get("server") or ""),
        "cluster_name": str(destination.get("name") or ""),
    }
    if can_sync(windows, manual=manual, now=now, **target):
        return True
    if started_at is None or not can_sync(windows, manual=manual, now=started_at, **target):
        return False
    relevant = matching_windows(windows, **target)
    denies = [w for w in active_windows(relevant, now) if w.kind == "deny"]
    if denies:
        return all(w.sync_overrun for w in denies)
    allows = [w for w in relevant if w.kind == "allow"]
    return bool(allows) and all(w.sync_overrun for w in allows)


def build_controller(
    *, settings: Settings, config: ArgoConfig, sessions: sessionmaker[Session], secret_box: SecretBox
) -> tuple[ApplicationController, ClusterProvider, EmbeddedCluster | None]:
    """The controller and its collaborators (nothing is started or connected here)."""
    renderer = SourceRenderer(
        SourceSettings(
            data_dir=settings.data_dir / "sources",
            git_binary=find_binary("git", settings.git_path) or "git",
            helm_binary=find_binary("helm", settings.helm_path) or "helm",
            kubectl_binary=find_binary("kubectl", settings.kubectl_path) or "kubectl",
            kustomize_binary=find_binary("kustomize", settings.kustomize_path) if settings.kustomize_path else None,
            exec_timeout=settings.exec_timeout_seconds,
            git_request_timeout=settings.git_request_timeout_seconds,
            manifest_cache_disk_bytes=settings.manifest_cache_disk_bytes,
        ),
        sealer=secret_box,
    )
    embedded = EmbeddedCluster(settings.data_dir / "kubesim-snapshot.json") if settings.embedded_kubesim else None
    factory = ClusterClientFactory(
        options=ClientOptions(),
        in_cluster=InClusterResolver(
            kubeconfig_path=str(settings.kubeconfig) if settings.kubeconfig else None,
            kubeconfig_context=settings.kube_context,
        ),
    )
    provider = KubeClusterProvider(
        factory=factory,
        credentials=lambda server: _cluster_credentials(sessions, secret_box, server),
        embedded_url=embedded.url if embedded is not None else None,
    )
    controller = ApplicationController(
        sessions=sessions,
        renderer=renderer,
        cluster_provider=provider,
        repo_credentials=RepoCredentialsCache(sessions, secret_box, ttl=settings.credentials_cache_seconds),
        config=config,
        namespace=settings.namespace,
        reconciliation_seconds=config.reconciliation_seconds or settings.reconciliation_seconds,
        jitter_seconds=settings.reconciliation_jitter_seconds,
        workers=settings.controller_workers,
        wave_delay=settings.sync_wave_delay_seconds,
        poll_interval=settings.controller_poll_seconds,
        sync_windows=_sync_window_gate,
        server_side_diff=settings.controller_server_side_diff,
    )
    return controller, provider, embedded


# --- the service ----------------------------------------------------------------------------------------------------


class ApplicationOperationsService(ApplicationService):
    """Operations on one application that involve the controller."""

    def __init__(
        self,
        *,
        session: Session,
        access: Access,
        namespace: str,
        app_namespaces: Sequence[str] = (),
        controller: ApplicationController | None = None,
    ) -> None:
        super().__init__(session=session, access=access, namespace=namespace, app_namespaces=app_namespaces)
        self._controller = controller

    def _read(self) -> None:
        """Start a read-only (deferred) transaction: the lookup consults other sessions (project index) and must
        not hold SQLite's write lock while it does."""
        self._session.rollback()
        read_only(self._session)

    def _doc(self, name: str, *, app_namespace: str, project: str) -> tuple[dict[str, Any], str]:
        self._read()
        row = self._lookup(name, app_namespace=app_namespace, project=project)
        doc: dict[str, Any] = orjson.loads(row.doc)
        return doc, row.namespace

    def _project(self, name: str) -> dict[str, Any] | None:
        text = ProjectStore(self._session).get_doc(self._ns, name or "default")
        return orjson.loads(text) if text is not None else None

    # --- sync ---

    def _resolve(self, source: dict[str, Any], revision: str, project: str) -> str:
        if self._controller is None:
            return revision
        candidate = dict(source, targetRevision=revision or source.get("targetRevision") or "HEAD")
        creds = self._controller.repo_credentials(str(source.get("repoURL") or ""), project)
        try:
            # The revision cache (ls-remote answers kept for its TTL, refreshed by every normal/hard refresh) is
            # what upstream's repo server answers ResolveRevision from as well.
            return self._controller.renderer.resolve_revision(candidate, credentials=creds, refresh=Refresh.NONE)
        except ArgoError as exc:
            raise InvalidArgument(f"error resolving revision: {exc.message}") from None

    def _check_windows(self, doc: dict[str, Any]) -> None:
        project = self._project(str(doc["spec"].get("project") or "default")) or {}
        raw = (project.get("spec") or {}).get("syncWindows") or []
        if not raw:
            return
        windows = [SyncWindow.from_wire(w) for w in raw]
        destination = doc["spec"].get("destination") or {}
        allowed = can_sync(
            windows,
            app_name=str(doc["metadata"]["name"]),
            namespace=str(destination.get("namespace") or ""),
            server=str(destination.get("server") or ""),
            cluster_name=str(destination.get("name") or ""),
            manual=True,
            now=datetime.now(tz=UTC),
        )
        if not allowed:
            raise PermissionDenied("cannot sync: blocked by sync window")

    def sync(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            request = ApplicationSyncRequest.from_wire(body)
        except ValidationError as exc:
            raise InvalidArgument(_validation_text(exc)) from None
        doc, namespace = self._doc(name, app_namespace=request.app_namespace, project=request.project)
        self._check_windows(doc)
        self._session.rollback()  # no transaction across the revision resolution (git)
        spec = doc["spec"]
        self._access.check("applications", "sync", self._rbac_name(spec["project"], namespace, name))
        if doc["metadata"].get("deletionTimestamp"):
            raise FailedPrecondition("application is deleting")
        project = str(spec.get("project") or "default")
        source: ApplicationSource | None = None
        sources: list[ApplicationSource] | None = None
        revision = request.revision
        revisions = list(request.revisions)
        if spec.get("sources"):
            sources = [ApplicationSource.from_wire(s) for s in spec["sources"]]
            positions = list(request.source_positions)
            resolved = []
            for index, src in enumerate(spec["sources"]):
                wanted = ""
                if (index + 1) in positions:
                    wanted = revisions[positions.index(index + 1)]
                resolved.append(self._resolve(src, wanted, project))
            revisions = resolved
            revision = ""
        elif spec.get("source"):
            source = ApplicationSource.from_wire(spec["source"])
            revision = self._resolve(spec["source"], revision, project)
        operation = request.to_operation(username=self._access.username, source=source, sources=sources)
        stored = to_wire(operation)
        sync = stored.setdefault("sync", {})
        if revision:
            sync["revision"] = revision
        if revisions:
            sync["revisions"] = revisions
        policy = spec.get("syncPolicy") or {}
        if not sync.get("syncOptions") and policy.get("syncOptions"):
            sync["syncOptions"] = list(policy["syncOptions"])
        if request.retry_strategy is None and policy.get("retry"):
            stored["retry"] = policy["retry"]
        return self._set_operation(name, namespace, stored)

    def _set_operation(self, name: str, namespace: str, operation: dict[str, Any]) -> dict[str, Any]:
        def mutate(current: dict[str, Any]) -> tuple[dict[str, Any], bool]:
            if current.get("operation"):
                raise FailedPrecondition("another operation is already in progress")
            if current["metadata"].get("deletionTimestamp"):
                raise FailedPrecondition("application is deleting")
            current["operation"] = operation
            current.setdefault("status", {}).pop("operationState", None)
            return current, False

        app = self._update_with_retry(name, namespace, mutate)
        if self._controller is not None and self._controller.running:
            self._controller.request_operation(namespace, name)
        return app

    # --- rollback ---

    def rollback(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            request = ApplicationRollbackRequest.from_wire(body)
        except ValidationError as exc:
            raise InvalidArgument(_validation_text(exc)) from None
        doc, namespace = self._doc(name, app_namespace=request.app_namespace, project=request.project)
        spec = doc["spec"]
        self._access.check("applications", "sync", self._rbac_name(spec["project"], namespace, name))
        if doc["metadata"].get("deletionTimestamp"):
            raise FailedPrecondition("application is deleting")
        automated = (spec.get("syncPolicy") or {}).get("automated")
        if automated is not None and automated.get("enabled") is not False:
            raise FailedPrecondition("rollback cannot be initiated when auto-sync is enabled")
        entry = next((h for h in doc.get("status", {}).get("history") or [] if int(h.get("id", 0)) == request.id), None)
        if entry is None:
            raise InvalidArgument(f"application {namespace}/{name} does not have deployment with id {request.id}")
        sync: dict[str, Any] = {"syncStrategy": {"apply": {}}}
        if entry.get("sources"):
            sync["sources"] = entry["sources"]
            sync["revisions"] = entry.get("revisions") or []
        else:
            sync["revision"] = entry.get("revision", "")
            sync["source"] = entry.get("source")
        if request.dry_run:
            sync["dryRun"] = True
        if request.prune:
            sync["prune"] = True
        options = (spec.get("syncPolicy") or {}).get("syncOptions")
        if options:
            sync["syncOptions"] = list(options)
        initiated = {"username": self._access.username} if self._access.username else {}
        operation = {"sync": sync, "initiatedBy": initiated, "retry": {}}
        return self._set_operation(name, namespace, operation)

    # --- terminate ---

    def terminate_operation(self, name: str, *, app_namespace: str, project: str) -> None:
        doc, namespace = self._doc(name, app_namespace=app_namespace, project=project)
        self._access.check("applications", "sync", self._rbac_name(doc["spec"]["project"], namespace, name))

        def mutate(current: dict[str, Any]) -> tuple[dict[str, Any], bool]:
            state = (current.get("status") or {}).get("operationState")
            if not current.get("operation") or not state:
                raise InvalidArgument("Unable to terminate operation. No operation is in progress")
            state["phase"] = "Terminating"
            return current, False

        self._update_with_retry(name, namespace, mutate)
        if self._controller is not None and self._controller.running:
            self._controller.request_operation(namespace, name)

    # --- get with refresh ---

    def get_refreshed(self, name: str, *, refresh: str, app_namespace: str, project: str) -> bytes:
        """Get; with ``refresh`` set the annotation, wait for the controller's comparison, return the fresh app."""
        if not refresh:
            self._read()
            return self.get(name, app_namespace=app_namespace, project=project)
        level = Refresh.HARD if refresh == "hard" else Refresh.NORMAL
        self._read()
        row = self._lookup(name, app_namespace=app_namespace, project=project)
        namespace = row.namespace
        self._session.rollback()
        stamp = _now_nano()

        def mutate(current: dict[str, Any]) -> tuple[dict[str, Any], bool]:
            annotations = current["metadata"].setdefault("annotations", {})
            annotations[ANNOTATION_REFRESH] = level.value
            annotations[ANNOTATION_REFRESH_TIMESTAMP] = stamp
            return current, False

        self._update_with_retry(name, namespace, mutate)
        controller = self._controller
        if controller is not None and not controller.running:
            # No controller loop in this process: compare synchronously, as a controller-less server must.
            controller.refresh_app(namespace, name, level=level)
        elif controller is not None:
            controller.request_refresh(namespace, name, level=level)
        deadline = time.monotonic() + REFRESH_DEADLINE_SECONDS
        while True:
            # Writes go through UPDATE statements, so identity-mapped rows must be re-read, not reused.
            self._read()
            self._session.expire_all()
            current = self._store.get(namespace, name)
            if current is None:
                return self.get(name, app_namespace=app_namespace, project=project)
            text = current.doc
            # Never sleep inside a transaction: on SQLite it would hold the lock the controller needs to answer.
            self._session.rollback()
            doc = orjson.loads(text)
            annotations = doc["metadata"].get("annotations") or {}
            if annotations.get(ANNOTATION_REFRESH_TIMESTAMP) != stamp or ANNOTATION_REFRESH not in annotations:
                return text.encode()
            if time.monotonic() > deadline:
                raise ArgoError("application refresh deadline exceeded")
            time.sleep(0.05)

    # --- tree and managed resources ---

    def resource_tree(self, name: str, *, app_namespace: str, project: str) -> dict[str, Any]:
        doc, _ = self._doc(name, app_namespace=app_namespace, project=project)
        project_doc = self._project(str(doc["spec"].get("project") or "default"))
        self._session.rollback()
        if self._controller is None:
            return {}
        return self._controller.resource_tree(doc, project_doc)

    def managed_resources(
        self, name: str, *, app_namespace: str, project: str, filters: dict[str, str]
    ) -> dict[str, Any]:
        doc, _ = self._doc(name, app_namespace=app_namespace, project=project)
        project_doc = self._project(str(doc["spec"].get("project") or "default"))
        self._session.rollback()
        if self._controller is None:
            return {"items": []}
        items = [
            item
            for item in self._controller.managed_resources(doc, project_doc)
            if not item.get("hook")
            and all(not value or str(item.get(key) or "") == value for key, value in filters.items())
        ]
        return {"items": items}
