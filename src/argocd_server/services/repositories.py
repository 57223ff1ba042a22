"""RepositoryService: repository CRUD and credential inheritance (upstream server/repository, util/db/repository.go).

Repositories are identified by normalised URL plus project (empty for global ones). A repository without its own
credentials inherits them from the credential template with the longest matching URL prefix, and then reads back
with ``inheritedCreds: true``. Secret members are sealed with the secret box (one blob per row); ``doc`` holds the
non-secret spec only, and every response goes through ``Repository.sanitized()``.

Get and List carry a live ``connectionState`` when the service has a ``ConnectionStates`` (tested through the
sources layer after the read transaction has ended, cached per repository, ``forceRefresh`` bypasses the cache);
create and update answer the zero state Go would encode. Not here yet: the connectivity test upstream runs before
creating a global repository.
Write-repositories answer Unimplemented ``hydrator is disabled`` (after authentication, before RBAC) exactly as
upstream does while the commit hydrator is off, which it always is in this server.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy.orm import Session

from argocd_server.auth.rbac_validation import repo_rbac_name
from argocd_server.auth.secretbox import SecretBox
from argocd_server.db.models import RepositoryRow
from argocd_server.db.stores.repositories import RepoStore
from argocd_server.errors import ArgoError, InvalidArgument, NotFound, PermissionDenied, Unimplemented
from argocd_server.schemas.common import ConnectionState, to_wire
from argocd_server.schemas.repocreds import RepoCreds
from argocd_server.schemas.repository import REPOSITORY_SECRET_FIELDS, Repository, RepositoryList, default_repo_type
from argocd_server.services.access import Access
from argocd_server.services.matching import normalize_git_url
from argocd_server.services.objects import utcnow
from argocd_server.services.repo_connections import ConnectionStates, credentials_from_fields
from argocd_server.services.repocreds import (
    best_template,
    load_templates,
    matching_template,
    open_secrets,
    parse_body,
    resource_for,
    seal_secrets,
    spec_is_different,
)

REPO_PURPOSE: Final = "repository.secrets"
WRITE_REPO_PURPOSE: Final = "write-repository.secrets"
REPO_TYPES: Final = frozenset({"git", "helm", "oci"})


def has_credentials(repo: Repository) -> bool:
    """Upstream's Repository.HasCredentials: only these members stop a repository from inheriting a template."""
    return bool(
        repo.username
        or repo.password
        or repo.bearer_token
        or repo.ssh_private_key
        or repo.tls_client_cert_data
        or repo.github_app_private_key
        or repo.use_azure_workload_identity
        or repo.azure_service_principal_client_secret
    )


def copy_credentials_from(repo: Repository, creds: RepoCreds) -> Repository:
    """Upstream's Repository.CopyCredentialsFrom: fill empty members from the template, take its flags."""
    update: dict[str, Any] = {}
    for name in (
        "username",
        "password",
        "bearer_token",
        "ssh_private_key",
        "tls_client_cert_data",
        "tls_client_cert_key",
        "github_app_private_key",
        "github_app_id",
        "github_app_installation_id",
        "github_app_enterprise_base_url",
        "gcp_service_account_key",
        "azure_service_principal_client_id",
        "azure_service_principal_client_secret",
        "azure_service_principal_tenant_id",
        "azure_active_directory_endpoint",
        "proxy",
        "no_proxy",
        "type",
    ):
        if not getattr(repo, name):
            update[name] = getattr(creds, name)
    for name in ("enable_oci", "insecure_oci_force_http", "force_http_basic_auth", "use_azure_workload_identity"):
        update[name] = getattr(creds, name)
    return repo.model_copy(update=update)


def _load(row: RepositoryRow, box: SecretBox) -> Repository:
    return open_secrets(
        Repository,
        doc=row.doc,
        sealed=row.secrets,
        box=box,
        purpose=WRITE_REPO_PURPOSE if row.write else REPO_PURPOSE,
        fields=REPOSITORY_SECRET_FIELDS,
    )


def _with_inherited(repo: Repository, templates: list[tuple[str, RepoCreds]]) -> Repository:
    """The repository with a matching template's credentials when it has none of its own (enrichCredsToRepo)."""
    if has_credentials(repo):
        return repo
    template = best_template(templates, repo.repo)
    if template is None:
        return repo
    return copy_credentials_from(repo, template).model_copy(update={"inherited_creds": True})


def _find_row(store: RepoStore, url: str, *, project: str, write: bool) -> RepositoryRow | None:
    """The row for ``url`` in ``project``, falling back to the global one (upstream getRepositorySecret)."""
    normalized = normalize_git_url(url)
    row = store.get(normalized, project=project, write=write)
    if row is None and project:
        row = store.get(normalized, project="", write=write)
    return row


