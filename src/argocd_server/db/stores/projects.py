"""AppProject rows."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from argocd_server.db.models import ApplicationRow, ProjectRow


class ProjectStore:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, namespace: str, name: str) -> ProjectRow | None:
        stmt = select(ProjectRow).where(ProjectRow.namespace == namespace, ProjectRow.name == name)
        return self._session.scalars(stmt).one_or_none()

    def get_for_update(self, namespace: str, name: str) -> ProjectRow | None:
        stmt = (
            select(ProjectRow)
            .where(ProjectRow.namespace == namespace, ProjectRow.name == name)
            .with_for_update()
        )
        return self._session.scalars(stmt).one_or_none()

    def list(self, namespace: str) -> list[ProjectRow]:
        stmt = select(ProjectRow).where(ProjectRow.namespace == namespace).order_by(ProjectRow.name)
        return list(self._session.scalars(stmt))

    def add(self, row: ProjectRow) -> None:
        self._session.add(row)
        self._session.flush()

    def delete(self, row: ProjectRow) -> None:
        self._session.delete(row)
        self._session.flush()

    def count_apps(self, namespace: str, name: str) -> int:
        """Applications in the control-plane namespace that use this project."""
        stmt = select(func.count()).where(ApplicationRow.namespace == namespace, ApplicationRow.project == name)
        return int(self._session.scalar(stmt) or 0)
