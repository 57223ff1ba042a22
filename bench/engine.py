"""Controller benchmarks against kubesim: many small apps, one large app versus kubectl, memory per app.

Run: ``python bench/engine.py [--apps 1000] [--resources 200]``. Prints figures only.

1. ``--apps`` applications of one ConfigMap each from one git repository, created through the API and synced into
   kubesim (create -> every app Synced), against creating the same ConfigMaps one by one with the official client.
2. One application of ``--resources`` ConfigMaps synced with ``ServerSideApply=true`` against
   ``kubectl apply --server-side -f`` of the same rendered manifests (into another namespace of the same kubesim).
3. Server RSS growth with the apps loaded, per app.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from fastapi.testclient import TestClient  # noqa: E402
from kubernetes import client as k8s  # noqa: E402
from tests.support.git_repo import make_git_repo  # noqa: E402

from argocd_server.main import create_app  # noqa: E402
from argocd_server.settings import Settings  # noqa: E402
from argocd_server.tools import find_binary  # noqa: E402
from kubesim.testing import running_kubesim  # noqa: E402

IN_CLUSTER = "https://kubernetes.default.svc"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def configmap(name: str, namespace: str | None = None) -> str:
    ns = f"\n  namespace: {namespace}" if namespace else ""
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}{ns}\ndata:\n  key: value-{name}\n"


def create_namespace(api: Any, name: str) -> None:
    k8s.CoreV1Api(api).create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name)))


def post(client: TestClient, url: str, body: dict[str, Any], headers: dict[str, str]) -> None:
    # SQLite answers "database is locked" to a request whose read snapshot a concurrent controller write moved
    # past; the CRUD create path does not retry that itself yet, so the bench does.
    for _ in range(20):
        response = client.post(url, json=body, headers=headers)
        if response.status_code == 200:
            return
        if "locked" not in response.text and response.status_code != 500:
            raise SystemExit(f"{url}: {response.status_code} {response.text}")
        time.sleep(0.01)
    raise SystemExit(f"{url}: gave up after repeated database lock errors")


def wait_all(client: TestClient, headers: dict[str, str], names: list[str], timeout: float = 1800.0) -> None:
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending and time.monotonic() < deadline:
        items = client.get(
            "/api/v1/applications?fields=items.metadata.name,items.status.sync.status,items.status.operationState.phase,items.operation.sync",
            headers=headers,
        ).json()["items"]
        for item in items:
            name = item["metadata"]["name"]
            state = ((item.get("status") or {}).get("operationState") or {}).get("phase")
            if name in pending and state == "Succeeded" and "operation" not in item:
                pending.discard(name)
        if pending:
            time.sleep(0.2)
    if pending:
        raise SystemExit(f"{len(pending)} apps did not finish syncing")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--resources", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_dir, running_kubesim(pace=0, controllers=False) as sim:
        tmp = Path(tmp_dir)
        repo = make_git_repo(tmp)
        files = {f"apps/cm-{i:04d}/cm.yaml": configmap(f"cm-{i:04d}") for i in range(args.apps)}
        files.update({f"big/cm-{i:04d}.yaml": configmap(f"big-{i:04d}") for i in range(args.resources)})
        repo.commit("apps", files)
        api = sim.api_client()
        for namespace in ("bench-apps", "bench-direct", "bench-big", "bench-kubectl"):
            create_namespace(api, namespace)

        # Baseline 1: the same ConfigMaps straight through the official client.
        core = k8s.CoreV1Api(api)
        start = time.perf_counter()
        for i in range(args.apps):
            core.create_namespaced_config_map(
                "bench-direct",
                k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name=f"cm-{i:04d}"), data={"key": f"value-cm-{i:04d}"}),
            )
        direct = time.perf_counter() - start

        kubeconfig = sim.write_kubeconfig(tmp / "kubeconfig")
        settings = Settings(
            data_dir=tmp / "data",
            database_url=f"sqlite:///{tmp / 'argocd.db'}",
            admin_password="bench-password-1",
            login_delay_min_ms=0,
            login_delay_max_ms=0,
            kubeconfig=kubeconfig,
            embedded_kubesim=False,
            controller_workers=args.workers,
            sync_wave_delay_seconds=0.0,
            controller_poll_seconds=0.1,
        )
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            token = client.post("/api/v1/session", json={"username": "admin", "password": "bench-password-1"}).json()[
                "token"
            ]
            client.cookies.clear()
            headers = {"Authorization": f"Bearer {token}"}
            rss_before = rss_mb()

            names = [f"cm-{i:04d}" for i in range(args.apps)]
            start = time.perf_counter()
            for name in names:
                body = {
                    "metadata": {"name": name},
                    "spec": {
                        "source": {"repoURL": repo.url, "path": f"apps/{name}", "targetRevision": "HEAD"},
                        "destination": {"server": IN_CLUSTER, "namespace": "bench-apps"},
                        "project": "default",
                    },
                }
                post(client, "/api/v1/applications", body, headers)
            created = time.perf_counter() - start
            for name in names:
                post(client, f"/api/v1/applications/{name}/sync", {}, headers)
            requested = time.perf_counter() - start
            wait_all(client, headers, names)
            ours = time.perf_counter() - start
            rss_after = rss_mb()

            # Benchmark 2: one app of many resources, SSA, against kubectl --server-side.
            body = {
                "metadata": {"name": "big"},
                "spec": {
                    "source": {"repoURL": repo.url, "path": "big", "targetRevision": "HEAD"},
                    "destination": {"server": IN_CLUSTER, "namespace": "bench-big"},
                    "project": "default",
                    "syncPolicy": {"syncOptions": ["ServerSideApply=true"]},
                },
            }
            assert client.post("/api/v1/applications", json=body, headers=headers).status_code == 200
            client.get("/api/v1/applications/big?refresh=normal", headers=headers)
            start = time.perf_counter()
            assert client.post("/api/v1/applications/big/sync", json={}, headers=headers).status_code == 200
            wait_all(client, headers, ["big"])
            big = time.perf_counter() - start

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

    print(f"apps: {args.apps} (controller_workers={args.workers})")
    print(f"create+sync {args.apps} apps: {ours:.2f} s (creates done {created:.2f} s, sync requests {requested:.2f} s)")
    print(f"direct create of {args.apps} ConfigMaps (official client): {direct:.2f} s")
    print(f"ratio: {ours / direct:.2f}x (target <= 3x)")
    print(f"sync of one app with {args.resources} resources (SSA): {big:.2f} s")
    print(f"kubectl apply --server-side of {args.resources} resources: {kubectl_seconds:.2f} s")
    print(f"ratio: {big / kubectl_seconds:.2f} (target <= 1.0)")
    print(f"server RSS: {rss_before:.1f} MB before apps, {rss_after:.1f} MB with {args.apps} apps")
    print(f"RSS per app: {(rss_after - rss_before) * 1024 / max(args.apps, 1):.1f} KB")


if __name__ == "__main__":
    main()
