"""Application rows: indexed columns for filtering plus the wire document; compare-and-swap updates."""

from __future__ import annotations

import bisect
import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Table, Text, Update, bindparam, cast, func, select, update
from sqlalchemy.orm import Session

from argocd_server.db.models import ApplicationChangeRow, ApplicationRow
from argocd_server.db.stores.raw import Target, execute, fetch_all, fetch_one, fetch_rows, insert_row, run_sql

LIST_COLUMNS = (
    ApplicationRow.namespace,
    ApplicationRow.name,
    ApplicationRow.project,
    ApplicationRow.resource_version,
    ApplicationRow.doc,
)

# Built once: constructing a statement costs more than running it on a small table, and a reused statement also
# keeps its compiled-cache key. The controller and the API look apps up by name many times per app and second.
_GET = select(
    ApplicationRow.id,
    ApplicationRow.namespace,
    ApplicationRow.name,
    ApplicationRow.uid,
    ApplicationRow.project,
    ApplicationRow.resource_version,
    ApplicationRow.generation,
    ApplicationRow.doc,
).where(ApplicationRow.namespace == bindparam("namespace"), ApplicationRow.name == bindparam("name"))
_GET_DOC = select(ApplicationRow.id, ApplicationRow.resource_version, ApplicationRow.doc).where(
    ApplicationRow.namespace == bindparam("namespace"), ApplicationRow.name == bindparam("name")
)


@functools.lru_cache(maxsize=32)
def _swap_statement(columns: frozenset[str]) -> Update:
    """The compare-and-swap UPDATE of these columns, built once per column set (the API and the controller each
    write a fixed set): values bound as ``v_<column>``, the row as ``row_id`` and ``expected_version``."""
    table: Table = ApplicationRow.__table__  # type: ignore[assignment]
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .where(table.c.resource_version == bindparam("expected_version"))
        .values({name: bindparam(f"v_{name}", type_=table.c[name].type) for name in sorted(columns)})
    )


_CONTROLLER_INDEX = select(
    ApplicationRow.id,
    ApplicationRow.namespace,
    ApplicationRow.name,
    ApplicationRow.resource_version,
    ApplicationRow.operation_pending,
    ApplicationRow.deleting,
)
_NEWEST_CHANGE = select(func.max(ApplicationChangeRow.seq))
# SQLite only (the change log is kept there alone), so written once in its parameter style.
_CHANGES_SINCE = "SELECT seq, app_id FROM application_changes WHERE seq >= ? ORDER BY seq"
_LOAD_LISTED = "SELECT id, uid, namespace, name, project, resource_version, doc FROM applications WHERE id IN ({marks})"
_LOAD_LISTED_LABELS = (
    "SELECT id, uid, namespace, name, project, resource_version, doc, CAST(labels AS TEXT) FROM applications "
    "WHERE id IN ({marks})"
)


def _listed_order(row: tuple[Any, ...]) -> tuple[str, str]:
    return row[1], row[0]


@dataclass(frozen=True, slots=True)
class _WholeTable:
    """Every application as ``list_cached`` answers, in (name, namespace) order, with the row ids alongside;
    current to change-log entry ``stamp``. Never changed once made: a request may still be reading it."""

    stamp: int
    ids: list[int]
    rows: list[tuple[Any, ...]]

    def patched(self, stamp: int, changed: set[int], fresh: Sequence[tuple[int, tuple[Any, ...]]]) -> _WholeTable:
        """A copy without the ``changed`` rows, then with their ``fresh`` state (deleted rows have none)."""
        keep = [k for k, row_id in enumerate(self.ids) if row_id not in changed]
        ids = [self.ids[k] for k in keep]
        rows = [self.rows[k] for k in keep]
        for row_id, row in fresh:
            at = bisect.bisect_left(rows, _listed_order(row), key=_listed_order)
            rows.insert(at, row)
            ids.insert(at, row_id)
        return _WholeTable(stamp, ids, rows)


def _filter_listed(
    rows: list[tuple[Any, ...]], *, namespaces: Sequence[str] | None, projects: Sequence[str], name: str
) -> list[tuple[Any, ...]]:
    """``list_cached``'s filters (but ``repo``) over its answer for the whole table."""
    if namespaces is not None:
        wanted_namespaces = set(namespaces)
        rows = [row for row in rows if row[0] in wanted_namespaces]
    if projects:
        wanted_projects = set(projects)
        rows = [row for row in rows if row[2] in wanted_projects]
    if name:
        rows = [row for row in rows if row[1] == name]
    return rows


_LOAD_CHUNK = 500
"""Ids per document load: well under SQLite's bound-parameter limit."""


