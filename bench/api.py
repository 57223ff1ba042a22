"""Resource API latency at 10,000 applications over 20 projects, against a real server process.

Prints p50/p95 for: list all, list filtered by project, list by label selector, get one, create, update; the ratio
of list-all latency to the floor measured in the same run (reading the same rows' stored JSON straight from the
database and joining it into one body; target <= 1.5); the same list for a readonly user whose RBAC has 50 policy
lines (target within 1.2x of admin); and the server's peak RSS. ``--postgres`` adds a PostgreSQL run. Creates and
updates pass ``validate=false`` (the repository URL is made up): this measures the API and its store, not git.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
import yaml
from _server import ADMIN_PASSWORD, percentile, running_server
from sqlalchemy import create_engine, text

PROJECTS = 20
REPO = "https://github.com/example/monorepo.git"


def _policy(path: Path) -> Path:
    lines = [f"p, role:auditor, applications, get, project-{i % PROJECTS}/*, allow" for i in range(48)]
    lines += ["p, role:auditor, projects, get, *, allow", "g, auditor, role:auditor"]
    docs = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "argocd-cm"},
            "data": {"accounts.auditor": "login"},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "argocd-rbac-cm"},
            "data": {"policy.csv": "\n".join(lines)},
        },
    ]
    path.write_text(yaml.safe_dump_all(docs))
    return path


def _timed(client: httpx.Client, method: str, url: str, **kwargs: object) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.request(method, url, **kwargs)  # type: ignore[arg-type]
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:300]}")
    return elapsed, response


def _app(i: int) -> dict[str, object]:
    return {
        "metadata": {"name": f"app-{i:05d}", "labels": {"team": f"t{i % 10}", "tier": "web" if i % 2 else "db"}},
        "spec": {
            "project": f"project-{i % PROJECTS}",
            "source": {"repoURL": REPO, "path": f"apps/app-{i:05d}", "targetRevision": "HEAD"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": f"ns-{i % 50}"},
        },
    }


def _floor(database_url: str) -> float:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        started = time.perf_counter()
        docs = conn.execute(text("SELECT doc FROM applications ORDER BY name")).scalars().all()
        body = b'{"metadata":{},"items":[' + b",".join(d.encode() for d in docs) + b"]}"
        elapsed = (time.perf_counter() - started) * 1000
    engine.dispose()
    assert body
    return elapsed


def run(database_url: str, apps: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cm = _policy(Path(tmp) / "cm.yaml")
        # The API alone is measured; its made-up repository URLs must not be fetched by a controller.
        env = {
            "ARGOCD_SERVER_CONFIGMAPS": f'["{cm}"]',
            "ARGOCD_SERVER_LOGIN_DELAY_MAX_MS": "0",
            "ARGOCD_SERVER_CONTROLLER_ENABLED": "false",
            "ARGOCD_SERVER_EMBEDDED_KUBESIM": "false",
        }
        with (
            running_server(database_url=database_url, env=env) as server,
            httpx.Client(base_url=server.url, timeout=120, headers={"Accept-Encoding": "identity"}) as client,
        ):
            url = server.url
            token = client.post("/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD}).json()[
                "token"
            ]
            client.cookies.clear()
            auth = {"Authorization": f"Bearer {token}"}
            for p in range(PROJECTS):
                project = {
                    "project": {
                        "metadata": {"name": f"project-{p}"},
                        "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}]},
                    }
                }
                client.post("/api/v1/projects", json=project, headers=auth).raise_for_status()
            started = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(8) as pool, httpx.Client(base_url=url, timeout=60) as seeder:
                list(
                    pool.map(
                        lambda i: seeder.post(
                            "/api/v1/applications?validate=false", json=_app(i), headers=auth
                        ).raise_for_status(),
                        range(apps),
                    )
                )
            print(
                f"seeded {apps} apps over {PROJECTS} projects through the API in {time.perf_counter() - started:.1f} s"
            )

            client.put(
                "/api/v1/account/password",
                headers=auth,
                json={"name": "auditor", "currentPassword": ADMIN_PASSWORD, "newPassword": "auditor-pass-1"},
            ).raise_for_status()
            reader = client.post("/api/v1/session", json={"username": "auditor", "password": "auditor-pass-1"}).json()[
                "token"
            ]
            client.cookies.clear()
            readonly = {"Authorization": f"Bearer {reader}"}

            results: dict[str, list[float]] = {
                k: []
                for k in (
                    "list all",
                    "list all (readonly, 50 lines)",
                    "list by project",
                    "list by selector",
                    "get one",
                    "create",
                    "update",
                    "floor: stored JSON joined",
                )
            }
            for r in range(rounds):
                results["list all"].append(_timed(client, "GET", "/api/v1/applications", headers=auth)[0])
                results["list all (readonly, 50 lines)"].append(
                    _timed(client, "GET", "/api/v1/applications", headers=readonly)[0]
                )
                results["list by project"].append(
                    _timed(client, "GET", "/api/v1/applications?projects=project-3", headers=auth)[0]
                )
                results["list by selector"].append(
                    _timed(client, "GET", "/api/v1/applications?selector=team%3Dt3,tier%3Dweb", headers=auth)[0]
                )
                results["get one"].append(_timed(client, "GET", f"/api/v1/applications/app-{r:05d}", headers=auth)[0])
                results["create"].append(
                    _timed(client, "POST", "/api/v1/applications?validate=false", json=_app(apps + r), headers=auth)[0]
                )
                body = _app(r)
                body["spec"]["source"]["path"] = f"changed/{r}"  # type: ignore[index]
                results["update"].append(
                    _timed(client, "PUT", f"/api/v1/applications/app-{r:05d}?validate=false", json=body, headers=auth)[
                        0
                    ]
                )
                results["floor: stored JSON joined"].append(_floor(database_url))
            size = len(client.get("/api/v1/applications", headers=auth).content)
            peak = server.peak_rss_mb()
        for name, values in results.items():
            print(f"  {name:<32} p50 {percentile(values, 50):9.2f} ms   p95 {percentile(values, 95):9.2f} ms")
        ratio = percentile(results["list all"], 50) / percentile(results["floor: stored JSON joined"], 50)
        ro = percentile(results["list all (readonly, 50 lines)"], 50) / percentile(results["list all"], 50)
        print(f"  list-all body {size / 1e6:.1f} MB; ratio list-all / floor (p50): {ratio:.2f} (target <= 1.5)")
        print(f"  readonly-50-lines / admin list-all (p50): {ro:.2f} (target <= 1.2)")
        print(f"  server peak RSS: {peak:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL at 127.0.0.1:5432")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"== SQLite, {args.apps} applications")
        run(f"sqlite:///{tmp}/bench.db", args.apps, args.rounds)
    if args.postgres:
        name = f"argocd_bench_{os.getpid()}"
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            print(f"== PostgreSQL, {args.apps} applications")
            run(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", args.apps, args.rounds)
        finally:
            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
