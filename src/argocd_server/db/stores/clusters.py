"""Cluster rows (server URL unique; names are not).

The service keeps the sanitised wire document in ``doc`` and the sealed connection config in ``secrets``; this
store only finds, adds and removes rows and never commits.
"""

from __future__ import annotations

import builtins

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from argocd_server.db.models import ClusterRow
from argocd_server.db.stores.raw import fetch_one

# Built once: a reused statement keeps its compiled form.
_GET_BY_SERVER = select(ClusterRow).where(ClusterRow.server == bindparam("server"))
_IDENTITY_BY_SERVER = select(ClusterRow.server, ClusterRow.name).where(ClusterRow.server == bindparam("server"))


class ClusterStore:
    def __init__(self, session: Session) -> None:
        self._session = session

    def list(self) -> list[ClusterRow]:
        """Every stored cluster in creation order."""
        return list(self._session.scalars(select(ClusterRow).order_by(ClusterRow.id)))

    def get_by_server(self, server: str) -> ClusterRow | None:
        return self._session.scalars(_GET_BY_SERVER, {"server": server.rstrip("/")}).one_or_none()

    def identity(self, server: str) -> tuple[str, str] | None:
        """(server, name) of the row for ``server``, read at the driver: every app create and update resolves its
        destination, and needs no more than this."""
        found = fetch_one(self._session, _IDENTITY_BY_SERVER, {"server": server.rstrip("/")})
        return (str(found[0]), str(found[1])) if found is not None else None

    def get_for_update(self, server: str) -> ClusterRow | None:
        """The row for ``server`` locked until the transaction ends (PostgreSQL; SQLite serialises writers)."""
        stmt = select(ClusterRow).where(ClusterRow.server == server.rstrip("/")).with_for_update()
        return self._session.scalars(stmt).one_or_none()

    def find_by_name(self, name: str) -> builtins.list[ClusterRow]:
        """Clusters called ``name`` in creation order (names are not unique)."""
        stmt = select(ClusterRow).where(ClusterRow.name == name).order_by(ClusterRow.id)
        return list(self._session.scalars(stmt))

    def add(self, row: ClusterRow) -> None:
        self._session.add(row)
        self._session.flush()

    def save(self, row: ClusterRow) -> None:
        """Write pending changes of a loaded row."""
        self._session.flush()

    def delete(self, row: ClusterRow) -> None:
        self._session.delete(row)
        self._session.flush()
