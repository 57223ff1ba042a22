"""ApplicationSetService: list, create (upsert, dry run), get, delete and Generate (upstream server/applicationset).

The RBAC object of a set is ``<project>/<name>`` (``<project>/<namespace>/<name>`` outside the control-plane
namespace) where the project is ``spec.template.spec.project``, empty meaning ``default``. Unlike applications,
upstream does not hide existence here: a missing set is a 404 and a forbidden one a detailed 403.

Generate and a dry-run create run the set's generators (``engine/appset``) and render its template: Generate answers
the Applications, the dry run the set with ``status.resources`` listing them. Both need ``applicationsets create`` on
the set and an existing project; generation reads registered clusters and repositories (``appset_generate.py``)
after the request's database transaction has ended. The controller that creates and updates Applications from
stored sets is not part of this server.

The resource tree and events are in ``services/appset_views.py``, the watch stream in ``services/streams.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.orm import Session

from argocd_server.auth.rbac import glob_match
from argocd_server.auth.rbac_validation import app_rbac_name
from argocd_server.db.models import ApplicationSetRow
from argocd_server.db.stores.applicationsets import ApplicationSetStore
from argocd_server.db.stores.projects import ProjectStore
from argocd_server.engine.appset import ClusterInfo, generate_applications, validate_generators
from argocd_server.engine.source import SourceRenderer
from argocd_server.errors import ArgoError, InvalidArgument, NotFound
from argocd_server.labels import parse_selector
from argocd_server.schemas.application import HealthStatus, ResourceStatus
from argocd_server.schemas.applicationset import ApplicationSet
from argocd_server.schemas.common import to_wire
from argocd_server.services.access import Access
from argocd_server.services.appset_generate import (
    GitRepoFiles,
    RepoCredentialsLookup,
    generation_failure,
    stored_clusters,
)
from argocd_server.services.objects import dumps, new_uid, same_json, stamp_new, utcnow

GENERATOR_KEYS = frozenset(
    {
        "list",
        "clusters",
        "git",
        "scmProvider",
        "clusterDecisionResource",
        "pullRequest",
        "matrix",
        "merge",
        "selector",
        "plugin",
    }
)
"""Members of an ApplicationSetGenerator; ``selector`` post-filters and counts as set, as upstream's check does."""

