"""ORM rows. Names end in ``Row`` so they never clash with wire models; schema changes come from Alembic only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text, UniqueConstraint
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


# --- the resource API (projects, repositories, credentials, clusters, applications, ...) ----------------------
#
# Each object is a row of indexed columns (what lists filter on) plus ``doc``: the object's wire JSON as text,
# already in upstream's encoding, so a list is served by joining stored documents without rebuilding objects.
# Secret fields never enter ``doc``; they are sealed by the secret box into ``secrets``.


class ApplicationRow(Base):
    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("namespace", "name"),
        # Covering index of the list scan (stores/applications.py): name order without reading the documents.
        Index("ix_applications_list", "name", "namespace", "id", "project", "resource_version", "uid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(253))
    name: Mapped[str] = mapped_column(String(253))
    uid: Mapped[str] = mapped_column(String(36))
    project: Mapped[str] = mapped_column(String(253), index=True)
    repo_url: Mapped[str] = mapped_column(Text, default="")
    dest_server: Mapped[str] = mapped_column(Text, default="")
    dest_name: Mapped[str] = mapped_column(String(253), default="")
    dest_namespace: Mapped[str] = mapped_column(String(253), default="")
    sync_status: Mapped[str] = mapped_column(String(32), default="")
    health_status: Mapped[str] = mapped_column(String(32), default="")
    labels: Mapped[dict[str, str]] = mapped_column(JSONDocument, default=dict)
    resource_version: Mapped[int] = mapped_column(BigInteger)
    generation: Mapped[int] = mapped_column(BigInteger, default=1)
    deleting: Mapped[bool] = mapped_column(default=False)
    operation_pending: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    doc: Mapped[str] = mapped_column(Text)


class ApplicationChangeRow(Base):
    """One write to the applications table: the row's id, numbered in commit order. Kept by triggers on SQLite
    (migration 0004) for the list cache in ``db.stores.applications``; empty elsewhere."""

    __tablename__ = "application_changes"
    __table_args__ = {"sqlite_autoincrement": True}

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[int] = mapped_column(Integer)


class ProjectRow(Base):
    __tablename__ = "app_projects"
    __table_args__ = (UniqueConstraint("namespace", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(253))
    name: Mapped[str] = mapped_column(String(253))
    uid: Mapped[str] = mapped_column(String(36))
    resource_version: Mapped[int] = mapped_column(BigInteger)
    generation: Mapped[int] = mapped_column(BigInteger, default=1)
    created_at: Mapped[datetime]
    doc: Mapped[str] = mapped_column(Text)


class RepositoryRow(Base):
    """A repository (``write=False``) or write-repository (``write=True``); ``project`` empty unless scoped."""

    __tablename__ = "repositories"
    __table_args__ = (UniqueConstraint("url", "project", "write"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(Text)
    normalized_url: Mapped[str] = mapped_column(Text, index=True)
    project: Mapped[str] = mapped_column(String(253), default="")
    type: Mapped[str] = mapped_column(String(16), default="git")
    name: Mapped[str] = mapped_column(String(253), default="")
    write: Mapped[bool] = mapped_column(default=False)
    resource_version: Mapped[int] = mapped_column(BigInteger, default=1)
    created_at: Mapped[datetime]
    doc: Mapped[str] = mapped_column(Text)
    secrets: Mapped[bytes | None] = mapped_column(LargeBinary)


class RepoCredsRow(Base):
    """A credential template matched by URL prefix (``write=True`` for write credentials)."""

    __tablename__ = "repo_creds"
    __table_args__ = (UniqueConstraint("url", "write"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16), default="git")
    write: Mapped[bool] = mapped_column(default=False)
    resource_version: Mapped[int] = mapped_column(BigInteger, default=1)
    created_at: Mapped[datetime]
    doc: Mapped[str] = mapped_column(Text)
    secrets: Mapped[bytes | None] = mapped_column(LargeBinary)


class ClusterRow(Base):
    __tablename__ = "clusters"
    __table_args__ = (UniqueConstraint("server"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    server: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(253), index=True)
    project: Mapped[str] = mapped_column(String(253), default="")
    uid: Mapped[str] = mapped_column(String(36))
    labels: Mapped[dict[str, str]] = mapped_column(JSONDocument, default=dict)
    resource_version: Mapped[int] = mapped_column(BigInteger, default=1)
    created_at: Mapped[datetime]
    doc: Mapped[str] = mapped_column(Text)
    secrets: Mapped[bytes | None] = mapped_column(LargeBinary)


class ApplicationSetRow(Base):
    __tablename__ = "application_sets"
    __table_args__ = (UniqueConstraint("namespace", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(253))
    name: Mapped[str] = mapped_column(String(253))
    uid: Mapped[str] = mapped_column(String(36))
    project: Mapped[str] = mapped_column(String(253), index=True)
    labels: Mapped[dict[str, str]] = mapped_column(JSONDocument, default=dict)
    resource_version: Mapped[int] = mapped_column(BigInteger)
    generation: Mapped[int] = mapped_column(BigInteger, default=1)
    created_at: Mapped[datetime]
    doc: Mapped[str] = mapped_column(Text)


class CertificateRow(Base):
    """A TLS certificate or SSH known-host entry for a repository server."""

    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("server_name", "cert_type", "cert_sub_type", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    server_name: Mapped[str] = mapped_column(String(253), index=True)
    cert_type: Mapped[str] = mapped_column(String(16))
    cert_sub_type: Mapped[str] = mapped_column(String(64), default="")
    fingerprint: Mapped[str] = mapped_column(String(256), default="")
    cert_data: Mapped[str] = mapped_column(Text)
    cert_info: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class GpgKeyRow(Base):
    __tablename__ = "gpg_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(128), default="")
    owner: Mapped[str] = mapped_column(Text, default="")
    trust: Mapped[str] = mapped_column(String(32), default="")
    sub_type: Mapped[str] = mapped_column(String(32), default="")
    key_data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class EventRow(Base):
    """Events the server and controller record about apps and projects (Kubernetes core Event shape)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(253))
    involved_kind: Mapped[str] = mapped_column(String(64))
    involved_name: Mapped[str] = mapped_column(String(253))
    involved_uid: Mapped[str] = mapped_column(String(36), default="", index=True)
    reason: Mapped[str] = mapped_column(String(128), default="")
    type: Mapped[str] = mapped_column(String(32), default="Normal")
    created_at: Mapped[datetime] = mapped_column(index=True)
    doc: Mapped[str] = mapped_column(Text)
