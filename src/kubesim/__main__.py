"""Command line: ``python -m kubesim --port N [--host H] [--snapshot FILE] [--token T]``."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys

from kubesim.server import KubeSim


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kubesim", description="Simulated Kubernetes API server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6443)
    parser.add_argument("--snapshot", help="persist state to this JSON file and load it at start")
    parser.add_argument("--token", action="append", default=[], help="accepted bearer token (repeatable)")
    parser.add_argument("--pace", type=float, default=1.0, help="seconds per simulated controller step")
    parser.add_argument("--no-controllers", action="store_true")
    parser.add_argument("--kubeconfig", help="write a kubeconfig for this server to this path")
    args = parser.parse_args(argv)
    sim = KubeSim(
        host=args.host,
        port=args.port,
        snapshot=args.snapshot,
        tokens=dict.fromkeys(args.token) or None,
        pace=args.pace,
        controllers=not args.no_controllers,
    )

    def terminate(_signum: int, _frame: object) -> None:
        # SIGTERM takes the same graceful path as Ctrl-C, so the snapshot gets flushed.
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    sim.start()
    if args.kubeconfig:
        sim.write_kubeconfig(args.kubeconfig, token=args.token[0] if args.token else None)
    sys.stdout.write(f"kubesim listening on {sim.url}\n")
    sys.stdout.flush()
    with contextlib.suppress(KeyboardInterrupt):
        sim.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
