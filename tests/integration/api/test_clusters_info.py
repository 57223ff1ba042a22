"""Live cluster information over HTTP: the in-cluster simulator probed for real, failing and unresponsive clusters,
application counts, cache invalidation (a real relist) and RotateAuth against kubesim's token authentication.

kubesim has no token controller (nothing fills ``kubernetes.io/service-account-token`` Secrets and its accepted
tokens are a static table), so :class:`TokenController` plays that part of the cluster here, over kubesim's API.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from argocd_server.api.state import AppState
from argocd_server.db.models import ClusterRow
from argocd_server.main import create_app
from kubesim.server import KubeSim
from kubesim.testing import running_kubesim
from tests.conftest import SettingsFactory, bearer, login
from tests.support.git_repo import make_git_repo

JSON = {"Content-Type": "application/json"}
IN_CLUSTER = "https://kubernetes.default.svc"
DEADLINE = 30.0
SA_TOKEN_TYPE = "kubernetes.io/service-account-token"


def enc(server: str) -> str:
    return server.replace("%", "%25").replace(":", "%3A").replace("/", "%2F")


@pytest.fixture
def api(make_settings: SettingsFactory) -> Iterator[TestClient]:
    # The embedded simulator is the in-cluster destination, as for `make run`; no controller: these tests look at
    # the API's own probes, not at reconciliation.
    settings = make_settings(controller_enabled=False, embedded_kubesim=True)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def admin(api: TestClient) -> dict[str, str]:
    return {**bearer(login(api)), **JSON}


def get_cluster(api: TestClient, headers: dict[str, str], server: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/clusters/{enc(server)}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_for(
    fetch: Callable[[], dict[str, Any]], predicate: Callable[[dict[str, Any]], bool], *, timeout: float = DEADLINE
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        last = fetch()
        if predicate(last):
            return last
        time.sleep(0.1)
    raise AssertionError(f"condition not reached; last answer: {last}")


def status_of(cluster: dict[str, Any]) -> str:
    return str(cluster["info"]["connectionState"]["status"])


# --- connection state --------------------------------------------------------------------------------------------


def test_in_cluster_simulator_is_successful_and_says_simulated(
    api: TestClient, admin: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    def listed() -> dict[str, Any]:
        response = api.get("/api/v1/clusters", headers=admin)
        assert response.status_code == 200, response.text
        [item] = response.json()["items"]
        return dict(item)

    cluster = wait_for(listed, lambda c: status_of(c) == "Successful")
    info = cluster["info"]
    assert "simulated" in info["connectionState"]["message"]
    assert info["connectionState"]["attemptedAt"].endswith("Z")
    assert cluster["connectionState"] == info["connectionState"]
    assert cluster["serverVersion"] == info["serverVersion"]
    assert info["serverVersion"].count(".") == 1
    assert info["cacheInfo"]["resourcesCount"] > 0
    assert info["cacheInfo"]["apisCount"] > 0
    assert info["cacheInfo"]["lastCacheSyncTime"].endswith("Z")
    assert {"v1", "v1/Namespace", "apps/v1", "apps/v1/Deployment"} <= set(info["apiVersions"])
    assert info["apiVersions"] == sorted(info["apiVersions"])
    assert info["applicationsCount"] == 0
    assert any("SIMULATED" in r.getMessage() for r in caplog.records)
    # The same state by id, served from memory.
    assert get_cluster(api, admin, IN_CLUSTER)["info"]["connectionState"] == info["connectionState"]


def test_unreachable_cluster_is_failed_with_the_reason(api: TestClient, admin: dict[str, str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    response = api.post("/api/v1/clusters", json={"server": closed, "name": "gone"}, headers=admin)
    assert response.status_code == 200, response.text

    cluster = wait_for(lambda: get_cluster(api, admin, closed), lambda c: status_of(c) == "Failed")
    assert closed in cluster["info"]["connectionState"]["message"]
    assert "serverVersion" not in cluster
    assert cluster["info"]["cacheInfo"] == {}
    assert "apiVersions" not in cluster["info"]


@contextmanager
def unresponsive_server() -> Iterator[str]:
    """A port that accepts TCP connections (kernel backlog) but never answers; closing it resets them."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def test_slow_cluster_does_not_hold_requests(api: TestClient, admin: dict[str, str]) -> None:
    with unresponsive_server() as slow:
        response = api.post("/api/v1/clusters", json={"server": slow, "name": "slow"}, headers=admin)
        assert response.status_code == 200, response.text
        # The probe hangs until the client's read timeout: the answer comes without it, inventing nothing.
        for _ in range(2):
            cluster = get_cluster(api, admin, slow)
            assert cluster["info"]["connectionState"] == {"status": "", "message": "", "attemptedAt": None}
            assert "connectionState" in cluster
            assert "serverVersion" not in cluster
        listed = api.get("/api/v1/clusters", headers=admin).json()["items"]
        assert {c["server"] for c in listed} == {slow, IN_CLUSTER}


