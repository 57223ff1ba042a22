"""ApplicationSet rows: namespace/name unique, the template project and labels as columns, the wire JSON in ``doc``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from argocd_server.db.models import ApplicationSetRow


class ApplicationSetStore:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, namespace: str, name: str) -> ApplicationSetRow | None:
        stmt = select(ApplicationSetRow).where(ApplicationSetRow.namespace == namespace, ApplicationSetRow.name == name)
        return self._session.scalars(stmt).one_or_none()

    def get_for_update(self, namespace: str, name: str) -> ApplicationSetRow | None:
        """The row locked until the transaction ends (PostgreSQL; SQLite serialises writers anyway)."""
        stmt = (
            select(ApplicationSetRow)
            .where(ApplicationSetRow.namespace == namespace, ApplicationSetRow.name == name)
            .with_for_update()
        )
        return self._session.scalars(stmt).one_or_none()

    def list_rows(self, *, namespace: str = "") -> Sequence[tuple[str, str, str, dict[str, str], str]]:
        """(namespace, name, project, labels, doc) of every set, or of one namespace's, sorted by name."""
        stmt = select(
            ApplicationSetRow.namespace,
            ApplicationSetRow.name,
            ApplicationSetRow.project,
            ApplicationSetRow.labels,
            ApplicationSetRow.doc,
        )
        if namespace:
            stmt = stmt.where(ApplicationSetRow.namespace == namespace)
        stmt = stmt.order_by(ApplicationSetRow.name, ApplicationSetRow.namespace)
        return self._session.execute(stmt).all()

    def add(self, row: ApplicationSetRow) -> None:
        self._session.add(row)
        self._session.flush()

    def save(self, row: ApplicationSetRow) -> None:
        """Write pending changes of a loaded row."""
        self._session.flush()

    def delete(self, row: ApplicationSetRow) -> None:
        self._session.delete(row)
        self._session.flush()

    # --- watch stream queries (additive) ---

    def versions(self) -> Sequence[Row[int, str, str, int]]:
        """(id, namespace, name, resource_version) of every set: the watch broadcaster's cheap change scan."""
        stmt = select(
            ApplicationSetRow.id,
            ApplicationSetRow.namespace,
            ApplicationSetRow.name,
            ApplicationSetRow.resource_version,
        )
        return self._session.execute(stmt).all()

    def docs_for(self, ids: Sequence[int]) -> Sequence[Row[int, str, str, str, dict[str, str], int, str]]:
        """(id, namespace, name, project, labels, resource_version, doc) of the given sets (missing ids skipped)."""
        if not ids:
            return []
        stmt = select(
            ApplicationSetRow.id,
            ApplicationSetRow.namespace,
            ApplicationSetRow.name,
            ApplicationSetRow.project,
            ApplicationSetRow.labels,
            ApplicationSetRow.resource_version,
            ApplicationSetRow.doc,
        ).where(ApplicationSetRow.id.in_(ids))
        return self._session.execute(stmt).all()
