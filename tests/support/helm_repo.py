"""A tiny Helm chart repository over local HTTP for tests: charts packaged with ``helm package``, an index made
with ``helm repo index`` (relative URLs), served from a thread on 127.0.0.1 port 0, optionally behind basic auth.
"""

from __future__ import annotations

import base64
import functools
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class HelmRepoServer:
    url: str
    root: Path
    requests: list[str]


def package_chart(helm: str, chart_dir: Path, dest: Path, *, version: str | None = None) -> Path:
    args = [helm, "package", str(chart_dir), "--destination", str(dest)]
    if version:
        args += ["--version", version]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(dest)}
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True, timeout=60)
    return Path(out.stdout.strip().rsplit(": ", 1)[-1])


def index_repo(helm: str, root: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root)}
    subprocess.run([helm, "repo", "index", str(root)], env=env, check=True, timeout=60, capture_output=True)


@contextmanager
def serve_helm_repo(root: Path, *, username: str = "", password: str = "") -> Iterator[HelmRepoServer]:
    log: list[str] = []
    expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            log.append(self.path)
            if username and self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="charts"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_GET()

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HelmRepoServer(url=f"http://127.0.0.1:{server.server_port}", root=root, requests=log)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
