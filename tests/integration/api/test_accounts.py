"""Accounts from argocd-cm, API tokens, password changes and can-i, with RBAC from argocd-rbac-cm."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jwt as pyjwt
import pytest
from fastapi.testclient import TestClient

from argocd_server.main import create_app
from tests.conftest import ADMIN_PASSWORD, SettingsFactory, bearer, login
from tests.support.configmaps import write_configmaps

ALICE_PASSWORD = "alice-password-1"


@pytest.fixture
def accounts_client(make_settings: SettingsFactory, tmp_path: Path) -> Iterator[TestClient]:
    maps = write_configmaps(
        tmp_path / "cm",
        argocd_cm={
            "accounts.alice": "apiKey, login",
            "accounts.bob": "login",
            "accounts.bob.enabled": "false",
            "accounts.ci": "apiKey",
            "accounts.carol": "login",
        },
        argocd_rbac_cm={
            "policy.csv": "\n".join(
                [
                    "p, role:deployer, applications, sync, */*, allow",
                    "p, role:deployer, applications, get, team-a/*, allow",
                    "p, carol, accounts, get, *, allow",
                    "g, alice, role:deployer",
                    "g, ci, role:readonly",
                ]
            ),
        },
    )
    with TestClient(create_app(make_settings(configmaps=maps))) as client:
        admin = login(client)
        response = client.put(
            "/api/v1/account/password",
            json={
                "name": "alice",
                "currentPassword": ADMIN_PASSWORD,
                "newPassword": ALICE_PASSWORD,
            },
            headers=bearer(admin),
        )
        assert response.status_code == 200, response.text
        for name in ("carol", "bob"):
            response = client.put(
                "/api/v1/account/password",
                json={
                    "name": name,
                    "currentPassword": ADMIN_PASSWORD,
                    "newPassword": f"{name}-password-1",
                },
                headers=bearer(admin),
            )
            assert response.status_code == 200, response.text
        yield client


def test_list_accounts_as_admin(accounts_client: TestClient) -> None:
    admin = login(accounts_client)
    response = accounts_client.get("/api/v1/account", headers=bearer(admin))
    items = response.json()["items"]
    assert [i["name"] for i in items] == ["admin", "alice", "bob", "carol", "ci"]
    bob = items[2]
    assert "enabled" not in bob  # enabled:false is omitted, as proto3 does
    assert bob["capabilities"] == ["login"]
    assert items[1] == {"name": "alice", "enabled": True, "capabilities": ["apiKey", "login"]}


def test_user_sees_only_itself_without_rbac(accounts_client: TestClient) -> None:
    alice = login(accounts_client, "alice", ALICE_PASSWORD)
    items = accounts_client.get("/api/v1/account", headers=bearer(alice)).json()["items"]
    assert [i["name"] for i in items] == ["alice"]
    denied = accounts_client.get("/api/v1/account/admin", headers=bearer(alice))
    assert denied.status_code == 403
    body = denied.json()
    assert body["code"] == 7
    assert body["message"].startswith("permission denied: accounts, get, admin, sub: alice, iat: ")


def test_disabled_account_cannot_login(accounts_client: TestClient) -> None:
    response = accounts_client.post("/api/v1/session", json={"username": "bob", "password": "bob-password-1"})
    assert response.status_code == 401
    assert response.json()["message"] == "Account bob is disabled"


def test_account_without_login_capability(accounts_client: TestClient) -> None:
    admin = login(accounts_client)
    accounts_client.put(
        "/api/v1/account/password",
        json={"name": "ci", "currentPassword": ADMIN_PASSWORD, "newPassword": "ci-password-12"},
        headers=bearer(admin),
    )
    response = accounts_client.post("/api/v1/session", json={"username": "ci", "password": "ci-password-12"})
    assert response.status_code == 401
    assert response.json()["message"] == "Account ci does not have login capability"


def test_api_tokens_create_use_list_delete(accounts_client: TestClient) -> None:
    admin = login(accounts_client)
    created = accounts_client.post(
        "/api/v1/account/ci/token",
        json={"expiresIn": 3600, "id": "pipeline"},
        headers=bearer(admin),
    )
    assert created.status_code == 200, created.text
    token = created.json()["token"]
    claims = pyjwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == "ci:apiKey"
    assert claims["jti"] == "pipeline"
    assert claims["exp"] - claims["iat"] == 3600

    info = accounts_client.get("/api/v1/session/userinfo", headers=bearer(token)).json()
    assert info["username"] == "ci"
    account = accounts_client.get("/api/v1/account/ci", headers=bearer(admin)).json()
    assert account["tokens"] == [{"id": "pipeline", "issuedAt": claims["iat"], "expiresAt": claims["exp"]}]

    duplicate = accounts_client.post("/api/v1/account/ci/token", json={"id": "pipeline"}, headers=bearer(admin))
    assert duplicate.status_code == 500
    assert duplicate.json()["code"] == 2

    no_expiry = accounts_client.post("/api/v1/account/ci/token", json={}, headers=bearer(admin)).json()["token"]
    assert "exp" not in pyjwt.decode(no_expiry, options={"verify_signature": False})

    gone = accounts_client.request(
        "DELETE",
        "/api/v1/account/ci/token/pipeline",
        headers={**bearer(admin), "Content-Type": "application/json"},
    )
    assert gone.status_code == 200
    assert gone.json() == {}
    denied = accounts_client.get("/api/v1/account", headers=bearer(token))
    assert denied.status_code == 401
    assert denied.json()["message"] == "invalid session: account ci does not have token with id pipeline"

    missing = accounts_client.request(
        "DELETE",
        "/api/v1/account/ci/token/pipeline",
        headers={**bearer(admin), "Content-Type": "application/json"},
    )
    assert missing.status_code == 404
    assert missing.json()["message"] == "token with id 'pipeline' does not exist"


def test_token_for_account_without_api_key_capability(accounts_client: TestClient) -> None:
    admin = login(accounts_client)
    response = accounts_client.post("/api/v1/account/carol/token", json={}, headers=bearer(admin))
    assert response.status_code == 500
    assert response.json()["message"] == "account 'carol' does not have apiKey capability"


def test_user_manages_own_tokens_without_rbac(accounts_client: TestClient) -> None:
    alice = login(accounts_client, "alice", ALICE_PASSWORD)
    created = accounts_client.post("/api/v1/account/alice/token", json={"id": "mine"}, headers=bearer(alice))
    assert created.status_code == 200
    other = accounts_client.post("/api/v1/account/ci/token", json={}, headers=bearer(alice))
    assert other.status_code == 403


def test_password_change_checks(accounts_client: TestClient) -> None:
    alice = login(accounts_client, "alice", ALICE_PASSWORD)
    wrong = accounts_client.put(
        "/api/v1/account/password",
        json={"currentPassword": "not-it-at-all", "newPassword": "brand-new-pass"},
        headers=bearer(alice),
    )
    assert wrong.status_code == 400
    assert wrong.json()["message"] == "current password does not match"
    weak = accounts_client.put(
        "/api/v1/account/password",
        json={"currentPassword": ALICE_PASSWORD, "newPassword": "short"},
        headers=bearer(alice),
    )
    assert weak.status_code == 500
    assert weak.json()["code"] == 2
    # Nothing changed: the old password still logs in.
    assert login(accounts_client, "alice", ALICE_PASSWORD)
    others = accounts_client.put(
        "/api/v1/account/password",
        json={"name": "carol", "currentPassword": ALICE_PASSWORD, "newPassword": "brand-new-pass"},
        headers=bearer(alice),
    )
    assert others.status_code == 403


@pytest.mark.parametrize(
    ("user", "password", "path", "expected"),
    [
        ("admin", ADMIN_PASSWORD, "applications/delete/any/app", "yes"),
        ("admin", ADMIN_PASSWORD, "clusters/create/https://kubernetes.default.svc", "yes"),
        ("alice", ALICE_PASSWORD, "applications/sync/team-b/app", "yes"),
        ("alice", ALICE_PASSWORD, "applications/get/team-a/app", "yes"),
        ("alice", ALICE_PASSWORD, "applications/get/team-b/app", "no"),
        ("alice", ALICE_PASSWORD, "applications/rollback/team-b/app", "yes"),
        ("alice", ALICE_PASSWORD, "applications/delete/team-a/app", "no"),
        ("carol", "carol-password-1", "accounts/get/admin", "yes"),
        ("carol", "carol-password-1", "accounts/update/admin", "no"),
    ],
)
def test_can_i_matrix(accounts_client: TestClient, user: str, password: str, path: str, expected: str) -> None:
    token = login(accounts_client, user, password)
    response = accounts_client.get(f"/api/v1/account/can-i/{path}", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json() == {"value": expected}


def test_can_i_with_readonly_api_key(accounts_client: TestClient) -> None:
    admin = login(accounts_client)
    token = accounts_client.post("/api/v1/account/ci/token", json={}, headers=bearer(admin)).json()["token"]
    get = accounts_client.get("/api/v1/account/can-i/applications/get/default/x", headers=bearer(token))
    assert get.json() == {"value": "yes"}
    sync = accounts_client.get("/api/v1/account/can-i/applications/sync/default/x", headers=bearer(token))
    assert sync.json() == {"value": "no"}


def test_can_i_rejects_unknown_resource_and_action(accounts_client: TestClient) -> None:
    admin = login(accounts_client)
    bad = accounts_client.get("/api/v1/account/can-i/widgets/get/x", headers=bearer(admin))
    assert bad.status_code == 400
    assert "does not contain widgets" in bad.json()["message"]
    bad_action = accounts_client.get("/api/v1/account/can-i/applications/fly/x", headers=bearer(admin))
    assert bad_action.status_code == 400
    assert "does not contain fly" in bad_action.json()["message"]


def test_can_i_requires_a_session(accounts_client: TestClient) -> None:
    assert accounts_client.get("/api/v1/account/can-i/applications/get/x/y").status_code == 401


def test_anonymous_access(make_settings: SettingsFactory, tmp_path: Path) -> None:
    maps = write_configmaps(
        tmp_path / "anon",
        argocd_cm={"users.anonymous.enabled": "true"},
        argocd_rbac_cm={"policy.default": "role:readonly"},
    )
    with TestClient(create_app(make_settings(configmaps=maps))) as client:
        assert client.get("/api/v1/account/can-i/applications/get/a/b").json() == {"value": "yes"}
        assert client.get("/api/v1/account/can-i/applications/delete/a/b").json() == {"value": "no"}
        assert client.get("/api/v1/settings/plugins").status_code == 200


def test_anonymous_off_denies_everything(client: TestClient) -> None:
    assert client.get("/api/v1/settings/plugins").status_code == 401
    assert client.get("/api/v1/account").status_code == 401


def test_admin_disabled(make_settings: SettingsFactory, tmp_path: Path) -> None:
    maps = write_configmaps(tmp_path / "noadmin", argocd_cm={"admin.enabled": "false"})
    with TestClient(create_app(make_settings(configmaps=maps))) as client:
        response = client.post("/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert response.status_code == 401
