"""Login failure counts shared by two server instances through a real Redis."""

from __future__ import annotations

import os

import pytest
import redis
from fastapi.testclient import TestClient

from argocd_server.main import create_app
from tests.conftest import ADMIN_PASSWORD, SettingsFactory


@pytest.fixture
def redis_url(worker_id: str) -> str:
    index = 1 + (int(worker_id.removeprefix("gw")) if worker_id.startswith("gw") else 0)
    url = f"redis://127.0.0.1:6379/{index}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis unavailable: {exc}")
        pytest.skip(f"Redis unavailable: {exc}")
    return url


def test_lockout_is_shared_between_replicas(make_settings: SettingsFactory, redis_url: str) -> None:
    settings = make_settings(redis_url=redis_url)
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        for client in (first, second, first, second, first):
            bad = client.post("/api/v1/session", json={"username": "admin", "password": "wrong-password"})
            assert bad.status_code == 401
        for client in (first, second):
            locked = client.post("/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD})
            assert locked.status_code == 401
            assert locked.json()["message"] == "Invalid username or password"
        store = redis.Redis.from_url(redis_url)
        key = "argocd-server:login-failures:admin"
        assert int(store.get(key) or 0) == 5
        assert 0 < store.ttl(key) <= 300
        store.delete(key)  # the window passing
        assert second.post("/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD}).status_code == 200


def test_unreachable_redis_falls_back_to_local_counts(make_settings: SettingsFactory) -> None:
    settings = make_settings(redis_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(settings)) as client:
        for _ in range(5):
            client.post("/api/v1/session", json={"username": "admin", "password": "wrong-password"})
        locked = client.post("/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert locked.status_code == 401
