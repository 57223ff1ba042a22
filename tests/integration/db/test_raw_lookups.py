"""The driver-level lookups and writes answer as the ORM does, on both databases' parameter styles."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from argocd_server.db.engine import driver_transaction, make_sessionmaker
from argocd_server.db.models import ApplicationRow, EventRow, ProjectRow
from argocd_server.db.stores.applications import ApplicationStore, application_doc, update_status
from argocd_server.db.stores.events import EventStore, add_event
from argocd_server.db.stores.projects import ProjectStore, project_doc


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


def event(name: str, at: datetime) -> EventRow:
    return EventRow(namespace="argocd", involved_kind="Application", involved_name=name, created_at=at, doc="{}")


def test_driver_transactions_commit_roll_back_and_read_as_sessions_do(migrated_engine: Engine) -> None:
    """The controller's session-less transactions: a block that ends normally commits, one that raises rolls back,
    and what they read and write is what the ORM sees."""
    sessions = make_sessionmaker(migrated_engine)
    now = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with sessions() as session:
        session.add(ProjectRow(namespace="argocd", name="team", uid="p", resource_version=1, created_at=now, doc="{}"))
        session.add(
            ApplicationRow(
                namespace="argocd", name="one", uid="u1", project="team", resource_version=1, created_at=now, doc="{}"
            )
        )
        session.commit()
    with driver_transaction(migrated_engine, write=False) as conn:
        found = application_doc(conn, "argocd", "one")
        assert found is not None
        row_id = found[0]
        assert found == (row_id, 1, "{}")
        assert project_doc(conn, "argocd", "team") == "{}"
        assert application_doc(conn, "argocd", "two") is None
    with driver_transaction(migrated_engine, write=True) as conn:
        assert update_status(conn, row_id, 1, doc_text='{"v":2}', values={"operation_pending": True}) == 2
        assert update_status(conn, row_id, 1, doc_text='{"v":3}', values={}) is None  # lost the race
        add_event(conn, event("one", now))

    def failing_write() -> None:
        with driver_transaction(migrated_engine, write=True) as conn:
            assert update_status(conn, row_id, 2, doc_text='{"v":9}', values={}) == 3
            add_event(conn, event("two", now))
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        failing_write()
    with sessions() as session:
        row = session.scalars(select(ApplicationRow)).one()
        assert (row.resource_version, row.doc, row.operation_pending) == (2, '{"v":2}', True)
        assert [e.involved_name for e in session.scalars(select(EventRow))] == ["one"]
