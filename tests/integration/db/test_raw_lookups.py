"""The driver-level lookups and writes answer as the ORM does, on both databases' parameter styles."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from argocd_server.db.engine import make_sessionmaker
from argocd_server.db.models import ApplicationRow, EventRow, ProjectRow
from argocd_server.db.stores.applications import ApplicationStore
from argocd_server.db.stores.events import EventStore
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


def test_driver_level_writes_store_what_the_orm_reads_back(migrated_engine: Engine) -> None:
    """Inserts and compare-and-swap updates bypass the unit of work; JSON, booleans, datetimes and column defaults
    must still come back through the ORM as they went in."""
    sessions = make_sessionmaker(migrated_engine)
    now = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with sessions() as session:
        store = ApplicationStore(session)
        store.add(
            ApplicationRow(
                namespace="argocd", name="one", uid="u1", project="p", resource_version=1, created_at=now, doc="{}"
            )
        )
        EventStore(session).add(
            EventRow(namespace="argocd", involved_kind="Application", involved_name="one", created_at=now, doc="{}")
        )
        session.commit()
    with sessions() as session:
        store = ApplicationStore(session)
        row = session.scalars(select(ApplicationRow)).one()
        assert (row.labels, row.generation, row.deleting, row.repo_url) == ({}, 1, False, "")
        assert row.created_at.replace(tzinfo=UTC) == now
        assert store.compare_and_swap(
            row.id, expected_version=1, values={"labels": {"team": "a"}, "deleting": True, "resource_version": 2}
        )
        assert not store.compare_and_swap(row.id, expected_version=1, values={"resource_version": 3})
        session.commit()
        (event,) = session.scalars(select(EventRow)).all()
        assert (event.involved_uid, event.reason, event.type) == ("", "", "Normal")
    with sessions() as session:
        row = session.scalars(select(ApplicationRow)).one()
        assert (row.labels, row.deleting, row.resource_version) == ({"team": "a"}, True, 2)
        stored = ApplicationStore(session).get("argocd", "one")
        assert stored is not None
        assert (stored.id, stored.uid, stored.project, stored.generation) == (row.id, "u1", "p", 1)
        ((row_id, namespace, name, version, pending, deleting),) = ApplicationStore(session).controller_index()
        assert (row_id, namespace, name, version) == (row.id, "argocd", "one", 2)
        assert not pending
        assert deleting
