"""Statements run straight on the driver's cursor, on a session's own connection and transaction, or in a
``driver_transaction`` (no session at all).

For statements whose columns need no result processing (integers and text). A lookup by key through the ORM costs
about a tenth of a millisecond in Python (entity construction, result processing, the compiled-cache key), and the
controller and the API make several per app and request; a 10,000-row list spends as long building SQLAlchemy rows
as the database takes to produce them. Answers are the driver's plain tuples.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.sql.elements import ClauseElement

from argocd_server.db.engine import DriverConnection

T = TypeVar("T")

Target = Session | DriverConnection
"""Where a statement runs: a session's transaction, or a driver-level one."""


def _dialect(target: Target) -> Dialect:
    return target.dialect if isinstance(target, DriverConnection) else target.connection().dialect


def _on_cursor(target: Target, sql: str, params: Sequence[Any] | Mapping[str, Any], read: Callable[[Any], T]) -> T:
    if isinstance(target, DriverConnection):
        cursor = target.dbapi.cursor()
    else:
        cursor = target.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        return read(cursor)
    finally:
        cursor.close()


def run_sql(target: Target, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """``sql``, written in the driver's own parameter style."""
    return _on_cursor(target, sql, params, lambda cursor: list(cursor.fetchall()))


def _arguments(compiled: Any, params: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
    positions = getattr(compiled, "positiontup", None)  # None for named parameter styles
    return [params[name] for name in positions] if positions is not None else params


@functools.lru_cache(maxsize=64)
def _compiled(stmt: ClauseElement, dialect: Dialect) -> Any:
    return stmt.compile(dialect=dialect)


def fetch_rows(target: Target, stmt: ClauseElement, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Every row of ``stmt``, a module-level statement (compiled once per dialect, cached by identity); booleans
    come back as the driver gives them (0/1 on SQLite)."""
    compiled = _compiled(stmt, _dialect(target))
    return run_sql(target, str(compiled), _arguments(compiled, params))


def fetch_one(target: Target, stmt: ClauseElement, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The first row of ``stmt``, a module-level statement (compiled once per dialect, cached by identity)."""
    rows = fetch_rows(target, stmt, params)
    return tuple(rows[0]) if rows else None


def execute(target: Target, stmt: ClauseElement, params: Mapping[str, Any]) -> int:
    """Run ``stmt``, a module-level INSERT, UPDATE or DELETE (compiled once per dialect, cached by identity), with
    its columns' bind processing (JSON, datetimes) applied to ``params``; the number of rows it touched."""
    compiled = _compiled(stmt, _dialect(target))
    processors = compiled._bind_processors  # what SQLAlchemy's own execution applies to parameters
    values = {name: processors[name](value) if name in processors else value for name, value in params.items()}
    return _on_cursor(target, str(compiled), _arguments(compiled, values), lambda cursor: int(cursor.rowcount))


@functools.lru_cache(maxsize=64)
def _insert_statement(table: Table, columns: frozenset[str]) -> ClauseElement:
    return insert(table).values({name: bindparam(name, type_=table.c[name].type) for name in sorted(columns)})


def insert_row(target: Target, row: DeclarativeBase) -> None:
    """INSERT the columns set on ``row`` (an unsaved mapped object; column defaults fill the rest) without the unit
    of work: the object is not attached to the session and its generated key is not read back."""
    table: Table = row.__table__  # type: ignore[assignment]
    params: dict[str, Any] = {}
    for column in table.columns:
        value = row.__dict__.get(column.key)
        if value is None:
            if column.primary_key and column.autoincrement:
                continue
            default: Any = column.default
            if default is not None:
                value = default.arg(None) if default.is_callable else default.arg
        params[column.key] = value
    execute(target, _insert_statement(table, frozenset(params)), params)


def fetch_all(session: Session, stmt: ClauseElement) -> list[tuple[Any, ...]]:
    """Every row of ``stmt``, a statement built for this call (compiled each time, IN lists expanded)."""
    compiled = stmt.compile(dialect=session.connection().dialect, compile_kwargs={"render_postcompile": True})
    return run_sql(session, str(compiled), _arguments(compiled, compiled.construct_params() or {}))
