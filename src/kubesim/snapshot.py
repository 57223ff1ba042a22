"""Debounced persistence of the store to a JSON file, so a quickstart cluster survives restarts."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from kubesim.store import Event, Store


class Snapshotter:
    """Writes the whole store a short while after the last change (and on close)."""

    def __init__(self, store: Store, path: str | os.PathLike[str], *, debounce: float = 0.3) -> None:
        self.store = store
        self.path = Path(path)
        self.debounce = debounce
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._closed = False

    def load(self) -> int:
        """Load the file if it exists; returns the number of objects restored."""
        if not self.path.exists():
            return 0
        state = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        return self.store.load(state)

    def attach(self) -> None:
        self.store.subscribe(self._changed)

    def _changed(self, _event: Event) -> None:
        with self._lock:
            if self._closed or self._timer is not None:
                return
            self._timer = threading.Timer(self.debounce, self.flush)
            self._timer.daemon = True
            self._timer.start()

    def flush(self) -> None:
        """Write now (atomically: a temp file renamed over the old one)."""
        with self._lock:
            self._timer = None
        state = self.store.dump()
        data = json.dumps(state, separators=(",", ":")).encode()
        tmp = self.path.with_name(self.path.name + ".tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, self.path)

    def close(self) -> None:
        self.store.unsubscribe(self._changed)
        with self._lock:
            self._closed = True
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self.flush()
