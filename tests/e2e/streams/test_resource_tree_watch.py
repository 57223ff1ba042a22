"""GET /api/v1/stream/applications/{name}/resource-tree while the controller syncs an app into kubesim."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import kubernetes
import pytest

from kubesim.server import KubeSim
from kubesim.testing import running_kubesim
from tests.conftest import ADMIN_PASSWORD
from tests.e2e.streams.conftest import (
    POLICY,
    Server,
    StreamReader,
    base_settings,
    create_app_via_api,
    serve,
)
from tests.support.configmaps import write_configmaps
from tests.support.git_repo import make_git_repo


@pytest.fixture
def sim() -> Iterator[KubeSim]:
    with running_kubesim(pace=0) as kube:
        yield kube


@pytest.fixture
def engine_server(tmp_path: Path, sim: KubeSim) -> Iterator[Server]:
    repo = make_git_repo(tmp_path / "repo")
    repo.copy_example("guestbook")
    repo.commit("add guestbook")
    maps = write_configmaps(
        tmp_path / "cm", argocd_cm={"accounts.alice": "login"}, argocd_rbac_cm={"policy.csv": POLICY}
    )
    settings = base_settings(
        tmp_path / "data",
        configmaps=maps,
        controller_enabled=True,
        kubeconfig=sim.write_kubeconfig(tmp_path / "kubeconfig"),
        sync_wave_delay_seconds=0.05,
        controller_poll_seconds=0.1,
    )
    with serve(settings) as srv:
        srv.repo_url = repo.url
        srv.login("admin", ADMIN_PASSWORD)
        response = srv.request(
            "PUT",
            "/api/v1/account/password",
            json={"name": "alice", "currentPassword": ADMIN_PASSWORD, "newPassword": "alice-password-1"},
        )
        assert response.status_code == 200, response.text
        srv.login("alice", "alice-password-1")
        yield srv


def kinds(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["kind"]: node for node in message["result"].get("nodes", [])}


@pytest.mark.parametrize("sse", [False, True], ids=["ndjson", "sse"])
def test_tree_follows_the_controller(engine_server: Server, sim: KubeSim, sse: bool) -> None:
    server = engine_server
    create_app_via_api(server, "guestbook")
    url = server.url + "/api/v1/stream/applications/guestbook/resource-tree"
    with StreamReader(url, headers=server.headers(), sse=sse) as reader:
        assert reader.status == 200
        response = server.request("POST", "/api/v1/applications/guestbook/sync", json={})
        assert response.status_code == 200, response.text
        # The tree is sent whenever it changes: eventually with the pods the deployment made.
        reader.wait_until(lambda r: any("Pod" in kinds(m) for m in r.snapshot()), what="a tree with pods")
        latest = reader.snapshot()[-1]
        assert kinds(latest)["Service"].get("uid")
        assert all(set(m) == {"result"} for m in reader.snapshot())
        # A live change the app document does not show: the Service disappears from the cluster.
        kubernetes.client.CoreV1Api(sim.api_client()).delete_namespaced_service(
            "guestbook-ui", "default", _preload_content=False
        )
        reader.wait_until(
            lambda r: kinds(r.snapshot()[-1]).get("Service", {}).get("health", {}).get("status") == "Missing",
            what="the tree without the live Service",
        )
        # Consecutive messages always differ.
        bodies = [m["result"] for m in reader.snapshot()]
        assert all(a != b for a, b in itertools.pairwise(bodies))


def test_tree_watch_access(engine_server: Server) -> None:
    server = engine_server
    create_app_via_api(server, "guestbook")
    url = server.url + "/api/v1/stream/applications/guestbook/resource-tree"
    for path in (url, server.url + "/api/v1/stream/applications/missing/resource-tree"):
        denied = httpx.get(path, headers=server.headers("alice"))
        assert denied.status_code == 403
        assert denied.json() == {
            "error": {"grpc_code": 7, "http_code": 403, "message": "permission denied", "http_status": "Forbidden"}
        }
    missing = httpx.get(url, params={"project": "other"}, headers=server.headers())
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == 'applications.argoproj.io "guestbook" not found'