def resolve_repo_credentials(session: Session, box: SecretBox, url: str, *, project: str = "") -> dict[str, Any] | None:
    """Effective settings for fetching ``url``: the repository's own or inherited credentials, else a template's.

    For the sources layer only: the result holds secrets in clear text (camelCase keys as on the wire, without
    ``connectionState``) and must never reach a response, an error message or a log line. ``None`` when neither a
    repository nor a template matches.
    """
    row = _find_row(RepoStore(session), url, project=project, write=False)
    if row is not None:
        repo = _with_inherited(_load(row, box), load_templates(session, box, write=False))
    else:
        template = matching_template(session, box, url, write=False)
        if template is None:
            return None
        repo = copy_credentials_from(Repository(repo=url, project=project), template).model_copy(
            update={"inherited_creds": True}
        )
    repo = repo.model_copy(update={"type": default_repo_type(repo.repo, repo.type)})
    out = to_wire(repo)
    out.pop("connectionState", None)
    return out


def _comparable(repo: Repository) -> Repository:
    # Connection state and inheritance are not part of the spec; the type is compared with its read default.
    return repo.model_copy(
        update={
            "connection_state": ConnectionState(),
            "inherited_creds": False,
            "type": default_repo_type(repo.repo, repo.type),
        }
    )


def _summary(repo: Repository) -> dict[str, Any]:
    """What create and update answer: the URL, type and name only."""
    return to_wire(Repository(repo=repo.repo, type=repo.type, name=repo.name))


