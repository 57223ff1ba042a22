"""Benchmark floor: ConfigMaps created per second through the official client against kubesim."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from kubernetes import client


def _running_kubesim() -> object:
    # Run as a script, this file's directory comes first on sys.path and its name would
    # shadow the kubesim package.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    return importlib.import_module("kubesim.testing").running_kubesim


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--count", type=int, default=2000, help="ConfigMaps to create")
    parser.add_argument("--namespaces", type=int, default=1, help="spread over this many")
    args = parser.parse_args()
    running_kubesim = _running_kubesim()
    with running_kubesim(controllers=False) as sim:  # type: ignore[operator]
        api_client = sim.api_client()
        core = client.CoreV1Api(api_client)
        names = [f"bench-{i}" for i in range(args.namespaces)]
        for ns in names:
            core.create_namespace({"metadata": {"name": ns}})
        body = {"data": {"key": "value" * 8}}
        start = time.perf_counter()
        for i in range(args.count):
            ns = names[i % len(names)]
            core.create_namespaced_config_map(ns, {"metadata": {"name": f"cm-{i}"}, **body})
        elapsed = time.perf_counter() - start
        print(f"created {args.count} configmaps in {elapsed:.2f}s: {args.count / elapsed:.0f} objects/s")
        start = time.perf_counter()
        listed = core.list_config_map_for_all_namespaces(_preload_content=False).data
        print(f"listed all namespaces ({len(listed)} bytes) in {time.perf_counter() - start:.3f}s")
        api_client.close()


if __name__ == "__main__":
    main()
