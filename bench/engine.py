"""Controller benchmarks against kubesim: many small apps, one large app versus kubectl, memory per app.

Run: ``python bench/engine.py [--apps 1000] [--resources 200]``. Prints figures only.

The server (``argocd-server serve`` with its controller, SQLite) and kubesim each run as their own process, as a
user runs them; the bench talks to both over HTTP.

1. ``--apps`` applications of one ConfigMap each from one git repository, created through the API and synced into
   kubesim (create -> every app Synced), against creating the same ConfigMaps one by one with the official client;
   with the server's CPU time over that run (wall time on a shared machine swings more). Run twice: once with the
   controller inside ``serve``, once with ``serve --no-controller`` beside ``argocd-server controller`` on their own
   SQLite file (two processes, as upstream deploys the API server and the application controller).
2. One application of ``--resources`` ConfigMaps synced with ``ServerSideApply=true`` against
   ``kubectl apply --server-side -f`` of the same rendered manifests (into another namespace of the same kubesim).
3. Server RSS growth with the apps loaded, per app (both processes' when split).

Beside benchmark 1, the time of as many sequential reads of one app as it sends requests (two per app): the least
those requests cost through this HTTP stack, as a ratio to the same floor.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench._server import ADMIN_PASSWORD, Server, free_port, running_server  # noqa: E402
from kubernetes import client as k8s  # noqa: E402
from kubernetes import config as k8s_config  # noqa: E402
from tests.support.git_repo import make_git_repo  # noqa: E402

from argocd_server.tools import find_binary  # noqa: E402

IN_CLUSTER = "https://kubernetes.default.svc"
KUBESIM = (sys.executable, "-m", "kubesim", "--pace", "0", "--no-controllers")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def configmap(name: str, namespace: str | None = None) -> str:
    ns = f"\n  namespace: {namespace}" if namespace else ""
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}{ns}\ndata:\n  key: value-{name}\n"


def start_kubesim(kubeconfig: Path) -> subprocess.Popen[bytes]:
    """kubesim in its own process, without its simulated controllers (ConfigMaps need none)."""
    proc = subprocess.Popen(
        [*KUBESIM, "--port", str(free_port()), "--kubeconfig", str(kubeconfig)],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.readline()  # "kubesim listening on ..." once the kubeconfig is written
    return proc


def post(client: httpx.Client, url: str, body: dict[str, Any]) -> None:
    response = client.post(url, json=body)
    if response.status_code != 200:
        raise SystemExit(f"{url}: {response.status_code} {response.text}")


def wait_all(client: httpx.Client, names: list[str], timeout: float = 1800.0) -> None:
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending and time.monotonic() < deadline:
        items = client.get(
            "/api/v1/applications?fields=items.metadata.name,items.status.operationState.phase,items.operation.sync"
        ).json()["items"]
        for item in items:
            name = item["metadata"]["name"]
            state = ((item.get("status") or {}).get("operationState") or {}).get("phase")
            if name in pending and state == "Succeeded" and "operation" not in item:
                pending.discard(name)
        if pending:
            time.sleep(0.05)
    if pending:
        raise SystemExit(f"{len(pending)} apps did not finish syncing")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--resources", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        kubeconfig = tmp / "kubeconfig"
        sim = start_kubesim(kubeconfig)
        try:
            figures = run(args, tmp, kubeconfig)
        finally:
            sim.terminate()
            sim.wait(timeout=20)
    print(figures)


@dataclass(frozen=True)
class ManyApps:
    total: float
    created: float
    requested: float
    cpu: float
    """Server CPU seconds over the run: both processes' when split."""
    rss_growth_mb: float


def app_body(name: str, repo_url: str, path: str, namespace: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "source": {"repoURL": repo_url, "path": path, "targetRevision": "HEAD"},
            "destination": {"server": IN_CLUSTER, "namespace": namespace},
            "project": "default",
        },
    }


@contextmanager
def logged_in(server: Server) -> Iterator[httpx.Client]:
    token = httpx.post(f"{server.url}/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD}).json()[
        "token"
    ]
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        yield client


def many_apps(server: Server, client: httpx.Client, repo_url: str, count: int, namespace: str) -> ManyApps:
    """One app is created and synced first, so that a controller process has started and the repository is cloned
    (the same for both layouts); then ``count`` apps are created, then each is asked to sync, until all are done."""
    post(client, "/api/v1/applications", app_body("warm-up", repo_url, "apps/cm-0000", f"{namespace}-warm-up"))
    post(client, "/api/v1/applications/warm-up/sync", {})
    wait_all(client, ["warm-up"])
    pids = [pid for pid in (server.pid, server.controller_pid) if pid is not None]
    rss_before = sum(rss_mb(pid) for pid in pids)
    cpu_before = sum(cpu_seconds(pid) for pid in pids)
    names = [f"cm-{i:04d}" for i in range(count)]
    start = time.perf_counter()
    for name in names:
        post(client, "/api/v1/applications", app_body(name, repo_url, f"apps/{name}", namespace))
    created = time.perf_counter() - start
    for name in names:
        post(client, f"/api/v1/applications/{name}/sync", {})
    requested = time.perf_counter() - start
    wait_all(client, names)
    total = time.perf_counter() - start
    return ManyApps(
        total=total,
        created=created,
        requested=requested,
        cpu=sum(cpu_seconds(pid) for pid in pids) - cpu_before,
        rss_growth_mb=sum(rss_mb(pid) for pid in pids) - rss_before,
    )