class DocumentCache:
    """Encoded application documents by row id, each with the resource version it was stored under.

    Shared by the list requests of one process. A list still reads every matching row's id and version from the
    database (a covering index scan) inside its own transaction, and takes from here only documents whose version
    is the one it read; the others are loaded and remembered. So a list is never staler than the database, and
    serving 10,000 apps reads kilobytes instead of megabytes."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._docs: dict[int, tuple[int, str, bytes]] = {}
        # The whole-table list (one with labels, one without) and the change-log entry it is current to.
        self._tables: dict[bool, _WholeTable] = {}

    def whole_table(self, with_labels: bool) -> _WholeTable | None:
        return self._tables.get(with_labels)

    def keep_whole_table(self, with_labels: bool, table: _WholeTable) -> None:
        with self._lock:
            held = self._tables.get(with_labels)
            if held is None or held.stamp <= table.stamp:
                self._tables[with_labels] = table

    def __len__(self) -> int:
        return len(self._docs)

    def get_many(self, rows: Sequence[Sequence[Any]]) -> list[bytes | None]:
        """The document of each ``(id, _, _, _, version, uid, ...)`` row; None where missing or of another
        version or object (SQLite may give a deleted row's id to the next insert, whose version starts at 1
        again: the uid tells them apart)."""
        docs = self._docs
        out: list[bytes | None] = []
        add = out.append
        for row in rows:
            entry = docs.get(row[0])
            add(entry[2] if entry is not None and entry[0] == row[4] and entry[1] == row[5] else None)
        return out

    def put_many(self, entries: Sequence[tuple[int, int, str, bytes]]) -> None:
        with self._lock:
            if len(self._docs) + len(entries) > self.max_entries:
                self._docs.clear()
            for row_id, version, uid, doc in entries:
                self._docs[row_id] = (version, uid, doc)

    def forget(self, row_ids: set[int]) -> None:
        """Drop deleted rows."""
        with self._lock:
            for row_id in row_ids:
                self._docs.pop(row_id, None)

    def keep_only(self, row_ids: set[int]) -> None:
        """Forget rows that no longer exist (after a scan that saw every row)."""
        with self._lock:
            for row_id in [i for i in self._docs if i not in row_ids]:
                del self._docs[row_id]


@dataclass(frozen=True, slots=True)
class StoredApp:
    """One stored app as the API reads it: the row's key columns and its document text."""

    id: int
    namespace: str
    name: str
    uid: str
    project: str
    resource_version: int
    generation: int
    doc: str


def application_doc(target: Target, namespace: str, name: str) -> tuple[int, int, str] | None:
    """(id, resource_version, doc text) of one app, without building an ORM row: the controller's lookup."""
    row = fetch_one(target, _GET_DOC, {"namespace": namespace, "name": name})
    return (int(row[0]), int(row[1]), str(row[2])) if row is not None else None


def compare_and_swap(target: Target, row_id: int, *, expected_version: int, values: dict[str, Any]) -> bool:
    """Write ``values`` only if nobody wrote the row since ``expected_version`` was read."""
    params = {f"v_{key}": value for key, value in values.items()}
    params["row_id"], params["expected_version"] = row_id, expected_version
    return execute(target, _swap_statement(frozenset(values)), params) > 0


def update_status(
    target: Target, row_id: int, read_version: int, *, doc_text: str, values: dict[str, Any]
) -> int | None:
    """Compare-and-swap a controller write (status, operation) of a row read at ``read_version``: bumps
    resource_version, keeps generation.

    Returns the new resource_version, or None when another writer got there first."""
    version = read_version + 1
    values = {**values, "doc": doc_text, "resource_version": version}
    return version if compare_and_swap(target, row_id, expected_version=read_version, values=values) else None


