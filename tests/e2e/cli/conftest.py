"""Fixtures for driving the ``argocd`` CLI as a subprocess against a real server on a free port."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from argocd_server.settings import Settings
from tests.conftest import ADMIN_PASSWORD
from tests.support.servers import running_server


@dataclass(frozen=True)
class Server:
    url: str
    address: str
    """``host:port`` as a user gives it to ``argocd login``."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("server")
    settings = Settings(
        data_dir=data,
        database_url=f"sqlite:///{data / 'argocd.db'}",
        admin_password=ADMIN_PASSWORD,
        login_delay_min_ms=0,
        login_delay_max_ms=0,
        auth_cache_seconds=0.0,
        threadpool_size=8,
        # These tests use made-up repository URLs: no controller may try to fetch them.
        controller_enabled=False,
        embedded_kubesim=False,
    )
    with running_server(settings) as url:
        yield Server(url=url, address=url.removeprefix("http://"))


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def argocd(home: Path) -> Run:
    """Runs ``argocd ARGS`` with a private HOME and config dir; extra env via ``env=``, stdin via ``input=``."""

    def run(
        *args: str, env: dict[str, str] | None = None, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("ARGOCD_", "KUBECONFIG", "XDG_"))}
        environment.update({"HOME": str(home), "ARGOCD_CONFIG_DIR": str(home / "argocd-config"), "NO_COLOR": "1"})
        environment.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "argocd_server.cli.main", *args],
            capture_output=True,
            text=True,
            env=environment,
            input=input if input is not None else "",
            timeout=60,
            check=False,
        )

    return run


@pytest.fixture
def logged_in(argocd: Run, server: Server) -> Run:
    """``argocd`` after a successful ``argocd login``."""
    result = argocd("login", server.address, "--plaintext", "--username", "admin", "--password", ADMIN_PASSWORD)
    assert result.returncode == 0, result.stderr
    return argocd
