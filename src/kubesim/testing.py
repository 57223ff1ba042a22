"""Test helpers: a context manager running a simulator for the duration of a block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kubesim.server import KubeSim


@contextmanager
def running_kubesim(**options: Any) -> Iterator[KubeSim]:
    """Start a :class:`KubeSim` on a free port (``pace`` defaults to 0 here) and stop it after."""
    options.setdefault("pace", 0.0)
    sim = KubeSim(**options)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()
