"""Project roles and role tokens: issuing, authenticating with, RBAC of and revoking ``proj:<p>:<r>`` tokens."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from argocd_server.api.state import AppState
from argocd_server.errors import PermissionDenied
from argocd_server.main import create_app
from argocd_server.services.access import Access
from argocd_server.services.auth import Principal
from argocd_server.services.projects import ProjectService
from tests.conftest import ADMIN_PASSWORD, SettingsFactory, bearer, login
from tests.support.configmaps import write_configmaps

JSON = {"Content-Type": "application/json"}


def app_state(client: TestClient) -> AppState:
    app = client.app
    assert isinstance(app, FastAPI)
    state: AppState = app.state.argo
    return state


ROLE_POLICY = "p, proj:team-a:ci, applications, get, team-a/*, allow"


def call(client: TestClient, method: str, path: str, token: str, body: Any = None) -> httpx.Response:
    headers = bearer(token)
    if method != "GET":
        headers.update(JSON)
    response: httpx.Response = client.request(method, path, headers=headers, json=body)
    return response


@pytest.fixture
def client(make_settings: SettingsFactory, tmp_path: Path) -> Iterator[TestClient]:
    maps = write_configmaps(tmp_path / "cm", argocd_cm={"accounts.bob": "login"})
    with TestClient(create_app(make_settings(configmaps=maps))) as test_client:
        admin = login(test_client)
        response = call(
            test_client,
            "PUT",
            "/api/v1/account/password",
            admin,
            {"name": "bob", "currentPassword": ADMIN_PASSWORD, "newPassword": "bob-password-1"},
        )
        assert response.status_code == 200, response.text
        response = call(
            test_client,
            "POST",
            "/api/v1/projects",
            admin,
            {
                "project": {
                    "metadata": {"name": "team-a"},
                    "spec": {
                        "sourceRepos": ["*"],
                        "destinations": [{"server": "*", "namespace": "*"}],
                        "roles": [
                            {"name": "ci", "policies": [ROLE_POLICY], "groups": ["team-a-admins"]},
                            {"name": "empty"},
                        ],
                    },
                }
            },
        )
        assert response.status_code == 200, response.text
        yield test_client


def issue(client: TestClient, token: str, body: dict[str, Any] | None = None, role: str = "ci") -> httpx.Response:
    return call(client, "POST", f"/api/v1/projects/team-a/roles/{role}/token", token, body or {})


def can_i(client: TestClient, token: str, path: str) -> str:
    response = client.get(f"/api/v1/account/can-i/{path}", headers=bearer(token))
    assert response.status_code == 200, response.text
    value: str = response.json()["value"]
    return value


def test_token_authenticates_and_is_scoped_to_its_role(client: TestClient) -> None:
    admin = login(client)
    response = issue(client, admin, {"id": "build-1", "expiresIn": 3600})
    assert response.status_code == 200, response.text
    token = response.json()["token"]

    info = client.get("/api/v1/session/userinfo", headers=bearer(token)).json()
    assert info["username"] == "proj:team-a:ci"
    assert info["loggedIn"] is True
    assert can_i(client, token, "applications/get/team-a/guestbook") == "yes"
    assert can_i(client, token, "applications/sync/team-a/guestbook") == "no"
    assert can_i(client, token, "applications/get/default/guestbook") == "no"
    # Every role may read its own project, and nothing else.
    assert call(client, "GET", "/api/v1/projects/team-a", token).status_code == 200
    assert call(client, "GET", "/api/v1/projects/default", token).status_code == 403
    assert [p["metadata"]["name"] for p in call(client, "GET", "/api/v1/projects", token).json()["items"]] == ["team-a"]

    project = call(client, "GET", "/api/v1/projects/team-a", admin).json()
    record = project["spec"]["roles"][0]["jwtTokens"][0]
    assert record["id"] == "build-1"
    assert record["exp"] - record["iat"] == 3600
    assert project["status"]["jwtTokensByRole"]["ci"]["items"] == [record]
    assert project["status"]["jwtTokensByRole"]["empty"] == {}

    response = call(client, "DELETE", f"/api/v1/projects/team-a/roles/ci/token/{record['iat']}?id=build-1", admin)
    assert response.status_code == 200
    assert response.json() == {}
    # userinfo is open to anonymous callers: a revoked token simply makes the caller anonymous.
    assert client.get("/api/v1/session/userinfo", headers=bearer(token)).json() == {}
    assert call(client, "GET", "/api/v1/projects/team-a", token).status_code == 401
    project = call(client, "GET", "/api/v1/projects/team-a", admin).json()
    assert "jwtTokens" not in project["spec"]["roles"][0]
    assert project["status"]["jwtTokensByRole"]["ci"] == {}


def test_token_ids_are_unique_and_tokens_listed_newest_first(client: TestClient) -> None:
    admin = login(client)
    assert issue(client, admin, {"id": "one"}).status_code == 200
    response = issue(client, admin, {"id": "one"})
    assert response.status_code == 400
    assert response.json()["message"] == "Token id 'one' has been used. "
    assert issue(client, admin).status_code == 200
    tokens = call(client, "GET", "/api/v1/projects/team-a", admin).json()["spec"]["roles"][0]["jwtTokens"]
    assert len(tokens) == 2
    assert tokens[0]["iat"] >= tokens[1]["iat"]
    assert all("exp" not in t for t in tokens)
    generated = next(t["id"] for t in tokens if t["id"] != "one")
    assert len(generated) == 36


def test_token_errors_and_rbac(client: TestClient) -> None:
    admin = login(client)
    bob = login(client, "bob", "bob-password-1")
    response = issue(client, admin, role="missing")
    assert response.status_code == 404
    assert response.json()["message"] == "project 'team-a' does not have role 'missing'"
    response = call(client, "POST", "/api/v1/projects/nope/roles/ci/token", admin, {})
    assert response.status_code == 404
    assert response.json()["message"] == 'appprojects.argoproj.io "nope" not found'
    response = issue(client, bob)
    assert response.status_code == 403
    assert response.json()["message"] == "permission denied"
    assert call(client, "DELETE", "/api/v1/projects/team-a/roles/ci/token/1", bob).status_code == 403
    # Unknown role or token: silently nothing.
    assert call(client, "DELETE", "/api/v1/projects/team-a/roles/missing/token/1", admin).json() == {}
    assert call(client, "DELETE", "/api/v1/projects/team-a/roles/ci/token/1?id=x", admin).json() == {}
    response = call(client, "DELETE", "/api/v1/projects/team-a/roles/ci/token/abc", admin)
    assert response.status_code == 400


def test_token_survives_delete_by_iat_only(client: TestClient) -> None:
    admin = login(client)
    token = issue(client, admin).json()["token"]
    record = call(client, "GET", "/api/v1/projects/team-a", admin).json()["spec"]["roles"][0]["jwtTokens"][0]
    assert call(client, "GET", "/api/v1/projects/team-a", token).status_code == 200
    assert call(client, "DELETE", f"/api/v1/projects/team-a/roles/ci/token/{record['iat']}", admin).status_code == 200
    assert call(client, "GET", "/api/v1/projects/team-a", token).status_code == 401


def test_group_member_may_manage_role_tokens(client: TestClient) -> None:
    """Upstream lets members of a role's groups issue its tokens without ``projects update``."""
    state = app_state(client)

    def service(groups: tuple[str, ...]) -> tuple[ProjectService, Any]:
        principal = Principal(username="sso-user", capability="login", claims={"sub": "sso-user"}, groups=groups)
        session = state.sessions()
        svc = ProjectService(
            session=session,
            access=Access(principal=principal, enforcer=state.enforcer),
            authenticator=state.authenticator,
            project_index=state.project_index,
            cm_data=state.config.cm_data,
            namespace=state.settings.namespace,
        )
        return svc, session

    member, session = service(("team-a-admins",))
    try:
        token = member.create_token(project="team-a", role="ci", description="", expires_in=0, token_id="sso")
    finally:
        session.close()
    assert call(client, "GET", "/api/v1/projects/team-a", token["token"]).status_code == 200
    outsider, session = service(("someone-else",))
    try:
        with pytest.raises(PermissionDenied):
            outsider.create_token(project="team-a", role="ci", description="", expires_in=0, token_id="x")
        with pytest.raises(PermissionDenied):
            outsider.delete_token(project="team-a", role="ci", iat="0", token_id="sso")
    finally:
        session.close()