# --- applications count ------------------------------------------------------------------------------------------


CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n"


def app_body(name: str, destination: dict[str, str], *, repo_url: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "source": {"repoURL": repo_url, "path": "guestbook"},
            "destination": {**destination, "namespace": "default"},
            "project": "default",
        },
    }


def test_applications_count_by_server_and_by_name(api: TestClient, admin: dict[str, str], tmp_path: Path) -> None:
    repo = make_git_repo(tmp_path)
    repo.commit(files={"guestbook/cm.yaml": CONFIG_MAP})
    other = "https://other.example.com"
    assert api.post("/api/v1/clusters", json={"server": other, "name": "other"}, headers=admin).status_code == 200
    destinations = [{"server": IN_CLUSTER}, {"name": "in-cluster"}, {"server": IN_CLUSTER + "/"}, {"name": "other"}]
    for i, destination in enumerate(destinations):
        response = api.post(
            "/api/v1/applications", json=app_body(f"app-{i}", destination, repo_url=repo.url), headers=admin
        )
        assert response.status_code == 200, response.text

    counts = {
        c["server"]: c["info"]["applicationsCount"] for c in api.get("/api/v1/clusters", headers=admin).json()["items"]
    }
    assert counts == {IN_CLUSTER: 3, other: 1}
    assert get_cluster(api, admin, other)["info"]["applicationsCount"] == 1
    response = api.delete("/api/v1/applications/app-3", headers=admin, params={"cascade": "false"})
    assert response.status_code == 200, response.text
    assert get_cluster(api, admin, other)["info"]["applicationsCount"] == 0


# --- invalidate-cache --------------------------------------------------------------------------------------------


