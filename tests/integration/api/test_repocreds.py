"""Credential templates over the REST API: CRUD, upsert/conflict, RBAC, bad input, and write templates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from argocd_server.main import create_app
from tests.conftest import ADMIN_PASSWORD, SettingsFactory, bearer, login
from tests.support.configmaps import write_configmaps

DEV_PASSWORD = "dev-password-1"
URL = "https://github.com/team"


def headers(token: str) -> dict[str, str]:
    return {**bearer(token), "Content-Type": "application/json"}


@pytest.fixture
def rbac_client(make_settings: SettingsFactory, tmp_path: Path) -> Iterator[TestClient]:
    maps = write_configmaps(
        tmp_path / "cm",
        argocd_cm={"accounts.dev": "login"},
        argocd_rbac_cm={
            "policy.csv": "\n".join(
                [
                    "p, dev, repositories, get, https://github.com/team*, allow",
                    "p, dev, repositories, create, https://github.com/team*, allow",
                    "p, dev, write-repositories, get, *, allow",
                ]
            ),
        },
    )
    with TestClient(create_app(make_settings(configmaps=maps))) as client:
        admin = login(client)
        response = client.put(
            "/api/v1/account/password",
            json={"name": "dev", "currentPassword": ADMIN_PASSWORD, "newPassword": DEV_PASSWORD},
            headers=bearer(admin),
        )
        assert response.status_code == 200, response.text
        yield client


@pytest.mark.parametrize("base", ["/api/v1/repocreds", "/api/v1/write-repocreds"])
def test_crud(client: TestClient, base: str) -> None:
    admin = login(client)
    body = {"url": URL, "username": "u", "password": "p", "type": "git", "enableOCI": True, "proxy": "http://p"}
    created = client.post(base, json=body, headers=headers(admin))
    assert created.status_code == 200, created.text
    assert created.json() == {"url": URL}

    listed = client.get(base, headers=bearer(admin)).json()
    assert listed == {"metadata": {}, "items": [{"url": URL, "username": "u", "type": "git", "enableOCI": True}]}

    encoded = quote(URL, safe="")
    updated = client.put(
        f"{base}/{encoded}", json={"url": "ignored", "username": "v", "password": "q"}, headers=headers(admin)
    )
    assert updated.status_code == 200, updated.text
    assert updated.json() == {"url": URL}
    assert client.get(base, headers=bearer(admin)).json()["items"] == [{"url": URL, "username": "v"}]

    deleted = client.request("DELETE", f"{base}/{encoded}", headers=headers(admin))
    assert deleted.status_code == 200
    assert deleted.json() == {}
    assert client.get(base, headers=bearer(admin)).json() == {"metadata": {}, "items": []}


def test_write_templates_are_separate_and_listed_only_with_password(client: TestClient) -> None:
    admin = login(client)
    client.post("/api/v1/repocreds", json={"url": URL, "username": "read"}, headers=headers(admin))
    client.post("/api/v1/write-repocreds", json={"url": URL, "username": "nopass"}, headers=headers(admin))
    client.post(
        "/api/v1/write-repocreds",
        json={"url": "https://github.com/w", "username": "w", "password": "x"},
        headers=headers(admin),
    )
    assert [i["url"] for i in client.get("/api/v1/repocreds", headers=bearer(admin)).json()["items"]] == [URL]
    writes = client.get("/api/v1/write-repocreds", headers=bearer(admin)).json()["items"]
    assert writes == [{"url": "https://github.com/w", "username": "w"}]


def test_idempotent_create_conflict_and_upsert(client: TestClient) -> None:
    admin = login(client)
    body = {"url": URL, "username": "u", "password": "p"}
    assert client.post("/api/v1/repocreds", json=body, headers=headers(admin)).status_code == 200
    assert client.post("/api/v1/repocreds", json=body, headers=headers(admin)).status_code == 200
    conflict = client.post("/api/v1/repocreds", json={**body, "password": "other"}, headers=headers(admin))
    assert conflict.status_code == 400
    assert conflict.json()["message"] == (
        "existing repository credentials spec is different; use upsert flag to force update; "
        'difference in keys "Password"'
    )
    upserted = client.post("/api/v1/repocreds?upsert=true", json={**body, "username": "new"}, headers=headers(admin))
    assert upserted.status_code == 200
    assert client.get("/api/v1/repocreds", headers=bearer(admin)).json()["items"][0]["username"] == "new"


def test_bad_input_and_missing(client: TestClient) -> None:
    admin = login(client)
    for body, message in (
        ({}, "missing payload in request"),
        ({"username": "u"}, "must specify URL"),
        ({"url": URL, "password": 1}, "password"),
        ({"url": URL, "githubAppID": "x"}, "githubAppID"),
    ):
        response = client.post("/api/v1/repocreds", json=body, headers=headers(admin))
        assert response.status_code == 400, body
        assert message in response.json()["message"]
    missing = quote("https://nowhere.example.com", safe="")
    update = client.put(f"/api/v1/repocreds/{missing}", json={"username": "u"}, headers=headers(admin))
    assert update.status_code == 404
    assert update.json()["message"] == "repository credentials 'https://nowhere.example.com' not found"
    delete = client.request("DELETE", f"/api/v1/write-repocreds/{missing}", headers=headers(admin))
    assert delete.status_code == 404
    assert delete.json()["message"] == "write repository credentials 'https://nowhere.example.com' not found"


def test_rbac(rbac_client: TestClient) -> None:
    admin = login(rbac_client)
    for url in (URL, "https://gitlab.com/other"):
        rbac_client.post("/api/v1/repocreds", json={"url": url, "username": "u"}, headers=headers(admin))
        rbac_client.post("/api/v1/write-repocreds", json={"url": url, "password": "p"}, headers=headers(admin))
    dev = login(rbac_client, "dev", DEV_PASSWORD)
    assert [i["url"] for i in rbac_client.get("/api/v1/repocreds", headers=bearer(dev)).json()["items"]] == [URL]
    assert len(rbac_client.get("/api/v1/write-repocreds", headers=bearer(dev)).json()["items"]) == 2

    denied = rbac_client.post("/api/v1/repocreds", json={"url": "https://gitlab.com/x"}, headers=headers(dev))
    assert denied.status_code == 403
    assert denied.json()["message"].startswith(
        "permission denied: repositories, create, https://gitlab.com/x, sub: dev, iat: "
    )
    write_denied = rbac_client.post("/api/v1/write-repocreds", json={"url": URL, "password": "p"}, headers=headers(dev))
    assert write_denied.status_code == 403
    assert write_denied.json()["message"].startswith("permission denied: write-repositories, create, ")
    # Upsert of a differing template also needs update, which dev lacks.
    upsert = rbac_client.post(
        "/api/v1/repocreds?upsert=true", json={"url": URL, "username": "changed"}, headers=headers(dev)
    )
    assert upsert.status_code == 403
    assert "repositories, update" in upsert.json()["message"]
    encoded = quote(URL, safe="")
    delete = rbac_client.request("DELETE", f"/api/v1/repocreds/{encoded}", headers=headers(dev))
    assert delete.status_code == 403
    assert rbac_client.post("/api/v1/repocreds", json={"url": URL + "/sub"}, headers=headers(dev)).status_code == 200
