"""The Alembic migrations on both databases: upgrade to head, downgrade to base, and no drift from the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from argocd_server.db import models  # noqa: F401 - registers tables
from argocd_server.db.base import Base
from argocd_server.db.engine import downgrade, upgrade


def test_upgrade_head_matches_models(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_downgrade_to_base_and_back(migrated_engine: Engine) -> None:
    downgrade(migrated_engine, "base")
    tables = set(inspect(migrated_engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade(migrated_engine)
    tables = set(inspect(migrated_engine).get_table_names())
    assert {"account_secrets", "revoked_tokens", "server_secrets"} <= tables