class ApplicationStore:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, namespace: str, name: str) -> StoredApp | None:
        """One app, read through the driver (no ORM row: the API looks apps up on every request)."""
        row = fetch_one(self._session, _GET, {"namespace": namespace, "name": name})
        if row is None:
            return None
        id_, namespace_, name_, uid, project, version, generation, doc = row
        return StoredApp(int(id_), namespace_, name_, uid, project, int(version), int(generation), doc)

    def get_doc(self, namespace: str, name: str) -> tuple[int, int, str] | None:
        """(id, resource_version, doc text) of one app, without building an ORM row: the controller's lookup."""
        return application_doc(self._session, namespace, name)

    def list_rows(
        self,
        *,
        namespaces: Sequence[str] | None = None,
        projects: Sequence[str] = (),
        name: str = "",
        repo: str = "",
        with_labels: bool = False,
    ) -> Sequence[Any]:
        """(namespace, name, project, resource_version, doc[, labels]) of the matching apps, sorted by name.

        Labels are decoded only when asked for: a selector-less list of thousands of apps skips that work."""
        stmt = select(*LIST_COLUMNS, ApplicationRow.labels) if with_labels else select(*LIST_COLUMNS)
        if namespaces is not None:
            stmt = stmt.where(ApplicationRow.namespace.in_(namespaces))
        if projects:
            stmt = stmt.where(ApplicationRow.project.in_(projects))
        if name:
            stmt = stmt.where(ApplicationRow.name == name)
        if repo:
            stmt = stmt.where(ApplicationRow.repo_url == repo)
        return self._session.execute(stmt.order_by(ApplicationRow.name, ApplicationRow.namespace)).all()

    def list_cached(
        self,
        cache: DocumentCache,
        *,
        namespaces: Sequence[str] | None = None,
        projects: Sequence[str] = (),
        name: str = "",
        repo: str = "",
        with_labels: bool = False,
    ) -> list[tuple[Any, ...]]:
        """(namespace, name, project, resource_version, doc[, labels]) of the matching apps in name order, for
        serving a list: documents come encoded, from ``cache`` where their version matches; labels come as raw
        JSON text, read only when a selector needs them.

        One scan of (id, namespace, name, project, resource_version, uid[, labels]) in name order, then one load per
        chunk of the documents the cache lacks, in the same transaction (on PostgreSQL a row may have moved on
        between the two reads: the loaded version and document are the ones returned).

        On SQLite the table's change log (migration 0004) spares the scan: the whole-table answer is remembered with
        the newest log entry it includes, and a later list reads only the log entries after it and the rows they
        name, patches a copy and filters it in memory (``repo`` excepted: that column is not kept)."""
        if repo or self._session.get_bind().dialect.name != "sqlite":
            return self._list_scanned(
                cache, namespaces=namespaces, projects=projects, name=name, repo=repo, with_labels=with_labels
            )[1]
        held = cache.whole_table(with_labels)
        current = self._caught_up(cache, held, with_labels) if held is not None else None
        if current is None:
            if namespaces is not None or projects or name:
                return self._list_scanned(
                    cache, namespaces=namespaces, projects=projects, name=name, repo="", with_labels=with_labels
                )[1]
            # Read first, in the scan's transaction: the scan then includes every change up to this entry.
            stamp = self._session.scalar(_NEWEST_CHANGE) or 0
            ids, rows = self._list_scanned(
                cache, namespaces=None, projects=(), name="", repo="", with_labels=with_labels
            )
            current = _WholeTable(stamp, ids, rows)
        if current is not held:
            cache.keep_whole_table(with_labels, current)
        return _filter_listed(current.rows, namespaces=namespaces, projects=projects, name=name)

    def _caught_up(self, cache: DocumentCache, held: _WholeTable, with_labels: bool) -> _WholeTable | None:
        """``held`` brought up to the newest change-log entry, or None when the log no longer reaches back to it
        (trimmed) and the table must be scanned."""
        entries = run_sql(self._session, _CHANGES_SINCE, (held.stamp,))
        if not entries:
            return held if held.stamp == 0 else None
        if entries[0][0] != held.stamp:
            return None  # the entry the list was current to has been trimmed away
        changed = {app_id for _, app_id in entries[1:]}
        if not changed:
            return held
        ordered = sorted(changed)
        fresh: list[tuple[int, tuple[Any, ...]]] = []
        documents: list[tuple[int, int, str, bytes]] = []
        sql = _LOAD_LISTED_LABELS if with_labels else _LOAD_LISTED
        for start in range(0, len(ordered), _LOAD_CHUNK):
            chunk = ordered[start : start + _LOAD_CHUNK]
            statement = sql.format(marks=",".join("?" * len(chunk)))
            for row_id, uid, *columns in run_sql(self._session, statement, chunk):
                columns[4] = columns[4].encode()
                fresh.append((row_id, tuple(columns)))
                documents.append((row_id, columns[3], uid, columns[4]))
        # The document cache (filtered scans) shares these documents instead of keeping older copies.
        cache.put_many(documents)
        cache.forget(changed.difference(row_id for row_id, _ in fresh))
        return held.patched(entries[-1][0], changed, fresh)

    def _list_scanned(
        self,
        cache: DocumentCache,
        *,
        namespaces: Sequence[str] | None,
        projects: Sequence[str],
        name: str,
        repo: str,
        with_labels: bool,
    ) -> tuple[list[int], list[tuple[Any, ...]]]:
        """The scan and load described in ``list_cached``: the row ids and the answer, aligned."""
        table = ApplicationRow.__table__
        columns: list[ColumnElement[Any]] = [
            table.c.id,
            table.c.namespace,
            table.c.name,
            table.c.project,
            table.c.resource_version,
            table.c.uid,
        ]
        if with_labels:
            columns.append(cast(table.c.labels, Text))
        stmt = select(*columns)
        if namespaces is not None:
            stmt = stmt.where(table.c.namespace.in_(namespaces))
        if projects:
            stmt = stmt.where(table.c.project.in_(projects))
        if name:
            stmt = stmt.where(table.c.name == name)
        if repo:
            stmt = stmt.where(table.c.repo_url == repo)
        scanned = fetch_all(self._session, stmt.order_by(table.c.name, table.c.namespace))
        docs = cache.get_many(scanned)
        missing = [row[0] for row, doc in zip(scanned, docs, strict=True) if doc is None]
        loaded: dict[int, tuple[int, str, bytes]] = {}
        for start in range(0, len(missing), _LOAD_CHUNK):
            load = select(table.c.id, table.c.resource_version, table.c.uid, table.c.doc).where(
                table.c.id.in_(missing[start : start + _LOAD_CHUNK])
            )
            for row_id, version, uid, doc in fetch_all(self._session, load):
                loaded[row_id] = (version, uid, doc.encode())
        if loaded:
            cache.put_many([(row_id, *entry) for row_id, entry in loaded.items()])
        if namespaces is None and not projects and not name and not repo:
            cache.keep_only({row[0] for row in scanned})
        ids: list[int] = []
        out: list[tuple[Any, ...]] = []
        for row, doc in zip(scanned, docs, strict=True):
            version = row[4]
            if doc is None:
                fresh = loaded.get(row[0])
                if fresh is None:
                    continue  # deleted between the scan and the load
                version, _, doc = fresh
            ids.append(row[0])
            out.append((row[1], row[2], row[3], version, doc, *row[6:]))
        return ids, out

    def add(self, row: ApplicationRow) -> None:
        insert_row(self._session, row)

    def compare_and_swap(self, row_id: int, *, expected_version: int, values: dict[str, Any]) -> bool:
        """Write ``values`` only if nobody wrote the row since ``expected_version`` was read."""
        return compare_and_swap(self._session, row_id, expected_version=expected_version, values=values)

    def delete(self, row_id: int, *, expected_version: int) -> bool:
        row = self._session.get(ApplicationRow, row_id)
        if row is None or row.resource_version != expected_version:
            return False
        self._session.delete(row)
        self._session.flush()
        return True

    def count_in_project(self, namespace: str, project: str) -> int:
        stmt = select(func.count()).where(ApplicationRow.namespace == namespace, ApplicationRow.project == project)
        return int(self._session.scalar(stmt) or 0)

    # --- controller queries (additive) ---

    def controller_index(self) -> list[tuple[Any, ...]]:
        """(id, namespace, name, resource_version, operation_pending, deleting) of every app: the controller's
        cheap change scan, no documents loaded, read through the driver (the flags are 0/1 on SQLite)."""
        return fetch_rows(self._session, _CONTROLLER_INDEX, {})

    def pending_operations(self) -> Sequence[Row[str, str]]:
        """(namespace, name) of the apps carrying an operation."""
        stmt = select(ApplicationRow.namespace, ApplicationRow.name).where(ApplicationRow.operation_pending.is_(True))
        return self._session.execute(stmt).all()

    def update_status(self, row_id: int, read_version: int, *, doc_text: str, values: dict[str, Any]) -> int | None:
        """Compare-and-swap a controller write (status, operation) of a row read at ``read_version``: bumps
        resource_version, keeps generation.

        Returns the new resource_version, or None when another writer got there first."""
        return update_status(self._session, row_id, read_version, doc_text=doc_text, values=values)

    # --- watch stream queries (additive) ---

    def versions(self) -> Sequence[Row[int, str, str, int]]:
        """(id, namespace, name, resource_version) of every app: the watch broadcaster's cheap change scan."""
        stmt = select(ApplicationRow.id, ApplicationRow.namespace, ApplicationRow.name, ApplicationRow.resource_version)
        return self._session.execute(stmt).all()

    def docs_for(self, ids: Sequence[int]) -> Sequence[Row[int, str, str, str, dict[str, str], int, str]]:
        """(id, namespace, name, project, labels, resource_version, doc) of the given apps (missing ids skipped)."""
        if not ids:
            return []
        stmt = select(
            ApplicationRow.id,
            ApplicationRow.namespace,
            ApplicationRow.name,
            ApplicationRow.project,
            ApplicationRow.labels,
            ApplicationRow.resource_version,
            ApplicationRow.doc,
        ).where(ApplicationRow.id.in_(ids))
        return self._session.execute(stmt).all()
