"""AppProject rows, and the project-scoped reads the project service needs (its apps, repositories, clusters).

Writers serialise per project with ``lock`` (upstream's per-project mutex, but across replicas): a transaction-level
advisory lock on PostgreSQL; on SQLite, taking the database write lock before the first read, so a read-compare-
write never fails on a stale snapshot and concurrent updates queue instead of erroring.
"""

from __future__ import annotations

import builtins
import zlib

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from argocd_server.db.models import ApplicationRow, ClusterRow, ProjectRow, RepositoryRow
from argocd_server.db.stores.raw import Target, fetch_one

# Built once (see stores/applications.py): the project of an app is read on every compare and request.
_GET = select(ProjectRow).where(ProjectRow.namespace == bindparam("namespace"), ProjectRow.name == bindparam("name"))
_GET_DOC = select(ProjectRow.doc).where(
    ProjectRow.namespace == bindparam("namespace"), ProjectRow.name == bindparam("name")
)


def project_doc(target: Target, namespace: str, name: str) -> str | None:
    """One project's document text, without building an ORM row."""
    row = fetch_one(target, _GET_DOC, {"namespace": namespace, "name": name})
    return str(row[0]) if row is not None else None


class ProjectStore:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, namespace: str, name: str) -> ProjectRow | None:
        return self._session.scalars(_GET, {"namespace": namespace, "name": name}).one_or_none()

    def get_doc(self, namespace: str, name: str) -> str | None:
        """One project's document text, without building an ORM row."""
        return project_doc(self._session, namespace, name)

    def get_for_update(self, namespace: str, name: str) -> ProjectRow | None:
        stmt = select(ProjectRow).where(ProjectRow.namespace == namespace, ProjectRow.name == name).with_for_update()
        return self._session.scalars(stmt).one_or_none()

    def lock(self, namespace: str, name: str) -> None:
        """Serialise writers of one project until the transaction ends; call before any read in it."""
        if self._session.get_bind().dialect.name == "postgresql":
            key = zlib.crc32(f"appproject/{namespace}/{name}".encode())
            self._session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            return
        # Any write statement makes SQLite take the write lock (waiting up to busy_timeout), even when it
        # matches no row; the name comparison keeps it from being folded away.
        self._session.execute(
            update(ProjectRow)
            .where(ProjectRow.namespace == namespace, ProjectRow.name == name, ProjectRow.id < 0)
            .values(generation=ProjectRow.generation)
        )

    def list(self, namespace: str) -> list[ProjectRow]:
        stmt = select(ProjectRow).where(ProjectRow.namespace == namespace).order_by(ProjectRow.name)
        return list(self._session.scalars(stmt))

    def versions(self, namespace: str, names: builtins.list[str]) -> dict[str, tuple[str, int]]:
        """``name -> (uid, resource_version)`` for the given names that exist (cheap staleness checks)."""
        stmt = select(ProjectRow.name, ProjectRow.uid, ProjectRow.resource_version).where(
            ProjectRow.namespace == namespace, ProjectRow.name.in_(names)
        )
        return {name: (uid, int(rv)) for name, uid, rv in self._session.execute(stmt)}

    def add(self, row: ProjectRow) -> None:
        self._session.add(row)
        self._session.flush()

    def save(self, row: ProjectRow) -> None:
        """Write the changes made to a loaded row."""
        self._session.flush()

    def delete(self, row: ProjectRow) -> None:
        self._session.delete(row)
        self._session.flush()

    def count_apps(self, namespace: str, name: str) -> int:
        """Applications in the control-plane namespace that use this project."""
        stmt = select(func.count()).where(ApplicationRow.namespace == namespace, ApplicationRow.project == name)
        return int(self._session.scalar(stmt) or 0)

    def app_docs(self, namespace: str, name: str) -> builtins.list[str]:
        """Wire documents of the applications in the control-plane namespace that use this project."""
        stmt = (
            select(ApplicationRow.doc)
            .where(ApplicationRow.namespace == namespace, ApplicationRow.project == name)
            .order_by(ApplicationRow.name)
        )
        return list(self._session.scalars(stmt))

    def repository_docs(self, project: str) -> builtins.list[str]:
        """Wire documents of the (read) repositories scoped to ``project``; credentials live elsewhere."""
        stmt = (
            select(RepositoryRow.doc)
            .where(RepositoryRow.project == project, RepositoryRow.write.is_(False))
            .order_by(RepositoryRow.id)
        )
        return list(self._session.scalars(stmt))

    def cluster_docs(self, project: str) -> builtins.list[str]:
        """Wire documents of the clusters scoped to ``project``."""
        stmt = select(ClusterRow.doc).where(ClusterRow.project == project).order_by(ClusterRow.id)
        return list(self._session.scalars(stmt))

    def clusters_named(self, name: str) -> builtins.list[ClusterRow]:
        """Clusters registered under ``name`` (names are not unique)."""
        return builtins.list(self._session.scalars(select(ClusterRow).where(ClusterRow.name == name)))
