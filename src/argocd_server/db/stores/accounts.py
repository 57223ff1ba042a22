"""Account secrets (password hash, mtime, API key ids), revoked token ids and server secrets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from argocd_server.db.models import AccountSecretRow, RevokedTokenRow, ServerSecretRow


class AccountStore:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, name: str) -> AccountSecretRow | None:
        return self._session.get(AccountSecretRow, name)

    def get_for_update(self, name: str) -> AccountSecretRow:
        """The row for ``name``, created empty if missing (flushed, not committed)."""
        row = self._session.get(AccountSecretRow, name, with_for_update=True)
        if row is None:
            row = AccountSecretRow(name=name, password_hash=None, password_mtime=None, tokens=[])
            self._session.add(row)
            self._session.flush()
        return row

    def all(self) -> list[AccountSecretRow]:
        return list(self._session.scalars(select(AccountSecretRow)))

    def set_password(self, row: AccountSecretRow, *, password_hash: str, mtime: datetime) -> None:
        row.password_hash = password_hash
        row.password_mtime = mtime

    def set_tokens(self, row: AccountSecretRow, tokens: list[dict[str, Any]]) -> None:
        row.tokens = tokens


class RevokedTokenStore:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, jti: str, *, expires_at: datetime) -> None:
        if self._session.get(RevokedTokenRow, jti) is None:
            self._session.add(RevokedTokenRow(jti=jti, expires_at=expires_at))

    def active(self, now: datetime) -> set[str]:
        stmt = select(RevokedTokenRow.jti).where(RevokedTokenRow.expires_at > now)
        return set(self._session.scalars(stmt))

    def prune(self, now: datetime) -> int:
        result = self._session.execute(delete(RevokedTokenRow).where(RevokedTokenRow.expires_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)


class ServerSecretStore:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get_or_create(self, key: str, *, factory: Callable[[], bytes], now: datetime) -> bytes:
        """The stored value for ``key``; the first writer wins when replicas start together."""
        row = self._session.get(ServerSecretRow, key)
        if row is not None:
            return row.value
        try:
            with self._session.begin_nested():
                self._session.add(ServerSecretRow(key=key, value=factory(), created_at=now))
        except IntegrityError:
            pass
        stored = self._session.get(ServerSecretRow, key, populate_existing=True)
        if stored is None:  # pragma: no cover - the row was just written by us or a peer
            raise RuntimeError(f"server secret {key} vanished")
        return stored.value
