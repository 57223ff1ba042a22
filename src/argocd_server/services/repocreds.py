"""RepoCredsService: credential templates matched by URL prefix (upstream server/repocreds, util/db/repository.go).

A template applies to every repository whose normalised URL starts with the template's normalised URL; the longest
matching prefix wins. Secret members are sealed with the secret box in one blob per row; ``doc`` keeps only the
non-secret members, and responses expose ``url``, ``username``, ``type`` and ``enableOCI`` alone.

Write templates (``/api/v1/write-repocreds``) work like the others, without the hydrator gate of write-repositories,
under the ``write-repositories`` RBAC resource.

Boundary: this module also holds the small helpers the repository service shares (sealing, body parsing, the
"spec is different" message), so both services store secrets the same way.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from argocd_server.auth.secretbox import SecretBox
from argocd_server.db.models import RepoCredsRow
from argocd_server.db.stores.repositories import RepoCredsStore
from argocd_server.errors import InvalidArgument, NotFound
from argocd_server.schemas.common import ArgoModel, to_wire, to_wire_json
from argocd_server.schemas.repocreds import REPOCREDS_SECRET_FIELDS, RepoCreds, RepoCredsList
from argocd_server.services.access import Access
from argocd_server.services.matching import normalize_git_url
from argocd_server.services.objects import utcnow

M = TypeVar("M", bound=ArgoModel)

CREDS_PURPOSE: Final = "repocreds.secrets"
WRITE_CREDS_PURPOSE: Final = "write-repocreds.secrets"

# Go struct field names where they are not simply the capitalised JSON key; upstream names the differing
# fields with these in its "spec is different" errors.
_GO_NAMES: Final = {
    "url": "URL",
    "sshPrivateKey": "SSHPrivateKey",
    "tlsClientCertData": "TLSClientCertData",
    "tlsClientCertKey": "TLSClientCertKey",
    "githubAppID": "GithubAppId",
    "githubAppInstallationID": "GithubAppInstallationId",
    "githubAppEnterpriseBaseUrl": "GitHubAppEnterpriseBaseURL",
    "enableOCI": "EnableOCI",
    "enableLfs": "EnableLFS",
    "gcpServiceAccountKey": "GCPServiceAccountKey",
}


def resource_for(*, write: bool) -> str:
    return "write-repositories" if write else "repositories"


def parse_body(model: type[M], body: dict[str, Any], *, go_type: str) -> M:
    """The request body as ``model``; type errors name the field, never the submitted value (it may be a secret)."""
    try:
        return model.from_wire(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidArgument(
            f"json: cannot unmarshal into Go struct field {go_type}.{where}: {first.get('msg', 'invalid value')}"
        ) from None


def seal_secrets(model: M, *, fields: frozenset[str], box: SecretBox, purpose: str) -> tuple[str, bytes | None]:
    """``(doc, sealed)``: the wire JSON without any secret member, and the secret members sealed as one blob."""
    secrets = {name: getattr(model, name) for name in sorted(fields) if getattr(model, name)}
    public = model.model_copy(update=dict.fromkeys(fields, ""))
    doc = to_wire_json(public).decode()
    sealed = box.seal(orjson.dumps(secrets), purpose=purpose) if secrets else None
    return doc, sealed


def open_secrets(
    model_cls: type[M], *, doc: str, sealed: bytes | None, box: SecretBox, purpose: str, fields: frozenset[str]
) -> M:
    """The stored model with its secret members restored."""
    model = model_cls.from_wire_json(doc)
    if sealed is None:
        return model
    secrets = orjson.loads(box.open(sealed, purpose=purpose))
    return model.model_copy(update={k: v for k, v in secrets.items() if k in fields and isinstance(v, str)})


def differing_fields(a: BaseModel, b: BaseModel) -> list[str]:
    """Go field names of the members that differ, in declaration order (names only, never values)."""
    out = []
    for name, info in type(a).model_fields.items():
        if getattr(a, name) != getattr(b, name):
            key = info.alias or name
            out.append(_GO_NAMES.get(key, key[:1].upper() + key[1:]))
    return out


def spec_is_different(entity: str, existing: BaseModel, wanted: BaseModel) -> InvalidArgument:
    """Upstream's create-conflict error (GenerateSpecIsDifferentErrorMessage)."""
    message = f"existing {entity} spec is different; use upsert flag to force update"
    keys = differing_fields(existing, wanted)
    if keys:
        message += f'; difference in keys "{",".join(keys)}"'
    return InvalidArgument(message)


