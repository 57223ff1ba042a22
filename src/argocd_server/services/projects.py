"""ProjectService: AppProjects, their roles and role tokens, global projects, windows, events and links.

Reproduces upstream's ``server/project/project.go`` together with the AppProject validation and normalisation in
``pkg/apis/application/v1alpha1`` (ValidateProject, NormalizePolicies, NormalizeJWTTokens) and the global-project
merge of ``util/argo``. Stored documents are kept normalised (policies and token lists), so reads hand the stored
JSON text out unchanged.

Writes take the per-project store lock first, read, check, write, record the event and commit in one short
transaction, then invalidate the process-wide ``ProjectIndex`` so RBAC and token checks see the change at once.
"""

from __future__ import annotations

import builtins
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from argocd_server.auth.rbac import ProjectRole
from argocd_server.auth.rbac_validation import normalize_policy, validate_project_roles
from argocd_server.db.models import EventRow, ProjectRow
from argocd_server.db.stores.clusters import ClusterStore
from argocd_server.db.stores.events import EventStore
from argocd_server.db.stores.projects import ProjectStore
from argocd_server.errors import (
    Aborted,
    AlreadyExists,
    ArgoError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
)
from argocd_server.schemas.cluster import Cluster
from argocd_server.schemas.common import Event, EventSource, ObjectMeta, ObjectReference, to_wire, to_wire_json
from argocd_server.schemas.project import AppProject, SyncWindow
from argocd_server.schemas.repository import Repository
from argocd_server.services.access import Access
from argocd_server.services.auth import Authenticator
from argocd_server.services.matching import destination_permitted, source_permitted
from argocd_server.services.objects import dumps, loads, new_uid, same_json, stamp_new, stamp_update, utcnow
from argocd_server.services.project_index import ProjectIndex, normalize_jwt_tokens
from argocd_server.services.syncwindows import active_windows, validate_window

__all__ = [
    "DEFAULT_PROJECT",
    "ProjectService",
    "ensure_default_project",
    "global_project_docs",
    "merge_global_projects",
    "record_event",
]

DEFAULT_PROJECT = "default"
API_VERSION = "argoproj.io/v1alpha1"
KIND = "AppProject"
EVENT_COMPONENT = "argocd-server"
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"
IN_CLUSTER_NAME = "in-cluster"

_DNS1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_SERVICE_ACCOUNT_FORBIDDEN = set("!*[]{}\\/")
# Spec lists a global project contributes to the projects it selects (upstream's mergeVirtualProject).
_MERGED_LISTS = (
    "clusterResourceWhitelist",
    "clusterResourceBlacklist",
    "namespaceResourceWhitelist",
    "namespaceResourceBlacklist",
    "syncWindows",
    "sourceRepos",
    "destinations",
)
_RESOURCE_LISTS = (
    "clusterResourceWhitelist",
    "clusterResourceBlacklist",
    "namespaceResourceBlacklist",
    "namespaceResourceWhitelist",
)
# Go field names where they are not simply the capitalised JSON key (they show in the upsert diff text).
_GO_FIELD_NAMES = {"jwtTokens": "JWTTokens", "keyID": "KeyID", "iat": "IssuedAt", "exp": "ExpiresAt", "id": "ID"}


# --------------------------------------------------------------------------------------------------
# Documents


def _doc(text: str | bytes) -> dict[str, Any]:
    """A stored wire document as a dict (documents are always JSON objects)."""
    value: dict[str, Any] = loads(text)
    return value


def _not_found(name: str) -> NotFound:
    return NotFound(f'appprojects.argoproj.io "{name}" not found')