class RepositoryService:
    def __init__(
        self,
        *,
        session: Session,
        access: Access,
        box: SecretBox,
        hydrator_enabled: bool = False,
        connections: ConnectionStates | None = None,
    ) -> None:
        self._session = session
        self._access = access
        self._box = box
        self._hydrator_enabled = hydrator_enabled
        self._connections = connections
        self._store = RepoStore(session)

    def _gate(self, write: bool) -> None:
        if write and not self._hydrator_enabled:
            raise Unimplemented("hydrator is disabled")

    def _purpose(self, write: bool) -> str:
        return WRITE_REPO_PURPOSE if write else REPO_PURPOSE

    def _visible_with_secrets(self, *, write: bool) -> list[tuple[Repository, Repository]]:
        """(sanitised, effective) pairs of the repositories the caller may get, sorted by ``project/url``
        (upstream prepareRepoList); the effective form holds secrets and is only for connectivity tests."""
        resource = resource_for(write=write)
        items = []
        templates = load_templates(self._session, self._box, write=write)
        for row in self._store.list(write=write):
            # Filter before decrypting: the row's URL and project are the RBAC object.
            if not self._access.allowed(resource, "get", repo_rbac_name(row.url, row.project)):
                continue
            repo = _with_inherited(_load(row, self._box), templates)
            repo = repo.model_copy(update={"type": default_repo_type(repo.repo, repo.type)})
            items.append((repo.sanitized(), repo))
        items.sort(key=lambda pair: f"{pair[0].project}/{pair[0].repo}")
        return items

    def _visible(self, *, write: bool) -> list[Repository]:
        """Sanitised repositories the caller may get, sorted by ``project/url`` (upstream prepareRepoList)."""
        return [sanitized for sanitized, _ in self._visible_with_secrets(write=write)]

    def _with_states(self, pairs: list[tuple[Repository, Repository]], *, force: bool) -> list[Repository]:
        """The sanitised repositories with their connection state; ends the read transaction first because the
        checks run git and HTTP."""
        self._session.rollback()
        if self._connections is None:
            return [sanitized for sanitized, _ in pairs]
        targets = [(credentials_from_fields(to_wire(full)), full.project) for _, full in pairs]
        states = self._connections.states(targets, force=force)
        return [
            sanitized.model_copy(update={"connection_state": state})
            for (sanitized, _), state in zip(pairs, states, strict=True)
        ]

    def _lookup(self, url: str, *, app_project: str, write: bool) -> Repository:
        """One visible repository for ``url`` (upstream getRepository): unknown or hidden is ``permission denied``."""
        normalized = normalize_git_url(url)
        found = [r for r in self._visible(write=write) if normalize_git_url(r.repo) == normalized]
        if not found:
            raise PermissionDenied()
        if len(found) == 1 and not app_project:
            return found[0]
        for repo in found:
            if repo.project == app_project:
                return repo
        # A plain error upstream, hence Unknown/500.
        raise ArgoError(f'repository not found for url "{url}" and project "{app_project}"')

    def list(self, *, write: bool = False, force_refresh: bool = False) -> dict[str, Any]:
        self._gate(write)
        if write:
            return to_wire(RepositoryList(items=self._visible(write=write) or None))
        items = self._with_states(self._visible_with_secrets(write=False), force=force_refresh)
        return to_wire(RepositoryList(items=items or None))

    def get(
        self, url: str, *, app_project: str = "", write: bool = False, force_refresh: bool = False
    ) -> dict[str, Any]:
        self._gate(write)
        repo = self._lookup(url, app_project=app_project, write=write)
        self._access.check(resource_for(write=write), "get", repo_rbac_name(repo.repo, repo.project))
        if write or self._connections is None:
            return to_wire(repo)
        found = resolve_repo_credentials(self._session, self._box, repo.repo, project=repo.project)
        full = Repository.from_wire(found) if found is not None else repo
        (item,) = self._with_states([(repo, full)], force=force_refresh)
        return to_wire(item)

    def create(self, body: dict[str, Any], *, upsert: bool, write: bool = False) -> dict[str, Any]:
        self._gate(write)
        if not body:
            raise InvalidArgument("missing payload in request")
        repo = parse_body(Repository, body, go_type="Repository")
        resource = resource_for(write=write)
        self._access.check(resource, "create", repo_rbac_name(repo.repo, repo.project))
        self._validate(repo)
        if write and not has_credentials(repo):
            raise InvalidArgument("missing credentials in request")
        row = self._store.get(normalize_git_url(repo.repo), project=repo.project, write=write)
        if row is None:
            self._insert(repo, write=write)
            self._session.commit()
            return _summary(repo)
        existing = _load(row, self._box)
        if _comparable(existing) == _comparable(repo):
            return _summary(existing)
        if not upsert:
            entity = "write repository" if write else "repository"
            raise spec_is_different(entity, _comparable(existing), _comparable(repo))
        self._replace(row, repo)
        self._session.commit()
        return to_wire(repo.sanitized())

    def update(self, url: str, body: dict[str, Any], *, write: bool = False) -> dict[str, Any]:
        self._gate(write)
        if not body:
            raise InvalidArgument("missing payload in request")
        # The path segment is the repo.repo field of the request and wins over the body's.
        repo = parse_body(Repository, body, go_type="Repository").model_copy(update={"repo": url})
        self._validate(repo)
        current = _find_row(self._store, url, project=repo.project, write=write)
        if current is None:
            raise PermissionDenied()
        resource = resource_for(write=write)
        self._access.check(resource, "update", repo_rbac_name(current.url, current.project))
        self._access.check(resource, "update", repo_rbac_name(repo.repo, repo.project))
        row = self._store.get(normalize_git_url(url), project=repo.project, write=write)
        if row is None:
            raise NotFound(f"repo '{url}' not found")
        self._replace(row, repo)
        self._session.commit()
        return _summary(repo)

    def delete(self, url: str, *, app_project: str = "", write: bool = False) -> None:
        self._gate(write)
        repo = self._lookup(url, app_project=app_project, write=write)
        self._access.check(resource_for(write=write), "delete", repo_rbac_name(repo.repo, repo.project))
        row = self._store.get(normalize_git_url(repo.repo), project=repo.project, write=write)
        if row is None:
            raise NotFound(f"repo '{url}' not found")
        self._store.delete(row)
        self._session.commit()

    def validate_write_access(self) -> None:
        """ValidateWriteAccess: answered by the hydrator gate; access tests need the sources layer."""
        self._gate(True)
        raise Unimplemented("validating repository access is not available")

    def _validate(self, repo: Repository) -> None:
        if not repo.repo:
            raise InvalidArgument("repository URL is required")
        if repo.type and repo.type not in REPO_TYPES:
            raise InvalidArgument(f'unsupported repository type "{repo.type}": must be one of git, helm, oci')

    def _seal(self, repo: Repository, *, write: bool) -> tuple[str, bytes | None]:
        stored = repo.model_copy(update={"connection_state": ConnectionState(), "inherited_creds": False})
        return seal_secrets(stored, fields=REPOSITORY_SECRET_FIELDS, box=self._box, purpose=self._purpose(write))

    def _insert(self, repo: Repository, *, write: bool) -> None:
        doc, sealed = self._seal(repo, write=write)
        self._store.add(
            RepositoryRow(
                url=repo.repo,
                normalized_url=normalize_git_url(repo.repo),
                project=repo.project,
                type=default_repo_type(repo.repo, repo.type),
                name=repo.name,
                write=write,
                resource_version=1,
                created_at=utcnow(),
                doc=doc,
                secrets=sealed,
            )
        )

    def _replace(self, row: RepositoryRow, repo: Repository) -> None:
        # Upstream rewrites the whole secret from the request: members left out are cleared.
        doc, sealed = self._seal(repo, write=row.write)
        row.url = repo.repo
        row.normalized_url = normalize_git_url(repo.repo)
        row.type = default_repo_type(repo.repo, repo.type)
        row.name = repo.name
        row.doc = doc
        row.secrets = sealed
        row.resource_version += 1
        self._session.flush()