def load_creds(row: RepoCredsRow, box: SecretBox) -> RepoCreds:
    return open_secrets(
        RepoCreds,
        doc=row.doc,
        sealed=row.secrets,
        box=box,
        purpose=WRITE_CREDS_PURPOSE if row.write else CREDS_PURPOSE,
        fields=REPOCREDS_SECRET_FIELDS,
    )


def load_templates(session: Session, box: SecretBox, *, write: bool) -> list[tuple[str, RepoCreds]]:
    """Every template with its normalised URL, for matching many repositories with one query."""
    return [(normalize_git_url(row.url), load_creds(row, box)) for row in RepoCredsStore(session).list(write=write)]


def best_template(templates: list[tuple[str, RepoCreds]], url: str) -> RepoCreds | None:
    """The template with the longest normalised-URL prefix of ``url`` (upstream getRepositoryCredentialIndex)."""
    target = normalize_git_url(url)
    best: RepoCreds | None = None
    best_len = 0
    for prefix, creds in templates:
        # Upstream keeps the first of equally long prefixes; templates come sorted by URL so the choice is stable.
        if target.startswith(prefix) and len(prefix) > best_len:
            best, best_len = creds, len(prefix)
    return best


def matching_template(session: Session, box: SecretBox, url: str, *, write: bool) -> RepoCreds | None:
    """The template that applies to ``url``, if any."""
    return best_template(load_templates(session, box, write=write), url)


class RepoCredsService:
    def __init__(self, *, session: Session, access: Access, box: SecretBox) -> None:
        self._session = session
        self._access = access
        self._box = box
        self._store = RepoCredsStore(session)

    def _purpose(self, write: bool) -> str:
        return WRITE_CREDS_PURPOSE if write else CREDS_PURPOSE

    def list(self, *, write: bool = False) -> dict[str, Any]:
        """Visible templates, sanitised; write templates are listed only when they hold a password (as upstream)."""
        resource = resource_for(write=write)
        items = []
        for row in self._store.list(write=write):
            if not self._access.allowed(resource, "get", row.url):
                continue
            creds = load_creds(row, self._box)
            if write and not creds.password:
                continue
            items.append(creds.sanitized())
        return to_wire(RepoCredsList(items=items))

    def create(self, body: dict[str, Any], *, upsert: bool, write: bool = False) -> dict[str, Any]:
        if not body:
            raise InvalidArgument("missing payload in request")
        creds = parse_body(RepoCreds, body, go_type="RepoCreds")
        resource = resource_for(write=write)
        self._access.check(resource, "create", creds.url)
        if not creds.url:
            raise InvalidArgument("must specify URL")
        row = self._store.get(creds.url, write=write)
        if row is not None:
            existing = load_creds(row, self._box)
            if existing == creds:
                return {"url": creds.url}
            if not upsert:
                raise spec_is_different("repository credentials", existing, creds)
            self._access.check(resource, "update", creds.url)
            self._write(row, creds)
        else:
            doc, sealed = seal_secrets(
                creds, fields=REPOCREDS_SECRET_FIELDS, box=self._box, purpose=self._purpose(write)
            )
            self._store.add(
                RepoCredsRow(
                    url=creds.url,
                    type=creds.type or "git",
                    write=write,
                    resource_version=1,
                    created_at=utcnow(),
                    doc=doc,
                    secrets=sealed,
                )
            )
        self._session.commit()
        return {"url": creds.url}

    def update(self, url: str, body: dict[str, Any], *, write: bool = False) -> dict[str, Any]:
        if not body:
            raise InvalidArgument("missing payload in request")
        # The path segment is the creds.url field of the request, overriding whatever the body says.
        creds = parse_body(RepoCreds, body, go_type="RepoCreds").model_copy(update={"url": url})
        self._access.check(resource_for(write=write), "update", url)
        row = self._store.get(url, write=write)
        if row is None:
            kind = "write repository credentials" if write else "repository credentials"
            raise NotFound(f"{kind} '{url}' not found")
        self._write(row, creds)
        self._session.commit()
        return {"url": url}

    def delete(self, url: str, *, write: bool = False) -> None:
        self._access.check(resource_for(write=write), "delete", url)
        row = self._store.get(url, write=write)
        if row is None:
            kind = "write repository credentials" if write else "repository credentials"
            raise NotFound(f"{kind} '{url}' not found")
        self._store.delete(row)
        self._session.commit()

    def _write(self, row: RepoCredsRow, creds: RepoCreds) -> None:
        # Update replaces the whole template, as upstream rewrites the secret from the request.
        doc, sealed = seal_secrets(
            creds, fields=REPOCREDS_SECRET_FIELDS, box=self._box, purpose=self._purpose(row.write)
        )
        row.doc = doc
        row.secrets = sealed
        row.type = creds.type or "git"
        row.resource_version += 1
        self._session.flush()
