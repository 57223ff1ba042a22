"""A real server WITH its application controller, kubesim as the in-cluster destination (through a kubeconfig) and a
real git repository, for driving the ``argocd`` console script as a CI pipeline does.

``running_engine_server(base)`` starts all three and yields an :class:`EngineServer`; ``pipeline_runner(...)`` runs the
installed ``argocd`` console script as a subprocess with a private HOME, a temp config dir and ``ARGOCD_SERVER`` set.
Every wait polls with a deadline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from argocd_server.settings import Settings
from kubesim.server import KubeSim
from kubesim.testing import running_kubesim
from tests.conftest import ADMIN_PASSWORD
from tests.support.git_repo import GitRepo, make_git_repo
from tests.support.servers import running_server

IN_CLUSTER = "https://kubernetes.default.svc"
DEADLINE = 60.0
COMMAND_TIMEOUT = 180.0

T = TypeVar("T")
Run = Callable[..., subprocess.CompletedProcess[str]]


@dataclass(frozen=True)
class EngineServer:
    url: str
    address: str
    """``host:port`` as a user gives it to ``argocd login``."""
    sim: KubeSim
    repo: GitRepo
    kubeconfig: Path


@contextmanager
def running_engine_server(base: Path, *, example: str = "guestbook") -> Iterator[EngineServer]:
    """kubesim, a git repository holding ``examples/<example>`` and the server with its controller, until the block
    ends."""
    repo = make_git_repo(base)
    repo.copy_example(example)
    repo.commit(f"add {example}")
    data = base / "server"
    data.mkdir()
    with running_kubesim(pace=0) as sim:
        kubeconfig = sim.write_kubeconfig(base / "kubeconfig")
        settings = Settings(
            data_dir=data,
            database_url=f"sqlite:///{data / 'argocd.db'}",
            admin_password=ADMIN_PASSWORD,
            login_delay_min_ms=0,
            login_delay_max_ms=0,
            auth_cache_seconds=60.0,
            threadpool_size=8,
            kubeconfig=kubeconfig,
            embedded_kubesim=False,
            controller_enabled=True,
            sync_wave_delay_seconds=0.05,
            controller_poll_seconds=0.1,
            reconciliation_seconds=180.0,
        )
        with running_server(settings) as url:
            yield EngineServer(url=url, address=url.removeprefix("http://"), sim=sim, repo=repo, kubeconfig=kubeconfig)


def argocd_executable() -> str:
    """The installed ``argocd`` console script of this environment (next to the interpreter, else on PATH)."""
    beside = Path(sys.executable).parent / "argocd"
    if beside.exists():
        return str(beside)
    found = shutil.which("argocd")
    if found is None:
        raise RuntimeError("the argocd console script is not installed in this environment")
    return found


def pipeline_runner(home: Path, server: EngineServer) -> Run:
    """Runs ``argocd ARGS`` as a pipeline step: private HOME and config dir, ``ARGOCD_SERVER`` exported."""
    executable = argocd_executable()

    def run(
        *args: str, env: dict[str, str] | None = None, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("ARGOCD_", "KUBECONFIG", "XDG_"))}
        environment.update(
            {
                "HOME": str(home),
                "ARGOCD_CONFIG_DIR": str(home / "argocd-config"),
                "ARGOCD_SERVER": server.address,
                "NO_COLOR": "1",
            }
        )
        environment.update(env or {})
        return subprocess.run(
            [executable, *args],
            capture_output=True,
            text=True,
            env=environment,
            input=input if input is not None else "",
            timeout=COMMAND_TIMEOUT,
            check=False,
        )

    return run


@contextmanager
def kube_client(kubeconfig: Path) -> Iterator[k8s.ApiClient]:
    """The official Kubernetes client configured from the kubeconfig the server uses."""
    api: k8s.ApiClient = k8s_config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    try:
        yield api
    finally:
        api.close()  # type: ignore[no-untyped-call]


def read_deployment(apps: k8s.AppsV1Api, name: str, namespace: str = "default") -> Any | None:
    try:
        return apps.read_namespaced_deployment(name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def read_service(core: k8s.CoreV1Api, name: str, namespace: str = "default") -> Any | None:
    try:
        return core.read_namespaced_service(name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def eventually(check: Callable[[], T | None], *, what: str, timeout: float = DEADLINE, interval: float = 0.2) -> T:
    """Polls ``check`` until it answers something truthy (returned) or the deadline passes."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not reached within {timeout}s; last value: {last!r}")
