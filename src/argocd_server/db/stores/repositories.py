"""Repository and credential-template rows (``repositories``, ``repo_creds``); ``write`` separates write variants.

Repositories are found by their normalised URL (upstream compares URLs with ``git.SameURL``), so lookups go through
the indexed ``normalized_url`` column. Credential templates are few and matched by normalised URL prefix, which
SQL cannot index portably, so the prefix match happens in the service over ``list``.
"""

from __future__ import annotations

import builtins

from sqlalchemy import select
from sqlalchemy.orm import Session

from argocd_server.db.models import RepoCredsRow, RepositoryRow


class RepoStore:
    def __init__(self, session: Session) -> None:
        self._session = session

    def list(self, *, write: bool) -> list[RepositoryRow]:
        stmt = select(RepositoryRow).where(RepositoryRow.write == write).order_by(RepositoryRow.id)
        return list(self._session.scalars(stmt))

    def find(self, normalized_url: str, *, write: bool) -> builtins.list[RepositoryRow]:
        """Every row (any project) whose normalised URL equals ``normalized_url``."""
        stmt = (
            select(RepositoryRow)
            .where(RepositoryRow.normalized_url == normalized_url, RepositoryRow.write == write)
            .order_by(RepositoryRow.id)
        )
        return list(self._session.scalars(stmt))

    def get(self, normalized_url: str, *, project: str, write: bool) -> RepositoryRow | None:
        stmt = select(RepositoryRow).where(
            RepositoryRow.normalized_url == normalized_url,
            RepositoryRow.project == project,
            RepositoryRow.write == write,
        )
        return self._session.scalars(stmt).first()

    def add(self, row: RepositoryRow) -> None:
        self._session.add(row)
        self._session.flush()

    def delete(self, row: RepositoryRow) -> None:
        self._session.delete(row)
        self._session.flush()


class RepoCredsStore:
    def __init__(self, session: Session) -> None:
        self._session = session

    def list(self, *, write: bool) -> builtins.list[RepoCredsRow]:
        stmt = select(RepoCredsRow).where(RepoCredsRow.write == write).order_by(RepoCredsRow.url)
        return list(self._session.scalars(stmt))

    def get(self, url: str, *, write: bool) -> RepoCredsRow | None:
        stmt = select(RepoCredsRow).where(RepoCredsRow.url == url, RepoCredsRow.write == write)
        return self._session.scalars(stmt).one_or_none()

    def add(self, row: RepoCredsRow) -> None:
        self._session.add(row)
        self._session.flush()

    def delete(self, row: RepoCredsRow) -> None:
        self._session.delete(row)
        self._session.flush()
