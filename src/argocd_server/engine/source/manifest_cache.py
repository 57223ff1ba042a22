"""The manifest cache: rendered manifests by cache key, in memory and, sealed, on disk.

The memory level is an LRU bounded by entry count and bytes, private to the process. The disk level (optional) is a
SQLite file in the data dir, so that what one process rendered serves another on the same data dir (``serve
--no-controller`` beside ``argocd-server controller``) and survives a restart: a restarted controller compares every
app again, and without it would run every ``helm template`` and ``kustomize build`` again. Upstream keeps this cache
in Redis for the same reasons. A SQLite file rather than a file per entry: creating a file costs far more than an
insert on some filesystems, and SQLite already handles several processes reading and writing one store.

Rendered manifests can hold secrets (a Secret in Git, values a plugin fetched), so every entry is sealed with the
server's secret box, bound to its key: an entry under another key, written with another server key or damaged is a
miss (and is removed), never an error; so is any error of the store itself. A store that is not a database
(damaged) starts afresh; one that cannot be opened at all leaves the process with the memory level. The store is
trimmed to its byte budget, least recently used first (a hit from disk marks the entry used, at most once a minute).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import orjson

from .types import Manifest, SourceType

__all__ = ["DiskManifestCache", "ManifestCache", "Sealer"]

log = logging.getLogger(__name__)

_PURPOSE = "manifest-cache:"
_TRIM_TO = 0.8
"""A trim removes entries until the store holds at most this share of its budget."""
_TOUCH_SECONDS = 60.0
"""A disk hit marks its entry used again only when the last mark is older than this."""
_BUSY_SECONDS = 2.0


class Sealer(Protocol):
    """Authenticated encryption bound to a purpose (the server's secret box)."""

    def seal(self, plaintext: bytes, *, purpose: str) -> bytes: ...

    def open(self, sealed: bytes, *, purpose: str) -> bytes: ...


@dataclass(frozen=True)
class _CacheEntry:
    payload: bytes
    source_type: SourceType
    commands: tuple[str, ...]


def _encode(objects: list[Manifest]) -> bytes:
    """orjson, several times faster than ``json``; ``json`` for what it refuses (integers past 64 bits)."""
    try:
        return orjson.dumps(objects, option=orjson.OPT_NON_STR_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(objects, separators=(",", ":")).encode()


def _decode(payload: bytes) -> list[Manifest]:
    try:
        objects: list[Manifest] = orjson.loads(payload)
    except orjson.JSONDecodeError:
        objects = json.loads(payload)
    return objects


def _connect(path: Path) -> sqlite3.Connection:
    """The store at ``path`` with its table; one connection shared by a process's threads, used under a lock
    (statements take microseconds)."""
    db = sqlite3.connect(path, timeout=_BUSY_SECONDS, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS manifests (key TEXT PRIMARY KEY, sealed BLOB NOT NULL, used REAL NOT NULL)"
        )
        db.execute("CREATE INDEX IF NOT EXISTS manifests_used ON manifests (used)")
    except BaseException:
        db.close()
        raise
    return db


class DiskManifestCache:
    """Sealed entries in one SQLite file at ``path``, at most about ``max_bytes`` in all."""

    def __init__(self, path: Path, *, max_bytes: int, sealer: Sealer, clock: Callable[[], float] = time.time) -> None:
        self._max_bytes = max_bytes
        self._sealer = sealer
        self._clock = clock
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._db: sqlite3.Connection | None = None
        try:
            self._db = _connect(path)
        except sqlite3.OperationalError as exc:  # cannot be opened or stays locked: this process does without it
            log.warning("manifest cache store: cannot open it (%s); rendered manifests stay in memory", exc)
        except sqlite3.DatabaseError as exc:
            # Not a database, or damaged. It only held a cache: start it afresh.
            log.warning("manifest cache store: unreadable (%s); starting it afresh", exc)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            try:
                self._db = _connect(path)
            except sqlite3.Error as again:
                log.warning("manifest cache store: cannot open it (%s); rendered manifests stay in memory", again)
        self._bytes = self._stored_bytes()

    @contextlib.contextmanager
    def _guarded(self, what: str) -> Iterator[None]:
        """The lock, and any store error logged and swallowed: the cache costs a render, never fails one."""
        with self._lock:
            try:
                yield
            except sqlite3.Error as exc:
                log.warning("manifest cache store: cannot %s: %s", what, exc)

    def _stored_bytes(self) -> int:
        total = 0
        if self._db is None:
            return total
        with self._guarded("measure"):
            total = int(self._db.execute("SELECT COALESCE(SUM(LENGTH(sealed)), 0) FROM manifests").fetchone()[0])
        return total

    def get(self, key: str) -> _CacheEntry | None:
        row: tuple[bytes, float] | None = None
        if self._db is None:
            return None
        with self._guarded("read"):
            row = self._db.execute("SELECT sealed, used FROM manifests WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        sealed, used = row
        try:
            plain = self._sealer.open(sealed, purpose=_PURPOSE + key)
            header_line, _, payload = plain.partition(b"\n")
            header = orjson.loads(header_line)
            entry = _CacheEntry(payload, SourceType(header["type"]), tuple(str(c) for c in header["commands"]))
        except Exception:  # another key's entry, another server key, damage: a miss, never an error
            log.info("dropping an unreadable manifest cache entry")
            with self._guarded("drop"):
                self._db.execute("DELETE FROM manifests WHERE key = ?", (key,))
            return None
        now = self._clock()
        if now - used > _TOUCH_SECONDS:
            with self._guarded("mark"):
                self._db.execute("UPDATE manifests SET used = ? WHERE key = ?", (now, key))
        return entry

    def put(self, key: str, entry: _CacheEntry) -> None:
        if self._db is None:
            return
        header = orjson.dumps({"type": entry.source_type.value, "commands": list(entry.commands)})
        sealed = self._sealer.seal(header + b"\n" + entry.payload, purpose=_PURPOSE + key)
        if len(sealed) > self._max_bytes:
            return
        with self._guarded("write"):
            self._db.execute(
                "INSERT OR REPLACE INTO manifests (key, sealed, used) VALUES (?, ?, ?)", (key, sealed, self._clock())
            )
            self._bytes += len(sealed)
        if self._bytes > self._max_bytes:
            self._trim(budget=int(self._max_bytes * _TRIM_TO))

    def _trim(self, *, budget: int) -> None:
        """Remove the least recently used entries until at most ``budget`` bytes remain (other processes' entries
        included)."""
        if self._db is None:
            return
        with self._guarded("trim"):
            rows = self._db.execute("SELECT key, LENGTH(sealed) FROM manifests ORDER BY used").fetchall()
            total = sum(int(size) for _, size in rows)
            doomed: list[tuple[str]] = []
            for key, size in rows:
                if total <= budget:
                    break
                doomed.append((key,))
                total -= int(size)
            self._db.executemany("DELETE FROM manifests WHERE key = ?", doomed)
            self._bytes = total

    @property
    def total_bytes(self) -> int:
        """This process's estimate of the store's size."""
        return self._bytes


class ManifestCache:
    """LRU of rendered manifests bounded by entry count and total bytes; stores JSON so hits are private copies.

    With ``disk``, a memory miss reads the disk level (and keeps the hit in memory), and every put also writes it."""

    def __init__(self, *, max_entries: int, max_bytes: int, disk: DiskManifestCache | None = None) -> None:
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._disk = disk
        self._entries: OrderedDict[str, _CacheEntry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.disk_hits = 0

    def get(self, key: str) -> tuple[list[Manifest], SourceType, tuple[str, ...]] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is None and self._disk is not None:
            entry = self._disk.get(key)
            if entry is not None:
                self._remember(key, entry)
                with self._lock:
                    self.disk_hits += 1
        if entry is None:
            return None
        return _decode(entry.payload), entry.source_type, entry.commands

    def put(self, key: str, objects: list[Manifest], source_type: SourceType, commands: tuple[str, ...]) -> None:
        entry = _CacheEntry(_encode(objects), source_type, commands)
        if len(entry.payload) > self._max_bytes:
            return
        self._remember(key, entry)
        if self._disk is not None:
            self._disk.put(key, entry)

    def _remember(self, key: str, entry: _CacheEntry) -> None:
        if len(entry.payload) > self._max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.payload)
            self._entries[key] = entry
            self._bytes += len(entry.payload)
            while self._entries and (len(self._entries) > self._max_entries or self._bytes > self._max_bytes):
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.payload)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def total_bytes(self) -> int:
        return self._bytes