def api_round_trips(client: httpx.Client, count: int) -> float:
    """Seconds for ``count`` sequential reads of one app with the same client: what the two requests per app of
    benchmark 1 cost at the least through this HTTP stack (authentication, RBAC, a database read, a JSON answer),
    before any work of their own or of the controller."""
    start = time.perf_counter()
    for _ in range(count):
        response = client.get("/api/v1/applications/warm-up")
        if response.status_code != 200:
            raise SystemExit(f"GET warm-up: {response.status_code} {response.text}")
    return time.perf_counter() - start


def run(args: argparse.Namespace, tmp: Path, kubeconfig: Path) -> str:
    repo = make_git_repo(tmp)
    files = {f"apps/cm-{i:04d}/cm.yaml": configmap(f"cm-{i:04d}") for i in range(args.apps)}
    files.update({f"big/cm-{i:04d}.yaml": configmap(f"big-{i:04d}") for i in range(args.resources)})
    repo.commit("apps", files)
    api = k8s_config.new_client_from_config(config_file=str(kubeconfig))
    core = k8s.CoreV1Api(api)
    namespaces = ["bench-direct", "bench-big", "bench-kubectl"]
    for apps_namespace in ("bench-apps", "bench-split"):
        namespaces += [apps_namespace, f"{apps_namespace}-warm-up"]
    for namespace in namespaces:
        core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=namespace)))

    # Baseline 1: the same ConfigMaps straight through the official client.
    start = time.perf_counter()
    for i in range(args.apps):
        core.create_namespaced_config_map(
            "bench-direct",
            k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name=f"cm-{i:04d}"), data={"key": f"value-cm-{i:04d}"}),
        )
    direct = time.perf_counter() - start

    env = {
        "ARGOCD_SERVER_KUBECONFIG": str(kubeconfig),
        "ARGOCD_SERVER_EMBEDDED_KUBESIM": "false",
        "ARGOCD_SERVER_CONTROLLER_WORKERS": str(args.workers),
        "ARGOCD_SERVER_SYNC_WAVE_DELAY_SECONDS": "0",
        "ARGOCD_SERVER_CONTROLLER_POLL_SECONDS": "0.1",
        "ARGOCD_SERVER_LOGIN_DELAY_MIN_MS": "0",
        "ARGOCD_SERVER_LOGIN_DELAY_MAX_MS": "0",
    }
    with running_server(database_url=f"sqlite:///{tmp / 'argocd.db'}", env=env) as server, logged_in(server) as client:
        embedded = many_apps(server, client, repo.url, args.apps, "bench-apps")
        round_trips = api_round_trips(client, 2 * args.apps)

        # Benchmark 2: one app of many resources, SSA, against kubectl --server-side.
        body = app_body("big", repo.url, "big", "bench-big")
        body["spec"]["syncPolicy"] = {"syncOptions": ["ServerSideApply=true"]}
        post(client, "/api/v1/applications", body)
        client.get("/api/v1/applications/big?refresh=normal")
        start = time.perf_counter()
        post(client, "/api/v1/applications/big/sync", {})
        wait_all(client, ["big"])
        big = time.perf_counter() - start

    # Benchmark 1 again with the API and the controller as two processes on the same SQLite file.
    split_db = f"sqlite:///{tmp / 'split.db'}"
    with running_server(database_url=split_db, env=env, split=True) as server, logged_in(server) as client:
        split = many_apps(server, client, repo.url, args.apps, "bench-split")

    manifests = tmp / "big.yaml"
    manifests.write_text("---\n".join(configmap(f"big-{i:04d}", "bench-kubectl") for i in range(args.resources)))
    kubectl = find_binary("kubectl", None)
    kubectl_seconds = float("nan")
    if kubectl:
        start = time.perf_counter()
        subprocess.run(
            [kubectl, "--kubeconfig", str(kubeconfig), "apply", "--server-side", "-f", str(manifests)],
            check=True,
            capture_output=True,
            timeout=600,
        )
        kubectl_seconds = time.perf_counter() - start

    per_app = 1000 / max(args.apps, 1)
    lines = [f"apps: {args.apps} (controller_workers={args.workers})"]
    for label, figures in (("one process (serve)", embedded), ("two processes (serve + controller)", split)):
        lines += [
            f"create+sync {args.apps} apps, {label}: {figures.total:.2f} s (creates done {figures.created:.2f} s, "
            f"sync requests {figures.requested:.2f} s)",
            f"  server CPU for them: {figures.cpu:.2f} s ({figures.cpu * per_app:.1f} ms per app)",
            f"  ratio to direct creates: {figures.total / direct:.2f}x (target <= 3x)",
            f"  RSS growth per app: {figures.rss_growth_mb * 1024 / max(args.apps, 1):.1f} KB",
        ]
    lines += [
        f"direct create of {args.apps} ConfigMaps (official client): {direct:.2f} s",
        f"  API round trips alone, {2 * args.apps} sequential GETs of one app: {round_trips:.2f} s "
        f"({round_trips / direct:.2f}x the direct creates)",
        f"sync of one app with {args.resources} resources (SSA): {big:.2f} s",
        f"kubectl apply --server-side of {args.resources} resources: {kubectl_seconds:.2f} s",
        f"ratio: {big / kubectl_seconds:.2f} (target <= 1.0)",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