def _parse_project(raw: Any) -> dict[str, Any]:
    """The body's ``project`` as a canonical wire document; InvalidArgument when it is no AppProject."""
    if raw is None:
        raise InvalidArgument("missing payload 'project' in request")
    if not isinstance(raw, dict):
        raise InvalidArgument(
            f"json: cannot unmarshal {type(raw).__name__} into Go struct field .project of type v1alpha1.AppProject"
        )
    try:
        model = AppProject.from_wire(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise InvalidArgument(
            f"json: cannot unmarshal into Go struct field AppProject.{where}: {first.get('msg', 'invalid value')}"
        ) from None
    return to_wire(model)


def _canonical_text(doc: Mapping[str, Any]) -> str:
    # Round-trip through the wire model so what is stored is exactly what Go's encoder would write.
    return to_wire_json(AppProject.from_wire(doc)).decode()


def _normalize_policies(doc: dict[str, Any]) -> None:
    for role in doc.get("spec", {}).get("roles") or []:
        if role.get("policies"):
            role["policies"] = [normalize_policy(str(policy)) for policy in role["policies"]]


def _check_name(name: str) -> None:
    if not name:
        raise InvalidArgument(
            f'{KIND}.argoproj.io "" is invalid: metadata.name: Required value: name or generateName is required'
        )
    if len(name) > 253 or not _DNS1123.fullmatch(name):
        raise InvalidArgument(
            f'{KIND}.argoproj.io "{name}" is invalid: metadata.name: Invalid value: "{name}": a lowercase RFC 1123 '
            "subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end "
            "with an alphanumeric character (e.g. 'example.com', regex used for validation is "
            r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        )


def _check_glob(pattern: str, what: str) -> None:
    # Go's filepath.Match reports a malformed pattern; an unclosed class is the realistic case.
    depth = 0
    escaped = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
    if depth or escaped:
        raise InvalidArgument(f"{what} has an invalid format, '{pattern}': syntax error in pattern")


def validate_project(doc: Mapping[str, Any]) -> None:
    """Upstream's AppProject.ValidateProject on a wire document (§7.4), in upstream's order."""
    name = str(doc.get("metadata", {}).get("name", ""))
    spec = doc.get("spec", {})
    dest_keys: set[str] = set()
    for dest in spec.get("destinations") or []:
        server, dest_name, namespace = dest.get("server", ""), dest.get("name", ""), dest.get("namespace", "")
        if dest_name == "!*":
            raise InvalidArgument("name has an invalid format, '!*'")
        if server == "!*":
            raise InvalidArgument("server has an invalid format, '!*'")
        if namespace == "!*":
            raise InvalidArgument("namespace has an invalid format, '!*'")
        key = f"{server}/{namespace}" if server else f"{dest_name}/{namespace}"
        if key in dest_keys:
            raise InvalidArgument(f"destination '{key}' already added")
        dest_keys.add(key)
    namespaces: set[str] = set()
    for namespace in spec.get("sourceNamespaces") or []:
        if namespace in namespaces:
            raise InvalidArgument(f"source namespace '{namespace}' already added")
        namespaces.add(namespace)
    repos: set[str] = set()
    for repo in spec.get("sourceRepos") or []:
        if repo == "!*":
            raise InvalidArgument("source repository has an invalid format, '!*'")
        if repo in repos:
            raise InvalidArgument(f"source repository '{repo}' already added")
        repos.add(repo)
    validate_project_roles(
        project=name,
        roles=[
            ProjectRole(
                name=str(role.get("name", "")),
                policies=tuple(role.get("policies") or ()),
                groups=tuple(role.get("groups") or ()),
            )
            for role in spec.get("roles") or []
        ],
    )
    windows: set[tuple[str, str, str]] = set()
    for raw_window in spec.get("syncWindows") or []:
        window = SyncWindow.from_wire(raw_window)
        window_key = (window.kind, window.schedule, window.duration)
        label = f"'{window.kind}':'{window.schedule}':'{window.duration}'"
        if window_key in windows:
            raise AlreadyExists(f"window {label} already exists, update or edit")
        validate_window(window)
        if not (window.applications or window.namespaces or window.clusters):
            raise OutOfRange(f"window {label} requires one of application, cluster or namespace")
        windows.add(window_key)
    accounts: set[str] = set()
    for account in spec.get("destinationServiceAccounts") or []:
        server, namespace = account.get("server", ""), account.get("namespace", "")
        default_account = account.get("defaultServiceAccount", "")
        if "!" in server:
            raise InvalidArgument(f"server has an invalid format, '{server}'")
        if "!" in namespace:
            raise InvalidArgument(f"namespace has an invalid format, '{namespace}'")
        if not default_account.strip(" ") or _SERVICE_ACCOUNT_FORBIDDEN & set(default_account):
            raise InvalidArgument(f"defaultServiceAccount has an invalid format, '{default_account}'")
        _check_glob(server, "server")
        _check_glob(namespace, "namespace")
        key = f"{server}/{namespace}"
        if key in accounts:
            raise InvalidArgument(f"destinationServiceAccount '{key}' already added")
        accounts.add(key)


def _go_name(key: str) -> str:
    return _GO_FIELD_NAMES.get(key, key[:1].upper() + key[1:])


def _diff_paths(old: Any, new: Any, path: tuple[str, ...], out: list[str]) -> None:
    """Path elements of every change from ``old`` to ``new``, flattened as upstream's error text does."""
    if isinstance(old, dict) or isinstance(new, dict):
        old_map = old if isinstance(old, dict) else {}
        new_map = new if isinstance(new, dict) else {}
        keys = list(new_map) + [key for key in old_map if key not in new_map]
        for key in keys:
            _diff_paths(old_map.get(key), new_map.get(key), (*path, _go_name(key)), out)
        return
    if isinstance(old, list) or isinstance(new, list):
        old_list = old if isinstance(old, list) else []
        new_list = new if isinstance(new, list) else []
        for index in range(max(len(old_list), len(new_list))):
            left = old_list[index] if index < len(old_list) else None
            right = new_list[index] if index < len(new_list) else None
            if left is None or right is None:
                if left != right:
                    out.extend((*path, str(index)))
                continue
            _diff_paths(left, right, (*path, str(index)), out)
        return
    if old != new:
        out.extend(path)


def spec_difference_message(old_spec: Mapping[str, Any], new_spec: Mapping[str, Any]) -> str:
    base = "existing project spec is different; use upsert flag to force update"
    paths: list[str] = []
    _diff_paths(dict(old_spec), dict(new_spec), (), paths)
    return f'{base}; difference in keys "{",".join(paths)}"' if paths else base


# --------------------------------------------------------------------------------------------------
# Global projects


def _selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector semantics; an empty selector matches everything."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(str(key)) != str(value):
            return False
    for expression in selector.get("matchExpressions") or []:
        key = str(expression.get("key", ""))
        operator = str(expression.get("operator", ""))
        values = {str(v) for v in expression.get("values") or []}
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
        if operator not in {"In", "NotIn", "Exists", "DoesNotExist"}:
            return False
    return True


def _global_settings(cm_data: Mapping[str, str]) -> list[dict[str, Any]]:
    text = cm_data.get("globalProjects", "")
    if not text.strip():
        return []
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        # Upstream logs the parse error and carries on without global projects.
        return []
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def global_project_docs(
    store: ProjectStore, *, namespace: str, project: Mapping[str, Any], cm_data: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The global projects (argocd-cm ``globalProjects``) whose label selector matches ``project``."""
    settings = _global_settings(cm_data)
    if not settings:
        return []
    labels = project.get("metadata", {}).get("labels") or {}
    found: list[dict[str, Any]] = []
    for setting in settings:
        selector = setting.get("labelSelector") or {}
        if not isinstance(selector, dict) or not _selector_matches(selector, labels):
            continue
        row = store.get(namespace, str(setting.get("projectName", "")))
        if row is None:
            # Upstream stops looking at the first global project that does not exist.
            break
        found.append(_doc(row.doc))
    return found


def merge_global_projects(project: Mapping[str, Any], globals_: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The "virtual" project: the global projects' repos, destinations, windows and resource lists appended."""
    merged: dict[str, Any] = _doc(dumps(project))
    spec = merged.setdefault("spec", {})
    for global_project in globals_:
        other = global_project.get("spec", {})
        for key in _MERGED_LISTS:
            if other.get(key):
                spec[key] = list(spec.get(key) or []) + list(other[key])
    return merged


# --------------------------------------------------------------------------------------------------
# Events


def record_event(
    session: Session,
    *,
    obj: Mapping[str, Any],
    kind: str,
    reason: str,
    message: str,
    now: datetime,
    event_type: str = "Normal",
) -> None:
    """Store a core/v1 Event about ``obj`` (a wire document), as upstream's audit logger creates one."""
    meta = obj.get("metadata", {})
    name = str(meta.get("name", ""))
    namespace = str(meta.get("namespace", ""))
    uid = str(meta.get("uid", ""))
    event = Event(
        metadata=ObjectMeta(
            name=f"{name}.{time.time_ns():x}",
            namespace=namespace,
            uid=new_uid(),
            resource_version="1",
            creation_timestamp=now,
        ),
        involved_object=ObjectReference(
            kind=kind,
            namespace=namespace,
            name=name,
            uid=uid,
            api_version=API_VERSION,
            resource_version=str(meta.get("resourceVersion", "")),
        ),
        reason=reason,
        message=message,
        source=EventSource(component=EVENT_COMPONENT),
        first_timestamp=now,
        last_timestamp=now,
        count=1,
        type=event_type,
    )
    EventStore(session).add(
        EventRow(
            namespace=namespace,
            involved_kind=kind,
            involved_name=name,
            involved_uid=uid,
            reason=reason,
            type=event_type,
            created_at=now,
            doc=to_wire_json(event).decode(),
        )
    )


# --------------------------------------------------------------------------------------------------
# Deep links


_TEMPLATE_FIELD = re.compile(r"\{\{-?\s*\.([A-Za-z0-9_.]+)\s*-?\}\}")
_CONDITION = re.compile(r"""^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(==|!=)\s*("(?:[^"\\]|\\.)*"|'[^']*'|true|false)\s*$""")


def _lookup(obj: Any, dotted: str) -> Any:
    current = obj
    for part in dotted.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def _render_link(template: str, env: Mapping[str, Any]) -> str | None:
    """Go-template field references (``{{.project.metadata.name}}``); None for anything beyond that."""
    rendered = _TEMPLATE_FIELD.sub(
        lambda m: "<no value>" if (value := _lookup(env, m.group(1))) is None else _scalar_text(value), template
    )
    return None if "{{" in rendered else rendered


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return dumps(value)


def _condition_holds(condition: str, env: Mapping[str, Any]) -> bool:
    """``path == "literal"`` / ``path != "literal"`` and ``true``/``false``; anything else drops the link."""
    text = condition.strip()
    if text in {"true", "false"}:
        return text == "true"
    match = _CONDITION.match(text)
    if match is None:
        return False
    path, operator, literal = match.groups()
    expected: Any = literal == "true" if literal in {"true", "false"} else literal[1:-1].replace('\\"', '"')
    equal = _lookup(env, path) == expected
    return equal if operator == "==" else not equal


# --------------------------------------------------------------------------------------------------
# The service


def _names(items: Iterable[Mapping[str, Any]], key: str) -> list[str]:
    return [str(item.get(key, "")) for item in items]


def _difference(new: Sequence[str], old: Sequence[str]) -> list[str]:
    seen = set(old)
    return [item for item in new if item not in seen]


class ProjectService:
    def __init__(
        self,
        *,
        session: Session,
        access: Access,
        authenticator: Authenticator,
        project_index: ProjectIndex,
        cm_data: Mapping[str, str],
        namespace: str,
        clock: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
    ) -> None:
        self._session = session
        self._access = access
        self._auth = authenticator
        self._index = project_index
        self._cm = cm_data
        self._ns = namespace
        self._clock = clock
        self._store = ProjectStore(session)

    # --- helpers ---------------------------------------------------------------------------------------

    def _row(self, name: str) -> ProjectRow:
        row = self._store.get(self._ns, name)
        if row is None:
            raise _not_found(name)
        return row

    def _event(self, doc: Mapping[str, Any], *, reason: str, action: str) -> None:
        user = self._access.username or "Unknown user"
        record_event(self._session, obj=doc, kind=KIND, reason=reason, message=f"{user} {action}", now=utcnow())

    def _write(self, row: ProjectRow, doc: dict[str, Any], *, previous: Mapping[str, Any]) -> dict[str, Any]:
        """Store ``doc`` over ``row``: a new resourceVersion, generation bumped when spec or status changed."""
        normalize_jwt_tokens(doc)
        meta = doc.setdefault("metadata", {})
        stamp_update(
            meta,
            previous=previous.get("metadata", {}),
            resource_version=row.resource_version,
            generation=row.generation,
        )
        candidate = _doc(_canonical_text(doc))
        if same_json(candidate, previous):
            # Kubernetes answers a no-op update with the unchanged object and version.
            return candidate
        changed = not (
            same_json(candidate.get("spec"), previous.get("spec"))
            and same_json(candidate.get("status"), previous.get("status"))
        )
        row.resource_version += 1
        if changed:
            row.generation += 1
        candidate["metadata"]["resourceVersion"] = str(row.resource_version)
        candidate["metadata"]["generation"] = row.generation
        row.doc = _canonical_text(candidate)
        self._store.save(row)
        return _doc(row.doc)

    def _commit(self, name: str) -> None:
        self._session.commit()
        self._index.invalidate(name)

    def _is_member(self, groups: Sequence[str]) -> bool:
        principal = self._access.principal
        return principal is not None and any(group in groups for group in principal.groups)

    # --- reads -----------------------------------------------------------------------------------------

    def list(self) -> bytes:
        """AppProjectList of the projects the caller may get (the others silently left out)."""
        docs: builtins.list[str] = [
            row.doc for row in self._store.list(self._ns) if self._access.allowed("projects", "get", row.name)
        ]
        return b'{"metadata":{},"items":[' + ",".join(docs).encode() + b"]}"

    def get(self, name: str) -> bytes:
        self._access.check("projects", "get", name)
        return self._row(name).doc.encode()

    def get_detailed(self, name: str) -> dict[str, Any]:
        """The virtual project, its global projects, and its scoped repositories and clusters, sanitised."""
        self._access.check("projects", "get", name)
        project = _doc(self._row(name).doc)
        globals_ = global_project_docs(self._store, namespace=self._ns, project=project, cm_data=self._cm)
        out: dict[str, Any] = {}
        if globals_:
            out["globalProjects"] = globals_
        out["project"] = merge_global_projects(project, globals_)
        # Stored documents are meant to be credential-free already; sanitising again is the guarantee that no
        # credential reaches this response even if one slipped into a document (CVE-2025-55190).
        repositories = [
            to_wire(Repository.from_wire_json(doc).sanitized()) for doc in self._store.repository_docs(name)
        ]
        clusters = [to_wire(Cluster.from_wire_json(doc).sanitized()) for doc in self._store.cluster_docs(name)]
        if repositories:
            out["repositories"] = repositories
        if clusters:
            out["clusters"] = clusters
        return out

    def get_global_projects(self, name: str) -> dict[str, Any]:
        self._access.check("projects", "get", name)
        project = _doc(self._row(name).doc)
        items = global_project_docs(self._store, namespace=self._ns, project=project, cm_data=self._cm)
        return {"items": items} if items else {}

    def get_sync_windows_state(self, name: str) -> dict[str, Any]:
        """The project's windows that are open now."""
        self._access.check("projects", "get", name)
        project = _doc(self._row(name).doc)
        windows = [SyncWindow.from_wire(w) for w in project.get("spec", {}).get("syncWindows") or []]
        active = active_windows(windows, self._clock())
        return {"windows": [to_wire(w) for w in active]} if active else {}

    def list_events(self, name: str) -> bytes:
        self._access.check("projects", "get", name)
        row = self._row(name)
        docs = EventStore(self._session).docs_for(namespace=self._ns, kind=KIND, name=name, uid=row.uid)
        return b'{"metadata":{},"items":[' + ",".join(docs).encode() + b"]}"

    def list_links(self, name: str) -> dict[str, Any]:
        """Deep links of argocd-cm ``project.links`` rendered against the project."""
        if not self._access.allowed("projects", "get", name):
            # A plain error upstream (Unknown, HTTP 500).
            raise ArgoError(f"unauthorized access to project {name}")
        project = _doc(self._row(name).doc)
        env = {"project": project}
        items: list[dict[str, str]] = []
        for link in _deep_links(self._cm.get("project.links", "")):
            condition = link.get("if")
            if condition is not None and not _condition_holds(str(condition), env):
                continue
            url = _render_link(str(link.get("url", "")), env)
            if url is None:
                continue
            item = {"title": str(link.get("title", "")), "url": url}
            if link.get("description"):
                item["description"] = str(link["description"])
            if link.get("icon.class"):
                item["iconClass"] = str(link["icon.class"])
            items.append(item)
        return {"items": items} if items else {}

    # --- writes ----------------------------------------------------------------------------------------

    def create(self, *, project: Any, upsert: Any) -> dict[str, Any]:
        if upsert is not None and not isinstance(upsert, bool):
            raise InvalidArgument(
                f"json: cannot unmarshal {type(upsert).__name__} into Go struct field ProjectCreateRequest.upsert "
                "of type bool"
            )
        doc = _parse_project(project)
        meta = doc.setdefault("metadata", {})
        name = str(meta.get("name", ""))
        self._access.check("projects", "create", name)
        _normalize_policies(doc)
        validate_project(doc)
        _check_name(name)
        if meta.get("namespace") and meta["namespace"] != self._ns:
            raise FailedPrecondition(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        self._store.lock(self._ns, name)
        existing = self._store.get(self._ns, name)
        if existing is not None:
            previous = _doc(existing.doc)
            if not upsert:
                if not same_json(previous.get("spec", {}), doc.get("spec", {})):
                    raise InvalidArgument(spec_difference_message(previous.get("spec", {}), doc.get("spec", {})))
                return previous
            self._access.check("projects", "update", name)
            updated = _doc(existing.doc)
            updated["spec"] = doc.get("spec", {})
            saved = self._write(existing, updated, previous=previous)
        else:
            now = utcnow()
            uid = new_uid()
            stamp_new(meta, namespace=self._ns, uid=uid, created=now)
            normalize_jwt_tokens(doc)
            text = _canonical_text(doc)
            self._store.add(
                ProjectRow(
                    namespace=self._ns,
                    name=name,
                    uid=uid,
                    resource_version=1,
                    generation=1,
                    created_at=now,
                    doc=text,
                )
            )
            saved = _doc(text)
        self._event(saved, reason="ResourceCreated", action="created project")
        self._commit(name)
        return saved

    def update(self, *, name: str, project: Any) -> dict[str, Any]:
        doc = _parse_project(project)
        # grpc-gateway fills path parameters into the body after decoding it, so the path name wins.
        doc.setdefault("metadata", {})["name"] = name
        _normalize_policies(doc)
        normalize_jwt_tokens(doc)
        validate_project(doc)
        self._store.lock(self._ns, name)
        row = self._store.get(self._ns, name)
        if row is None:
            raise _not_found(name)
        self._access.check("projects", "update", name)
        previous = _doc(row.doc)
        new_spec, old_spec = doc.get("spec", {}), previous.get("spec", {})
        new_servers = _names(new_spec.get("destinations") or [], "server")
        for server in _difference(new_servers, _names(old_spec.get("destinations") or [], "server")):
            self._access.check("clusters", "update", server)
        for repo in _difference(new_spec.get("sourceRepos") or [], old_spec.get("sourceRepos") or []):
            self._access.check("repositories", "update", repo)
        if any(not same_json(new_spec.get(key) or [], old_spec.get(key) or []) for key in _RESOURCE_LISTS):
            for server in new_servers:
                self._access.check("clusters", "update", server)
        self._check_apps_stay_valid(name=name, old_spec=old_spec, new_spec=new_spec)
        expected = str(doc["metadata"].get("resourceVersion", ""))
        if not expected:
            raise InvalidArgument(
                f'{KIND}.argoproj.io "{name}" is invalid: metadata.resourceVersion: Invalid value: 0x0: '
                "must be specified for an update"
            )
        if expected != str(row.resource_version):
            raise Aborted(
                f'Operation cannot be fulfilled on appprojects.argoproj.io "{name}": the object has been modified; '
                "please apply your changes to the latest version and try again"
            )
        saved = self._write(row, doc, previous=previous)
        self._event(saved, reason="ResourceUpdated", action="updated project")
        self._commit(name)
        return saved

    def _check_apps_stay_valid(self, *, name: str, old_spec: Mapping[str, Any], new_spec: Mapping[str, Any]) -> None:
        """No application of the project may lose its source or destination permission (upstream's Update)."""
        invalid_sources = invalid_destinations = 0
        clusters = ClusterStore(self._session)
        for text in self._store.app_docs(self._ns, name):
            spec = _doc(text).get("spec", {})
            repo_url = _app_repo_url(spec)
            if source_permitted(old_spec.get("sourceRepos") or [], repo_url) and not source_permitted(
                new_spec.get("sourceRepos") or [], repo_url
            ):
                invalid_sources += 1
            destination = spec.get("destination") or {}
            resolved = _resolve_cluster(clusters, self._store, destination)
            if resolved is None:
                invalid_destinations += 1
                continue
            server, cluster_name, cluster_project = resolved
            namespace = str(destination.get("namespace", ""))
            if _destination_ok(
                old_spec, project=name, server=server, name=cluster_name, namespace=namespace, owner=cluster_project
            ) and not _destination_ok(
                new_spec, project=name, server=server, name=cluster_name, namespace=namespace, owner=cluster_project
            ):
                invalid_destinations += 1
        parts = []
        if invalid_sources:
            parts.append(f"{invalid_sources} applications source became invalid")
        if invalid_destinations:
            parts.append(f"{invalid_destinations} applications destination became invalid")
        if parts:
            raise InvalidArgument("as a result of project update " + " and ".join(parts))

    def delete(self, name: str) -> None:
        if name == DEFAULT_PROJECT:
            raise InvalidArgument(f"name '{name}' is reserved and cannot be deleted")
        self._access.check("projects", "delete", name)
        self._store.lock(self._ns, name)
        row = self._row(name)
        apps = self._store.count_apps(self._ns, name)
        if apps:
            raise InvalidArgument(f"project is referenced by {apps} applications")
        doc = _doc(row.doc)
        self._store.delete(row)
        self._event(doc, reason="ResourceDeleted", action="deleted project")
        self._commit(name)

    def create_token(
        self, *, project: str, role: str, description: str, expires_in: int, token_id: str
    ) -> dict[str, str]:
        """Issue a ``proj:<project>:<role>`` token and record ``{iat, exp, id}`` on the role.

        ``description`` is accepted as upstream does, which keeps it nowhere either.
        """
        del description
        self._store.lock(self._ns, project)
        row = self._row(project)
        previous = _doc(row.doc)
        validate_project(previous)
        role_doc = _find_role(previous, role)
        if role_doc is None:
            raise NotFound(f"project '{project}' does not have role '{role}'")
        if not self._access.allowed("projects", "update", project) and not self._is_member(
            role_doc.get("groups") or []
        ):
            raise PermissionDenied()
        if token_id and any(t.get("id") == token_id for t in role_doc.get("jwtTokens") or []):
            raise InvalidArgument(f"Token id '{token_id}' has been used. ")
        jti = token_id or str(uuid.uuid4())
        token, claims = self._auth.issue(
            subject=f"proj:{project}:{role}", expires_in=expires_in if expires_in > 0 else None, jti=jti
        )
        record: dict[str, Any] = {"iat": int(claims["iat"]), "id": jti}
        if claims.get("exp"):
            record["exp"] = int(claims["exp"])
        doc = _doc(row.doc)
        by_role = doc.setdefault("status", {}).setdefault("jwtTokensByRole", {})
        items = list((by_role.get(role) or {}).get("items") or [])
        by_role[role] = {"items": [*items, record]}
        saved = self._write(row, doc, previous=previous)
        self._event(saved, reason="ResourceCreated", action="created token")
        self._commit(project)
        return {"token": token}

    def delete_token(self, *, project: str, role: str, iat: str, token_id: str) -> None:
        """Remove a role token, found by ``id`` first, else by issue time; a missing role or token is no error."""
        issued_at = _parse_int64(iat, field="iat")
        self._store.lock(self._ns, project)
        row = self._row(project)
        previous = _doc(row.doc)
        validate_project(previous)
        role_doc = _find_role(previous, role)
        if role_doc is None:
            return
        if not self._access.allowed("projects", "update", project) and not self._is_member(
            role_doc.get("groups") or []
        ):
            raise PermissionDenied()
        doc = _doc(row.doc)
        target_role = _find_role(doc, role)
        assert target_role is not None
        in_spec = target_role.get("jwtTokens") or []
        by_role = doc.get("status", {}).get("jwtTokensByRole") or {}
        in_status = (by_role.get(role) or {}).get("items") or []
        spec_index = _token_index(in_spec, iat=issued_at, token_id=token_id)
        status_index = _token_index(in_status, iat=issued_at, token_id=token_id)
        if spec_index is None and status_index is None:
            return
        if spec_index is not None:
            del in_spec[spec_index]
            target_role["jwtTokens"] = in_spec
        if status_index is not None:
            del in_status[status_index]
            by_role[role] = {"items": in_status}
        saved = self._write(row, doc, previous=previous)
        self._event(saved, reason="ResourceDeleted", action="deleted token")
        self._commit(project)


def _parse_int64(value: str, *, field: str) -> int:
    text = value.strip()
    if not re.fullmatch(r"[+-]?\d+", text) or not -(2**63) <= int(text) < 2**63:
        raise InvalidArgument(
            f"type mismatch, parameter: {field}, error: strconv.ParseInt: parsing {value!r}: invalid syntax"
        )
    return int(text)


def _find_role(doc: Mapping[str, Any], role: str) -> dict[str, Any] | None:
    for item in doc.get("spec", {}).get("roles") or []:
        if item.get("name") == role:
            found: dict[str, Any] = item
            return found
    return None


def _token_index(tokens: Sequence[Mapping[str, Any]], *, iat: int, token_id: str) -> int | None:
    if token_id:
        for index, token in enumerate(tokens):
            if token.get("id") == token_id:
                return index
    if iat != -1:
        for index, token in enumerate(tokens):
            if int(token.get("iat", 0) or 0) == iat:
                return index
    return None


def _app_repo_url(spec: Mapping[str, Any]) -> str:
    """The repository of an app's (first) source, as upstream's Spec.GetSource picks it."""
    hydrator = spec.get("sourceHydrator")
    if hydrator:
        return str((hydrator.get("drySource") or {}).get("repoURL", ""))
    if spec.get("source"):
        return str(spec["source"].get("repoURL", ""))
    sources = spec.get("sources") or []
    return str(sources[0].get("repoURL", "")) if sources else ""


def _resolve_cluster(
    clusters: ClusterStore, projects: ProjectStore, destination: Mapping[str, Any]
) -> tuple[str, str, str] | None:
    """``(server, name, project)`` of the destination's cluster, or None when it resolves to none or several."""
    server = str(destination.get("server", "") or "")
    name = str(destination.get("name", "") or "")
    if server:
        row = clusters.get_by_server(server)
        if row is not None:
            return row.server, row.name, row.project
        return (IN_CLUSTER_SERVER, IN_CLUSTER_NAME, "") if server.rstrip("/") == IN_CLUSTER_SERVER else None
    if name:
        rows = projects.clusters_named(name)
        if len(rows) == 1:
            return rows[0].server, rows[0].name, rows[0].project
        if not rows and name == IN_CLUSTER_NAME and clusters.get_by_server(IN_CLUSTER_SERVER) is None:
            return IN_CLUSTER_SERVER, IN_CLUSTER_NAME, ""
    return None


def _destination_ok(
    spec: Mapping[str, Any], *, project: str, server: str, name: str, namespace: str, owner: str
) -> bool:
    permitted = destination_permitted(spec.get("destinations") or [], server=server, name=name, namespace=namespace)
    if permitted and spec.get("permitOnlyProjectScopedClusters"):
        return owner == project
    return permitted


def _deep_links(text: str) -> list[dict[str, Any]]:
    if not text.strip():
        return []
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def ensure_default_project(*, sessions: sessionmaker[Session], namespace: str) -> None:
    """First start: create the ``default`` project (any repo, any destination, any cluster-scoped kind)."""
    with sessions() as session:
        store = ProjectStore(session)
        if store.get(namespace, DEFAULT_PROJECT) is not None:
            return
        now = utcnow()
        uid = new_uid()
        doc: dict[str, Any] = {
            "metadata": {"name": DEFAULT_PROJECT},
            "spec": {
                "sourceRepos": ["*"],
                "destinations": [{"server": "*", "namespace": "*"}],
                "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            },
        }
        stamp_new(doc["metadata"], namespace=namespace, uid=uid, created=now)
        try:
            store.add(
                ProjectRow(
                    namespace=namespace,
                    name=DEFAULT_PROJECT,
                    uid=uid,
                    resource_version=1,
                    generation=1,
                    created_at=now,
                    doc=_canonical_text(doc),
                )
            )
            session.commit()
        except IntegrityError:
            # Another replica created it first.
            session.rollback()
