"""Repositories over the REST API: CRUD, credential inheritance, project scoping, RBAC, hiding and write-repos."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from argocd_server.api.state import AppState
from argocd_server.main import create_app
from argocd_server.services.repositories import resolve_repo_credentials
from tests.conftest import ADMIN_PASSWORD, SettingsFactory, bearer, login
from tests.support.configmaps import write_configmaps

DEV_PASSWORD = "dev-password-1"
REPO = "https://github.com/team/app"
ENCODED = quote(REPO, safe="")
ZERO_STATE = {"status": "", "message": "", "attemptedAt": None}


def headers(token: str) -> dict[str, str]:
    return {**bearer(token), "Content-Type": "application/json"}


@pytest.fixture
def rbac_client(make_settings: SettingsFactory, tmp_path: Path) -> Iterator[TestClient]:
    maps = write_configmaps(
        tmp_path / "cm",
        argocd_cm={"accounts.dev": "login", "accounts.viewer": "login"},
        argocd_rbac_cm={
            "policy.csv": "\n".join(
                [
                    "p, dev, repositories, get, https://github.com/team/*, allow",
                    "p, dev, repositories, create, https://github.com/team/*, allow",
                    "p, dev, repositories, delete, https://github.com/team/*, allow",
                    "p, dev, repositories, get, proj-a/*, allow",
                    "g, viewer, role:readonly",
                ]
            ),
        },
    )
    with TestClient(create_app(make_settings(configmaps=maps))) as client:
        admin = login(client)
        for name in ("dev", "viewer"):
            response = client.put(
                "/api/v1/account/password",
                json={"name": name, "currentPassword": ADMIN_PASSWORD, "newPassword": DEV_PASSWORD},
                headers=bearer(admin),
            )
            assert response.status_code == 200, response.text
        yield client


def create(
    client: TestClient, token: str, body: Mapping[str, object], query: str = ""
) -> tuple[int, dict[str, object]]:
    response = client.post(f"/api/v1/repositories{query}", json=body, headers=headers(token))
    return response.status_code, response.json()


def test_create_get_list_delete(client: TestClient) -> None:
    admin = login(client)
    status, body = create(client, admin, {"repo": REPO, "type": "git", "name": "app", "username": "u", "password": "p"})
    assert status == 200
    assert body == {"repo": REPO, "type": "git", "name": "app", "connectionState": ZERO_STATE}

    got = client.get(f"/api/v1/repositories/{ENCODED}", headers=bearer(admin))
    assert got.status_code == 200
    assert got.json() == {"repo": REPO, "type": "git", "name": "app", "username": "u", "connectionState": ZERO_STATE}

    listed = client.get("/api/v1/repositories", headers=bearer(admin)).json()
    assert listed["metadata"] == {}
    assert [r["repo"] for r in listed["items"]] == [REPO]

    gone = client.request("DELETE", f"/api/v1/repositories/{ENCODED}", headers=headers(admin))
    assert gone.status_code == 200
    assert gone.json() == {}
    assert client.get("/api/v1/repositories", headers=bearer(admin)).json() == {"metadata": {}, "items": None}


def test_type_defaults_on_read_and_flags_are_sanitised(client: TestClient) -> None:
    admin = login(client)
    oci = "oci://registry.example.com/charts"
    assert create(client, admin, {"repo": oci})[0] == 200
    body = {
        "repo": "git@github.com:team/ssh.git",
        "insecureIgnoreHostKey": True,
        "enableLfs": True,
        "proxy": "http://proxy:3128",
        "noProxy": "internal",
        "forceHttpBasicAuth": True,
        "githubAppID": 12,
        "githubAppInstallationID": "34",
        "githubAppEnterpriseBaseUrl": "https://ghe.example.com/api/v3",
        "depth": 1,
        "webhookManifestCacheWarmDisabled": True,
    }
    assert create(client, admin, body)[0] == 200
    items = {r["repo"]: r for r in client.get("/api/v1/repositories", headers=bearer(admin)).json()["items"]}
    assert items[oci]["type"] == "oci"
    ssh = items["git@github.com:team/ssh.git"]
    assert ssh == {
        "repo": "git@github.com:team/ssh.git",
        "type": "git",
        "insecure": True,
        "enableLfs": True,
        "proxy": "http://proxy:3128",
        "noProxy": "internal",
        "forceHttpBasicAuth": True,
        "githubAppID": 12,
        "githubAppInstallationID": 34,
        "githubAppEnterpriseBaseUrl": "https://ghe.example.com/api/v3",
        "depth": 1,
        "connectionState": ZERO_STATE,
    }


def test_helm_repository_and_url_escaping(client: TestClient) -> None:
    admin = login(client)
    helm = "https://charts.example.com/stable"
    assert create(client, admin, {"repo": helm, "type": "helm", "name": "stable", "enableOCI": True})[0] == 200
    got = client.get(f"/api/v1/repositories/{quote(helm, safe='')}", headers=bearer(admin)).json()
    assert got["type"] == "helm"
    assert got["enableOCI"] is True
    # A differently spelled URL that normalises the same finds the repository (upstream git.SameURL).
    same = client.get(f"/api/v1/repositories/{quote(helm.upper() + '/', safe='')}", headers=bearer(admin))
    assert same.status_code == 200


def test_idempotent_create_conflict_and_upsert(client: TestClient) -> None:
    admin = login(client)
    spec = {"repo": REPO, "username": "u", "password": "p"}
    assert create(client, admin, spec)[0] == 200
    # Same spec again (type left for the default both times) is accepted.
    status, body = create(client, admin, spec)
    assert status == 200
    assert body["repo"] == REPO

    status, body = create(client, admin, {**spec, "username": "other", "password": "changed"})
    assert status == 400
    assert body["code"] == 3
    assert body["message"] == (
        'existing repository spec is different; use upsert flag to force update; difference in keys "Username,Password"'
    )

    status, body = create(client, admin, {**spec, "username": "other"}, "?upsert=true")
    assert status == 200
    assert body == {"repo": REPO, "type": "git", "username": "other", "connectionState": ZERO_STATE}
    assert client.get(f"/api/v1/repositories/{ENCODED}", headers=bearer(admin)).json()["username"] == "other"


def test_update_replaces_spec_and_unknown_is_hidden(client: TestClient) -> None:
    admin = login(client)
    assert create(client, admin, {"repo": REPO, "username": "u", "password": "p", "enableLfs": True})[0] == 200
    updated = client.put(
        f"/api/v1/repositories/{ENCODED}", json={"repo": "ignored", "type": "git", "name": "n"}, headers=headers(admin)
    )
    assert updated.status_code == 200, updated.text
    assert updated.json() == {"repo": REPO, "type": "git", "name": "n", "connectionState": ZERO_STATE}
    got = client.get(f"/api/v1/repositories/{ENCODED}", headers=bearer(admin)).json()
    assert "username" not in got
    assert "enableLfs" not in got

    missing = quote("https://github.com/nope/nope", safe="")
    for method in ("GET", "DELETE"):
        response = client.request(method, f"/api/v1/repositories/{missing}", headers=headers(admin))
        assert response.status_code == 403
        assert response.json() == {"error": "permission denied", "code": 7, "message": "permission denied"}
    response = client.put(f"/api/v1/repositories/{missing}", json={"type": "git"}, headers=headers(admin))
    assert response.status_code == 403
    assert response.json()["message"] == "permission denied"


def test_bad_input(client: TestClient) -> None:
    admin = login(client)
    cases: list[tuple[dict[str, object], str]] = [
        ({}, "missing payload in request"),
        ({"type": "git"}, "repository URL is required"),
        ({"repo": REPO, "type": "svn"}, 'unsupported repository type "svn": must be one of git, helm, oci'),
        ({"repo": REPO, "password": 5}, "password"),
        ({"repo": REPO, "githubAppID": "abc"}, "githubAppID"),
        ({"repo": ["x"]}, "repo"),
    ]
    for body, message in cases:
        status, answer = create(client, admin, body)
        assert status == 400, body
        assert answer["code"] == 3
        assert message in str(answer["message"])
    bad_bool = client.post("/api/v1/repositories?upsert=maybe", json={"repo": REPO}, headers=headers(admin))
    assert bad_bool.status_code == 400
    assert "strconv.ParseBool" in bad_bool.json()["message"]
    not_object = client.post("/api/v1/repositories", content=b"[1]", headers=headers(admin))
    assert not_object.status_code == 400
    empty_update = client.put(f"/api/v1/repositories/{ENCODED}", content=b"", headers=headers(admin))
    assert empty_update.status_code == 400


def test_requires_authentication(client: TestClient) -> None:
    assert client.get("/api/v1/repositories").status_code == 401
    response = client.post("/api/v1/repositories", json={"repo": REPO})
    assert response.status_code == 401
    assert response.json()["message"] == "no session information"


def test_credential_template_inheritance(client: TestClient) -> None:
    admin = login(client)
    for url, user in (("https://github.com/", "broad"), ("https://github.com/team", "narrow")):
        response = client.post(
            "/api/v1/repocreds", json={"url": url, "username": user, "password": "x"}, headers=headers(admin)
        )
        assert response.status_code == 200
    assert create(client, admin, {"repo": REPO})[0] == 200
    assert create(client, admin, {"repo": "https://github.com/other/app"})[0] == 200
    assert create(client, admin, {"repo": "https://gitlab.com/x/y"})[0] == 200
    assert create(client, admin, {"repo": "https://github.com/team/own", "username": "mine", "password": "p"})[0] == 200
    items = {r["repo"]: r for r in client.get("/api/v1/repositories", headers=bearer(admin)).json()["items"]}
    assert items[REPO]["username"] == "narrow"
    assert items[REPO]["inheritedCreds"] is True
    assert items["https://github.com/other/app"]["username"] == "broad"
    assert "inheritedCreds" not in items["https://gitlab.com/x/y"]
    assert items["https://github.com/team/own"]["username"] == "mine"
    assert "inheritedCreds" not in items["https://github.com/team/own"]
    single = client.get(f"/api/v1/repositories/{ENCODED}", headers=bearer(admin)).json()
    assert single["inheritedCreds"] is True


def test_project_scoped_repositories(client: TestClient) -> None:
    admin = login(client)
    assert create(client, admin, {"repo": REPO, "name": "global"})[0] == 200
    assert create(client, admin, {"repo": REPO, "project": "proj-a", "name": "scoped"})[0] == 200
    listed = client.get("/api/v1/repositories", headers=bearer(admin)).json()["items"]
    # Sorted by "<project>/<url>": the global one ("/https...") first.
    assert [(r.get("project", ""), r["name"]) for r in listed] == [("", "global"), ("proj-a", "scoped")]

    scoped = client.get(f"/api/v1/repositories/{ENCODED}?appProject=proj-a", headers=bearer(admin))
    assert scoped.json()["name"] == "scoped"
    # Several matches without appProject: the one whose project equals "" (the global one).
    assert client.get(f"/api/v1/repositories/{ENCODED}", headers=bearer(admin)).json()["name"] == "global"
    other = client.get(f"/api/v1/repositories/{ENCODED}?appProject=proj-b", headers=bearer(admin))
    assert other.status_code == 500
    assert other.json()["message"] == f'repository not found for url "{REPO}" and project "proj-b"'

    gone = client.request("DELETE", f"/api/v1/repositories/{ENCODED}?appProject=proj-a", headers=headers(admin))
    assert gone.status_code == 200
    remaining = client.get(f"/api/v1/repositories/{ENCODED}", headers=bearer(admin)).json()
    assert remaining["name"] == "global"


def test_rbac_filters_and_denies(rbac_client: TestClient) -> None:
    admin = login(rbac_client)
    for body in (
        {"repo": REPO},
        {"repo": "https://github.com/secret/app"},
        {"repo": "https://github.com/secret/app", "project": "proj-a"},
    ):
        assert create(rbac_client, admin, body)[0] == 200
    dev = login(rbac_client, "dev", DEV_PASSWORD)
    visible = rbac_client.get("/api/v1/repositories", headers=bearer(dev)).json()["items"]
    assert [(r["repo"], r.get("project", "")) for r in visible] == [
        (REPO, ""),
        ("https://github.com/secret/app", "proj-a"),
    ]
    hidden = quote("https://github.com/secret/app", safe="")
    # Only the project-scoped one is visible, so it is the one found.
    assert rbac_client.get(f"/api/v1/repositories/{hidden}", headers=bearer(dev)).json()["project"] == "proj-a"

    denied = create(rbac_client, dev, {"repo": "https://github.com/secret/new"})
    assert denied[0] == 403
    assert str(denied[1]["message"]).startswith(
        "permission denied: repositories, create, https://github.com/secret/new, sub: dev, iat: "
    )
    update = rbac_client.put(f"/api/v1/repositories/{ENCODED}", json={"type": "git"}, headers=headers(dev))
    assert update.status_code == 403
    assert update.json()["message"].startswith(f"permission denied: repositories, update, {REPO}, sub: dev")

    viewer = login(rbac_client, "viewer", DEV_PASSWORD)
    assert len(rbac_client.get("/api/v1/repositories", headers=bearer(viewer)).json()["items"]) == 3
    delete = rbac_client.request("DELETE", f"/api/v1/repositories/{ENCODED}", headers=headers(viewer))
    assert delete.status_code == 403
    assert delete.json()["message"].startswith(f"permission denied: repositories, delete, {REPO}, sub: viewer")

    assert rbac_client.request("DELETE", f"/api/v1/repositories/{ENCODED}", headers=headers(dev)).status_code == 200
    # The dev may create inside its pattern; a new token sees an empty visible set for other teams.
    assert create(rbac_client, dev, {"repo": "https://github.com/team/new"})[0] == 200


def test_write_repositories_answer_hydrator_disabled(client: TestClient) -> None:
    assert client.get("/api/v1/write-repositories").status_code == 401
    admin = login(client)
    calls = [
        ("GET", "/api/v1/write-repositories"),
        ("POST", "/api/v1/write-repositories"),
        ("PUT", f"/api/v1/write-repositories/{ENCODED}"),
        ("GET", f"/api/v1/write-repositories/{ENCODED}"),
        ("DELETE", f"/api/v1/write-repositories/{ENCODED}"),
        ("POST", f"/api/v1/write-repositories/{ENCODED}/validate"),
    ]
    for method, path in calls:
        response = client.request(method, path, json={"repo": REPO, "password": "p"}, headers=headers(admin))
        assert response.status_code == 501, (method, path)
        assert response.json() == {"error": "hydrator is disabled", "code": 12, "message": "hydrator is disabled"}


def test_resolve_repo_credentials(client: TestClient) -> None:
    admin = login(client)
    client.post(
        "/api/v1/repocreds",
        json={"url": "https://github.com/team", "username": "tpl", "password": "tpl-pass", "proxy": "http://p"},
        headers=headers(admin),
    )
    assert create(client, admin, {"repo": REPO, "insecure": True})[0] == 200
    assert create(client, admin, {"repo": "https://github.com/team/own", "bearerToken": "tok"})[0] == 200
    state: AppState = client.app.state.argo  # type: ignore[attr-defined]
    with state.sessions() as session:
        inherited = resolve_repo_credentials(session, state.secret_box, REPO)
        own = resolve_repo_credentials(session, state.secret_box, "https://github.com/team/own")
        template_only = resolve_repo_credentials(session, state.secret_box, "https://github.com/team/unregistered")
        nothing = resolve_repo_credentials(session, state.secret_box, "https://example.com/x")
    assert inherited is not None
    assert inherited["username"] == "tpl"
    assert inherited["password"] == "tpl-pass"
    assert inherited["proxy"] == "http://p"
    assert inherited["insecure"] is True
    assert inherited["inheritedCreds"] is True
    assert "connectionState" not in inherited
    assert own is not None
    assert own["bearerToken"] == "tok"
    assert "password" not in own
    assert template_only is not None
    assert template_only["repo"] == "https://github.com/team/unregistered"
    assert template_only["password"] == "tpl-pass"
    assert template_only["type"] == "git"
    assert nothing is None
