"""A covering index for listing applications in name order: the list reads ids, versions and uids from it alone.

Revision ID: 0003_application_list_index
Revises: 0002_resources
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0003_application_list_index"
down_revision = "0002_resources"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_applications_list",
        "applications",
        ["name", "namespace", "id", "project", "resource_version", "uid"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_applications_list", table_name="applications")
