"""SQLite writers of one process queue on the engine's own lock: handed over on commit, rollback or close."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from argocd_server.db import engine as db_engine
from argocd_server.db.engine import for_writing, make_engine, make_sessionmaker, read_only


@pytest.fixture(autouse=True)
def patient_writers(monkeypatch: pytest.MonkeyPatch) -> None:
    # A writer lock left held would otherwise be waited out (10 s) and then bypassed: make a leak hang instead.
    monkeypatch.setattr(db_engine, "_WRITER_WAIT_SECONDS", 120.0)


def _engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    return engine


def test_every_way_a_write_transaction_ends_frees_the_next_writer(tmp_path: Path) -> None:
    sessions = make_sessionmaker(_engine(tmp_path))
    with sessions() as session:
        for_writing(session).execute(text("INSERT INTO t VALUES (1)"))
        session.commit()
    with sessions() as session:
        for_writing(session).execute(text("INSERT INTO t VALUES (2)"))
        session.rollback()
    with sessions() as session:
        for_writing(session).execute(text("INSERT INTO t VALUES (3)"))
    # Closed without commit: rolled back and released.
    done = threading.Event()

    def writer() -> None:
        with sessions() as session:
            for_writing(session).execute(text("INSERT INTO t VALUES (4)"))
            session.commit()
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    thread.join(timeout=30)
    assert done.is_set()
    with sessions() as session:
        assert list(read_only(session).execute(text("SELECT n FROM t ORDER BY n")).scalars()) == [1, 4]


def test_a_second_writer_waits_for_the_first_and_readers_never_do(tmp_path: Path) -> None:
    sessions = make_sessionmaker(_engine(tmp_path))
    first = sessions()
    for_writing(first).execute(text("INSERT INTO t VALUES (1)"))
    began = threading.Event()
    finished = threading.Event()

    def second_writer() -> None:
        with sessions() as session:
            began.set()
            for_writing(session).execute(text("INSERT INTO t VALUES (2)"))
            session.commit()
        finished.set()

    thread = threading.Thread(target=second_writer)
    thread.start()
    assert began.wait(timeout=30)
    assert not finished.wait(timeout=0.3)
    with sessions() as reader:
        assert list(read_only(reader).execute(text("SELECT n FROM t")).scalars()) == []
    first.commit()
    first.close()
    thread.join(timeout=30)
    assert finished.is_set()
    with sessions() as session:
        assert list(read_only(session).execute(text("SELECT n FROM t ORDER BY n")).scalars()) == [1, 2]
