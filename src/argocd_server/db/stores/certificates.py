"""Repository server certificates: SSH known-host entries and TLS certificates, one row per key or PEM block."""

from __future__ import annotations

import builtins

from sqlalchemy import select
from sqlalchemy.orm import Session

from argocd_server.db.models import CertificateRow


class CertificateStore:
    def __init__(self, session: Session) -> None:
        self._session = session

    def list(self, *, cert_type: str) -> list[CertificateRow]:
        """Rows of one type in insertion order, as upstream keeps its known_hosts file."""
        stmt = select(CertificateRow).where(CertificateRow.cert_type == cert_type).order_by(CertificateRow.id)
        return list(self._session.scalars(stmt))

    def for_server(self, server_name: str, *, cert_type: str) -> builtins.list[CertificateRow]:
        stmt = (
            select(CertificateRow)
            .where(CertificateRow.server_name == server_name, CertificateRow.cert_type == cert_type)
            .order_by(CertificateRow.id)
        )
        return list(self._session.scalars(stmt))

    def add(self, row: CertificateRow) -> None:
        self._session.add(row)
        self._session.flush()

    def delete(self, row: CertificateRow) -> None:
        self._session.delete(row)
        self._session.flush()
