"""ApplicationSetService CRUD over HTTP on SQLite and PostgreSQL: create/upsert/dry run, get, list filters, delete,
validation errors with upstream's codes and texts, and RBAC on ``<project>/<name>`` objects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from argocd_server.api.state import AppState
from argocd_server.db.models import ProjectRow
from argocd_server.db.stores.projects import ProjectStore
from argocd_server.main import create_app
from argocd_server.services.objects import dumps, new_uid, utcnow
from tests.conftest import ADMIN_PASSWORD, SettingsFactory, bearer, login
from tests.support.configmaps import write_configmaps

JSON = {"Content-Type": "application/json"}
ALICE_PASSWORD = "alice-password-1"
POLICY = "\n".join(
    [
        "p, alice, applicationsets, get, team-a/*, allow",
        "p, alice, applicationsets, create, team-a/*, allow",
        "p, alice, applicationsets, delete, team-a/*, allow",
    ]
)


def make_project(client: TestClient, name: str) -> None:
    """An AppProject row as the project service stores it (this suite only needs it to exist)."""
    state: AppState = client.app.state.argo  # type: ignore[attr-defined]
    namespace = state.settings.namespace
    with state.sessions() as session:
        if ProjectStore(session).get(namespace, name) is not None:
            return  # `default` is created at start
        created = utcnow()
        doc = {"metadata": {"name": name, "namespace": namespace}, "spec": {}, "status": {}}
        session.add(
            ProjectRow(
                namespace=namespace,
                name=name,
                uid=new_uid(),
                resource_version=1,
                generation=1,
                created_at=created,
                doc=dumps(doc),
            )
        )
        session.commit()


@pytest.fixture
def api(make_settings: SettingsFactory, tmp_path: Path) -> Iterator[TestClient]:
    maps = write_configmaps(
        tmp_path / "cm",
        argocd_cm={"accounts.alice": "login"},
        argocd_rbac_cm={"policy.csv": POLICY},
        argocd_cmd_params_cm={"application.namespaces": "team-*"},
    )
    with TestClient(create_app(make_settings(configmaps=maps))) as client:
        admin = login(client)
        response = client.put(
            "/api/v1/account/password",
            json={"name": "alice", "currentPassword": ADMIN_PASSWORD, "newPassword": ALICE_PASSWORD},
            headers={**bearer(admin), **JSON},
        )
        assert response.status_code == 200, response.text
        for project in ("default", "team-a", "team-b"):
            make_project(client, project)
        yield client


@pytest.fixture
def admin(api: TestClient) -> dict[str, str]:
    return {**bearer(login(api)), **JSON}


@pytest.fixture
def alice(api: TestClient) -> dict[str, str]:
    return {**bearer(login(api, "alice", ALICE_PASSWORD)), **JSON}


def appset(name: str, project: str = "team-a", **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, **meta},
        "spec": {
            "generators": [{"list": {"elements": [{"cluster": "in-cluster"}]}}],
            "template": {
                "metadata": {"name": "{{cluster}}-guestbook"},
                "spec": {
                    "project": project,
                    "source": {"repoURL": "https://git.example.com/apps.git", "path": "guestbook"},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": "guestbook"},
                },
            },
        },
    }


def create(api: TestClient, headers: dict[str, str], body: dict[str, Any], **params: str) -> dict[str, Any]:
    response = api.post("/api/v1/applicationsets", json=body, headers=headers, params=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def names(api: TestClient, headers: dict[str, str], params: Any = None) -> list[str]:
    response = api.get("/api/v1/applicationsets", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return [item["metadata"]["name"] for item in response.json()["items"]]


def assert_error(response: Any, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    code = {400: 3, 401: 16, 403: 7, 404: 5, 500: 2}[status]
    assert response.json() == {"error": message, "code": code, "message": message}


def test_create_get_and_delete(api: TestClient, admin: dict[str, str]) -> None:
    created = create(api, admin, appset("guestbook", labels={"team": "a"}))
    meta = created["metadata"]
    assert meta["name"] == "guestbook"
    assert meta["namespace"] == "argocd"
    assert meta["resourceVersion"] == "1"
    assert meta["generation"] == 1
    assert meta["uid"]
    assert meta["creationTimestamp"].endswith("Z")
    assert created["spec"]["template"]["spec"]["project"] == "team-a"
    assert created["spec"]["generators"] == [{"list": {"elements": [{"cluster": "in-cluster"}]}}]
    assert created["status"] == {}
    got = api.get("/api/v1/applicationsets/guestbook", headers=admin)
    assert got.status_code == 200
    assert got.json() == created
    response = api.delete("/api/v1/applicationsets/guestbook", headers=admin)
    assert response.status_code == 200
    assert response.json() == {}
    assert_error(
        api.get("/api/v1/applicationsets/guestbook", headers=admin),
        404,
        'error getting ApplicationSet: applicationset.argoproj.io "guestbook" not found',
    )
    assert_error(
        api.delete("/api/v1/applicationsets/guestbook", headers=admin),
        404,
        'error getting ApplicationSets: applicationsets.argoproj.io "guestbook" not found',
    )


def test_empty_project_means_default(api: TestClient, admin: dict[str, str]) -> None:
    created = create(api, admin, appset("plain", project=""))
    assert created["spec"]["template"]["spec"]["project"] == ""
    assert names(api, admin, {"projects": "default"}) == ["plain"]


def test_create_is_idempotent_conflicts_and_upserts(api: TestClient, admin: dict[str, str]) -> None:
    first = create(api, admin, appset("guestbook", labels={"a": "1"}))
    assert create(api, admin, appset("guestbook", labels={"a": "1"})) == first
    changed = appset("guestbook", labels={"b": "2"})
    changed["spec"]["template"]["spec"]["source"]["path"] = "other"
    assert_error(
        api.post("/api/v1/applicationsets", json=changed, headers=admin),
        400,
        "existing ApplicationSet spec is different, use upsert flag to force update",
    )
    upserted = create(api, admin, changed, upsert="true")
    assert upserted["metadata"]["labels"] == {"a": "1", "b": "2"}  # labels merge on upsert
    assert upserted["metadata"]["resourceVersion"] == "2"
    assert upserted["metadata"]["generation"] == 2
    assert upserted["metadata"]["uid"] == first["metadata"]["uid"]
    assert upserted["spec"]["template"]["spec"]["source"]["path"] == "other"
    response = api.post("/api/v1/applicationsets", json=changed, headers=admin, params={"upsert": "nope"})
    assert response.status_code == 400


def test_dry_run_validates_without_storing(api: TestClient, admin: dict[str, str]) -> None:
    body = create(api, admin, appset("preview"), dryRun="true")
    assert body["metadata"]["name"] == "preview"
    assert names(api, admin) == []
    response = api.post("/api/v1/applicationsets", json=appset("x", "ghost"), headers=admin, params={"dryRun": "1"})
    assert_error(response, 400, "ApplicationSet references project ghost which does not exist")


def test_validation_errors(api: TestClient, admin: dict[str, str]) -> None:
    assert_error(
        api.post("/api/v1/applicationsets", json=appset("t", "{{team}}"), headers=admin),
        500,
        "error validating ApplicationSets: the Argo CD API does not currently support creating ApplicationSets "
        "with templated `project` fields",
    )
    assert_error(
        api.post("/api/v1/applicationsets", json=appset("x", "ghost"), headers=admin),
        400,
        "ApplicationSet references project ghost which does not exist",
    )
    bad_generator = appset("gen")
    bad_generator["spec"]["generators"] = [{"lsit": {}}]
    assert_error(
        api.post("/api/v1/applicationsets", json=bad_generator, headers=admin),
        500,
        "error validating ApplicationSets: ApplicationSet gen contains unrecognized generators: lsit",
    )
    bad_generator["spec"]["generators"] = [{}]
    assert_error(
        api.post("/api/v1/applicationsets", json=bad_generator, headers=admin),
        500,
        "error validating ApplicationSets: ApplicationSet gen contains unrecognized generators",
    )
    response = api.post("/api/v1/applicationsets", json=appset("Bad_Name"), headers=admin)
    assert response.status_code == 400
    assert response.json()["message"].startswith(
        'error creating ApplicationSet: ApplicationSet.argoproj.io "Bad_Name" is invalid: metadata.name'
    )
    response = api.post("/api/v1/applicationsets", json={"spec": {"generators": "nope"}}, headers=admin)
    assert response.status_code == 400
    assert_error(
        api.post("/api/v1/applicationsets", json=appset("x", namespace="elsewhere"), headers=admin),
        500,
        "namespace 'elsewhere' is not permitted",
    )
    assert names(api, admin) == []


def test_other_enabled_namespace(api: TestClient, admin: dict[str, str]) -> None:
    created = create(api, admin, appset("guestbook", namespace="team-x"))
    assert created["metadata"]["namespace"] == "team-x"
    got = api.get("/api/v1/applicationsets/guestbook", params={"appsetNamespace": "team-x"}, headers=admin)
    assert got.status_code == 200
    assert api.get("/api/v1/applicationsets/guestbook", headers=admin).status_code == 404
    assert names(api, admin, {"appsetNamespace": "team-x"}) == ["guestbook"]
    assert names(api, admin, {"appsetNamespace": "argocd"}) == []
    assert_error(
        api.get("/api/v1/applicationsets/guestbook", params={"appsetNamespace": "other"}, headers=admin),
        500,
        "namespace 'other' is not permitted",
    )
    response = api.delete("/api/v1/applicationsets/guestbook", params={"appsetNamespace": "team-x"}, headers=admin)
    assert response.status_code == 200


def test_list_sorts_and_filters(api: TestClient, admin: dict[str, str]) -> None:
    create(api, admin, appset("zeta", "team-b", labels={"tier": "back"}))
    create(api, admin, appset("alpha", "team-a", labels={"tier": "front"}))
    create(api, admin, appset("mid", "team-a"))
    body = api.get("/api/v1/applicationsets", headers=admin).json()
    assert body["metadata"] == {}
    assert [i["metadata"]["name"] for i in body["items"]] == ["alpha", "mid", "zeta"]
    assert names(api, admin, {"projects": "team-b"}) == ["zeta"]
    assert names(api, admin, [("projects", "team-b"), ("projects", "team-a")]) == ["alpha", "mid", "zeta"]
    assert names(api, admin, {"selector": "tier"}) == ["alpha", "zeta"]
    assert names(api, admin, {"selector": "tier!=front"}) == ["mid", "zeta"]
    assert names(api, admin, {"selector": "tier in (front,back),tier=back"}) == ["zeta"]
    response = api.get("/api/v1/applicationsets", params={"selector": "a b c"}, headers=admin)
    assert response.status_code == 500
    assert response.json()["message"].startswith("error parsing the selector: ")


def test_empty_list(api: TestClient, admin: dict[str, str]) -> None:
    assert api.get("/api/v1/applicationsets", headers=admin).json() == {"metadata": {}, "items": []}


def test_rbac(api: TestClient, admin: dict[str, str], alice: dict[str, str]) -> None:
    create(api, admin, appset("mine", "team-a"))
    create(api, admin, appset("theirs", "team-b"))
    assert names(api, alice) == ["mine"]
    assert api.get("/api/v1/applicationsets/mine", headers=alice).status_code == 200
    response = api.get("/api/v1/applicationsets/theirs", headers=alice)
    assert response.status_code == 403
    assert response.json()["message"].startswith("permission denied: applicationsets, get, team-b/theirs, sub: alice")
    response = api.post("/api/v1/applicationsets", json=appset("new", "team-b"), headers=alice)
    assert response.status_code == 403
    assert response.json()["message"].startswith("permission denied: applicationsets, create, team-b/new")
    create(api, alice, appset("new", "team-a"))
    # Upsert needs update, which alice lacks.
    changed = appset("new", "team-a", labels={"x": "y"})
    response = api.post("/api/v1/applicationsets", json=changed, headers=alice, params={"upsert": "true"})
    assert response.status_code == 403
    assert response.json()["message"].startswith("permission denied: applicationsets, update, team-a/new")
    response = api.delete("/api/v1/applicationsets/theirs", headers=alice)
    assert response.status_code == 403
    assert api.delete("/api/v1/applicationsets/mine", headers=alice).status_code == 200
    assert names(api, admin) == ["new", "theirs"]


def test_upsert_moving_project_needs_both_projects(api: TestClient, admin: dict[str, str]) -> None:
    create(api, admin, appset("mover", "team-a"))
    moved = create(api, admin, appset("mover", "team-b"), upsert="true")
    assert moved["spec"]["template"]["spec"]["project"] == "team-b"
    assert names(api, admin, {"projects": "team-b"}) == ["mover"]


def test_anonymous_is_refused(api: TestClient) -> None:
    assert_error(api.get("/api/v1/applicationsets"), 401, "no session information")
