"""ORM rows. Names end in ``Row`` so they never clash with wire models; schema changes come from Alembic only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from argocd_server.db.base import Base, JSONDocument


class ServerSecretRow(Base):
    """Server-wide secrets (the JWT signing key), encrypted by the secret box."""

    __tablename__ = "server_secrets"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class AccountSecretRow(Base):
    """What upstream keeps in argocd-secret per local account: password hash, its mtime and API key ids."""

    __tablename__ = "account_secrets"

    name: Mapped[str] = mapped_column(String(253), primary_key=True)
    password_hash: Mapped[str | None] = mapped_column(Text)
    password_mtime: Mapped[datetime | None]
    tokens: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    """API key records ``{"id", "iat", "exp"}``; ids only, never the tokens themselves."""
    version: Mapped[int] = mapped_column(BigInteger, default=1)

    __mapper_args__ = {"version_id_col": version}


class RevokedTokenRow(Base):
    """A revoked login token id, kept until the token would have expired anyway."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(128), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
