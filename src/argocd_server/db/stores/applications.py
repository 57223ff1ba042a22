"""Application rows: indexed columns for filtering plus the wire document; compare-and-swap updates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.orm import Session

from argocd_server.db.models import ApplicationRow

LIST_COLUMNS = (
    ApplicationRow.namespace,
    ApplicationRow.name,
    ApplicationRow.project,
    ApplicationRow.labels,
    ApplicationRow.doc,
)


class ApplicationStore:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, namespace: str, name: str) -> ApplicationRow | None:
        stmt = select(ApplicationRow).where(ApplicationRow.namespace == namespace, ApplicationRow.name == name)
        return self._session.scalars(stmt).one_or_none()

    def list_rows(
        self,
        *,
        namespaces: Sequence[str] | None = None,
        projects: Sequence[str] = (),
        name: str = "",
        repo: str = "",
    ) -> Sequence[Row[str, str, str, dict[str, str], str]]:
        """(namespace, name, project, labels, doc) of the matching apps, sorted by name."""
        stmt = select(*LIST_COLUMNS)
        if namespaces is not None:
            stmt = stmt.where(ApplicationRow.namespace.in_(namespaces))
        if projects:
            stmt = stmt.where(ApplicationRow.project.in_(projects))
        if name:
            stmt = stmt.where(ApplicationRow.name == name)
        if repo:
            stmt = stmt.where(ApplicationRow.repo_url == repo)
        return self._session.execute(stmt.order_by(ApplicationRow.name, ApplicationRow.namespace)).all()

    def latest_resource_version(self) -> int:
        return int(self._session.scalar(select(func.max(ApplicationRow.resource_version))) or 0)

    def add(self, row: ApplicationRow) -> None:
        self._session.add(row)
        self._session.flush()

    def compare_and_swap(self, row_id: int, *, expected_version: int, values: dict[str, Any]) -> bool:
        """Write ``values`` only if nobody wrote the row since ``expected_version`` was read."""
        stmt = (
            update(ApplicationRow)
            .where(ApplicationRow.id == row_id, ApplicationRow.resource_version == expected_version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        result = self._session.execute(stmt)
        return bool(getattr(result, "rowcount", 0))

    def delete(self, row_id: int, *, expected_version: int) -> bool:
        row = self._session.get(ApplicationRow, row_id)
        if row is None or row.resource_version != expected_version:
            return False
        self._session.delete(row)
        self._session.flush()
        return True

    def count_in_project(self, namespace: str, project: str) -> int:
        stmt = select(func.count()).where(ApplicationRow.namespace == namespace, ApplicationRow.project == project)
        return int(self._session.scalar(stmt) or 0)