_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def _parse(body: dict[str, Any], *, root: str = "") -> dict[str, Any]:
    """The body as the wire document upstream would decode it into (unknown keys dropped).

    ``root`` is the path of the set inside the request message (``applicationSet.`` for Generate).
    """
    try:
        model = ApplicationSet.from_wire(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_context=False, include_input=False)[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise InvalidArgument(
            f"json: cannot unmarshal into Go struct field ApplicationSet.{root}{where}: "
            f"{first.get('msg', 'invalid value')}"
        ) from None
    doc = to_wire(model)
    spec = doc["spec"]
    if spec.get("generators"):
        spec["generators"] = [_known_generator_members(g) for g in spec["generators"]]
    validate_generators(spec, root=root)
    return doc


def _known_generator_members(generator: dict[str, Any]) -> dict[str, Any]:
    # Go decodes a generator into a struct, so members it does not know never reach the stored object.
    return {k: v for k, v in generator.items() if k in GENERATOR_KEYS}


def _check_generators(name: str, raw_generators: Any) -> None:
    """upstream CheckInvalidGenerators: every generator must set at least one known member."""
    if not isinstance(raw_generators, list):
        return
    unknown: set[str] = set()
    invalid = False
    for generator in raw_generators:
        if not isinstance(generator, dict):
            continue
        if not any(generator.get(k) is not None for k in GENERATOR_KEYS):
            invalid = True
            unknown.update(k for k in generator if k not in GENERATOR_KEYS)
    if unknown:
        raise ArgoError(
            f"error validating ApplicationSets: ApplicationSet {name} contains unrecognized generators: "
            + ", ".join(sorted(unknown))
        )
    if invalid:
        raise ArgoError(f"error validating ApplicationSets: ApplicationSet {name} contains unrecognized generators")


def _check_name(name: str) -> None:
    """The API server's metadata.name validation of the ApplicationSet CRD (a DNS-1123 subdomain)."""
    prefix = f'error creating ApplicationSet: ApplicationSet.argoproj.io "{name}" is invalid: metadata.name'
    if not name:
        raise InvalidArgument(f"{prefix}: Required value: name or generateName is required")
    if len(name) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(name):
        raise InvalidArgument(
            f'{prefix}: Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case '
            "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        )


def _template_project(doc: dict[str, Any]) -> str:
    return str(doc["spec"].get("template", {}).get("spec", {}).get("project", "") or "")


def _resource_statuses(applications: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """upstream BuildResourceStatus for a set seen for the first time: one entry per generated application name.

    Generated applications carry no type metadata, so group, version and kind stay empty as upstream's do; a later
    application of the same name replaces an earlier one. Sorted by name (upstream's order is a map's).
    """
    by_name: dict[str, dict[str, Any]] = {}
    for app in applications:
        meta = app.get("metadata") or {}
        name = str(meta.get("name") or "")
        status = ResourceStatus(name=name, namespace=str(meta.get("namespace") or ""), health=HealthStatus())
        by_name[name] = to_wire(status)
    return [by_name[name] for name in sorted(by_name)]


class ApplicationSetService:
    """CRUD and Generate of ApplicationSets; RBAC resource ``applicationsets``."""

    def __init__(
        self,
        *,
        session: Session,
        access: Access,
        namespace: str,
        enabled_namespaces: Sequence[str] = (),
        renderer: SourceRenderer | None = None,
        repo_credentials: RepoCredentialsLookup | None = None,
    ) -> None:
        self._session = session
        self._access = access
        self._ns = namespace
        self._enabled = tuple(enabled_namespaces)
        self._store = ApplicationSetStore(session)
        self._renderer = renderer
        self._repo_credentials = repo_credentials

    # --- helpers -----------------------------------------------------------------------------------------

    def _namespace_enabled(self, namespace: str) -> bool:
        """security.IsNamespaceEnabled: the control-plane namespace, or a match of ``application.namespaces``."""
        if namespace == self._ns:
            return True
        for pattern in self._enabled:
            if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
                try:
                    if re.search(pattern[1:-1], namespace):
                        return True
                except re.error:
                    continue
            elif glob_match(pattern, namespace):
                return True
        return False

    def _rbac_name(self, project: str, namespace: str, name: str) -> str:
        return app_rbac_name(project or "default", namespace, name, control_plane_namespace=self._ns)

    def _row_rbac_name(self, row: ApplicationSetRow) -> str:
        return self._rbac_name(row.project, row.namespace, row.name)

    def _clusters(self) -> list[ClusterInfo]:
        try:
            return list(stored_clusters(self._session))
        finally:
            self._session.rollback()

    def _generate(self, doc: dict[str, Any], *, with_log: bool) -> list[dict[str, Any]]:
        """The applications the set generates; the request's transaction ends before any generator runs."""
        self._session.rollback()
        result = generate_applications(
            doc,
            clusters=self._clusters,
            repos=GitRepoFiles(self._renderer, self._repo_credentials),
        )
        if result.error is not None:
            name = str(doc["metadata"].get("name") or "")
            raise generation_failure(result, appset_name=name, with_log=with_log)
        return result.applications

    # --- operations --------------------------------------------------------------------------------------

    def list(self, *, projects: Sequence[str], selector: str, appset_namespace: str) -> bytes:
        """Sets the caller may ``get``, filtered by label selector and template project, sorted by name."""
        try:
            parsed = parse_selector(selector)
        except InvalidArgument as exc:
            # A plain error upstream, hence Unknown/500.
            raise ArgoError(f"error parsing the selector: {exc.message}") from None
        wanted = set(projects)
        docs = [
            doc.encode()
            for namespace, name, project, labels, doc in self._store.list_rows(namespace=appset_namespace)
            if parsed.matches(labels)
            and self._namespace_enabled(namespace)
            and self._access.allowed("applicationsets", "get", self._rbac_name(project, namespace, name))
            and (not wanted or project in wanted)
        ]
        return b'{"metadata":{},"items":[' + b",".join(docs) + b"]}"

    def get(self, *, name: str, appset_namespace: str) -> bytes:
        namespace = appset_namespace or self._ns
        if not self._namespace_enabled(namespace):
            raise ArgoError(f"namespace '{namespace}' is not permitted")
        row = self._store.get(namespace, name)
        if row is None:
            raise NotFound(f'error getting ApplicationSet: applicationset.argoproj.io "{name}" not found')
        self._access.check("applicationsets", "get", self._row_rbac_name(row))
        return row.doc.encode()

    def create(self, body: dict[str, Any], *, upsert: bool, dry_run: bool) -> dict[str, Any] | bytes:
        """Create a set; an identical one is returned as is, a different one needs ``upsert`` (and ``update``)."""
        doc = _parse(body)
        meta = doc["metadata"]
        name = str(meta.get("name", ""))
        raw_project = _template_project(doc)
        if "{{" in raw_project:
            raise ArgoError(
                "error validating ApplicationSets: the Argo CD API does not currently support creating "
                "ApplicationSets with templated `project` fields"
            )
        raw_spec = body.get("spec")
        _check_generators(name, raw_spec.get("generators") if isinstance(raw_spec, dict) else None)
        namespace = str(meta.get("namespace") or self._ns)
        if not self._namespace_enabled(namespace):
            raise ArgoError(f"namespace '{namespace}' is not permitted")
        project = raw_project or "default"
        rbac_name = self._rbac_name(project, namespace, name)
        self._access.check("applicationsets", "create", rbac_name)
        if ProjectStore(self._session).get(self._ns, project) is None:
            raise InvalidArgument(f"ApplicationSet references project {project} which does not exist")
        if dry_run:
            resources = _resource_statuses(self._generate(doc, with_log=False))
            status = doc.setdefault("status", {})
            if resources:
                status["resources"] = resources
            else:
                status.pop("resources", None)
            return doc
        _check_name(name)
        meta["namespace"] = namespace
        existing = self._store.get_for_update(namespace, name)
        if existing is None:
            return self._insert(doc, namespace=namespace, name=name, project=project)
        current: dict[str, Any] = orjson.loads(existing.doc)
        cur_meta = current["metadata"]
        same = (
            same_json(current["spec"], doc["spec"])
            and same_json(cur_meta.get("labels", {}), meta.get("labels", {}))
            and same_json(cur_meta.get("annotations", {}), meta.get("annotations", {}))
            and same_json(cur_meta.get("finalizers", []), meta.get("finalizers", []))
        )
        if same:
            return existing.doc.encode()
        if not upsert:
            raise InvalidArgument("existing ApplicationSet spec is different, use upsert flag to force update")
        self._access.check("applicationsets", "update", rbac_name)
        if existing.project != project:
            # Moving a set needs create in the new project and update in the old one.
            self._access.check("applicationsets", "create", rbac_name)
            self._access.check("applicationsets", "update", self._row_rbac_name(existing))
        return self._merge(existing, current, doc)

    def _insert(self, doc: dict[str, Any], *, namespace: str, name: str, project: str) -> bytes:
        meta = doc["metadata"]
        created = utcnow()
        uid = new_uid()
        stamp_new(meta, namespace=namespace, uid=uid, created=created)
        text = dumps(doc)
        self._store.add(
            ApplicationSetRow(
                namespace=namespace,
                name=name,
                uid=uid,
                project=project,
                labels=dict(meta.get("labels", {})),
                resource_version=1,
                generation=1,
                created_at=created,
                doc=text,
            )
        )
        self._session.commit()
        return text.encode()

    def _merge(self, row: ApplicationSetRow, current: dict[str, Any], new: dict[str, Any]) -> bytes:
        """upstream updateAppSet with merge: new spec and finalizers, labels and annotations merged."""
        spec_changed = not same_json(current["spec"], new["spec"])
        current["spec"] = new["spec"]
        cur_meta, new_meta = current["metadata"], new["metadata"]
        cur_meta["labels"] = {**cur_meta.get("labels", {}), **new_meta.get("labels", {})}
        cur_meta["annotations"] = {**cur_meta.get("annotations", {}), **new_meta.get("annotations", {})}
        cur_meta["finalizers"] = list(new_meta.get("finalizers", []))
        for key in ("labels", "annotations", "finalizers"):
            if not cur_meta[key]:
                cur_meta.pop(key)
        row.resource_version += 1
        if spec_changed:
            row.generation += 1
        cur_meta["resourceVersion"] = str(row.resource_version)
        cur_meta["generation"] = row.generation
        row.project = _template_project(current) or "default"
        row.labels = dict(cur_meta.get("labels", {}))
        row.doc = dumps(current)
        self._store.save(row)
        self._session.commit()
        return row.doc.encode()

    def generate(self, body: dict[str, Any]) -> dict[str, Any]:
        """Generate: the Applications the set in the body would produce (needs ``create`` on the set)."""
        raw = body.get("applicationSet", body.get("application_set"))
        if raw is None:
            raise ArgoError("error creating ApplicationSets: ApplicationSets is nil in request")
        if not isinstance(raw, dict):
            kind = "array" if isinstance(raw, list) else "string" if isinstance(raw, str) else "number"
            raise InvalidArgument(
                f"json: cannot unmarshal {kind} into Go struct field ApplicationSetGenerateRequest.applicationSet "
                "of type v1alpha1.ApplicationSet"
            )
        doc = _parse(raw, root="applicationSet.")
        meta = doc["metadata"]
        name = str(meta.get("name", ""))
        namespace = str(meta.get("namespace") or self._ns)
        if not self._namespace_enabled(namespace):
            raise ArgoError(f"namespace '{namespace}' is not permitted")
        raw_project = _template_project(doc)
        if "{{" in raw_project:
            raise ArgoError(
                "error validating ApplicationSets: the Argo CD API does not currently support creating "
                "ApplicationSets with templated `project` fields"
            )
        raw_spec = raw.get("spec")
        _check_generators(name, raw_spec.get("generators") if isinstance(raw_spec, dict) else None)
        project = raw_project or "default"
        self._access.check("applicationsets", "create", self._rbac_name(project, namespace, name))
        if ProjectStore(self._session).get(self._ns, project) is None:
            raise InvalidArgument(f"ApplicationSet references project {project} which does not exist")
        applications = self._generate(doc, with_log=True)
        return {"applications": applications} if applications else {}

    def delete(self, *, name: str, appset_namespace: str) -> None:
        namespace = appset_namespace or self._ns
        row = self._store.get_for_update(namespace, name)
        if row is None:
            # Upstream reads through the API server here (not its informer), hence the plural resource name.
            raise NotFound(f'error getting ApplicationSets: applicationsets.argoproj.io "{name}" not found')
        self._access.check("applicationsets", "delete", self._row_rbac_name(row))
        self._store.delete(row)
        self._session.commit()
