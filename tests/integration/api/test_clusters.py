"""ClusterService over HTTP on SQLite and PostgreSQL: CRUD, filters, the built-in in-cluster entry, RBAC with
project-scoped clusters, existence hiding, upsert/conflict, updatedFields and the secrecy of connection configs."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from argocd_server.api.state import AppState
from argocd_server.db.models import ClusterRow
from argocd_server.errors import InvalidArgument
from argocd_server.main import create_app
from argocd_server.services.clusters import resolve_destination
from tests.conftest import ADMIN_PASSWORD, SettingsFactory, bearer, login
from tests.support.configmaps import write_configmaps

JSON = {"Content-Type": "application/json"}
IN_CLUSTER = "https://kubernetes.default.svc"
PROD = "https://prod.example.com:6443"
STAGE = "https://stage.example.com"
TEAM = "https://team-a.example.com"
ALICE_PASSWORD = "alice-password-1"
POLICY = "\n".join(
    [
        f"p, alice, clusters, get, {PROD}, allow",
        f"p, alice, clusters, update, {PROD}, allow",
        "p, alice, clusters, get, team-a/*, allow",
        "p, alice, clusters, update, team-a/*, allow",
        "p, alice, clusters, create, team-a/*, allow",
        "p, alice, clusters, delete, team-a/*, allow",
    ]
)


def enc(server: str) -> str:
    """A server URL as clients put it in the path: every reserved character percent-encoded."""
    return server.replace("%", "%25").replace(":", "%3A").replace("/", "%2F")


def state_of(client: TestClient) -> AppState:
    state: AppState = client.app.state.argo  # type: ignore[attr-defined]
    return state


def make_client(make_settings: SettingsFactory, directory: Path, **extra_cm: str) -> TestClient:
    maps = write_configmaps(
        directory,
        argocd_cm={"accounts.alice": "login", **extra_cm},
        argocd_rbac_cm={"policy.csv": POLICY},
    )
    return TestClient(create_app(make_settings(configmaps=maps)))


@pytest.fixture
def api(make_settings: SettingsFactory, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(make_settings, tmp_path / "cm") as client:
        admin = login(client)
        response = client.put(
            "/api/v1/account/password",
            json={"name": "alice", "currentPassword": ADMIN_PASSWORD, "newPassword": ALICE_PASSWORD},
            headers={**bearer(admin), **JSON},
        )
        assert response.status_code == 200, response.text
        yield client


@pytest.fixture
def admin(api: TestClient) -> dict[str, str]:
    return {**bearer(login(api)), **JSON}


@pytest.fixture
def alice(api: TestClient) -> dict[str, str]:
    return {**bearer(login(api, "alice", ALICE_PASSWORD)), **JSON}


def create(api: TestClient, headers: dict[str, str], body: dict[str, Any], **params: str) -> dict[str, Any]:
    response = api.post("/api/v1/clusters", json=body, headers=headers, params=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def servers(api: TestClient, headers: dict[str, str], **params: str) -> list[str]:
    response = api.get("/api/v1/clusters", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return [c["server"] for c in response.json()["items"]]


def stored(cluster: dict[str, Any]) -> dict[str, Any]:
    """A cluster response without its live information (connection state, version, info), which a probe fills."""
    return {k: v for k, v in cluster.items() if k not in ("connectionState", "serverVersion", "info")}


def assert_error(response: Any, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    code = {400: 3, 401: 16, 403: 7, 404: 5, 500: 2}[status]
    assert response.json() == {"error": message, "code": code, "message": message}


# --- list and the built-in entry ------------------------------------------------------------------------


def test_in_cluster_is_listed(api: TestClient, admin: dict[str, str]) -> None:
    # Its live information (a real probe) is covered by test_clusters_info.py.
    body = api.get("/api/v1/clusters", headers=admin).json()
    assert body["metadata"] == {}
    [in_cluster] = body["items"]
    assert in_cluster["server"] == IN_CLUSTER
    assert in_cluster["name"] == "in-cluster"
    assert in_cluster["config"] == {"tlsClientConfig": {"insecure": False}}
    assert in_cluster["info"]["applicationsCount"] == 0


def test_stored_in_cluster_replaces_the_built_in_entry(api: TestClient, admin: dict[str, str]) -> None:
    create(api, admin, {"server": IN_CLUSTER, "name": "local", "namespaces": ["apps"]})
    items = api.get("/api/v1/clusters", headers=admin).json()["items"]
    assert [(c["server"], c["name"]) for c in items] == [(IN_CLUSTER, "local")]
    assert items[0]["namespaces"] == ["apps"]


def test_list_filters_by_server_name_and_id(api: TestClient, admin: dict[str, str]) -> None:
    create(api, admin, {"server": PROD, "name": "prod"})
    create(api, admin, {"server": STAGE, "name": "team/stage"})
    assert servers(api, admin) == [PROD, STAGE, IN_CLUSTER]
    assert servers(api, admin, server=STAGE) == [STAGE]
    assert servers(api, admin, name="prod") == [PROD]
    assert servers(api, admin, name="in-cluster") == [IN_CLUSTER]
    assert servers(api, admin, **{"id.value": PROD}) == [PROD]
    assert servers(api, admin, **{"id.type": "name", "id.value": "prod"}) == [PROD]
    assert servers(api, admin, **{"id.type": "name_escaped", "id.value": "team%2Fstage"}) == [STAGE]
    assert servers(api, admin, name="nope") == []
    # Filters combine: a name and a server that belong to different clusters match nothing.
    assert servers(api, admin, name="prod", server=STAGE) == []
    response = api.get("/api/v1/clusters", headers=admin, params={"id.type": "name_escaped", "id.value": "a%zz"})
    assert_error(
        response, 500, 'error filtering clusters by id: failed to unescape cluster name: invalid URL escape "%zz"'
    )


def test_in_cluster_can_be_disabled(make_settings: SettingsFactory, tmp_path: Path) -> None:
    with make_client(make_settings, tmp_path / "cm", **{"cluster.inClusterEnabled": "false"}) as client:
        headers = {**bearer(login(client)), **JSON}
        assert servers(client, headers) == []
        response = client.get(f"/api/v1/clusters/{enc(IN_CLUSTER)}", headers=headers)
        assert_error(response, 403, "permission denied")
        response = client.post("/api/v1/clusters", json={"server": IN_CLUSTER}, headers=headers)
        assert_error(response, 400, "cannot register cluster: in-cluster has been disabled")


# --- create, get, idempotency ------------------------------------------------------------------------


def test_create_and_get_by_escaped_server_url(api: TestClient, admin: dict[str, str]) -> None:
    created = create(
        api,
        admin,
        {
            "server": PROD + "/",
            "namespaces": ["web", " api ", ""],
            "shard": 0,
            "clusterResources": True,
            "labels": {"env": "prod"},
            "annotations": {"team": "a"},
            "config": {"tlsClientConfig": {"insecure": True, "serverName": "prod"}, "proxyUrl": "http://proxy:3128"},
        },
    )
    assert created["server"] == PROD  # trailing slash dropped
    assert created["name"] == PROD  # an empty name becomes the server URL
    assert created["namespaces"] == ["web", "api"]
    assert created["shard"] == 0
    assert created["clusterResources"] is True
    assert created["config"] == {
        "tlsClientConfig": {"insecure": True, "serverName": "prod"},
        "proxyUrl": "http://proxy:3128",
    }
    got = api.get(f"/api/v1/clusters/{enc(PROD)}", headers=admin)
    assert got.status_code == 200
    assert stored(got.json()) == stored(created)
    by_name = api.get(f"/api/v1/clusters/{enc(PROD)}", headers=admin, params={"id.type": "name"})
    assert stored(by_name.json()) == stored(created)


def test_get_by_escaped_name(api: TestClient, admin: dict[str, str]) -> None:
    create(api, admin, {"server": STAGE, "name": "team/stage"})
    # The UI escapes '/' in names as %2F and then URL-encodes the segment, so '%' itself arrives as %25.
    response = api.get("/api/v1/clusters/team%252Fstage", headers=admin, params={"id.type": "name_escaped"})
    assert response.status_code == 200, response.text
    assert response.json()["server"] == STAGE
    response = api.get("/api/v1/clusters/in-cluster", headers=admin, params={"id.type": "name"})
    assert response.json()["server"] == IN_CLUSTER


def test_create_is_idempotent_and_conflicts_without_upsert(api: TestClient, admin: dict[str, str]) -> None:
    body = {"server": PROD, "name": "prod", "config": {"bearerToken": "token-1"}}
    first = create(api, admin, body)
    assert create(api, admin, body) == first
    changed = {"server": PROD, "name": "prod", "config": {"bearerToken": "token-2"}, "labels": {"a": "b"}}
    response = api.post("/api/v1/clusters", json=changed, headers=admin)
    assert_error(
        response,
        400,
        'existing cluster spec is different; use upsert flag to force update; difference in keys "Config,Labels"',
    )
    assert "token" not in response.text
    upserted = create(api, admin, changed, upsert="true")
    assert upserted["labels"] == {"a": "b"}
    assert sealed_config(api, PROD)["bearerToken"] == "token-2"


def test_create_rejects_bad_input(api: TestClient, admin: dict[str, str]) -> None:
    response = api.post("/api/v1/clusters", json={"name": "x"}, headers=admin)
    assert_error(response, 400, "cluster server URL may not be empty")
    response = api.post("/api/v1/clusters", json={"server": "not a url"}, headers=admin)
    assert response.status_code == 400
    response = api.post("/api/v1/clusters", json={"server": PROD, "shard": "many"}, headers=admin)
    assert response.status_code == 400
    assert response.json()["message"].startswith("json: cannot unmarshal into Go struct field Cluster.shard")
    response = api.post("/api/v1/clusters", json={"server": PROD}, headers=admin, params={"upsert": "maybe"})
    assert_error(response, 400, 'parsing field "upsert": strconv.ParseBool: parsing "maybe": invalid syntax')
    last_applied = "kubectl.kubernetes.io/last-applied-configuration"
    response = api.post("/api/v1/clusters", json={"server": PROD, "annotations": {last_applied: "{}"}}, headers=admin)
    assert_error(response, 400, f"annotation {last_applied} cannot be set")
    response = api.post("/api/v1/clusters", content=b"[1]", headers=admin)
    assert response.status_code == 400
    assert servers(api, admin) == [IN_CLUSTER]


# --- update ---------------------------------------------------------------------------------------


def sealed_config(api: TestClient, server: str) -> dict[str, Any]:
    state = state_of(api)
    with state.sessions() as session:
        row = session.scalars(select(ClusterRow).where(ClusterRow.server == server)).one()
        assert row.secrets is not None
        config: dict[str, Any] = orjson.loads(state.secret_box.open(row.secrets, purpose=f"cluster-config:{row.uid}"))
        return config


def test_update_with_updated_fields_copies_only_those(api: TestClient, admin: dict[str, str]) -> None:
    create(api, admin, {"server": PROD, "name": "prod", "config": {"bearerToken": "keep-me"}, "namespaces": ["a"]})
    response = api.put(
        f"/api/v1/clusters/{enc(PROD)}",
        params=[("updatedFields", "labels"), ("updatedFields", "shard"), ("updatedFields", "bogus")],
        json={"server": PROD, "name": "renamed", "labels": {"tier": "1"}, "shard": 2, "namespaces": ["b"]},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["name"], updated["labels"], updated["shard"], updated["namespaces"]) == (
        "prod",
        {"tier": "1"},
        2,
        ["a"],
    )
    assert sealed_config(api, PROD)["bearerToken"] == "keep-me"


def test_update_without_updated_fields_replaces_the_cluster(api: TestClient, admin: dict[str, str]) -> None:
    create(api, admin, {"server": PROD, "name": "prod", "config": {"bearerToken": "old"}, "labels": {"x": "y"}})
    response = api.put(
        "/api/v1/clusters/prod",
        params={"id.type": "name"},
        json={"server": "https://elsewhere.example.com", "name": "prod-2", "config": {"username": "u"}},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["server"] == PROD  # the body cannot retarget another cluster
    assert body["name"] == "prod-2"
    assert "labels" not in body
    assert sealed_config(api, PROD) == {"username": "u", "tlsClientConfig": {"insecure": False}}


def test_update_of_built_in_entry_stores_it(api: TestClient, admin: dict[str, str]) -> None:
    response = api.put(
        f"/api/v1/clusters/{enc(IN_CLUSTER)}",
        params={"updatedFields": "namespaces"},
        json={"namespaces": ["argocd"]},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "in-cluster"
    items = api.get("/api/v1/clusters", headers=admin).json()["items"]
    assert [(c["server"], c.get("namespaces")) for c in items] == [(IN_CLUSTER, ["argocd"])]


def test_unknown_cluster_is_hidden(api: TestClient, admin: dict[str, str]) -> None:
    path = f"/api/v1/clusters/{enc('https://ghost.example.com')}"
    assert_error(api.get(path, headers=admin), 403, "permission denied")
    assert_error(api.put(path, json={"name": "x"}, headers=admin), 403, "permission denied")
    assert_error(api.delete(path, headers=admin), 403, "permission denied")
    assert_error(api.post(f"{path}/invalidate-cache", headers=admin), 403, "permission denied")
    assert_error(api.get("/api/v1/clusters/ghost", params={"id.type": "name"}, headers=admin), 403, "permission denied")


# --- delete, invalidate-cache, rotate-auth -------------------------------------------------------------


def test_delete_by_server_and_by_name(api: TestClient, admin: dict[str, str]) -> None:
    create(api, admin, {"server": PROD, "name": "dup"})
    create(api, admin, {"server": STAGE, "name": "dup"})
    create(api, admin, {"server": TEAM, "name": "team"})
    response = api.delete(f"/api/v1/clusters/{enc(TEAM)}", headers=admin)
    assert response.status_code == 200
    assert response.json() == {}
    response = api.delete("/api/v1/clusters/dup", params={"id.type": "name"}, headers=admin)
    assert response.status_code == 200
    assert servers(api, admin) == [IN_CLUSTER]


def test_delete_of_built_in_entry_is_not_found(api: TestClient, admin: dict[str, str]) -> None:
    response = api.delete(f"/api/v1/clusters/{enc(IN_CLUSTER)}", headers=admin)
    assert_error(response, 404, f'cluster "{IN_CLUSTER}" not found')


def test_invalidate_cache_records_the_request(api: TestClient, admin: dict[str, str]) -> None:
    create(api, admin, {"server": PROD, "name": "prod"})
    response = api.post(f"/api/v1/clusters/{enc(PROD)}/invalidate-cache", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    requested = body["refreshRequestedAt"]
    assert requested.endswith("Z")
    assert body["annotations"] == {"argocd.argoproj.io/refresh": requested}
    assert "lastCacheSyncTime" not in body["info"]["cacheInfo"]
    assert api.get(f"/api/v1/clusters/{enc(PROD)}", headers=admin).json()["refreshRequestedAt"] == requested


def test_rotate_auth_needs_a_bearer_token(api: TestClient, admin: dict[str, str]) -> None:
    # The rotation itself runs against kubesim in test_clusters_info.py.
    create(api, admin, {"server": PROD, "name": "prod"})
    response = api.post(f"/api/v1/clusters/{enc(PROD)}/rotate-auth", headers=admin)
    assert_error(response, 400, f"Cluster '{PROD}' does not use bearer token authentication")
    response = api.post(f"/api/v1/clusters/{enc(STAGE)}/rotate-auth", headers=admin)
    assert_error(response, 403, "permission denied")


# --- RBAC -------------------------------------------------------------------------------------------


def test_rbac_filters_list_and_hides_forbidden_clusters(
    api: TestClient, admin: dict[str, str], alice: dict[str, str]
) -> None:
    create(api, admin, {"server": PROD, "name": "prod"})
    create(api, admin, {"server": STAGE, "name": "stage"})
    create(api, admin, {"server": TEAM, "name": "team", "project": "team-a"})
    assert servers(api, alice) == [PROD, TEAM]
    assert api.get(f"/api/v1/clusters/{enc(PROD)}", headers=alice).status_code == 200
    assert_error(api.get(f"/api/v1/clusters/{enc(STAGE)}", headers=alice), 403, "permission denied")
    assert_error(api.delete(f"/api/v1/clusters/{enc(PROD)}", headers=alice), 403, "permission denied")
    assert_error(api.delete(f"/api/v1/clusters/{enc(STAGE)}", headers=alice), 403, "permission denied")
    # The cluster name never takes part in RBAC: a policy on the name grants nothing.
    assert api.get("/api/v1/clusters/stage", params={"id.type": "name"}, headers=alice).status_code == 403


def test_rbac_create_is_detailed_and_project_scoped(
    api: TestClient, admin: dict[str, str], alice: dict[str, str]
) -> None:
    response = api.post("/api/v1/clusters", json={"server": STAGE}, headers=alice)
    assert response.status_code == 403
    assert response.json()["message"].startswith(f"permission denied: clusters, create, {STAGE}, sub: alice")
    created = create(api, alice, {"server": TEAM, "name": "team", "project": "team-a"})
    assert created["project"] == "team-a"
    response = api.delete(f"/api/v1/clusters/{enc(TEAM)}", headers=alice)
    assert response.status_code == 200


def test_rbac_update_checks_the_target_project(api: TestClient, admin: dict[str, str], alice: dict[str, str]) -> None:
    create(api, admin, {"server": PROD, "name": "prod"})
    path = f"/api/v1/clusters/{enc(PROD)}"
    # Moving PROD into team-b needs update on team-b/<server>, which alice lacks.
    response = api.put(path, params={"updatedFields": "project"}, json={"project": "team-b"}, headers=alice)
    assert_error(response, 403, "permission denied")
    response = api.put(path, json={"server": PROD, "name": "prod", "project": "team-b"}, headers=alice)
    assert_error(response, 403, "permission denied")
    response = api.put(path, params={"updatedFields": "labels"}, json={"labels": {"a": "b"}}, headers=alice)
    assert response.status_code == 200
    response = api.put(path, params={"updatedFields": "project"}, json={"project": "team-a"}, headers=alice)
    assert response.status_code == 200
    assert response.json()["project"] == "team-a"
    assert api.post(f"{path}/invalidate-cache", headers=alice).status_code == 200


def test_anonymous_is_refused(api: TestClient) -> None:
    assert_error(api.get("/api/v1/clusters"), 401, "no session information")


# --- secrecy -------------------------------------------------------------------------------------------


MARKER = "S3CR3T-MARKER-d41d8cd9"


def test_secrets_are_sealed_redacted_and_never_logged(
    api: TestClient, admin: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:

    blob = base64.b64encode(MARKER.encode()).decode()
    config = {
        "username": f"user-{MARKER}",
        "password": f"pw-{MARKER}",
        "bearerToken": f"tok-{MARKER}",
        "tlsClientConfig": {"insecure": False, "caData": blob, "certData": blob, "keyData": blob},
        "execProviderConfig": {"command": "aws", "env": {"AWS_SECRET": MARKER}, "apiVersion": "v1"},
    }
    caplog.set_level(logging.DEBUG)
    responses = [
        api.post("/api/v1/clusters", json={"server": PROD, "name": "prod", "config": config}, headers=admin),
        api.post("/api/v1/clusters", json={"server": PROD, "name": "prod", "config": config}, headers=admin),
        api.post("/api/v1/clusters", json={"server": PROD, "name": "other", "config": config}, headers=admin),
        api.get("/api/v1/clusters", headers=admin),
        api.get(f"/api/v1/clusters/{enc(PROD)}", headers=admin),
        api.put(f"/api/v1/clusters/{enc(PROD)}", params={"updatedFields": "name"}, json={"name": "p"}, headers=admin),
        api.put(f"/api/v1/clusters/{enc(PROD)}", json={"server": PROD, "name": "p", "config": config}, headers=admin),
        api.post(f"/api/v1/clusters/{enc(PROD)}/invalidate-cache", headers=admin),
        api.post("/api/v1/clusters", json={"server": STAGE, "config": {**config, "bearerToken": 7}}, headers=admin),
        api.post(
            "/api/v1/clusters",
            json={"server": STAGE, "config": {"tlsClientConfig": {"caData": f"!{MARKER}!"}}},
            headers=admin,
        ),
    ]
    assert [r.status_code for r in responses] == [200, 200, 400, 200, 200, 200, 200, 200, 400, 400]
    for response in responses:
        assert MARKER not in response.text
        assert blob not in response.text
    for record in caplog.records:
        assert MARKER not in record.getMessage()
        assert blob not in record.getMessage()
    state = state_of(api)
    with state.sessions() as session:
        row = session.scalars(select(ClusterRow).where(ClusterRow.server == PROD)).one()
        assert MARKER not in row.doc
        assert blob not in row.doc
        assert row.secrets is not None
        assert MARKER.encode() not in row.secrets
        assert orjson.loads(row.doc)["config"] == {"tlsClientConfig": {"insecure": False}}
    stored = sealed_config(api, PROD)
    assert stored["bearerToken"] == f"tok-{MARKER}"
    assert stored["execProviderConfig"]["env"] == {"AWS_SECRET": MARKER}
    assert stored["tlsClientConfig"]["keyData"] == blob


# --- destination resolution for the application service ------------------------------------------------


def test_resolve_destination(api: TestClient, admin: dict[str, str]) -> None:
    create(api, admin, {"server": PROD, "name": "prod"})
    create(api, admin, {"server": STAGE, "name": "twin"})
    create(api, admin, {"server": TEAM, "name": "twin"})
    with state_of(api).sessions() as session:
        assert resolve_destination(session, server=PROD + "/", name="") == (PROD, "prod")
        assert resolve_destination(session, server="", name="prod") == (PROD, "prod")
        assert resolve_destination(session, server=IN_CLUSTER, name="") == (IN_CLUSTER, "in-cluster")
        assert resolve_destination(session, server="", name="in-cluster") == (IN_CLUSTER, "in-cluster")
        cases = {
            ("x", "prod"): "application destination can't have both name and server defined: prod x",
            ("", ""): "Destination server missing from app spec",
            ("", "nope"): "there are no clusters with this name: nope",
            ("", "twin"): f"there are 2 clusters with the same name: [{STAGE} {TEAM}]",
            ("https://gone/", ""): 'error getting cluster by server "https://gone/": cluster "https://gone" not found',
        }
        for (server, name), message in cases.items():
            with pytest.raises(InvalidArgument) as info:
                resolve_destination(session, server=server, name=name)
            assert info.value.message == message
        with pytest.raises(InvalidArgument, match="is disabled"):
            resolve_destination(session, server=IN_CLUSTER, name="", in_cluster=False)
        with pytest.raises(InvalidArgument, match="no clusters with this name"):
            resolve_destination(session, server="", name="in-cluster", in_cluster=False)
