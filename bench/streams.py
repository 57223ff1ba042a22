"""Watch-stream fan-out: 200 clients on ``/api/v1/stream/applications`` while 1,000 applications change.

A real server process (controller off) gets 1,000 apps through the API. 200 NDJSON watchers connect (with a
``resourceVersion``, so no initial snapshot), then every app is rewritten the way the controller writes status: a
new document and a bumped resource_version, committed straight to the database in batches. Prints the time until
every watcher has seen every change, the events per second delivered in total, dropped watchers, and the server's
RSS (current and peak). Figures only; no targets are asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import sqlite3
import tempfile
import time
from pathlib import Path

import httpx
from _server import ADMIN_PASSWORD, running_server

REPO = "https://github.com/example/monorepo.git"


def rss_mb(pid: int) -> tuple[float, float]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def create_apps(url: str, token: str, count: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}

    def one(i: int) -> None:
        body = {
            "metadata": {"name": f"app-{i:04d}", "labels": {"team": f"t{i % 10}"}},
            "spec": {
                "project": "default",
                "source": {"repoURL": REPO, "path": f"apps/app-{i:04d}", "targetRevision": "HEAD"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": f"ns-{i % 50}"},
            },
        }
        response = httpx.post(f"{url}/api/v1/applications", json=body, params={"validate": "false"}, headers=headers)
        response.raise_for_status()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(count)))


def rewrite_all(db_path: Path, *, round_no: int, batch: int) -> None:
    """Every app gets a new status (as a controller write would), ``batch`` apps per transaction."""
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        rows = conn.execute("SELECT id, resource_version, doc FROM applications ORDER BY id").fetchall()
        for start in range(0, len(rows), batch):
            with conn:
                for row_id, version, doc_text in rows[start : start + batch]:
                    doc = json.loads(doc_text)
                    doc["metadata"]["resourceVersion"] = str(version + 1)
                    doc.setdefault("status", {})["reconciledAt"] = f"2026-01-01T00:00:{round_no:02d}Z"
                    doc["status"]["sync"] = {"status": "Synced", "revision": f"{round_no:040d}"}
                    conn.execute(
                        "UPDATE applications SET doc = ?, resource_version = ? WHERE id = ?",
                        (json.dumps(doc, separators=(",", ":")), version + 1, row_id),
                    )
    finally:
        conn.close()


async def watcher(url: str, token: str, counts: list[int], index: int, ready: asyncio.Event, opened: list[int]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    timeout = httpx.Timeout(30.0, read=None)
    async with (
        httpx.AsyncClient(timeout=timeout) as client,
        client.stream(
            "GET", f"{url}/api/v1/stream/applications", params={"resourceVersion": "1"}, headers=headers
        ) as response,
    ):
        response.raise_for_status()
        opened[0] += 1
        if opened[0] == len(counts):
            ready.set()
        async for line in response.aiter_lines():
            if line:
                counts[index] += 1


async def run(url: str, token: str, *, clients: int, apps: int, db_path: Path, pid: int, batch: int) -> None:
    counts = [0] * clients
    opened = [0]
    ready = asyncio.Event()
    tasks = [asyncio.create_task(watcher(url, token, counts, i, ready, opened)) for i in range(clients)]
    await asyncio.wait_for(ready.wait(), timeout=120)
    rss_idle, _ = rss_mb(pid)
    print(f"{clients} watchers connected; server RSS {rss_idle:.0f} MiB")
    for round_no in (1, 2):
        target = apps * round_no
        started = time.perf_counter()
        await asyncio.to_thread(rewrite_all, db_path, round_no=round_no, batch=batch)
        written = time.perf_counter() - started
        deadline = started + 300
        while min(counts) < target and time.perf_counter() < deadline:
            if all(t.done() for t in tasks):
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        delivered = sum(min(c, target) for c in counts) - clients * apps * (round_no - 1)
        complete = sum(1 for c in counts if c >= target)
        rss, peak = rss_mb(pid)
        print(
            f"round {round_no}: {apps} apps rewritten in {written:.2f}s; all watchers caught up after {elapsed:.2f}s; "
            f"{delivered} events delivered = {delivered / elapsed:,.0f} events/s; "
            f"{complete}/{clients} watchers complete; server RSS {rss:.0f} MiB (peak {peak:.0f} MiB)"
        )
    dropped = sum(1 for t in tasks if t.done())
    print(f"watchers whose stream ended early: {dropped}")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100, help="apps rewritten per database transaction")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="argocd-bench-streams-") as tmp:
        db_path = Path(tmp) / "argocd.db"
        env = {"ARGOCD_SERVER_CONTROLLER_ENABLED": "false", "ARGOCD_SERVER_EMBEDDED_KUBESIM": "false"}
        with running_server(database_url=f"sqlite:///{db_path}", env=env) as server:
            token = httpx.post(
                f"{server.url}/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD}
            ).json()["token"]
            started = time.perf_counter()
            create_apps(server.url, token, args.apps)
            print(f"created {args.apps} apps in {time.perf_counter() - started:.1f}s")
            asyncio.run(
                run(
                    server.url,
                    token,
                    clients=args.clients,
                    apps=args.apps,
                    db_path=db_path,
                    pid=server.pid,
                    batch=args.batch,
                )
            )


if __name__ == "__main__":
    main()
