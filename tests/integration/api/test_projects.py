"""ProjectService over HTTP: CRUD, validation, RBAC, upsert and conflicts, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from argocd_server.api.state import AppState
from argocd_server.db.models import ApplicationRow
from argocd_server.main import create_app
from argocd_server.services.objects import dumps, new_uid
from tests.conftest import ADMIN_PASSWORD, SettingsFactory, bearer, login
from tests.support.configmaps import write_configmaps

POLICY = "\n".join(
    [
        "p, alice, projects, get, team-*, allow",
        "p, alice, projects, create, team-*, allow",
        "p, alice, projects, update, team-*, allow",
        "p, alice, projects, delete, team-*, allow",
    ]
)
JSON = {"Content-Type": "application/json"}


def app_state(client: TestClient) -> AppState:
    app = client.app
    assert isinstance(app, FastAPI)
    state: AppState = app.state.argo
    return state


IN_CLUSTER = "https://kubernetes.default.svc"


class Api:
    """Small HTTP helper: every non-GET carries the JSON content type, as the transport gate requires."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.token = token

    def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        headers = bearer(self.token)
        if method != "GET":
            headers.update(JSON)
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs["json"] = body
        response: httpx.Response = self.client.request(method, path, **kwargs)
        return response

    def get(self, path: str) -> httpx.Response:
        return self.call("GET", path)


@pytest.fixture
def client(make_settings: SettingsFactory, tmp_path: Path) -> Iterator[TestClient]:
    maps = write_configmaps(
        tmp_path / "cm",
        argocd_cm={"accounts.alice": "login", "accounts.bob": "login"},
        argocd_rbac_cm={"policy.csv": POLICY},
    )
    with TestClient(create_app(make_settings(configmaps=maps))) as test_client:
        admin = login(test_client)
        for name in ("alice", "bob"):
            response = test_client.put(
                "/api/v1/account/password",
                json={"name": name, "currentPassword": ADMIN_PASSWORD, "newPassword": f"{name}-password-1"},
                headers={**bearer(admin), **JSON},
            )
            assert response.status_code == 200, response.text
        yield test_client


@pytest.fixture
def admin(client: TestClient) -> Api:
    return Api(client, login(client))


@pytest.fixture
def alice(client: TestClient) -> Api:
    return Api(client, login(client, "alice", "alice-password-1"))


@pytest.fixture
def bob(client: TestClient) -> Api:
    return Api(client, login(client, "bob", "bob-password-1"))


def project_body(name: str, **spec: Any) -> dict[str, Any]:
    spec.setdefault("sourceRepos", ["https://github.com/org/*"])
    spec.setdefault("destinations", [{"server": IN_CLUSTER, "namespace": "team"}])
    return {"project": {"metadata": {"name": name}, "spec": spec}}


def create(api: Api, name: str, **spec: Any) -> dict[str, Any]:
    response = api.call("POST", "/api/v1/projects", project_body(name, **spec))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == body["message"]
    message: str = body["message"]
    return message


def add_app(client: TestClient, *, name: str, project: str, repo: str, server: str = IN_CLUSTER) -> None:
    """An Application row as the application service stores it (only what the project checks read)."""
    state = app_state(client)
    doc = {
        "metadata": {"name": name, "namespace": state.settings.namespace},
        "spec": {
            "source": {"repoURL": repo, "path": "."},
            "destination": {"server": server, "namespace": "team"},
            "project": project,
        },
    }
    with state.sessions() as session:
        session.add(
            ApplicationRow(
                namespace=state.settings.namespace,
                name=name,
                uid=new_uid(),
                project=project,
                repo_url=repo,
                dest_server=server,
                dest_namespace="team",
                resource_version=1,
                created_at=datetime.now(tz=UTC),
                doc=dumps(doc),
            )
        )
        session.commit()


# --- default project, create, get, list ---------------------------------------------------------------------


def test_default_project_exists(admin: Api) -> None:
    body = admin.get("/api/v1/projects/default").json()
    assert body["spec"] == {
        "sourceRepos": ["*"],
        "destinations": [{"server": "*", "namespace": "*"}],
        "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
    }
    assert body["metadata"]["namespace"] == "argocd"
    assert body["status"] == {}


