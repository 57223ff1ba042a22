"""SQLite writers queue on the engine's own lock (threads) and a lock file (processes): handed over on commit,
rollback, close or the holder's death."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

from argocd_server.db import engine as db_engine
from argocd_server.db.engine import (
    driver_transaction,
    for_writing,
    make_engine,
    make_sessionmaker,
    read_only,
    writes_first,
)


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


_OTHER_PROCESS = """
import sys
from sqlalchemy import text
from argocd_server.db.engine import for_writing, make_engine, make_sessionmaker
sessions = make_sessionmaker(make_engine(sys.argv[1]))
with sessions() as session:
    for_writing(session).execute(text("INSERT INTO t VALUES (1)"))
    print("holding", flush=True)
    sys.stdin.readline()
    session.commit()
print("done", flush=True)
"""


def _other_process_writer(tmp_path: Path) -> subprocess.Popen[str]:
    """A writer in another process (a separate controller), holding its write transaction until told to commit."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _OTHER_PROCESS, f"sqlite:///{tmp_path / 'w.db'}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "holding"
    return proc


def _impatient_engine(tmp_path: Path) -> Engine:
    """This process's engine with SQLite's busy timeout at zero: a writer that reached SQLite while another process
    held its lock would fail at once with "database is locked" instead of sleeping in the busy handler."""
    engine = _engine(tmp_path)

    @event.listens_for(engine, "connect")
    def _no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    engine.dispose()
    return engine


def _write_in_thread(engine: Engine, value: int) -> tuple[threading.Thread, threading.Event, list[BaseException]]:
    sessions = make_sessionmaker(engine)
    finished = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with sessions() as session:
                for_writing(session).execute(text("INSERT INTO t VALUES (:n)"), {"n": value})
                session.commit()
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            finished.set()

    thread = threading.Thread(target=writer)
    thread.start()
    return thread, finished, errors


def test_writers_of_another_process_are_waited_for_on_the_lock_file_not_in_the_busy_handler(tmp_path: Path) -> None:
    engine = _impatient_engine(tmp_path)
    other = _other_process_writer(tmp_path)
    thread, finished, errors = _write_in_thread(engine, 2)
    assert not finished.wait(timeout=0.3), errors
    assert other.stdin is not None
    assert other.stdout is not None
    other.stdin.write("\n")
    other.stdin.flush()
    assert other.stdout.readline().strip() == "done"
    other.wait(timeout=30)
    thread.join(timeout=30)
    assert finished.is_set()
    assert not errors
    with make_sessionmaker(engine)() as session:
        assert list(read_only(session).execute(text("SELECT n FROM t ORDER BY n")).scalars()) == [1, 2]


def test_a_writer_killed_in_its_transaction_frees_the_lock_file(tmp_path: Path) -> None:
    engine = _impatient_engine(tmp_path)
    other = _other_process_writer(tmp_path)
    thread, finished, errors = _write_in_thread(engine, 2)
    assert not finished.wait(timeout=0.3), errors
    other.send_signal(signal.SIGKILL)
    other.wait(timeout=30)
    thread.join(timeout=30)
    assert finished.is_set()
    assert not errors
    with make_sessionmaker(engine)() as session:
        assert list(read_only(session).execute(text("SELECT n FROM t ORDER BY n")).scalars()) == [2]


def test_a_write_lock_sqlite_refuses_is_sqlalchemys_operational_error_and_frees_the_next_writer(
    tmp_path: Path,
) -> None:
    """What callers catch (the controller retries a locked write): the driver's error, wrapped as SQLAlchemy's."""
    engine = _impatient_engine(tmp_path)
    sessions = make_sessionmaker(engine)
    outsider = sqlite3.connect(tmp_path / "w.db", isolation_level=None)  # takes SQLite's lock, not the lock file
    outsider.execute("BEGIN IMMEDIATE")
    with sessions() as session, pytest.raises(OperationalError, match="database is locked"):
        for_writing(session)
    outsider.execute("ROLLBACK")
    outsider.close()
    with sessions() as session:
        for_writing(session).execute(text("INSERT INTO t VALUES (1)"))
        session.commit()


def test_a_driver_level_writer_holds_the_lock_until_its_block_ends(tmp_path: Path) -> None:
    engine = _impatient_engine(tmp_path)
    with driver_transaction(engine, write=True) as conn:
        conn.dbapi.execute("INSERT INTO t VALUES (1)")
        thread, finished, errors = _write_in_thread(engine, 2)
        assert not finished.wait(timeout=0.3), errors
    thread.join(timeout=30)
    assert finished.is_set()
    assert not errors
    with driver_transaction(engine, write=False) as conn:
        assert [n for (n,) in conn.dbapi.execute("SELECT n FROM t ORDER BY n")] == [1, 2]


def test_a_mutating_requests_session_writes_first_and_reads_after(tmp_path: Path) -> None:
    """``writes_first``: the first transaction holds the write lock from its first statement; once it ends, a read
    in a new transaction (a service reading again before slow work) does not hold it."""
    engine = _impatient_engine(tmp_path)
    session = writes_first(make_sessionmaker(engine)(), engine)
    session.execute(text("SELECT count(*) FROM t"))
    thread, finished, errors = _write_in_thread(engine, 1)
    assert not finished.wait(timeout=0.3), errors
    session.rollback()
    thread.join(timeout=30)
    assert finished.is_set()
    session.execute(text("SELECT count(*) FROM t"))  # a new transaction: a reader
    thread, finished, errors = _write_in_thread(engine, 2)
    thread.join(timeout=30)
    assert finished.is_set()
    assert not errors
    session.close()
