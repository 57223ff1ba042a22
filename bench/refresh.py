"""Refresh and automated-sync latency benchmarks against kubesim and a local git repository.

Run: ``python bench/refresh.py [--apps 1000]``. Prints figures only.

1. A full refresh of ``--apps`` unchanged applications on one repository, periodic (the revision cache just
   expired: one ``git ls-remote`` for all) and requested at the normal level for every app (each forces its own
   ls-remote, as upstream): wall time, ls-remote calls, fetches, renders (zero: manifests are cached by commit)
   and requests the controller made to the cluster (zero: live state comes from the watch cache).
2. Commit -> automated sync Succeeded: with a refresh request right after the commit, and by polling alone
   (reconciliation every second, revision cache of one second).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from fastapi.testclient import TestClient  # noqa: E402
from tests.support.git_repo import GitRepo, make_git_repo  # noqa: E402

from argocd_server.db.stores.applications import ApplicationStore  # noqa: E402
from argocd_server.engine.controller import ApplicationController  # noqa: E402
from argocd_server.engine.source import Refresh, SourceRenderer  # noqa: E402
from argocd_server.main import create_app  # noqa: E402
from argocd_server.settings import Settings  # noqa: E402
from kubesim.server import KubeSim  # noqa: E402

IN_CLUSTER = "https://kubernetes.default.svc"
PASSWORD = "bench-password-1"
Asgi = Callable[..., Any]
TTL = 3.0


class CountingApp:
    """Counts the HTTP requests reaching kubesim (watch streams count once, when opened)."""

    def __init__(self, app: Asgi) -> None:
        self.app = app
        self.requests = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            self.requests += 1
        await self.app(scope, receive, send)


def configmap(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  key: value-{name}\n"


@contextmanager
def server(tmp: Path, sim: KubeSim, **overrides: Any) -> Iterator[tuple[TestClient, dict[str, str]]]:
    values: dict[str, Any] = {
        "data_dir": tmp / "data",
        "database_url": f"sqlite:///{tmp / 'argocd.db'}",
        "admin_password": PASSWORD,
        "login_delay_min_ms": 0,
        "login_delay_max_ms": 0,
        "kubeconfig": sim.write_kubeconfig(tmp / "kubeconfig"),
        "embedded_kubesim": False,
        "sync_wave_delay_seconds": 0.05,
        "controller_poll_seconds": 0.1,
        "reconciliation_seconds": 3600.0,
        "reconciliation_jitter_seconds": 0.0,
        "log_level": "warning",
    }
    values.update(overrides)
    # Server errors come back as 500s: a create racing a controller write on SQLite is retried below.
    with TestClient(create_app(Settings(**values)), raise_server_exceptions=False) as client:
        token = client.post("/api/v1/session", json={"username": "admin", "password": PASSWORD}).json()["token"]
        yield client, {"Authorization": f"Bearer {token}"}


def controller_of(client: TestClient) -> ApplicationController:
    controller = client.app.state.argo.controller  # type: ignore[attr-defined]
    assert isinstance(controller, ApplicationController)
    return controller


def create(client: TestClient, headers: dict[str, str], name: str, path: str, repo: GitRepo, **spec: Any) -> None:
    body = {
        "metadata": {"name": name},
        "spec": {
            "source": {"repoURL": repo.url, "path": path, "targetRevision": "HEAD"},
            "destination": {"server": IN_CLUSTER, "namespace": "default"},
            "project": "default",
            **spec,
        },
    }
    for _ in range(50):
        response = client.post("/api/v1/applications", json=body, headers=headers)
        if response.status_code == 200:
            return
        if response.status_code != 500 and "locked" not in response.text:
            raise SystemExit(f"create {name}: {response.status_code} {response.text}")
        time.sleep(0.01)
    raise SystemExit(f"create {name}: database stayed locked")


def versions(controller: ApplicationController) -> dict[str, int]:
    with controller.sessions() as session:
        return {name: version for _id, _ns, name, version in ApplicationStore(session).versions()}


def wait_versions_past(controller: ApplicationController, before: dict[str, int], timeout: float = 1800.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = versions(controller)
        if all(now.get(name, 0) > version for name, version in before.items()):
            return
        time.sleep(0.05)
    raise SystemExit("refresh did not complete in time")


def wait_synced(client: TestClient, headers: dict[str, str], name: str, revision: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app = client.get(f"/api/v1/applications/{name}", headers=headers).json()
        state = (app.get("status") or {}).get("operationState") or {}
        if state.get("phase") == "Succeeded" and (state.get("syncResult") or {}).get("revision") == revision:
            return
        time.sleep(0.02)
    raise SystemExit(f"{name} did not sync {revision[:7]} in time")


def full_refresh(apps: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-refresh-") as raw:
        tmp = Path(raw)
        repo = make_git_repo(tmp)
        repo.commit("apps", {f"apps/app-{i:04d}/cm.yaml": configmap(f"cm-{i:04d}") for i in range(apps)})
        sim = KubeSim(pace=0.0)
        counting = CountingApp(sim.app)
        sim.app = counting  # type: ignore[assignment]  # served wrapped; restored before stop
        sim.start()
        try:
            with server(tmp, sim) as (client, headers):
                controller = controller_of(client)
                # A short revision cache, so the periodic refresh below starts with an expired ls-remote answer.
                controller.renderer = SourceRenderer(
                    dataclasses.replace(controller.renderer.settings, revision_cache_ttl=TTL)
                )
                names = [f"app-{i:04d}" for i in range(apps)]
                for name in names:
                    create(client, headers, name, f"apps/{name}", repo)
                # Wait for the first comparison of every app (it renders and caches the manifests).
                deadline = time.monotonic() + 1800
                while time.monotonic() < deadline:
                    with controller.sessions() as session:
                        docs = ApplicationStore(session).list_rows()
                    if len(docs) == apps and all(b'"reconciledAt"' in row.doc.encode() for row in docs):
                        break
                    time.sleep(0.2)
                for label, level in (("periodic", Refresh.NONE), ("refresh=normal", Refresh.NORMAL)):
                    if level is Refresh.NONE:
                        time.sleep(TTL)  # let the ls-remote answer expire, as between two reconciliations
                    before_versions = versions(controller)
                    before = controller.renderer.counters
                    calls = counting.requests
                    started = time.perf_counter()
                    for name in names:
                        controller.request_refresh(controller.namespace, name, level=level)
                    wait_versions_past(controller, before_versions)
                    elapsed = time.perf_counter() - started
                    after = controller.renderer.counters
                    print(
                        f"full {label} refresh of {apps} unchanged apps: {elapsed:.2f} s"
                        f" ({elapsed / apps * 1000:.2f} ms/app)"
                    )
                    print(f"  git ls-remote: {after.ls_remotes - before.ls_remotes}")
                    print(f"  git fetches: {after.fetches - before.fetches}")
                    print(f"  renders: {after.renders - before.renders}")
                    print(f"  cluster requests: {counting.requests - calls}")
        finally:
            sim.app = counting.app  # type: ignore[assignment]  # stop() reaches into the real app
            sim.stop()


def commit_to_sync() -> None:
    for mode in ("refresh request", "polling"):
        with tempfile.TemporaryDirectory(prefix="bench-autosync-") as raw:
            tmp = Path(raw)
            repo = make_git_repo(tmp)
            repo.commit("auto", {"auto/cm.yaml": configmap("auto")})
            sim = KubeSim(pace=0.0).start()
            try:
                polling = mode == "polling"
                overrides = {"reconciliation_seconds": 1.0} if polling else {}
                with server(tmp, sim, **overrides) as (client, headers):
                    controller = controller_of(client)
                    if polling:
                        # Polling can only see a commit once the ls-remote answer expires; keep it as short.
                        settings = dataclasses.replace(controller.renderer.settings, revision_cache_ttl=1.0)
                        controller.renderer = SourceRenderer(settings)
                    create(client, headers, "auto", "auto", repo, syncPolicy={"automated": {"prune": True}})
                    wait_synced(client, headers, "auto", repo.head())
                    samples = []
                    for round_ in range(5):
                        revision = repo.commit(f"change {round_}", {"auto/cm.yaml": configmap(f"auto-{round_}")})
                        started = time.perf_counter()
                        if not polling:
                            controller.request_refresh(controller.namespace, "auto", level=Refresh.NORMAL)
                        wait_synced(client, headers, "auto", revision)
                        samples.append(time.perf_counter() - started)
                    samples.sort()
                    print(
                        f"commit -> automated sync Succeeded ({mode}): median {samples[2]:.2f} s,"
                        f" min {samples[0]:.2f} s, max {samples[-1]:.2f} s"
                    )
            finally:
                sim.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=1000)
    args = parser.parse_args()
    full_refresh(args.apps)
    commit_to_sync()


if __name__ == "__main__":
    main()