def test_create_get_and_list(admin: Api) -> None:
    created = create(
        admin,
        "team-a",
        description="team A",
        roles=[{"name": "ci", "policies": ["p,proj:team-a:ci ,applications,get,team-a/*,allow"]}],
    )
    meta = created["metadata"]
    assert meta["name"] == "team-a"
    assert meta["resourceVersion"] == "1"
    assert meta["generation"] == 1
    assert meta["uid"]
    assert meta["creationTimestamp"].endswith("Z")
    assert created["spec"]["roles"][0]["policies"] == ["p, proj:team-a:ci, applications, get, team-a/*, allow"]
    assert created["status"] == {"jwtTokensByRole": {"ci": {}}}
    assert admin.get("/api/v1/projects/team-a").json() == created
    listed = admin.get("/api/v1/projects").json()
    assert listed["metadata"] == {}
    assert [p["metadata"]["name"] for p in listed["items"]] == ["default", "team-a"]


def test_create_is_idempotent_and_upsert_replaces(admin: Api) -> None:
    first = create(admin, "team-a")
    assert create(admin, "team-a") == first
    changed = project_body("team-a", sourceRepos=["https://github.com/org/*", "https://example.com/x"])
    message = error(admin.call("POST", "/api/v1/projects", changed), 400)
    assert message == (
        'existing project spec is different; use upsert flag to force update; difference in keys "SourceRepos,1"'
    )
    response = admin.call("POST", "/api/v1/projects", {**changed, "upsert": True})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["spec"]["sourceRepos"] == ["https://github.com/org/*", "https://example.com/x"]
    assert body["metadata"]["resourceVersion"] == "2"
    assert body["metadata"]["uid"] == first["metadata"]["uid"]


@pytest.mark.parametrize(
    ("body", "status", "code", "text"),
    [
        ({}, 400, 3, "missing payload 'project' in request"),
        ({"project": "x"}, 400, 3, "cannot unmarshal"),
        ({**project_body("team-a"), "upsert": "yes"}, 400, 3, "ProjectCreateRequest.upsert"),
        (project_body("Team-A"), 400, 3, 'AppProject.argoproj.io "Team-A" is invalid: metadata.name'),
        (project_body(""), 400, 3, "name or generateName is required"),
        (project_body("team-a", sourceRepos=["!*"]), 400, 3, "source repository has an invalid format, '!*'"),
        (project_body("team-a", sourceRepos=["a", "a"]), 400, 3, "source repository 'a' already added"),
        (
            project_body("team-a", destinations=[{"server": "s", "namespace": "n"}] * 2),
            400,
            3,
            "destination 's/n' already added",
        ),
        (project_body("team-a", roles=[{"name": "r"}, {"name": "r"}]), 409, 6, "role 'r' already exists"),
        (project_body("team-a", roles=[{"name": "-bad"}]), 400, 3, "invalid role name '-bad'"),
        (
            project_body(
                "team-a", roles=[{"name": "r", "policies": ["p, proj:other:r, applications, get, x/*, allow"]}]
            ),
            400,
            3,
            "policy subject must be: 'proj:team-a:r'",
        ),
        (
            project_body("team-a", syncWindows=[{"kind": "allow", "schedule": "* * * * *", "duration": "1h"}]),
            400,
            11,
            "requires one of application, cluster or namespace",
        ),
        (
            project_body(
                "team-a",
                syncWindows=[{"kind": "maybe", "schedule": "* * * * *", "duration": "1h", "applications": ["*"]}],
            ),
            500,
            2,
            "kind 'maybe' mismatch with allow or deny",
        ),
        (
            project_body(
                "team-a", syncWindows=[{"kind": "deny", "schedule": "nope", "duration": "1h", "applications": ["*"]}]
            ),
            500,
            2,
            "cannot parse schedule 'nope'",
        ),
        (
            project_body(
                "team-a",
                destinationServiceAccounts=[{"server": "*", "namespace": "*", "defaultServiceAccount": "a/b"}],
            ),
            400,
            3,
            "defaultServiceAccount has an invalid format, 'a/b'",
        ),
    ],
)
def test_create_rejects_bad_input(admin: Api, body: dict[str, Any], status: int, code: int, text: str) -> None:
    response = admin.call("POST", "/api/v1/projects", body)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert text in response.json()["message"]
    assert admin.get("/api/v1/projects/team-a").status_code == 404


