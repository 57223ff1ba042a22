"""The controller's work queue: de-duplication, one worker per key, delayed adds, dirty re-queue."""

from __future__ import annotations

import time

from argocd_server.engine.controller import WorkQueue


def test_duplicates_collapse_and_processing_keys_are_requeued_once() -> None:
    queue = WorkQueue()
    for _ in range(3):
        queue.add("a")
    queue.add("b")
    assert len(queue) == 2
    first = queue.get(timeout=0.1)
    assert first == "a"
    queue.add("a")  # while processing: marked dirty, not handed to another worker
    assert queue.get(timeout=0.1) == "b"
    assert queue.get(timeout=0.05) is None
    queue.done("a")
    assert queue.get(timeout=0.1) == "a"


def test_delayed_add_becomes_available_after_its_delay() -> None:
    queue = WorkQueue()
    queue.add_after("x", 0.05)
    assert queue.get(timeout=0.01) is None
    deadline = time.monotonic() + 5
    key = None
    while key is None and time.monotonic() < deadline:
        key = queue.get(timeout=0.1)
    assert key == "x"
    queue.close()
    assert queue.get(timeout=0.1) is None