def test_invalidate_cache_relists_the_live_cache(api: TestClient, admin: dict[str, str]) -> None:
    before = wait_for(
        lambda: get_cluster(api, admin, IN_CLUSTER),
        lambda c: status_of(c) == "Successful" and "lastCacheSyncTime" in c["info"]["cacheInfo"],
    )
    synced = before["info"]["cacheInfo"]["lastCacheSyncTime"]
    # lastCacheSyncTime has whole seconds: let one pass so a relist is visible.
    wait_for(lambda: {"now": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, lambda n: n["now"] > synced)

    response = api.post(f"/api/v1/clusters/{enc(IN_CLUSTER)}/invalidate-cache", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["server"] == IN_CLUSTER
    assert body["refreshRequestedAt"].endswith("Z")

    after = wait_for(
        lambda: get_cluster(api, admin, IN_CLUSTER),
        lambda c: c["info"]["cacheInfo"].get("lastCacheSyncTime", "") > synced,
    )
    assert status_of(after) == "Successful"
    assert after["refreshRequestedAt"] == body["refreshRequestedAt"]


def test_invalidate_cache_of_unknown_cluster_is_denied(api: TestClient, admin: dict[str, str]) -> None:
    response = api.post(f"/api/v1/clusters/{enc('https://ghost.example.com')}/invalidate-cache", headers=admin)
    assert response.status_code == 403
    assert response.json()["message"] == "permission denied"


# --- rotate-auth -------------------------------------------------------------------------------------------------

ADMIN_TOKEN = "kubesim-admin-token"
NAMESPACE = "kube-system"
ACCOUNT = "argocd-manager"


def legacy_token(namespace: str, account: str, secret: str) -> str:
    """A token shaped like the legacy service-account JWTs Kubernetes puts into token Secrets."""

    def part(doc: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")

    claims = {
        "iss": "kubernetes/serviceaccount",
        "kubernetes.io/serviceaccount/namespace": namespace,
        "kubernetes.io/serviceaccount/secret.name": secret,
        "kubernetes.io/serviceaccount/service-account.name": account,
        "kubernetes.io/serviceaccount/service-account.uid": secrets.token_hex(8),
        "sub": f"system:serviceaccount:{namespace}:{account}",
    }
    signature = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return f"{part({'alg': 'RS256', 'kid': 'test'})}.{part(claims)}.{signature}"


class TokenController:
    """The cluster's token controller, which kubesim lacks: fills token Secrets and makes kubesim accept exactly the
    tokens of the token Secrets that exist (deleting a Secret revokes its token), besides the admin token."""

    def __init__(self, sim: KubeSim) -> None:
        self._sim = sim
        self._http = httpx.Client(base_url=sim.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="token-controller", daemon=True)

    def __enter__(self) -> TokenController:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._http.close()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            accepted: dict[str, None] = {ADMIN_TOKEN: None}
            for secret in self._sim.list_objects("v1", "Secret"):
                if secret.get("type") != SA_TOKEN_TYPE:
                    continue
                meta = secret["metadata"]
                encoded = (secret.get("data") or {}).get("token")
                if not encoded:
                    account = meta["annotations"]["kubernetes.io/service-account.name"]
                    token = legacy_token(meta["namespace"], account, meta["name"])
                    encoded = base64.b64encode(token.encode()).decode()
                    patch = {"data": {"token": encoded}}
                    path = f"/api/v1/namespaces/{meta['namespace']}/secrets/{meta['name']}"
                    self._http.patch(path, json=patch, headers={"Content-Type": "application/merge-patch+json"})
                accepted[base64.b64decode(encoded).decode()] = None
            self._sim.set_tokens(accepted)


def secret_token(sim: KubeSim, name: str) -> str:
    secret = sim.get("v1", "Secret", name=name, namespace=NAMESPACE)
    assert secret is not None
    return base64.b64decode(secret["data"]["token"]).decode()


def kube_status(sim: KubeSim, token: str) -> int:
    response = httpx.get(f"{sim.url}/api/v1/namespaces", headers={"Authorization": f"Bearer {token}"})
    return response.status_code


def stored_config(api: TestClient, server: str) -> dict[str, Any]:
    state: AppState = api.app.state.argo  # type: ignore[attr-defined]
    with state.sessions() as db:
        row = db.scalars(select(ClusterRow).where(ClusterRow.server == server)).one()
        assert row.secrets is not None
        config: dict[str, Any] = orjson.loads(state.secret_box.open(row.secrets, purpose=f"cluster-config:{row.uid}"))
    return config


def test_rotate_auth_replaces_and_revokes_the_service_account_token(
    api: TestClient, admin: dict[str, str], tmp_path: Path
) -> None:
    with running_kubesim(tokens={ADMIN_TOKEN: None}) as sim, TokenController(sim):
        sim.create(
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": ACCOUNT, "namespace": NAMESPACE}}
        )
        old_name = f"{ACCOUNT}-token-first"
        sim.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": SA_TOKEN_TYPE,
                "metadata": {
                    "name": old_name,
                    "namespace": NAMESPACE,
                    "annotations": {"kubernetes.io/service-account.name": ACCOUNT},
                },
            }
        )
        wait_for(
            lambda: sim.get("v1", "Secret", name=old_name, namespace=NAMESPACE) or {},
            lambda s: bool((s.get("data") or {}).get("token")),
        )
        old_token = secret_token(sim, old_name)
        wait_for(lambda: {"status": kube_status(sim, old_token)}, lambda r: r["status"] == 200)
        cluster = {"server": sim.url, "name": "sim", "config": {"bearerToken": old_token}}
        assert api.post("/api/v1/clusters", json=cluster, headers=admin).status_code == 200

        response = api.post(f"/api/v1/clusters/{enc(sim.url)}/rotate-auth", headers=admin)
        assert response.status_code == 200, response.text
        assert response.json() == {}

        assert sim.get("v1", "Secret", name=old_name, namespace=NAMESPACE) is None
        account = sim.get("v1", "ServiceAccount", name=ACCOUNT, namespace=NAMESPACE)
        assert account is not None
        [ref] = account["secrets"]
        new_name = ref["name"]
        assert new_name.startswith(f"{ACCOUNT}-token-")
        new_token = secret_token(sim, new_name)
        assert stored_config(api, sim.url)["bearerToken"] == new_token
        # The old token dies with its secret; the stored one works.
        wait_for(lambda: {"status": kube_status(sim, old_token)}, lambda r: r["status"] == 401)
        assert kube_status(sim, new_token) == 200
        # The response never carries the credential.
        assert "bearerToken" not in get_cluster(api, admin, sim.url)["config"]


def test_rotate_auth_refuses_a_token_naming_no_service_account(api: TestClient, admin: dict[str, str]) -> None:
    with running_kubesim(tokens={ADMIN_TOKEN: None}) as sim:
        cluster = {"server": sim.url, "name": "sim", "config": {"bearerToken": ADMIN_TOKEN}}
        assert api.post("/api/v1/clusters", json=cluster, headers=admin).status_code == 200
        response = api.post(f"/api/v1/clusters/{enc(sim.url)}/rotate-auth", headers=admin)
        assert response.status_code == 500
        assert response.json()["message"].startswith("failed to parse service account token")
        assert stored_config(api, sim.url)["bearerToken"] == ADMIN_TOKEN


def test_after_rotate_auth_the_shared_connection_uses_the_new_token(
    api: TestClient, admin: dict[str, str], tmp_path: Path
) -> None:
    state: AppState = api.app.state.argo  # type: ignore[attr-defined]
    assert state.clusters is not None
    assert state.cluster_info is not None
    with running_kubesim(tokens={ADMIN_TOKEN: None}) as sim, TokenController(sim):
        sim.create(
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": ACCOUNT, "namespace": NAMESPACE}}
        )
        old_name = f"{ACCOUNT}-token-first"
        sim.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": SA_TOKEN_TYPE,
                "metadata": {
                    "name": old_name,
                    "namespace": NAMESPACE,
                    "annotations": {"kubernetes.io/service-account.name": ACCOUNT},
                },
            }
        )
        wait_for(
            lambda: sim.get("v1", "Secret", name=old_name, namespace=NAMESPACE) or {},
            lambda s: bool((s.get("data") or {}).get("token")),
        )
        old_token = secret_token(sim, old_name)
        wait_for(lambda: {"status": kube_status(sim, old_token)}, lambda r: r["status"] == 200)
        cluster = {"server": sim.url, "name": "sim", "config": {"bearerToken": old_token}}
        assert api.post("/api/v1/clusters", json=cluster, headers=admin).status_code == 200
        # The connection the controller and the cluster info share is built now, with the old token.
        wait_for(lambda: get_cluster(api, admin, sim.url), lambda c: status_of(c) == "Successful")
        before = state.clusters.get(sim.url)

        response = api.post(f"/api/v1/clusters/{enc(sim.url)}/rotate-auth", headers=admin)
        assert response.status_code == 200, response.text
        wait_for(lambda: {"status": kube_status(sim, old_token)}, lambda r: r["status"] == 401)

        # What the controller gets for this server now: a new connection, authenticated with the new token.
        handle = state.clusters.get(sim.url)
        assert handle is not before
        connection = handle.client.check_connection()
        assert (connection.status, connection.message) == ("Successful", "")
        assert handle.reachable() is None
        assert handle.cache.objects(namespace=NAMESPACE)
        # A fresh probe by the cluster info goes through the same provider and succeeds as well.
        assert state.cluster_info.refresh(sim.url).wait(DEADLINE)
        info = get_cluster(api, admin, sim.url)["info"]["connectionState"]
        assert info["status"] == "Successful", info