def test_get_missing_is_not_found(admin: Api) -> None:
    assert error(admin.get("/api/v1/projects/nope"), 404) == 'appprojects.argoproj.io "nope" not found'
    assert error(admin.call("DELETE", "/api/v1/projects/nope"), 404) == 'appprojects.argoproj.io "nope" not found'


def test_rbac_on_reads(admin: Api, alice: Api, bob: Api) -> None:
    create(admin, "team-a")
    create(admin, "other")
    assert [p["metadata"]["name"] for p in alice.get("/api/v1/projects").json()["items"]] == ["team-a"]
    assert bob.get("/api/v1/projects").json() == {"metadata": {}, "items": []}
    message = error(bob.get("/api/v1/projects/team-a"), 403)
    assert message.startswith("permission denied: projects, get, team-a, sub: bob, iat: ")
    # RBAC comes before existence: a caller who may not see it learns nothing.
    assert error(bob.get("/api/v1/projects/missing"), 403).startswith("permission denied: projects, get, missing")
    assert alice.get("/api/v1/projects/team-a").status_code == 200
    assert error(alice.get("/api/v1/projects/other"), 403).startswith("permission denied: projects, get, other")
    for path in ("detailed", "events", "globalprojects", "syncwindows"):
        assert bob.get(f"/api/v1/projects/team-a/{path}").status_code == 403


def test_rbac_on_writes(admin: Api, alice: Api, bob: Api) -> None:
    assert error(bob.call("POST", "/api/v1/projects", project_body("team-b")), 403).startswith(
        "permission denied: projects, create, team-b, sub: bob"
    )
    created = create(alice, "team-b")
    assert error(alice.call("POST", "/api/v1/projects", project_body("other")), 403).startswith(
        "permission denied: projects, create, other"
    )
    body = {"project": {**created, "spec": {**created["spec"], "description": "x"}}}
    assert bob.call("PUT", "/api/v1/projects/team-b", body).status_code == 403
    assert bob.call("DELETE", "/api/v1/projects/team-b").status_code == 403
    assert alice.call("DELETE", "/api/v1/projects/team-b").status_code == 200
    assert admin.get("/api/v1/projects/team-b").status_code == 404


# --- update ---------------------------------------------------------------------------------------------------


def test_update_happy_path_and_versions(admin: Api) -> None:
    created = create(admin, "team-a")
    project = {**created, "spec": {**created["spec"], "description": "changed"}, "metadata": {**created["metadata"]}}
    project["metadata"]["labels"] = {"tier": "gold"}
    response = admin.call("PUT", "/api/v1/projects/team-a", {"project": project})
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["spec"]["description"] == "changed"
    assert updated["metadata"]["labels"] == {"tier": "gold"}
    assert updated["metadata"]["resourceVersion"] == "2"
    assert updated["metadata"]["generation"] == 2
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    assert admin.get("/api/v1/projects/team-a").json() == updated