def test_other_replica_sees_token_writes(client: TestClient, make_settings: SettingsFactory, tmp_path: Path) -> None:
    """A second server on the same database accepts and then rejects the token once its cache entry expires."""
    admin = login(client)
    token = issue(client, admin, {"id": "shared"}).json()["token"]
    maps = write_configmaps(tmp_path / "cm2", argocd_cm={"accounts.bob": "login"})
    with TestClient(create_app(make_settings(configmaps=maps))) as replica:
        assert call(replica, "GET", "/api/v1/projects/team-a", token).status_code == 200
        record = call(client, "GET", "/api/v1/projects/team-a", admin).json()["spec"]["roles"][0]["jwtTokens"][0]
        path = f"/api/v1/projects/team-a/roles/ci/token/{record['iat']}?id=shared"
        assert call(client, "DELETE", path, admin).status_code == 200
        # auth_cache_seconds (the index TTL here) is 0 in tests, so the replica reloads on its next read.
        assert call(replica, "GET", "/api/v1/projects/team-a", token).status_code == 401


def test_concurrent_token_issues_are_all_recorded(client: TestClient) -> None:
    """Writers queue on the project lock, so no token record is lost to a concurrent read-modify-write."""
    admin = login(client)
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def worker(index: int) -> None:
        barrier.wait()
        statuses.append(issue(client, admin, {"id": f"t{index}"}).status_code)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 4
    tokens = call(client, "GET", "/api/v1/projects/team-a", admin).json()["spec"]["roles"][0]["jwtTokens"]
    assert sorted(t["id"] for t in tokens) == ["t0", "t1", "t2", "t3"]
