"""Cluster rows (server URL unique; names are not)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from argocd_server.db.models import ClusterRow


class ClusterStore:
    def __init__(self, session: Session) -> None:
        self._session = session

    def list(self) -> list[ClusterRow]:
        return list(self._session.scalars(select(ClusterRow).order_by(ClusterRow.id)))

    def get_by_server(self, server: str) -> ClusterRow | None:
        server = server.rstrip("/")
        return self._session.scalars(select(ClusterRow).where(ClusterRow.server == server)).one_or_none()

    def find_by_name(self, name: str) -> list[ClusterRow]:
        return list(self._session.scalars(select(ClusterRow).where(ClusterRow.name == name)))

    def add(self, row: ClusterRow) -> None:
        self._session.add(row)
        self._session.flush()

    def delete(self, row: ClusterRow) -> None:
        self._session.delete(row)
        self._session.flush()