def test_update_needs_current_resource_version(admin: Api) -> None:
    created = create(admin, "team-a")
    project = {**created, "spec": {**created["spec"], "description": "x"}}
    no_version = {**project, "metadata": {"name": "team-a"}}
    message = error(admin.call("PUT", "/api/v1/projects/team-a", {"project": no_version}), 400)
    assert message.endswith("metadata.resourceVersion: Invalid value: 0x0: must be specified for an update")
    assert admin.call("PUT", "/api/v1/projects/team-a", {"project": project}).status_code == 200
    stale = error(admin.call("PUT", "/api/v1/projects/team-a", {"project": project}), 409)
    assert stale == (
        'Operation cannot be fulfilled on appprojects.argoproj.io "team-a": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    assert admin.call("PUT", "/api/v1/projects/missing", {"project": project}).status_code == 404
    assert error(admin.call("PUT", "/api/v1/projects/team-a", {}), 400) == "missing payload 'project' in request"


def test_concurrent_updates_exactly_one_wins(admin: Api) -> None:
    created = create(admin, "team-a")
    results: list[int] = []
    writers = 4
    barrier = threading.Barrier(writers)

    def update(description: str) -> None:
        project = {**created, "spec": {**created["spec"], "description": description}}
        barrier.wait()
        results.append(admin.call("PUT", "/api/v1/projects/team-a", {"project": project}).status_code)

    threads = [threading.Thread(target=update, args=(f"writer {i}",)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] + [409] * (writers - 1)
    assert admin.get("/api/v1/projects/team-a").json()["metadata"]["resourceVersion"] == "2"


def test_update_checks_new_clusters_and_repos(admin: Api, alice: Api) -> None:
    created = create(alice, "team-a")

    def put(api: Api, **spec: Any) -> httpx.Response:
        current = admin.get("/api/v1/projects/team-a").json()
        return api.call("PUT", "/api/v1/projects/team-a", {"project": {**current, "spec": {**current["spec"], **spec}}})

    new_dest = [*created["spec"]["destinations"], {"server": "https://other", "namespace": "*"}]
    assert error(put(alice, destinations=new_dest), 403).startswith(
        "permission denied: clusters, update, https://other, sub: alice"
    )
    assert error(put(alice, sourceRepos=["https://github.com/org/*", "https://new/repo"]), 403).startswith(
        "permission denied: repositories, update, https://new/repo"
    )
    # Changing resource lists touches every destination cluster.
    assert error(put(alice, clusterResourceWhitelist=[{"group": "*", "kind": "*"}]), 403).startswith(
        f"permission denied: clusters, update, {IN_CLUSTER}"
    )
    assert put(alice, description="only this").status_code == 200
    assert put(admin, destinations=new_dest).status_code == 200


def test_update_may_not_orphan_applications(client: TestClient, admin: Api) -> None:
    create(admin, "team-a")
    add_app(client, name="app-1", project="team-a", repo="https://github.com/org/app")
    current = admin.get("/api/v1/projects/team-a").json()
    spec = {
        **current["spec"],
        "sourceRepos": ["https://elsewhere/*"],
        "destinations": [{"server": "x", "namespace": "y"}],
    }
    message = error(admin.call("PUT", "/api/v1/projects/team-a", {"project": {**current, "spec": spec}}), 400)
    assert message == (
        "as a result of project update 1 applications source became invalid "
        "and 1 applications destination became invalid"
    )
    spec = {**current["spec"], "sourceRepos": ["https://github.com/org/*", "https://more/*"]}
    assert admin.call("PUT", "/api/v1/projects/team-a", {"project": {**current, "spec": spec}}).status_code == 200


# --- delete ---------------------------------------------------------------------------------------------------


def test_delete_rules(client: TestClient, admin: Api) -> None:
    message = error(admin.call("DELETE", "/api/v1/projects/default"), 400)
    assert message == "name 'default' is reserved and cannot be deleted"
    create(admin, "team-a")
    add_app(client, name="app-1", project="team-a", repo="https://github.com/org/app")
    assert error(admin.call("DELETE", "/api/v1/projects/team-a"), 400) == "project is referenced by 1 applications"
    create(admin, "team-b")
    response = admin.call("DELETE", "/api/v1/projects/team-b")
    assert response.status_code == 200
    assert response.json() == {}
    assert admin.get("/api/v1/projects/team-b").status_code == 404


# --- events, windows, links, global projects ----------------------------------------------------------------------


def test_events_follow_writes(admin: Api) -> None:
    created = create(admin, "team-a")
    project = {**created, "spec": {**created["spec"], "description": "x"}}
    assert admin.call("PUT", "/api/v1/projects/team-a", {"project": project}).status_code == 200
    events = admin.get("/api/v1/projects/team-a/events").json()
    assert events["metadata"] == {}
    assert [(e["reason"], e["message"]) for e in events["items"]] == [
        ("ResourceCreated", "admin created project"),
        ("ResourceUpdated", "admin updated project"),
    ]
    first = events["items"][0]
    assert first["involvedObject"] == {
        "kind": "AppProject",
        "namespace": "argocd",
        "name": "team-a",
        "uid": created["metadata"]["uid"],
        "apiVersion": "argoproj.io/v1alpha1",
        "resourceVersion": "1",
    }
    assert first["type"] == "Normal"
    assert first["count"] == 1
    assert first["source"] == {"component": "argocd-server"}
    # A re-created project of the same name does not inherit the old one's events.
    assert admin.call("DELETE", "/api/v1/projects/team-a").status_code == 200
    create(admin, "team-a")
    assert [e["reason"] for e in admin.get("/api/v1/projects/team-a/events").json()["items"]] == ["ResourceCreated"]
    assert admin.get("/api/v1/projects/missing/events").status_code == 404


def test_sync_windows_state(admin: Api) -> None:
    always = {
        "kind": "deny",
        "schedule": "* * * * *",
        "duration": "1h",
        "applications": ["*"],
        "timeZone": "Europe/Paris",
    }
    leap_day = {"kind": "allow", "schedule": "0 0 29 2 *", "duration": "1m", "namespaces": ["*"]}
    create(admin, "team-a", syncWindows=[always, leap_day])
    assert admin.get("/api/v1/projects/team-a/syncwindows").json() == {"windows": [always]}
    create(admin, "team-b", syncWindows=[leap_day])
    assert admin.get("/api/v1/projects/team-b/syncwindows").json() == {}
    assert admin.get("/api/v1/projects/missing/syncwindows").status_code == 404


def test_links(make_settings: SettingsFactory, tmp_path: Path) -> None:
    links = "\n".join(
        [
            "- url: https://dash.example.com/{{.project.metadata.name}}",
            "  title: Dashboard",
            "  description: team dashboard",
            "  icon.class: fa-chart",
            "- url: https://other.example.com/",
            "  title: Only for other",
            '  if: project.metadata.name == "other"',
            "- url: https://labels.example.com/{{ .project.metadata.labels.team }}",
            "  title: By label",
        ]
    )
    maps = write_configmaps(
        tmp_path / "cm",
        argocd_cm={"project.links": links, "accounts.bob": "login"},
        argocd_rbac_cm={"policy.csv": ""},
    )
    with TestClient(create_app(make_settings(configmaps=maps))) as client:
        admin = Api(client, login(client))
        response = admin.call(
            "POST",
            "/api/v1/projects",
            {"project": {"metadata": {"name": "team-a", "labels": {"team": "a"}}, "spec": {}}},
        )
        assert response.status_code == 200, response.text
        assert admin.get("/api/v1/projects/team-a/links").json() == {
            "items": [
                {
                    "title": "Dashboard",
                    "url": "https://dash.example.com/team-a",
                    "description": "team dashboard",
                    "iconClass": "fa-chart",
                },
                {"title": "By label", "url": "https://labels.example.com/a"},
            ]
        }
        assert admin.get("/api/v1/projects/default/links").json()["items"][1]["url"] == (
            "https://labels.example.com/<no value>"
        )
        response = client.put(
            "/api/v1/account/password",
            json={"name": "bob", "currentPassword": ADMIN_PASSWORD, "newPassword": "bob-password-1"},
            headers={**bearer(admin.token), **JSON},
        )
        assert response.status_code == 200
        bob = Api(client, login(client, "bob", "bob-password-1"))
        assert error(bob.get("/api/v1/projects/team-a/links"), 500) == "unauthorized access to project team-a"


def test_global_projects(make_settings: SettingsFactory, tmp_path: Path) -> None:
    global_projects = "\n".join(
        [
            "- projectName: shared",
            "  labelSelector:",
            "    matchExpressions:",
            "      - key: opt",
            "        operator: In",
            "        values: ['yes']",
        ]
    )
    maps = write_configmaps(tmp_path / "cm", argocd_cm={"globalProjects": global_projects})
    with TestClient(create_app(make_settings(configmaps=maps))) as client:
        admin = Api(client, login(client))
        shared = create(admin, "shared", sourceRepos=["https://shared/*"], destinations=[])
        response = admin.call(
            "POST",
            "/api/v1/projects",
            {
                "project": {
                    "metadata": {"name": "team-a", "labels": {"opt": "yes"}},
                    "spec": {"sourceRepos": ["https://team-a/*"]},
                }
            },
        )
        assert response.status_code == 200, response.text
        assert admin.get("/api/v1/projects/team-a/globalprojects").json() == {"items": [shared]}
        assert admin.get("/api/v1/projects/default/globalprojects").json() == {}
        detailed = admin.get("/api/v1/projects/team-a/detailed").json()
        assert detailed["globalProjects"] == [shared]
        assert detailed["project"]["spec"]["sourceRepos"] == ["https://team-a/*", "https://shared/*"]
        # The stored project itself is not changed by the merge.
        assert admin.get("/api/v1/projects/team-a").json()["spec"]["sourceRepos"] == ["https://team-a/*"]
