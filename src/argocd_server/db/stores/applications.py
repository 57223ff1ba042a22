"""Application rows: indexed columns for filtering plus the wire document; compare-and-swap updates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, Text, cast, func, select, update
from sqlalchemy.orm import Session

from argocd_server.db.models import ApplicationRow

LIST_COLUMNS = (
    ApplicationRow.namespace,
    ApplicationRow.name,
    ApplicationRow.project,
    ApplicationRow.resource_version,
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
        with_labels: bool = False,
    ) -> Sequence[Any]:
        """(namespace, name, project, resource_version, doc[, labels]) of the matching apps, sorted by name.

        Labels are decoded only when asked for: a selector-less list of thousands of apps skips that work."""
        stmt = select(*LIST_COLUMNS, ApplicationRow.labels) if with_labels else select(*LIST_COLUMNS)
        if namespaces is not None:
            stmt = stmt.where(ApplicationRow.namespace.in_(namespaces))
        if projects:
            stmt = stmt.where(ApplicationRow.project.in_(projects))
        if name:
            stmt = stmt.where(ApplicationRow.name == name)
        if repo:
            stmt = stmt.where(ApplicationRow.repo_url == repo)
        return self._session.execute(stmt.order_by(ApplicationRow.name, ApplicationRow.namespace)).all()

    def list_docs(
        self,
        *,
        namespaces: Sequence[str] | None = None,
        projects: Sequence[str] = (),
        name: str = "",
        repo: str = "",
        with_labels: bool = False,
    ) -> Sequence[Any]:
        """``list_rows`` as plain tuples, for serving a list: labels come as raw JSON text.

        Executed on the session's connection, so no ORM result processing runs per row; labels are cast to text
        so the caller decodes them only when a selector needs them (the JSON type would decode every row)."""
        table = ApplicationRow.__table__
        columns: list[ColumnElement[Any]] = [
            table.c.namespace,
            table.c.name,
            table.c.project,
            table.c.resource_version,
            table.c.doc,
        ]
        if with_labels:
            columns.append(cast(table.c.labels, Text))
        stmt = select(*columns)
        if namespaces is not None:
            stmt = stmt.where(table.c.namespace.in_(namespaces))
        if projects:
            stmt = stmt.where(table.c.project.in_(projects))
        if name:
            stmt = stmt.where(table.c.name == name)
        if repo:
            stmt = stmt.where(table.c.repo_url == repo)
        stmt = stmt.order_by(table.c.name, table.c.namespace)
        return self._session.connection().execute(stmt).all()

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

    # --- controller queries (additive) ---

    def controller_index(self) -> Sequence[Row[int, str, str, int, bool, bool]]:
        """(id, namespace, name, resource_version, operation_pending, deleting) of every app: the controller's
        cheap change scan, no documents loaded."""
        stmt = select(
            ApplicationRow.id,
            ApplicationRow.namespace,
            ApplicationRow.name,
            ApplicationRow.resource_version,
            ApplicationRow.operation_pending,
            ApplicationRow.deleting,
        )
        return self._session.execute(stmt).all()

    def pending_operations(self) -> Sequence[Row[str, str]]:
        """(namespace, name) of the apps carrying an operation."""
        stmt = select(ApplicationRow.namespace, ApplicationRow.name).where(ApplicationRow.operation_pending.is_(True))
        return self._session.execute(stmt).all()

    def update_status(self, row: ApplicationRow, *, doc_text: str, values: dict[str, Any]) -> int | None:
        """Compare-and-swap a controller write (status, operation): bumps resource_version, keeps generation.

        Returns the new resource_version, or None when another writer got there first."""
        version = row.resource_version + 1
        ok = self.compare_and_swap(
            row.id,
            expected_version=row.resource_version,
            values={**values, "doc": doc_text, "resource_version": version},
        )
        return version if ok else None

    # --- watch stream queries (additive) ---

    def versions(self) -> Sequence[Row[int, str, str, int]]:
        """(id, namespace, name, resource_version) of every app: the watch broadcaster's cheap change scan."""
        stmt = select(ApplicationRow.id, ApplicationRow.namespace, ApplicationRow.name, ApplicationRow.resource_version)
        return self._session.execute(stmt).all()

    def docs_for(self, ids: Sequence[int]) -> Sequence[Row[int, str, str, str, dict[str, str], int, str]]:
        """(id, namespace, name, project, labels, resource_version, doc) of the given apps (missing ids skipped)."""
        if not ids:
            return []
        stmt = select(
            ApplicationRow.id,
            ApplicationRow.namespace,
            ApplicationRow.name,
            ApplicationRow.project,
            ApplicationRow.labels,
            ApplicationRow.resource_version,
            ApplicationRow.doc,
        ).where(ApplicationRow.id.in_(ids))
        return self._session.execute(stmt).all()
