"""Shared fixtures: databases (a SQLite file and PostgreSQL, migrated with Alembic), settings and API clients.

PostgreSQL: one database per xdist worker, migrated once; each test starts from empty tables. Locally a missing
PostgreSQL skips those cases with a reason; ``--require-postgres`` (set by CI) turns the skip into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from argocd_server.db.engine import make_engine, upgrade
from argocd_server.main import create_app
from argocd_server.settings import Settings

POSTGRES_ADMIN_URL = os.environ.get("ARGOCD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ADMIN_PASSWORD = "admin-password-1"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-postgres",
        action="store_true",
        default=False,
        help="fail instead of skipping when PostgreSQL is unavailable",
    )


def _require(config: pytest.Config, reason: str) -> None:
    if config.getoption("--require-postgres") or os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_base(request: pytest.FixtureRequest, worker_id: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this worker; its SQLAlchemy URL."""
    name = f"argocd_test_{worker_id}_{os.getpid()}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        _require(request.config, f"PostgreSQL unavailable at {POSTGRES_ADMIN_URL}: {exc}")
        raise
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    url = f"{base}/{name}"
    engine = make_engine(url, pool_size=2)
    upgrade(engine)
    engine.dispose()
    yield url
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _truncate_all(url: str) -> None:
    engine = make_engine(url, pool_size=1)
    with engine.begin() as conn:
        tables = [
            row[0]
            for row in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
            )
        ]
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated-on-start, empty database: a SQLite file in tmp_path, or this worker's PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'argocd.db'}"
    url: str = request.getfixturevalue("postgres_base")
    _truncate_all(url)
    return url


@pytest.fixture
def migrated_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=2)
    upgrade(engine)
    yield engine
    engine.dispose()


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str) -> SettingsFactory:
    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": database_url,
            "admin_password": ADMIN_PASSWORD,
            "login_delay_min_ms": 0,
            "login_delay_max_ms": 0,
            "auth_cache_seconds": 0.0,
            "threadpool_size": 8,
            # API tests use made-up repository URLs: nothing may try to reach them (no controller, no
            # connection checks); tests of those features turn them back on.
            "controller_enabled": False,
            "embedded_kubesim": False,
            "repository_connection_checks": False,
        }
        values.update(overrides)
        return Settings(**values)

    return factory


@pytest.fixture
def settings(make_settings: SettingsFactory) -> Settings:
    return make_settings()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def login(client: TestClient, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
    response = client.post("/api/v1/session", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    client.cookies.clear()
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
