"""Starts a real ``argocd-server serve`` subprocess on a free port for benchmarks, and stops it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ADMIN_PASSWORD = "bench-password-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    controller_pid: int | None = None
    """With ``split``: the ``argocd-server controller`` process beside ``serve --no-controller``."""

    def peak_rss_mb(self) -> float:
        """The server process's peak resident set size (VmHWM)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0


@contextmanager
def running_server(
    *, database_url: str | None = None, env: dict[str, str] | None = None, split: bool = False
) -> Iterator[Server]:
    """``argocd-server serve`` with its embedded controller; with ``split``, ``serve --no-controller`` and
    ``argocd-server controller`` as two processes on the same database, as upstream deploys them."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="argocd-bench-") as tmp:
        environment = {
            **os.environ,
            "ARGOCD_SERVER_DATA_DIR": str(Path(tmp) / "data"),
            "ARGOCD_SERVER_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "ARGOCD_SERVER_LOG_LEVEL": "warning",
            **(env or {}),
        }
        if database_url:
            environment["ARGOCD_SERVER_DATABASE_URL"] = database_url
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "argocd_server.cmd",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *(["--no-controller"] if split else []),
            ],
            env=environment,
        )
        controller: subprocess.Popen[bytes] | None = None
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start")
                time.sleep(0.1)
            if split:  # after the server has migrated the database
                controller = subprocess.Popen(
                    [sys.executable, "-m", "argocd_server.cmd", "controller"], env=environment
                )
            yield Server(url=url, pid=proc.pid, controller_pid=controller.pid if controller else None)
        finally:
            for process in (proc, controller):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=20)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]
