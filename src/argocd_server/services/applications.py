"""ApplicationService CRUD: list, get, create, update, update spec, patch, delete (upstream server/application).

Validation follows API reference §7.1 in upstream's order; existence hiding follows §1.4 (``_lookup``). Documents
are stored in upstream's JSON encoding, so get and list answer with stored bytes. Sync, rollback, resource tree and
the other engine-backed operations live with the controller.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import jsonpatch
import orjson
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from argocd_server.auth.rbac import glob_match
from argocd_server.auth.rbac_validation import app_rbac_name
from argocd_server.db.engine import for_writing, read_only
from argocd_server.db.models import ApplicationRow
from argocd_server.db.stores.applications import ApplicationStore, DocumentCache, StoredApp
from argocd_server.db.stores.projects import ProjectStore
from argocd_server.engine.controller import RepoCredentialsLookup
from argocd_server.engine.source import SourceRenderer
from argocd_server.errors import ArgoError, Internal, InvalidArgument, NotFound, PermissionDenied
from argocd_server.jsonmerge import merge_patch
from argocd_server.labels import parse_selector
from argocd_server.schemas import Application, ApplicationSpec, to_wire
from argocd_server.services.access import Access
from argocd_server.services.app_manifests import generation_problems
from argocd_server.services.clusters import resolve_destination
from argocd_server.services.matching import destination_permitted, source_permitted
from argocd_server.services.objects import dumps, new_uid, rfc3339, same_json, stamp_new, utcnow
from argocd_server.services.projects import global_project_docs, merge_global_projects

RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
FINALIZERS = {
    "": RESOURCES_FINALIZER,
    "foreground": RESOURCES_FINALIZER + "/foreground",
    "background": RESOURCES_FINALIZER + "/background",
}
MAX_CONFLICT_RETRIES = 10
_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_REF = re.compile(r"^[a-zA-Z0-9_-]+$")
_LIST_FIELDS = {
    "metadata.name",
    "metadata.namespace",
    "metadata.annotations",
    "metadata.labels",
    "metadata.creationTimestamp",
    "metadata.deletionTimestamp",
    "spec",
    "spec.destination",
    "spec.project",
    "spec.source",
    "spec.sources",
    "spec.sourceHydrator",
    "spec.syncPolicy",
    "status.sourceHydrator",
    "status.summary",
    "status.health",
    "status.resources",
    "status.sync.status",
    "status.sync.revision",
    "status.operationState.phase",
    "status.operationState.startedAt",
    "status.operationState.finishedAt",
    "status.operationState.operation.sync",
    "operation.sync",
}


class ApplicationNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f'applications.argoproj.io "{name}" not found')


@dataclass(frozen=True)
class _Target:
    namespace: str
    name: str
    project: str


def _not_empty(value: Any) -> bool:
    return value not in (None, "", {}, [], False, 0)


def _first_repo(spec: Mapping[str, Any]) -> str:
    if spec.get("source"):
        return str(spec["source"].get("repoURL", ""))
    sources = spec.get("sources") or []
    return str(sources[0].get("repoURL", "")) if sources else ""


def _normalize_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """What upstream stores: project filled, empty syncPolicy and zero source blocks dropped."""
    spec = dict(spec)
    spec["project"] = spec.get("project") or "default"
    policy = spec.get("syncPolicy")
    # Pointer members count when present (``automated: {}`` turns auto-sync on); the options list when non-empty.
    if policy is not None and not (
        any(policy.get(k) is not None for k in ("automated", "retry", "managedNamespaceMetadata"))
        or policy.get("syncOptions")
    ):
        spec.pop("syncPolicy")
    sources = ([spec["source"]] if spec.get("source") else []) + list(spec.get("sources") or [])
    for source in sources:
        for block in ("helm", "kustomize", "directory", "plugin"):
            if block in source and not source[block]:
                source.pop(block)
    return spec


def _spec_from_wire(raw: Any) -> dict[str, Any]:
    try:
        model = ApplicationSpec.from_wire(raw if raw is not None else {})
    except ValidationError as exc:
        raise InvalidArgument(_validation_text(exc)) from None
    return _normalize_spec(to_wire(model))


def _validation_text(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"json: cannot unmarshal into Go struct field {where}: {first.get('msg', 'invalid value')}"


def _app_from_wire(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidArgument("json: cannot unmarshal non-object into Go value of type v1alpha1.Application")
    try:
        model = Application.from_wire(raw)
    except ValidationError as exc:
        raise InvalidArgument(_validation_text(exc)) from None
    app = to_wire(model)
    app["spec"] = _normalize_spec(app.get("spec", {}))
    return app


def _select_fields(doc: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """Keep only whitelisted ``items.<path>`` paths (or all but those, with a leading ``-``)."""
    wanted = [f.removeprefix("items.") for f in fields]
    exclude = bool(wanted) and wanted[0].startswith("-")
    if exclude:
        wanted[0] = wanted[0][1:]
        paths = [p for p in _LIST_FIELDS if p not in set(wanted)]
    else:
        paths = [p for p in wanted if p in _LIST_FIELDS]
    out: dict[str, Any] = {}
    for path in paths:
        parts = path.split(".")
        value: Any = doc
        for part in parts:
            value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                break
        if value is None:
            continue
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return out


class ApplicationService:
    def __init__(
        self,
        *,
        session: Session,
        access: Access,
        namespace: str,
        app_namespaces: Sequence[str] = (),
        cm_data: Mapping[str, str] | None = None,
        renderer: SourceRenderer | None = None,
        repo_credentials: RepoCredentialsLookup | None = None,
        doc_cache: DocumentCache | None = None,
    ) -> None:
        self._session = session
        # Without the process's shared cache (a service built outside a request), a list loads every document.
        self._doc_cache = doc_cache if doc_cache is not None else DocumentCache()
        self._cm_data = cm_data or {}
        self._renderer = renderer
        self._repo_credentials = repo_credentials
        self._access = access
        self._ns = namespace
        self._app_namespaces = tuple(app_namespaces)
        self._store = ApplicationStore(session)

    # --- helpers -------------------------------------------------------------------------------------------

    def _namespace_enabled(self, namespace: str) -> bool:
        return namespace == self._ns or any(glob_match(p, namespace) for p in self._app_namespaces)

    def _rbac_name(self, project: str, namespace: str, name: str) -> str:
        return app_rbac_name(project or "default", namespace, name, control_plane_namespace=self._ns)

    def _lookup(self, name: str, *, app_namespace: str, project: str, action: str = "get") -> StoredApp:
        """The stored app, hiding existence as upstream's getAppEnforceRBAC does."""
        namespace = app_namespace or self._ns
        if not self._namespace_enabled(namespace):
            raise PermissionDenied()
        if project:
            if not self._access.allowed("applications", action, self._rbac_name(project, namespace, name)):
                raise PermissionDenied()
            row = self._store.get(namespace, name)
            if row is None or row.project != project:
                raise ApplicationNotFound(name)
            return row
        row = self._store.get(namespace, name)
        if row is None:
            raise PermissionDenied()
        if not self._access.allowed("applications", action, self._rbac_name(row.project, namespace, name)):
            raise PermissionDenied()
        return row

    def _project_doc(self, project: str, app_namespace: str) -> dict[str, Any]:
        """The effective project (global projects merged in) if it exists and admits the app's namespace."""
        store = ProjectStore(self._session)
        text = store.get_doc(self._ns, project)
        if text is not None:
            doc: dict[str, Any] = orjson.loads(text)
            if app_namespace == self._ns or any(
                glob_match(p, app_namespace) for p in doc.get("spec", {}).get("sourceNamespaces", [])
            ):
                globals_ = global_project_docs(store, namespace=self._ns, project=doc, cm_data=self._cm_data)
                return merge_global_projects(doc, globals_) if globals_ else doc
        raise InvalidArgument(f'app is not allowed in project "{project}", or the project does not exist')

    def _resolve_destination(self, app_name: str, destination: Mapping[str, Any]) -> tuple[str, str]:
        try:
            return resolve_destination(
                self._session,
                server=str(destination.get("server", "") or ""),
                name=str(destination.get("name", "") or ""),
            )
        except InvalidArgument as exc:
            raise InvalidArgument(f"application destination spec for {app_name} is invalid: {exc.message}") from None

    def _validate(self, app: dict[str, Any], *, generate: bool = False) -> None:
        """§7.1 steps 2-9 on a normalised app document (RBAC already checked); with ``generate`` (validate=true and
        a renderer) also step 7, manifest generation, which ends the session's transaction before rendering."""
        meta, spec = app["metadata"], app["spec"]
        name = str(meta.get("name", ""))
        namespace = str(meta.get("namespace") or self._ns)
        project = self._project_doc(spec["project"], namespace)
        if not name:
            raise ArgoError("resource name may not be empty")
        if len(name) > 253 or not _DNS1123.match(name):
            raise InvalidArgument(
                f'Application.argoproj.io "{name}" is invalid: metadata.name: Invalid value: "{name}": a lowercase '
                "RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
                "start and end with an alphanumeric character"
            )
        sources = list(spec.get("sources") or [])
        names = [s.get("name") for s in sources if s.get("name")]
        if len(names) != len(set(names)):
            raise ArgoError(f"application {name} has duplicate source names")
        server, cluster_name = self._resolve_destination(name, spec.get("destination", {}))

        problems: list[str] = []
        if spec.get("source") and sources:
            problems.append("application has both source and sources defined")
        if sources:
            refs = [s.get("ref") for s in sources if s.get("ref")]
            for ref in refs:
                if not _REF.match(str(ref)):
                    problems.append(f"invalid ref '{ref}': must match {_REF.pattern}")
            if len(refs) != len(set(refs)):
                problems.append("duplicate ref values in sources")
            for source in sources:
                if not source.get("repoURL") or not (source.get("path") or source.get("chart") or source.get("ref")):
                    problems.append(
                        "spec.source.repoURL and either source.path, source.chart, or source.ref are required"
                    )
                    break
        elif spec.get("source"):
            source = spec["source"]
            if not source.get("repoURL") or not (source.get("path") or source.get("chart")):
                problems.append("spec.source.repoURL and either spec.source.path or spec.source.chart are required")
        elif not spec.get("sourceHydrator"):
            problems.append("spec.source.repoURL and either spec.source.path or spec.source.chart are required")
        all_sources = ([spec["source"]] if spec.get("source") else []) + sources
        for source in all_sources:
            if source.get("chart") and not source.get("targetRevision"):
                problems.append("spec.source.targetRevision is required if the manifest source is a helm chart")
            url = source.get("repoURL")
            if url and not source_permitted(project["spec"].get("sourceRepos", []), url):
                problems.append(f"application repo {url} is not permitted in project '{spec['project']}'")
        dest_ns = str(spec.get("destination", {}).get("namespace", "") or "")
        if not destination_permitted(
            project["spec"].get("destinations", []), server=server, name=cluster_name, namespace=dest_ns
        ):
            problems.append(
                f"application destination server '{server}' and namespace '{dest_ns}' do not match any of the "
                f"allowed destinations in project '{spec['project']}'"
            )
        if problems:
            raise InvalidArgument(
                f"application spec for {name} is invalid: InvalidSpecError: " + ";InvalidSpecError: ".join(problems)
            )
        managed_by = meta.get("annotations", {}).get("argocd.argoproj.io/managed-by-url")
        if managed_by is not None:
            parsed = urlparse(managed_by)
            if parsed.scheme not in {"http", "https"} or not parsed.netloc:
                raise InvalidArgument(f"invalid managed-by URL: {managed_by}")
        if generate and self._renderer is not None:
            self._session.rollback()
            failures = generation_problems(
                app,
                renderer=self._renderer,
                repo_credentials=self._repo_credentials,
                controller_namespace=self._ns,
                app_label_key=self._cm_data.get("application.instanceLabelKey") or "app.kubernetes.io/instance",
            )
            if failures:
                raise InvalidArgument(
                    f"application spec for {name} is invalid: InvalidSpecError: " + ";InvalidSpecError: ".join(failures)
                )

    def _row_values(self, app: dict[str, Any]) -> dict[str, Any]:
        spec = app["spec"]
        dest = spec.get("destination", {})
        status = app.get("status", {})
        meta = app["metadata"]
        return {
            "project": spec["project"],
            "repo_url": _first_repo(spec),
            "dest_server": dest.get("server", ""),
            "dest_name": dest.get("name", ""),
            "dest_namespace": dest.get("namespace", ""),
            "sync_status": status.get("sync", {}).get("status", ""),
            "health_status": status.get("health", {}).get("status", ""),
            "labels": meta.get("labels", {}),
            "deleting": bool(meta.get("deletionTimestamp")),
            "operation_pending": bool(app.get("operation")),
            "doc": dumps(app),
        }

    def _write(self, row: StoredApp, app: dict[str, Any], *, spec_changed: bool) -> dict[str, Any]:
        """Compare-and-swap the row from ``app``; Aborted-style retry is the caller's."""
        version = row.resource_version + 1
        generation = row.generation + (1 if spec_changed else 0)
        app["metadata"]["resourceVersion"] = str(version)
        app["metadata"]["generation"] = generation
        values = {**self._row_values(app), "resource_version": version, "generation": generation}
        if not self._store.compare_and_swap(row.id, expected_version=row.resource_version, values=values):
            raise _Conflict
        return app

    def _update_with_retry(self, name: str, namespace: str, mutate: Any) -> dict[str, Any]:
        """Re-read and retry on conflicts as upstream does (10 attempts)."""
        for _ in range(MAX_CONFLICT_RETRIES):
            if not self._session.in_transaction():
                # A fresh attempt reads and then writes: take SQLite's write lock up front (see db.engine).
                for_writing(self._session)
            row = self._store.get(namespace, name)
            if row is None:
                raise ApplicationNotFound(name)
            current: dict[str, Any] = orjson.loads(row.doc)
            updated, spec_changed = mutate(current)
            try:
                result = self._write(row, updated, spec_changed=spec_changed)
            except _Conflict:
                self._session.rollback()
                continue
            except OperationalError as exc:
                # SQLite refuses to upgrade a read snapshot another writer has moved past: same as a conflict.
                if "locked" not in str(exc.orig):
                    raise
                self._session.rollback()
                continue
            self._session.commit()
            return result
        raise Internal("Failed to update application. Too many conflicts")

    # --- operations ----------------------------------------------------------------------------------------

    def list(
        self,
        *,
        name: str = "",
        projects: Sequence[str] = (),
        selector: str = "",
        repo: str = "",
        app_namespace: str = "",
        fields: Sequence[str] = (),
    ) -> bytes:
        try:
            parsed = parse_selector(selector)
        except InvalidArgument as exc:
            raise ArgoError(f"error parsing the selector: {exc.message}") from None
        namespaces = [app_namespace] if app_namespace else None
        rows = self._store.list_cached(
            self._doc_cache,
            namespaces=namespaces,
            projects=projects,
            name=name,
            repo=repo,
            with_labels=not parsed.empty,
        )
        self._session.rollback()
        # The resourceVersion covers every matching row, including those filtered out below.
        version = max((row[3] for row in rows), default=0)
        # Few distinct namespaces across thousands of rows: each is judged once; the rest are comprehensions over
        # the rows, the cheapest per-row loop Python has.
        enabled = {ns: self._namespace_enabled(ns) for ns in {row[0] for row in rows}}
        if not parsed.empty:
            matches = parsed.matches
            rows = [row for row in rows if matches(orjson.loads(row[5]) if row[5] else None)]
        if not all(enabled.values()):
            rows = [row for row in rows if enabled[row[0]]]
        rbac_name = self._rbac_name
        docs = [row[4] for row in rows]
        objects = [rbac_name(row[2], row[0], row[1]) for row in rows]
        allowed = self._access.allowed_many("applications", "get", objects)
        visible = [doc for doc, ok in zip(docs, allowed, strict=True) if ok]
        head = b'{"metadata":{"resourceVersion":"%d"},"items":[' % version
        if fields:
            return head + b",".join(orjson.dumps(_select_fields(orjson.loads(doc), fields)) for doc in visible) + b"]}"
        if not visible:
            return head + b"]}"
        # One copy of the megabytes: the framing goes onto the first and last documents, then a single join.
        visible[0] = head + visible[0]
        visible[-1] = visible[-1] + b"]}"
        return b",".join(visible)

    def get(self, name: str, *, app_namespace: str = "", project: str = "") -> bytes:
        row = self._lookup(name, app_namespace=app_namespace, project=project)
        return row.doc.encode()

    def create(self, raw: Any, *, upsert: bool, validate: bool) -> dict[str, Any]:
        app = _app_from_wire(raw)
        meta = app["metadata"]
        name = str(meta.get("name", ""))
        namespace = str(meta.get("namespace") or self._ns)
        meta["namespace"] = namespace
        self._access.check("applications", "create", self._rbac_name(app["spec"]["project"], namespace, name))
        generates = validate and self._renderer is not None
        if generates and not self._session.in_transaction():
            # Manifest generation ends the validating transaction before it renders: its reads need not hold
            # SQLite's write lock; the check-then-insert below takes it afresh.
            read_only(self._session)
        self._validate(app, generate=validate)
        if not self._namespace_enabled(namespace):
            raise ArgoError(f"namespace '{namespace}' is not permitted")
        app.pop("operation", None)
        app["status"] = to_wire(Application()).get("status", {})
        if not self._session.in_transaction():
            # Validation may have ended the transaction (manifest generation); the check-then-insert that follows
            # must hold SQLite's write lock from its first read (see db.engine.for_writing).
            for_writing(self._session)
        existing = self._store.get(namespace, name)
        if existing is None:
            created = utcnow()
            uid = new_uid()
            stamp_new(meta, namespace=namespace, uid=uid, created=created)
            self._store.add(
                ApplicationRow(
                    namespace=namespace,
                    name=name,
                    uid=uid,
                    resource_version=1,
                    generation=1,
                    created_at=created,
                    **self._row_values(app),
                )
            )
            self._session.commit()
            return app
        current: dict[str, Any] = orjson.loads(existing.doc)
        cur_meta = current["metadata"]
        same = (
            same_json(current["spec"], app["spec"])
            and same_json(cur_meta.get("labels", {}), meta.get("labels", {}))
            and same_json(cur_meta.get("annotations", {}), meta.get("annotations", {}))
            and same_json(cur_meta.get("finalizers", []), meta.get("finalizers", []))
        )
        if same:
            return current
        if not upsert:
            raise InvalidArgument("existing application spec is different, use upsert flag to force update")
        self._access.check("applications", "update", self._rbac_name(existing.project, namespace, name))

        def mutate(doc: dict[str, Any]) -> tuple[dict[str, Any], bool]:
            spec_changed = not same_json(doc["spec"], app["spec"])
            doc["spec"] = app["spec"]
            doc_meta = doc["metadata"]
            doc_meta["labels"] = {**doc_meta.get("labels", {}), **meta.get("labels", {})}
            doc_meta["annotations"] = {**doc_meta.get("annotations", {}), **meta.get("annotations", {})}
            doc_meta["finalizers"] = list(meta.get("finalizers", []))
            for key in ("labels", "annotations", "finalizers"):
                if not doc_meta[key]:
                    doc_meta.pop(key)
            return doc, spec_changed

        return self._update_with_retry(name, namespace, mutate)

    def _apply_update(self, row: StoredApp, compute: Any, *, validate: bool) -> dict[str, Any]:
        """Replace spec (and labels/annotations/finalizers when ``compute`` gives metadata) after RBAC and
        validation. ``compute(current_doc) -> (spec, meta | None)`` runs again on every conflict retry, so a
        patch is re-applied to the latest version and concurrent writers lose nothing."""
        namespace, name = row.namespace, row.name

        def mutate(doc: dict[str, Any], *, generate: bool = False) -> tuple[dict[str, Any], bool]:
            spec, meta = compute(doc)
            old_project = doc["spec"].get("project") or "default"
            if spec["project"] != old_project:
                self._access.check("applications", "create", self._rbac_name(spec["project"], namespace, name))
            self._access.check("applications", "update", self._rbac_name(old_project, namespace, name))
            spec_changed = not same_json(doc["spec"], spec)
            doc["spec"] = spec
            if meta is not None:
                for key in ("labels", "annotations", "finalizers"):
                    if meta.get(key):
                        doc["metadata"][key] = meta[key]
                    else:
                        doc["metadata"].pop(key, None)
            self._validate(doc, generate=generate)
            return doc, spec_changed

        if validate and self._renderer is not None:
            # Generation runs once, before the conflict-retry loop (upstream also validates before its update
            # loop): it ends the transaction, so the loop must start from a fresh read.
            mutate(orjson.loads(row.doc), generate=True)
        return self._update_with_retry(name, namespace, mutate)

    def update(self, path_name: str, raw: Any, *, validate: bool, project: str) -> dict[str, Any]:
        app = _app_from_wire(raw)
        namespace = str(app["metadata"].get("namespace") or self._ns)
        row = self._lookup(path_name, app_namespace=namespace, project=project)
        return self._apply_update(row, lambda _doc: (app["spec"], app["metadata"]), validate=validate)

    def update_spec(self, name: str, raw: Any, *, validate: bool, app_namespace: str, project: str) -> dict[str, Any]:
        spec = _spec_from_wire(raw)
        row = self._lookup(name, app_namespace=app_namespace, project=project)
        saved = self._apply_update(row, lambda _doc: (spec, None), validate=validate)
        result: dict[str, Any] = saved["spec"]
        return result

    def patch(self, name: str, *, patch: str, patch_type: str, app_namespace: str, project: str) -> dict[str, Any]:
        if patch_type not in ("", "json", "merge"):
            raise InvalidArgument(f"Patch type '{patch_type}' is not supported")
        row = self._lookup(name, app_namespace=app_namespace, project=project)
        self._access.check("applications", "update", self._rbac_name(row.project, row.namespace, row.name))
        try:
            operations = orjson.loads(patch) if patch else ([] if patch_type != "merge" else {})
        except orjson.JSONDecodeError as exc:
            raise InvalidArgument(f"invalid patch: {exc.msg}") from None

        def compute(current: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
            try:
                if patch_type == "merge":
                    patched = merge_patch(current, operations)
                else:
                    patched = jsonpatch.apply_patch(current, operations)
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, ValueError) as exc:
                raise InvalidArgument(f"error applying patch: {exc}") from None
            app = _app_from_wire(patched)
            return app["spec"], app["metadata"]

        return self._apply_update(row, compute, validate=True)

    def delete(
        self, name: str, *, cascade: bool | None, propagation_policy: str, app_namespace: str, project: str
    ) -> None:
        policy = propagation_policy.lower()
        if cascade is False and policy:
            raise InvalidArgument("cannot set propagation policy when cascading is disabled")
        if policy not in FINALIZERS:
            raise InvalidArgument(f"invalid propagation policy: {propagation_policy}")
        row = self._lookup(name, app_namespace=app_namespace, project=project)
        self._access.check("applications", "delete", self._rbac_name(row.project, row.namespace, row.name))
        if cascade is False:
            for _ in range(MAX_CONFLICT_RETRIES):
                current = self._store.get(row.namespace, row.name)
                if current is None:
                    return
                if self._store.delete(current.id, expected_version=current.resource_version):
                    self._session.commit()
                    return
                self._session.rollback()
            raise Internal("Failed to update application. Too many conflicts")

        def mutate(doc: dict[str, Any]) -> tuple[dict[str, Any], bool]:
            meta = doc["metadata"]
            if not meta.get("deletionTimestamp"):
                finalizers = list(meta.get("finalizers", []))
                if not any(f in FINALIZERS.values() for f in finalizers):
                    finalizers.append(FINALIZERS[policy])
                meta["finalizers"] = finalizers
                meta["deletionTimestamp"] = rfc3339(utcnow())
            return doc, False

        self._update_with_retry(row.name, row.namespace, mutate)


class _Conflict(Exception):
    """Another writer changed the row between read and write."""
