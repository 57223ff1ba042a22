"""A real API server on a free local port, run by uvicorn in a background thread.

``running_server(settings)`` starts ``create_app(settings)``, waits until ``/healthz`` answers, yields the base URL
(``http://127.0.0.1:<port>``) and stops the server on exit. Used by tests that drive clients as real processes.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from argocd_server.main import create_app
from argocd_server.settings import Settings


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_server(settings: Settings, *, startup_timeout: float = 30.0) -> Iterator[str]:
    """Serves the app until the block ends; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + startup_timeout
    try:
        while True:
            if not thread.is_alive():
                raise RuntimeError("the test server stopped during startup")
            try:
                if server.started and httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the test server did not start within {startup_timeout}s")
            time.sleep(0.05)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=15)
