"""Engine and session factory for SQLite (file, WAL) and PostgreSQL (psycopg 3), plus the migration runner."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker


def migrations_dir() -> Path:
    """The Alembic directory: ``ARGOCD_SERVER_MIGRATIONS_DIR`` or ``migrations/`` at the repository root."""
    configured = os.environ.get("ARGOCD_SERVER_MIGRATIONS_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "migrations"


BEGIN_OPTION = "sqlite_begin"
_WRITER_HELD = "argocd_writer_lock_held"
_WRITER_WAIT_SECONDS = 10.0


def read_only(session: Session) -> Session:
    """Start ``session``'s transaction as a reader (deferred BEGIN on SQLite; the default, made explicit)."""
    session.connection(execution_options={BEGIN_OPTION: "DEFERRED"})
    return session


def for_writing(session: Session) -> Session:
    """Start ``session``'s transaction as a writer: ``BEGIN IMMEDIATE`` on SQLite, nothing special elsewhere.

    Only the request or job that will write should do this, and before its first read: a session opened for
    reading inside a writer's transaction (an RBAC or account cache load) stays deferred and never waits for it.
    """
    session.connection(execution_options={BEGIN_OPTION: "IMMEDIATE"})
    return session


class _WriterLock:
    """One SQLite writer at a time: a lock for this process's threads, then ``flock`` on a file beside the database
    for other processes (a separate controller, a second server on the same file), handed over the moment its holder
    lets go instead of after SQLite's busy-handler sleeps.

    A file that cannot be locked (read-only directory, a file system without locks) leaves the processes to SQLite's
    busy timeout, as before. Waiting for another process is bounded by the same timeout, so a stopped process
    cannot hang this one forever; past it, SQLite's own locking decides."""

    _POLL_SECONDS = 0.0005

    def __init__(self, path: Path | None) -> None:
        self._threads = threading.Lock()
        self._path = path
        self._fd: int | None = None
        self._file_held = False

    def _descriptor(self) -> int | None:
        if self._fd is None and self._path is not None:
            try:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                self._path = None
        return self._fd

    def acquire(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if not self._threads.acquire(timeout=timeout):
            return False
        fd = self._descriptor()
        while fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._file_held = True
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    break
                time.sleep(self._POLL_SECONDS)
            except OSError:
                break
        return True

    def release(self) -> None:
        if self._file_held:
            self._file_held = False
            assert self._fd is not None
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


_PLAIN_BIND = "argocd_plain_bind"
_WRITER_BEGUN = "argocd_writer_begun"
_WRITER_BINDS: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def writes_first(session: Session, engine: Engine) -> Session:
    """Make ``session``'s next transaction begin as a writer (``BEGIN IMMEDIATE`` on SQLite), at its first statement
    and in whatever thread runs it; the transactions after it begin as readers again, as after ``for_writing``.

    For the sessions of mutating requests: the write lock is no longer taken up front, in a worker thread of its own,
    and a service that ends its first transaction before slow work (git, helm, the cluster) and reads again meanwhile
    does not hold the lock through that work. A service that starts as a reader (``read_only``) overrides it."""
    bind = _WRITER_BINDS.get(engine)
    if bind is None:
        bind = _WRITER_BINDS[engine] = engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
    session.info[_PLAIN_BIND] = engine
    session.bind = bind
    return session


# The plain bind comes back when the first transaction ends, not when it begins: the transaction keeps its connection
# under the bind it was opened with, and asking for another bind inside it would open a second connection.
@event.listens_for(Session, "after_begin")
def _writer_begun(session: Session, _transaction: Any, _connection: Any) -> None:
    if _PLAIN_BIND in session.info:
        session.info[_WRITER_BEGUN] = True


@event.listens_for(Session, "after_transaction_end")
def _back_to_plain_bind(session: Session, transaction: Any) -> None:
    if transaction.parent is None and session.info.pop(_WRITER_BEGUN, False):
        session.bind = session.info.pop(_PLAIN_BIND)


def _sqlite_begin(dbapi_connection: Any, mode: str) -> None:
    """``BEGIN <mode>`` straight to the driver: SQLAlchemy keeps no state about this statement, and its execution
    path (context, events, result) costs more than the statement itself. Errors are wrapped as SQLAlchemy's own, as
    that path would ("database is locked" is an OperationalError to callers)."""
    statement = f"BEGIN {mode}"
    try:
        dbapi_connection.execute(statement)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, (), exc, sqlite3.Error) from exc


