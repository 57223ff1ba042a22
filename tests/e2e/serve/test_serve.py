"""``argocd-server serve`` as a newcomer runs it (what ``make run`` does): defaults only, no kubeconfig, not in a pod.

The server runs as a real subprocess on a free port; the in-cluster destination must show up as a successful but
simulated cluster within a few seconds, and SIGTERM must end the process cleanly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.servers import free_port

IN_CLUSTER = "https://kubernetes.default.svc"
DEADLINE = 40.0


def poll(fetch: Callable[[], Any], *, timeout: float = DEADLINE) -> Any:
    """The first truthy result of ``fetch``; connection errors count as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = fetch()
        except httpx.TransportError:
            result = None
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError("condition not reached before the deadline")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    data_dir = tmp_path / "data"
    port = free_port()
    # Exactly a newcomer's environment: none of the server's own variables, no kubeconfig.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARGOCD_SERVER_") and k != "KUBECONFIG"}
    binary = Path(sys.executable).parent / "argocd-server"
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(binary), "--data-dir", str(data_dir), "serve", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
    try:
        yield f"http://127.0.0.1:{port}", data_dir, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        (tmp_path / "server.log.kept").write_bytes(log_path.read_bytes())


def test_serve_with_defaults_shows_the_simulated_in_cluster_and_stops_cleanly(
    server: tuple[str, Path, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    base, data_dir, proc = server
    with httpx.Client(base_url=base, timeout=10.0) as http:
        poll(lambda: http.get("/healthz").status_code == 200)
        password = (data_dir / "initial-admin-password").read_text().strip()
        response = http.post(
            "/api/v1/session",
            json={"username": "admin", "password": password},
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.text
        headers = {"Authorization": f"Bearer {response.json()['token']}"}

        def in_cluster() -> dict[str, Any] | None:
            items = http.get("/api/v1/clusters", headers=headers).json()["items"]
            [entry] = [c for c in items if c["server"] == IN_CLUSTER]
            return entry if entry["info"]["connectionState"]["status"] == "Successful" else None

        entry = poll(in_cluster)
        assert entry["name"] == "in-cluster"
        assert "simulated" in entry["info"]["connectionState"]["message"]
        assert entry["connectionState"] == entry["info"]["connectionState"]
        assert entry["serverVersion"]

    proc.send_signal(signal.SIGTERM)
    code = proc.wait(30)
    log = (tmp_path / "server.log").read_text(errors="replace")
    # uvicorn finishes the shutdown, then re-raises the signal it caught so the exit status tells how it ended;
    # its own INFO lines are silenced once the embedded simulator configured uvicorn's loggers, ours are not.
    assert code in (0, -signal.SIGTERM), log
    assert "cluster info refresher stopped" in log
    assert "SIMULATED" in log
    assert "Traceback" not in log
    assert " ERROR " not in log
