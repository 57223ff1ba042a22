"""Process-wide, thread-safe cache of what RBAC and authentication need from AppProjects: roles and tokens.

The RBAC enforcer asks for a project on every project-scoped check and the authenticator on every project-token
request, so both must be in-memory reads, as upstream's informer lister is. An entry (present or missing project)
is served from memory for ``ttl_seconds``; after that the next reader checks the stored version with one small
query and re-parses the document only when it changed, so writes made by other replicas show within the TTL.
The project service calls ``invalidate`` after every write it commits, so this process sees its own writes at
once.

The version handed to the enforcer is ``<uid>:<resourceVersion>``: resourceVersions are per-object counters here,
so a deleted and re-created project restarts at 1 and only the uid tells the two apart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from argocd_server.auth.rbac import ProjectRbac, ProjectRole
from argocd_server.db.stores.projects import ProjectStore
from argocd_server.services.objects import loads

__all__ = ["ProjectIndex", "combine_tokens", "normalize_jwt_tokens"]

MAX_ENTRIES = 10_000
"""Bound on cached names; RBAC may ask about any well-formed name, so unknown ones must not grow it forever."""


def _token_key(token: Mapping[str, Any]) -> str:
    # Tokens issued by old releases may lack an id; those are told apart by their issue time.
    token_id = token.get("id")
    return f"id:{token_id}" if token_id else f"iat:{int(token.get('iat', 0) or 0)}"


def _wire_token(token: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"iat": int(token.get("iat", 0) or 0)}
    if token.get("exp"):
        out["exp"] = int(token["exp"])
    if token.get("id"):
        out["id"] = str(token["id"])
    return out


def combine_tokens(*groups: list[Any]) -> list[dict[str, Any]]:
    """Token records from several lists merged by id (later lists win), newest ``iat`` first."""
    merged: dict[str, dict[str, Any]] = {}
    for tokens in groups:
        for token in tokens or []:
            if isinstance(token, Mapping):
                merged[_token_key(token)] = _wire_token(token)
    return sorted(merged.values(), key=lambda t: t["iat"], reverse=True)


def normalize_jwt_tokens(doc: dict[str, Any]) -> None:
    """Upstream's NormalizeJWTTokens on a wire document, in place.

    Tokens were once kept in ``spec.roles[].jwtTokens`` and are now in ``status.jwtTokensByRole``; both places are
    made to hold the union, so every role gets a status entry (``{}`` when it has no token).
    """
    spec = doc.setdefault("spec", {})
    status = doc.setdefault("status", {})
    by_role = status.get("jwtTokensByRole")
    if not isinstance(by_role, dict):
        by_role = {}
    for role in spec.get("roles") or []:
        name = str(role.get("name", ""))
        in_status = (by_role.get(name) or {}).get("items") or []
        tokens = combine_tokens(in_status, role.get("jwtTokens") or [])
        if tokens:
            role["jwtTokens"] = tokens
            by_role[name] = {"items": tokens}
        else:
            role.pop("jwtTokens", None)
            by_role[name] = {}
    if by_role:
        status["jwtTokensByRole"] = by_role


@dataclass(frozen=True)
class _Entry:
    rbac: ProjectRbac | None
    tokens: Mapping[str, tuple[dict[str, Any], ...]] = field(default_factory=dict)
    uid: str = ""
    resource_version: int = 0
    loaded_at: float = 0.0


def _entry_from_doc(doc_text: str, *, uid: str, resource_version: int, now: float) -> _Entry:
    doc = loads(doc_text)
    normalize_jwt_tokens(doc)
    name = str(doc.get("metadata", {}).get("name", ""))
    roles: list[ProjectRole] = []
    tokens: dict[str, tuple[dict[str, Any], ...]] = {}
    for role in doc.get("spec", {}).get("roles") or []:
        role_name = str(role.get("name", ""))
        roles.append(
            ProjectRole(
                name=role_name,
                policies=tuple(str(p) for p in role.get("policies") or []),
                groups=tuple(str(g) for g in role.get("groups") or []),
            )
        )
        tokens[role_name] = tuple(role.get("jwtTokens") or [])
    return _Entry(
        rbac=ProjectRbac(name=name, roles=tuple(roles), version=f"{uid}:{resource_version}"),
        tokens=tokens,
        uid=uid,
        resource_version=resource_version,
        loaded_at=now,
    )


class ProjectIndex:
    """Roles and tokens per project name, for ``Enforcer(project_lookup=...)`` and ``Authenticator``."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        namespace: str,
        ttl_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._namespace = namespace
        self._ttl = ttl_seconds
        self.clock = clock
        """Replaceable (tests move time forward without sleeping)."""
        self._entries: dict[str, _Entry] = {}
        # Bumped by invalidate(): a load that started before a write must not store what it read.
        self._generations: dict[str, int] = {}
        self._lock = threading.Lock()

    def rbac(self, name: str) -> ProjectRbac | None:
        """The project's roles for RBAC, or None when it does not exist."""
        return self._entry(name).rbac

    def tokens(self, project: str, role: str) -> list[dict[str, Any]] | None:
        """Issued token records ``{iat, exp?, id?}`` of a role, or None when the project or role is missing."""
        entry = self._entry(project)
        if entry.rbac is None or role not in entry.tokens:
            return None
        return [dict(token) for token in entry.tokens[role]]

    def invalidate(self, name: str) -> None:
        """Forget ``name`` so the next read loads it again (call after committing a write)."""
        with self._lock:
            self._entries.pop(name, None)
            self._generations[name] = self._generations.get(name, 0) + 1

    def _entry(self, name: str) -> _Entry:
        now = self.clock()
        with self._lock:
            entry = self._entries.get(name)
            generation = self._generations.get(name, 0)
        if entry is not None and now - entry.loaded_at < self._ttl:
            return entry
        loaded = self._load(name, previous=entry, now=now)
        with self._lock:
            if self._generations.get(name, 0) == generation:
                if len(self._entries) >= MAX_ENTRIES and name not in self._entries:
                    self._evict()
                self._entries[name] = loaded
        return loaded

    def _evict(self) -> None:
        # Unknown names go first; if everything is a real project, start over (reloads are cheap).
        missing = [key for key, entry in self._entries.items() if entry.rbac is None]
        if missing:
            for key in missing:
                del self._entries[key]
        else:
            self._entries.clear()

    def _load(self, name: str, *, previous: _Entry | None, now: float) -> _Entry:
        with self._sessions() as session:
            store = ProjectStore(session)
            version = store.versions(self._namespace, [name]).get(name)
            if version is None:
                return _Entry(rbac=None, loaded_at=now)
            uid, resource_version = version
            if previous is not None and previous.uid == uid and previous.resource_version == resource_version:
                return replace(previous, loaded_at=now)
            row = store.get(self._namespace, name)
            if row is None:
                return _Entry(rbac=None, loaded_at=now)
            return _entry_from_doc(row.doc, uid=row.uid, resource_version=int(row.resource_version), now=now)