_WRITERS: weakref.WeakKeyDictionary[Engine, _WriterLock] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class DriverConnection:
    """A transaction's driver connection and its dialect: what the driver-level statements of ``db.stores.raw`` run
    on, in place of a session."""

    dbapi: Any
    dialect: Dialect


@contextmanager
def driver_transaction(engine: Engine, *, write: bool) -> Iterator[DriverConnection]:
    """One transaction straight on a pooled driver connection, committed when the block ends without an error.

    For the controller's per-app reads and writes, a handful of statements each: a session costs more than they do
    (its transaction and connection bookkeeping, about 50 microseconds a transaction). ``write`` takes the writer
    lock and begins ``IMMEDIATE`` on SQLite, as ``for_writing`` does; elsewhere the driver begins the transaction at
    the first statement. The lock is released when the connection goes back to the pool, as for sessions."""
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        assert dbapi is not None
        if engine.dialect.name == "sqlite":
            writer = _WRITERS.get(engine)
            if write and writer is not None:
                raw.info[_WRITER_HELD] = writer.acquire(timeout=_WRITER_WAIT_SECONDS)
            _sqlite_begin(dbapi, "IMMEDIATE" if write else "DEFERRED")
        try:
            yield DriverConnection(dbapi, engine.dialect)
        except BaseException:
            raw.rollback()
            raise
        raw.commit()
    finally:
        raw.close()


def _sqlite_pragmas(engine: Engine, lock_path: Path | None) -> None:
    # Non-legacy transaction control (SQLAlchemy's documented pysqlite recipe): pysqlite must not emit its own
    # BEGIN, so SAVEPOINTs and transactional DDL work; we emit BEGIN ourselves.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # Writers begin IMMEDIATE (``for_writing``): a deferred transaction that reads and then writes fails at once
    # with "database is locked" when another writer committed in between (the busy timeout does not apply to
    # that upgrade). Everything else begins deferred, which in WAL mode never waits for writers.
    #
    # SQLite admits one writer at a time, and a writer that finds the lock taken sleeps in its busy handler
    # (1, 2, 5, 10, 15, 20, 25 ... ms between tries) however soon the lock is freed: under a steady stream of
    # short writes from several threads most of a request's time went to those sleeps. So the writers of this
    # process first queue on a lock of their own, handed over the moment the holder commits or rolls back;
    # Writers of other processes (a separate controller) queue on a file lock the same way (``_WriterLock``);
    # SQLite's busy timeout still arbitrates with anything that does not take it (a migration, the sqlite3 shell).
    writer = _WriterLock(lock_path)
    _WRITERS[engine] = writer

    def _release(info: dict[str, Any]) -> None:
        if info.pop(_WRITER_HELD, False):
            writer.release()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        mode = conn.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
        if mode != "DEFERRED" and not conn.info.get(_WRITER_HELD):
            # Bounded: a thread that already writes through another connection must not wait on itself forever;
            # past the timeout it proceeds to SQLite's own busy timeout, as without this lock.
            conn.info[_WRITER_HELD] = writer.acquire(timeout=_WRITER_WAIT_SECONDS)
        try:
            _sqlite_begin(conn.connection.dbapi_connection, mode)
        except BaseException:
            _release(conn.info)
            raise

    # The transaction ends when its connection goes back to the pool (a session commits or rolls back and
    # returns it), or when the pool drops the connection.
    def _release_record(record: Any) -> None:
        info = getattr(record, "info", None)
        if isinstance(info, dict):
            _release(info)

    @event.listens_for(engine.pool, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        _release_record(record)

    @event.listens_for(engine.pool, "reset")
    def _reset(_dbapi_connection: Any, record: Any, _reset_state: Any) -> None:
        _release_record(record)

    @event.listens_for(engine.pool, "invalidate")
    def _invalidate(_dbapi_connection: Any, record: Any, _exception: Any) -> None:
        _release_record(record)

    @event.listens_for(engine.pool, "close")
    def _close(_dbapi_connection: Any, record: Any) -> None:
        _release_record(record)


def make_engine(url: str, *, pool_size: int = 16) -> Engine:
    """An engine for ``url``; SQLite must be a file (``:memory:`` would give each thread its own database)."""
    if url.startswith("sqlite"):
        if ":memory:" in url or url.rstrip("/") in {"sqlite:", "sqlite://"}:
            raise ValueError("SQLite needs a file database; ':memory:' gives every thread its own database")
        path = url.split("///", 1)[1] if "///" in url else ""
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=8,
            connect_args={"check_same_thread": False, "timeout": 10},
        )
        _sqlite_pragmas(engine, Path(f"{path}.writer-lock") if path else None)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=8, pool_pre_ping=True)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` on ``engine``'s database."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
