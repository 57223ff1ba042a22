"""The resource API: applications, projects, repositories, credentials, clusters, application sets,
certificates, GPG keys and events.

Revision ID: 0002_resources
Revises: 0001_auth
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from argocd_server.db.base import UTCDateTime

revision = "0002_resources"
down_revision = "0001_auth"
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "app_projects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("namespace", sa.String(length=253), nullable=False),
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("resource_version", sa.BigInteger(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_projects")),
        sa.UniqueConstraint("namespace", "name", name=op.f("uq_app_projects_namespace")),
    )
    op.create_table(
        "application_sets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("namespace", sa.String(length=253), nullable=False),
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("project", sa.String(length=253), nullable=False),
        sa.Column("labels", JSON_DOC, nullable=False),
        sa.Column("resource_version", sa.BigInteger(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_sets")),
        sa.UniqueConstraint("namespace", "name", name=op.f("uq_application_sets_namespace")),
    )
    op.create_index(op.f("ix_application_sets_project"), "application_sets", ["project"], unique=False)
    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("namespace", sa.String(length=253), nullable=False),
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("project", sa.String(length=253), nullable=False),
        sa.Column("repo_url", sa.Text(), nullable=False),
        sa.Column("dest_server", sa.Text(), nullable=False),
        sa.Column("dest_name", sa.String(length=253), nullable=False),
        sa.Column("dest_namespace", sa.String(length=253), nullable=False),
        sa.Column("sync_status", sa.String(length=32), nullable=False),
        sa.Column("health_status", sa.String(length=32), nullable=False),
        sa.Column("labels", JSON_DOC, nullable=False),
        sa.Column("resource_version", sa.BigInteger(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("deleting", sa.Boolean(), nullable=False),
        sa.Column("operation_pending", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("namespace", "name", name=op.f("uq_applications_namespace")),
    )
    op.create_index(op.f("ix_applications_project"), "applications", ["project"], unique=False)
    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("server_name", sa.String(length=253), nullable=False),
        sa.Column("cert_type", sa.String(length=16), nullable=False),
        sa.Column("cert_sub_type", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=256), nullable=False),
        sa.Column("cert_data", sa.Text(), nullable=False),
        sa.Column("cert_info", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint(
            "server_name", "cert_type", "cert_sub_type", "fingerprint", name=op.f("uq_certificates_server_name")
        ),
    )
    op.create_index(op.f("ix_certificates_server_name"), "certificates", ["server_name"], unique=False)
    op.create_table(
        "clusters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("server", sa.Text(), nullable=False),
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("project", sa.String(length=253), nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("labels", JSON_DOC, nullable=False),
        sa.Column("resource_version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.Column("secrets", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clusters")),
        sa.UniqueConstraint("server", name=op.f("uq_clusters_server")),
    )
    op.create_index(op.f("ix_clusters_name"), "clusters", ["name"], unique=False)
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("namespace", sa.String(length=253), nullable=False),
        sa.Column("involved_kind", sa.String(length=64), nullable=False),
        sa.Column("involved_name", sa.String(length=253), nullable=False),
        sa.Column("involved_uid", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_created_at"), "events", ["created_at"], unique=False)
    op.create_index(op.f("ix_events_involved_uid"), "events", ["involved_uid"], unique=False)
    op.create_table(
        "gpg_keys",
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("trust", sa.String(length=32), nullable=False),
        sa.Column("sub_type", sa.String(length=32), nullable=False),
        sa.Column("key_data", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_gpg_keys")),
    )
    op.create_table(
        "repo_creds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("write", sa.Boolean(), nullable=False),
        sa.Column("resource_version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.Column("secrets", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repo_creds")),
        sa.UniqueConstraint("url", "write", name=op.f("uq_repo_creds_url")),
    )
    op.create_table(
        "repositories",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("normalized_url", sa.Text(), nullable=False),
        sa.Column("project", sa.String(length=253), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("write", sa.Boolean(), nullable=False),
        sa.Column("resource_version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.Column("secrets", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repositories")),
        sa.UniqueConstraint("url", "project", "write", name=op.f("uq_repositories_url")),
    )
    op.create_index(op.f("ix_repositories_normalized_url"), "repositories", ["normalized_url"], unique=False)


def downgrade() -> None:

    op.drop_index(op.f("ix_repositories_normalized_url"), table_name="repositories")
    op.drop_table("repositories")
    op.drop_table("repo_creds")
    op.drop_table("gpg_keys")
    op.drop_index(op.f("ix_events_involved_uid"), table_name="events")
    op.drop_index(op.f("ix_events_created_at"), table_name="events")
    op.drop_table("events")
    op.drop_index(op.f("ix_clusters_name"), table_name="clusters")
    op.drop_table("clusters")
    op.drop_index(op.f("ix_certificates_server_name"), table_name="certificates")
    op.drop_table("certificates")
    op.drop_index(op.f("ix_applications_project"), table_name="applications")
    op.drop_table("applications")
    op.drop_index(op.f("ix_application_sets_project"), table_name="application_sets")
    op.drop_table("application_sets")
    op.drop_table("app_projects")
