"""Polling with a deadline for eventual states (watch convergence, controllers)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest


def eventually(predicate: Callable[[], bool], *, timeout: float = 10.0, what: str = "condition") -> None:
    """Poll until ``predicate`` holds; fail naming ``what`` after the deadline (never asserts on timing)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)
