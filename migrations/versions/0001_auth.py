"""Accounts' secrets, revoked tokens and server secrets.

Revision ID: 0001_auth
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from argocd_server.db.base import UTCDateTime

revision = "0001_auth"
down_revision = None
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "server_secrets",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_server_secrets")),
    )
    op.create_table(
        "account_secrets",
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("password_mtime", UTCDateTime(), nullable=True),
        sa.Column("tokens", JSON_DOC, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_account_secrets")),
    )
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(128), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_revoked_tokens")),
    )
    op.create_index(op.f("ix_revoked_tokens_expires_at"), "revoked_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_revoked_tokens_expires_at"), table_name="revoked_tokens")
    op.drop_table("revoked_tokens")
    op.drop_table("account_secrets")
    op.drop_table("server_secrets")
