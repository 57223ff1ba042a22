"""GnuPG public keys, keyed by their 16-hex-digit key id."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from argocd_server.db.models import GpgKeyRow


class GpgKeyStore:
    def __init__(self, session: Session) -> None:
        self._session = session

    def list(self) -> list[GpgKeyRow]:
        return list(self._session.scalars(select(GpgKeyRow).order_by(GpgKeyRow.key_id)))

    def get(self, key_id: str) -> GpgKeyRow | None:
        return self._session.get(GpgKeyRow, key_id)

    def add(self, row: GpgKeyRow) -> None:
        self._session.add(row)
        self._session.flush()

    def delete(self, row: GpgKeyRow) -> None:
        self._session.delete(row)
        self._session.flush()
