"""The request's database session: opened on the event loop, while a write waiting for SQLite's write lock waits in a
worker thread, so reads and other requests go on meanwhile."""

from __future__ import annotations

import sqlite3
import threading

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD, SettingsFactory
from tests.support.servers import running_server


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # SQLite's single writer lock
def test_a_write_waiting_for_the_lock_blocks_neither_reads_nor_the_server(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    url = settings.effective_database_url
    with running_server(settings) as base:
        token = httpx.post(f"{base}/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['token']}"}
        holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        answers: list[httpx.Response] = []
        project = {"project": {"metadata": {"name": "waits"}, "spec": {"sourceRepos": ["*"]}}}
        writer = threading.Thread(
            target=lambda: answers.append(
                httpx.post(f"{base}/api/v1/projects", json=project, headers=headers, timeout=60)
            )
        )
        writer.start()
        try:
            # While the write waits for the lock, reads answer (a blocked event loop would time them out).
            for _ in range(3):
                listed = httpx.get(f"{base}/api/v1/projects", headers=headers, timeout=5)
                assert listed.status_code == 200
                assert [p["metadata"]["name"] for p in listed.json()["items"]] == ["default"]
            assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
            assert writer.is_alive()
        finally:
            holder.execute("ROLLBACK")
            holder.close()
            writer.join(60)
        assert answers[0].status_code == 200, answers[0].text
        names = [p["metadata"]["name"] for p in httpx.get(f"{base}/api/v1/projects", headers=headers).json()["items"]]
        assert sorted(names) == ["default", "waits"]
