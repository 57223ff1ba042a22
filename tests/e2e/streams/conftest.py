"""Watch-stream fixtures: the real server under uvicorn on a free port, read by real HTTP clients.

The server keeps a handle on its app so tests can look at the stream hub (subscriber counts) and shorten the SSE
keep-alive interval; nothing is mocked. Waits poll with deadlines; no assertion depends on timing.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI

from argocd_server.api.state import AppState
from argocd_server.main import create_app
from argocd_server.services.streams import StreamHub
from argocd_server.settings import Settings
from tests.conftest import ADMIN_PASSWORD
from tests.support.configmaps import write_configmaps
from tests.support.git_repo import make_git_repo
from tests.support.servers import free_port

DEADLINE = 30.0
ALICE_PASSWORD = "alice-password-1"
IN_CLUSTER = "https://kubernetes.default.svc"
JSON = {"Content-Type": "application/json"}
POLICY = "\n".join(
    [
        "p, alice, applications, get, default/seen-*, allow",
        "p, alice, applicationsets, get, default/seen-*, allow",
    ]
)


@dataclass
class Server:
    url: str
    app: FastAPI
    repo_url: str = ""
    """A local git repository holding the guestbook example, for apps whose manifests must render."""
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def hub(self) -> StreamHub:
        state: AppState = self.app.state.argo
        assert state.streams is not None
        return state.streams

    def headers(self, user: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def login(self, user: str, password: str) -> None:
        response = httpx.post(f"{self.url}/api/v1/session", json={"username": user, "password": password})
        assert response.status_code == 200, response.text
        self.tokens[user] = response.json()["token"]

    def request(self, method: str, path: str, *, user: str = "admin", **kwargs: Any) -> httpx.Response:
        headers = {**self.headers(user), **JSON, **kwargs.pop("headers", {})}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)


@contextmanager
def serve(settings: Settings) -> Iterator[Server]:
    """Serves ``create_app(settings)`` with uvicorn until the block ends."""
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", access_log=False)
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + DEADLINE
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield Server(url=url, app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def base_settings(data: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data,
        "database_url": f"sqlite:///{data / 'argocd.db'}",
        "admin_password": ADMIN_PASSWORD,
        "login_delay_min_ms": 0,
        "login_delay_max_ms": 0,
        "auth_cache_seconds": 0.0,
        "threadpool_size": 8,
        "controller_enabled": False,
        "embedded_kubesim": False,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per module, with admin and alice (who may only ``get`` apps and sets named ``seen-*``)."""
    data = tmp_path_factory.mktemp("streams")
    repo = make_git_repo(tmp_path_factory.mktemp("repo"))
    repo.copy_example("guestbook")
    repo.commit("add guestbook")
    maps = write_configmaps(
        data / "cm",
        argocd_cm={"accounts.alice": "login"},
        argocd_rbac_cm={"policy.csv": POLICY},
    )
    with serve(base_settings(data, configmaps=maps)) as srv:
        srv.repo_url = repo.url
        srv.login("admin", ADMIN_PASSWORD)
        response = srv.request(
            "PUT",
            "/api/v1/account/password",
            json={"name": "alice", "currentPassword": ADMIN_PASSWORD, "newPassword": ALICE_PASSWORD},
        )
        assert response.status_code == 200, response.text
        srv.login("alice", ALICE_PASSWORD)
        yield srv


def app_body(name: str, *, repo_url: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": name, **({"labels": labels} if labels else {})},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo_url, "path": "guestbook", "targetRevision": "HEAD"},
            "destination": {"server": IN_CLUSTER, "namespace": "default"},
        },
    }


def create_app_via_api(server: Server, name: str, **kwargs: Any) -> dict[str, Any]:
    response = server.request("POST", "/api/v1/applications", json=app_body(name, repo_url=server.repo_url, **kwargs))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def patch_app(server: Server, name: str, patch: dict[str, Any]) -> dict[str, Any]:
    response = server.request(
        "PATCH", f"/api/v1/applications/{name}", json={"patch": orjson.dumps(patch).decode(), "patchType": "merge"}
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def delete_app(server: Server, name: str) -> None:
    response = server.request("DELETE", f"/api/v1/applications/{name}", params={"cascade": "false"})
    assert response.status_code == 200, response.text


def current(hub: StreamHub) -> StreamHub:
    """``hub`` brought up to date first: with no watch open it does not poll, it catches up when one opens."""
    hub.ensure_current()
    return hub


def wait_for(condition: Callable[[], bool], *, what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class StreamReader:
    """Reads one watch stream in a background thread into a list of decoded messages (either encoding).

    Messages are the parsed JSON envelopes; SSE comment lines are counted as keep-alives.
    """

    def __init__(self, url: str, *, headers: dict[str, str], params: Any = None, sse: bool = False) -> None:
        self.messages: list[dict[str, Any]] = []
        self.keepalives = 0
        self.status: int | None = None
        self.response_headers: httpx.Headers | None = None
        self.raw: list[str] = []
        self._client = httpx.Client(timeout=httpx.Timeout(5.0, read=None))
        self._headers = {**headers, **({"Accept": "text/event-stream"} if sse else {})}
        self._url = url
        self._params = params
        self._sse = sse
        self._opened = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self.error: BaseException | None = None
        self._socket: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> StreamReader:
        self._thread.start()
        if not self._opened.wait(DEADLINE):
            raise AssertionError("the stream did not open")
        if self.error is not None:
            raise self.error
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closed.set()
        # A blocked read is not interrupted by closing the client from another thread; shutting the socket is.
        sock = self._socket
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=10)
        self._client.close()

    def _run(self) -> None:
        try:
            with self._client.stream("GET", self._url, headers=self._headers, params=self._params) as response:
                self.status = response.status_code
                self._socket = response.extensions["network_stream"].get_extra_info("socket")
                self.response_headers = response.headers
                self._opened.set()
                for line in response.iter_lines():
                    with self._lock:
                        self.raw.append(line)
                    if self._sse:
                        if line.startswith(":"):
                            self.keepalives += 1
                            continue
                        if not line.startswith("data: "):
                            continue
                        line = line.removeprefix("data: ")
                    if line.strip():
                        with self._lock:
                            self.messages.append(orjson.loads(line))
        except (httpx.HTTPError, RuntimeError) as exc:
            if not self._closed.is_set():
                self.error = exc
        finally:
            self._opened.set()

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.messages)

    def events(self) -> list[tuple[str, str]]:
        """(type, name) of every application or application-set event so far."""
        out = []
        for message in self.snapshot():
            result = message.get("result", {})
            obj = result.get("application") or result.get("applicationSet") or {}
            out.append((result.get("type", ""), obj.get("metadata", {}).get("name", "")))
        return out

    def wait_until(self, predicate: Callable[[StreamReader], bool], *, what: str) -> None:
        wait_for(lambda: predicate(self) or self.error is not None, what=what)
        if self.error is not None:
            raise self.error

    @property
    def finished(self) -> bool:
        return not self._thread.is_alive()
