"""Benchmark: the live-state cache over a large cluster (initial LIST+WATCH, memory, app lookups).

kubesim runs in a forked child process, so the RSS measured here is the cache's alone; the child seeds its store
through kubesim's Python API (``KubeSim.create``, no HTTP), which is the fast path for bulk objects.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import multiprocessing
import os
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

APP = "bench-app"


def _import_kubesim() -> Any:
    # Run as a script, this directory comes first on sys.path and bench/kubesim.py would shadow the package.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    return importlib.import_module("kubesim")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _serve(conn: Connection, count: int, namespaces: int) -> None:
    kubesim = _import_kubesim()
    sim = kubesim.KubeSim(pace=0.0, controllers=False)
    start = time.perf_counter()
    for n in range(namespaces):
        sim.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"ns-{n}"}})
    for i in range(count):
        meta: dict[str, Any] = {"name": f"cm-{i}", "namespace": f"ns-{i % namespaces}"}
        if i % 100 == 0:  # 1% belong to one app, half by label and half by annotation
            if i % 200 == 0:
                meta["labels"] = {"app.kubernetes.io/instance": APP}
            else:
                meta["annotations"] = {"argocd.argoproj.io/tracking-id": f"{APP}:/ConfigMap:{meta['namespace']}/cm-{i}"}
        sim.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"key": f"value-{i}" * 4}})
    seeded = time.perf_counter() - start
    sim.start()
    conn.send((sim.url, seeded))
    conn.recv()
    sim.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--count", type=int, default=50_000, help="ConfigMaps to create")
    parser.add_argument("--namespaces", type=int, default=200)
    parser.add_argument("--page-size", type=int, default=500)
    args = parser.parse_args()

    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child, args.count, args.namespaces), daemon=True)
    proc.start()
    url, seeded = parent.recv()
    print(f"seeded {args.count} configmaps in {args.namespaces} namespaces via KubeSim.create (no HTTP): {seeded:.2f}s")

    from argocd_server.kube.cache import ClusterCache
    from argocd_server.kube.client import ClusterClient, ClusterCredentials

    client = ClusterClient(ClusterCredentials(server=url))
    gc.collect()
    rss_before = _rss_bytes()
    start = time.perf_counter()
    cache = ClusterCache(client, list_page_size=args.page_size).start()
    cache.wait_ready(300)
    ready = time.perf_counter() - start
    gc.collect()
    stats = cache.stats()
    rss_after = _rss_bytes()
    per_k = (rss_after - rss_before) / max(1, stats.resources_count) * 1000
    print(f"initial LIST+WATCH of {stats.apis_count} kinds until ready: {ready:.2f}s ({stats.resources_count} objects)")
    print(f"RSS growth: {(rss_after - rss_before) / 2**20:.1f} MiB, {per_k / 1024:.1f} KiB per 1,000 cached objects")

    def timed(fn: Any, repeat: int) -> tuple[float, int]:
        runs, found = [], 0
        for _ in range(repeat):
            t = time.perf_counter()
            found = len(fn(APP))
            runs.append(time.perf_counter() - t)
        return statistics.median(runs), found

    idx, n_idx = timed(cache.objects_for_app, 200)
    scan, n_scan = timed(cache.scan_for_app, 10)
    print(
        f"app lookup via index: {idx * 1e6:.0f} us ({n_idx} objects); full scan: {scan * 1e3:.1f} ms ({n_scan} objects)"
    )
    print(f"index speed-up: {scan / idx:.0f}x")

    cache.stop()
    client.close()
    parent.send("stop")
    proc.join(20)


if __name__ == "__main__":
    main()
