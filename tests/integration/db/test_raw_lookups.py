"""The controller's driver-level lookups answer as the ORM does, on both databases' parameter styles."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from argocd_server.db.engine import make_sessionmaker
from argocd_server.db.models import ApplicationRow, ProjectRow
from argocd_server.db.stores.applications import ApplicationStore
from argocd_server.db.stores.projects import ProjectStore


def test_document_lookups_match_the_orm(migrated_engine: Engine) -> None:
    sessions = make_sessionmaker(migrated_engine)
    now = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with sessions() as session:
        session.add(ProjectRow(namespace="argocd", name="team", uid="p", resource_version=3, created_at=now, doc="{}"))
        for name, version in (("one", 4), ("two", 9)):
            session.add(
                ApplicationRow(
                    namespace="argocd",
                    name=name,
                    uid=name,
                    project="team",
                    resource_version=version,
                    created_at=now,
                    doc=f'{{"name":"{name}"}}',
                    labels={},
                )
            )
        session.commit()
    with sessions() as session:
        apps, projects = ApplicationStore(session), ProjectStore(session)
        row = apps.get("argocd", "two")
        assert row is not None
        assert apps.get_doc("argocd", "two") == (row.id, 9, '{"name":"two"}')
        assert apps.get_doc("argocd", "three") is None
        assert apps.get_doc("other", "one") is None
        assert projects.get_doc("argocd", "team") == "{}"
        assert projects.get_doc("argocd", "default") is None
