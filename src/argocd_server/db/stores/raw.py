"""Statements run straight on the driver's cursor, for the hottest lookups.

A lookup by key through the ORM costs about a tenth of a millisecond in Python (entity construction, result
processing, the compiled-cache key); the controller and the API make several per app and request. Statements that
need no result processing (integers and text) can skip all of that: compiled once per dialect, run on the
session's own connection and transaction, answered as the driver's plain tuples.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ClauseElement


@functools.lru_cache(maxsize=64)
def _compiled(stmt: ClauseElement, dialect: Dialect) -> tuple[str, tuple[str, ...] | None]:
    compiled = stmt.compile(dialect=dialect)
    positions = getattr(compiled, "positiontup", None)  # SQLCompiler's; None for named parameter styles
    return str(compiled), (tuple(positions) if positions is not None else None)


def fetch_one(session: Session, stmt: ClauseElement, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """The first row of ``stmt`` (a module-level statement: it is cached by identity) with ``params`` bound."""
    conn = session.connection()
    sql, positions = _compiled(stmt, conn.dialect)
    args: Any = [params[name] for name in positions] if positions is not None else params
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, args)
        row = cursor.fetchone()
    finally:
        cursor.close()
    return tuple(row) if row is not None else None
