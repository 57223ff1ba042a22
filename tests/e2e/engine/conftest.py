"""End-to-end fixtures for the controller: a real git repository, kubesim as the in-cluster destination (through a
kubeconfig) and the real server in a ``TestClient`` with its controller running. Waits poll with deadlines."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import ADMIN_PASSWORD, bearer, login
from tests.support.git_repo import GitRepo, make_git_repo

from argocd_server.main import create_app
from argocd_server.settings import Settings
from kubesim.server import KubeSim
from kubesim.testing import running_kubesim

IN_CLUSTER = "https://kubernetes.default.svc"
DEADLINE = 45.0


@dataclass
class Env:
    client: TestClient
    headers: dict[str, str]
    sim: KubeSim
    repo: GitRepo
    settings: Settings

    def create(self, name: str, *, path: str, namespace: str = "default", **spec: Any) -> dict[str, Any]:
        source = spec.pop("source", None) or {"repoURL": self.repo.url, "path": path, "targetRevision": "HEAD"}
        body = {
            "metadata": {"name": name},
            "spec": {
                "source": source,
                "destination": {"server": IN_CLUSTER, "namespace": namespace},
                "project": "default",
                **spec,
            },
        }
        response = self.client.post("/api/v1/applications", json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def get(self, name: str, *, refresh: str = "") -> dict[str, Any]:
        query = f"?refresh={refresh}" if refresh else ""
        response = self.client.get(f"/api/v1/applications/{name}{query}", headers=self.headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def sync(self, name: str, **body: Any) -> Any:
        return self.client.post(f"/api/v1/applications/{name}/sync", json=body, headers=self.headers)

    def wait(
        self, name: str, predicate: Callable[[dict[str, Any]], bool], *, timeout: float = DEADLINE
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            last = self.get(name)
            if predicate(last):
                return last
            time.sleep(0.1)
        raise AssertionError(f"condition not reached for {name}; last status: {last.get('status')}")

    def wait_operation(self, name: str, *, timeout: float = DEADLINE) -> dict[str, Any]:
        """The app once its operation completed (operation cleared, state phase final)."""
        return self.wait(
            name,
            lambda app: (
                "operation" not in app
                and (app.get("status", {}).get("operationState") or {}).get("phase") in ("Succeeded", "Failed", "Error")
            ),
            timeout=timeout,
        )

    def wait_synced_healthy(self, name: str) -> dict[str, Any]:
        return self.wait(
            name,
            lambda app: (
                app["status"]["sync"].get("status") == "Synced" and app["status"]["health"].get("status") == "Healthy"
            ),
        )

    def live(self, api_version: str, kind: str, name: str, namespace: str = "default") -> dict[str, Any] | None:
        return self.sim.get(api_version, kind, name=name, namespace=namespace)


def commit_example(repo: GitRepo, example: str, dest: str | None = None) -> str:
    repo.copy_example(example, dest)
    return repo.commit(f"add {example}")


@pytest.fixture
def kube() -> Iterator[KubeSim]:
    with running_kubesim(pace=0) as sim:
        yield sim


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = make_git_repo(tmp_path)
    commit_example(repo, "guestbook")
    return repo


EnvFactory = Callable[..., Any]


@pytest.fixture
def make_env(tmp_path: Path, kube: KubeSim, repo: GitRepo) -> EnvFactory:
    """``with make_env(**settings_overrides) as env``; several servers may share one database in sequence."""

    @contextmanager
    def factory(**overrides: Any) -> Iterator[Env]:
        kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": f"sqlite:///{tmp_path / 'argocd.db'}",
            "admin_password": ADMIN_PASSWORD,
            "login_delay_min_ms": 0,
            "login_delay_max_ms": 0,
            # The project index reloads in a session of its own inside request transactions; with SQLite write
            # transactions now BEGIN IMMEDIATE that nested reload can wait on the request itself (reported).
            "auth_cache_seconds": 60.0,
            "threadpool_size": 8,
            "kubeconfig": kubeconfig,
            "embedded_kubesim": False,
            "sync_wave_delay_seconds": 0.05,
            "controller_poll_seconds": 0.1,
            "reconciliation_seconds": 180.0,
        }
        values.update(overrides)
        settings = Settings(**values)
        with TestClient(create_app(settings)) as client:
            headers = bearer(login(client))
            yield Env(client=client, headers=headers, sim=kube, repo=repo, settings=settings)

    return factory


@pytest.fixture
def env(make_env: EnvFactory) -> Iterator[Env]:
    with make_env() as environment:
        yield environment
