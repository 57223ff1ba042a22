"""ApplicationService CRUD on both databases: validation, existence hiding, upsert, update, patch, delete, list."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from argocd_server.db.engine import make_engine
from argocd_server.main import create_app
from tests.conftest import SettingsFactory, bearer, login
from tests.support.configmaps import write_configmaps
from tests.support.manifests_repo import make_manifests_repo

REPO = ""
OTHER_REPO = ""
PATHS = ("guestbook", "other", "p", "v2", "p1", "changed", "a", "b")


@pytest.fixture(autouse=True, scope="module")
def _local_repos(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Local repositories: creating apps validates by default, which renders their manifests."""
    global REPO, OTHER_REPO
    REPO = make_manifests_repo(tmp_path_factory.mktemp("repo"), PATHS, tags=("v2",))
    OTHER_REPO = make_manifests_repo(tmp_path_factory.mktemp("other"), PATHS, name="other")


JSON = {"Content-Type": "application/json"}


def app_body(name: str = "guestbook", **spec: Any) -> dict[str, Any]:
    body_spec: dict[str, Any] = {
        "source": {"repoURL": REPO, "path": "guestbook", "targetRevision": "HEAD"},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"},
        "project": "default",
    }
    body_spec.update(spec)
    return {"metadata": {"name": name}, "spec": body_spec}


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return bearer(login(client))


def create(client: TestClient, headers: dict[str, str], body: dict[str, Any], query: str = "") -> Any:
    return client.post(f"/api/v1/applications{query}", json=body, headers=headers)


def test_create_returns_upstream_shape(client: TestClient, admin: dict[str, str]) -> None:
    response = create(client, admin, {**app_body(), "operation": {"sync": {"revision": "HEAD"}}})
    assert response.status_code == 200, response.text
    app = response.json()
    meta = app["metadata"]
    assert meta["name"] == "guestbook"
    assert meta["namespace"] == "argocd"
    assert meta["resourceVersion"] == "1"
    assert meta["generation"] == 1
    assert meta["uid"]
    assert meta["creationTimestamp"].endswith("Z")
    assert "operation" not in app  # an operation in a create body is dropped
    assert app["spec"] == app_body()["spec"]
    assert app["status"] == {
        "sync": {"status": "", "comparedTo": {"source": {"repoURL": ""}, "destination": {}}},
        "health": {},
        "summary": {},
        "sourceHydrator": {},
    }
    fetched = client.get("/api/v1/applications/guestbook", headers=admin)
    assert fetched.json() == app


def test_create_is_idempotent_and_upsert(client: TestClient, admin: dict[str, str]) -> None:
    first = create(client, admin, app_body()).json()
    again = create(client, admin, app_body())
    assert again.status_code == 200
    assert again.json() == first
    different = app_body(source={"repoURL": REPO, "path": "other"})
    refused = create(client, admin, different)
    assert refused.status_code == 400
    assert refused.json()["message"] == "existing application spec is different, use upsert flag to force update"
    different["metadata"]["labels"] = {"team": "a"}
    upserted = create(client, admin, different, "?upsert=true")
    assert upserted.status_code == 200
    assert upserted.json()["spec"]["source"]["path"] == "other"
    assert upserted.json()["metadata"]["labels"] == {"team": "a"}
    assert upserted.json()["metadata"]["generation"] == 2
    assert upserted.json()["metadata"]["resourceVersion"] == "2"


@pytest.mark.parametrize(
    ("mutate", "status", "message"),
    [
        (
            lambda b: b["spec"].update(project="nope"),
            400,
            'app is not allowed in project "nope", or the project does not exist',
        ),
        (lambda b: b["metadata"].update(name="Bad_Name"), 400, 'Application.argoproj.io "Bad_Name" is invalid'),
        (lambda b: b["metadata"].update(name=""), 500, "resource name may not be empty"),
        (
            lambda b: b["spec"].update(destination={"server": "https://kubernetes.default.svc", "name": "in-cluster"}),
            400,
            "application destination can't have both name and server defined",
        ),
        (
            lambda b: b["spec"].update(destination={"namespace": "x"}),
            400,
            "application destination spec for guestbook is invalid: Destination server missing from app spec",
        ),
        (
            lambda b: b["spec"].update(destination={"name": "ghost", "namespace": "x"}),
            400,
            "there are no clusters with this name: ghost",
        ),
        (
            lambda b: b["spec"].update(destination={"server": "https://unknown.example", "namespace": "x"}),
            400,
            "application destination spec for guestbook is invalid",
        ),
        (
            lambda b: b["spec"].update(source={"repoURL": REPO}),
            400,
            "application spec for guestbook is invalid: InvalidSpecError: spec.source.repoURL and either",
        ),
        (
            lambda b: b["spec"].update(source={"repoURL": "https://charts.example", "chart": "redis"}),
            400,
            "spec.source.targetRevision is required if the manifest source is a helm chart",
        ),
        (
            lambda b: b["spec"].update(
                sources=[{"repoURL": REPO, "path": "a", "name": "x"}, {"repoURL": REPO, "path": "b", "name": "x"}],
                source=None,
            ),
            500,
            "duplicate source names",
        ),
        (lambda b: b["spec"].update(source={"repoURL": 5}), 400, "json: cannot unmarshal"),
    ],
)
def test_create_validation(client: TestClient, admin: dict[str, str], mutate: Any, status: int, message: str) -> None:
    body = app_body()
    mutate(body)
    if body["spec"].get("source") is None:
        body["spec"].pop("source", None)
    response = create(client, admin, body)
    assert response.status_code == status, response.text
    assert message in response.json()["message"]
    assert client.get("/api/v1/applications", headers=admin).json()["items"] == []


def test_project_restrictions(client: TestClient, admin: dict[str, str]) -> None:
    project = {
        "project": {
            "metadata": {"name": "team-a"},
            "spec": {
                "sourceRepos": [REPO, "!https://github.com/example/secret"],
                "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "team-a-*"}],
            },
        }
    }
    assert client.post("/api/v1/projects", json=project, headers=admin).status_code == 200
    ok = app_body(
        "ok", project="team-a", destination={"server": "https://kubernetes.default.svc", "namespace": "team-a-web"}
    )
    assert create(client, admin, ok).status_code == 200
    bad_repo = app_body(
        "bad-repo",
        project="team-a",
        source={"repoURL": "https://github.com/example/secret", "path": "."},
        destination={"server": "https://kubernetes.default.svc", "namespace": "team-a-web"},
    )
    response = create(client, admin, bad_repo)
    assert response.status_code == 400
    assert (
        "application repo https://github.com/example/secret is not permitted in project 'team-a'"
        in response.json()["message"]
    )
    bad_dest = app_body(
        "bad-dest",
        project="team-a",
        destination={"server": "https://kubernetes.default.svc", "namespace": "kube-system"},
    )
    response = create(client, admin, bad_dest)
    assert response.status_code == 400
    assert "do not match any of the allowed destinations in project 'team-a'" in response.json()["message"]


def test_lists_follow_writes_made_by_another_process(
    client: TestClient, admin: dict[str, str], database_url: str
) -> None:
    # Another replica (or any other writer) changes the table behind this process's back: the next list shows it.
    def names_and_paths() -> dict[str, str]:
        response = client.get("/api/v1/applications", headers=admin)
        assert response.status_code == 200, response.text
        return {i["metadata"]["name"]: i["spec"]["source"]["path"] for i in response.json()["items"]}

    for name in ("peer-a", "peer-b"):
        assert create(client, admin, app_body(name)).status_code == 200
    assert names_and_paths() == {"peer-a": "guestbook", "peer-b": "guestbook"}
    other = make_engine(database_url, pool_size=1)
    try:
        with other.begin() as conn:
            doc = json.loads(conn.execute(text("SELECT doc FROM applications WHERE name = 'peer-a'")).scalar_one())
            doc["spec"]["source"]["path"] = "other"
            conn.execute(
                text(
                    "UPDATE applications SET doc = :doc, resource_version = resource_version + 1 WHERE name = 'peer-a'"
                ),
                {"doc": json.dumps(doc)},
            )
        assert names_and_paths() == {"peer-a": "other", "peer-b": "guestbook"}
        with other.begin() as conn:
            conn.execute(text("DELETE FROM applications WHERE name = 'peer-b'"))
        assert names_and_paths() == {"peer-a": "other"}
        # More writes than the change log keeps between two lists: the first of them must not be lost.
        assert create(client, admin, app_body("peer-c")).status_code == 200
        assert names_and_paths() == {"peer-a": "other", "peer-c": "guestbook"}
        doc["spec"]["source"]["path"] = "p"
        with other.begin() as conn:
            conn.execute(
                text(
                    "UPDATE applications SET doc = :doc, resource_version = resource_version + 1 WHERE name = 'peer-a'"
                ),
                {"doc": json.dumps(doc)},
            )
            for _ in range(11_000):
                conn.execute(text("UPDATE applications SET generation = generation WHERE name = 'peer-c'"))
        assert names_and_paths() == {"peer-a": "p", "peer-c": "guestbook"}
    finally:
        other.dispose()


@pytest.fixture
def rbac_client(make_settings: SettingsFactory, tmp_path: Path) -> Iterator[TestClient]:
    maps = write_configmaps(
        tmp_path / "cm",
        argocd_cm={"accounts.alice": "login", "accounts.bob": "login"},
        argocd_rbac_cm={
            "policy.csv": "\n".join(
                [
                    "p, alice, applications, get, default/visible, allow",
                    "p, alice, applications, update, default/visible, allow",
                    "p, alice, applications, create, default/*, allow",
                    "p, alice, applications, delete, default/visible, deny",
                    "g, bob, role:readonly",
                ]
            )
        },
    )
    with TestClient(create_app(make_settings(configmaps=maps))) as client:
        admin = bearer(login(client))
        for name in ("alice", "bob"):
            client.put(
                "/api/v1/account/password",
                json={"name": name, "currentPassword": "admin-password-1", "newPassword": f"{name}-password-1"},
                headers=admin,
            )
        for name in ("visible", "hidden"):
            assert create(client, admin, app_body(name)).status_code == 200
        yield client


def test_existence_hiding(rbac_client: TestClient) -> None:
    alice = bearer(login(rbac_client, "alice", "alice-password-1"))
    assert rbac_client.get("/api/v1/applications/visible", headers=alice).status_code == 200
    for name in ("hidden", "missing"):
        response = rbac_client.get(f"/api/v1/applications/{name}", headers=alice)
        assert response.status_code == 403
        assert response.json() == {"error": "permission denied", "code": 7, "message": "permission denied"}
    # With ?project= the caller's rights on project/name come first, then missing or elsewhere is 404.
    admin = bearer(login(rbac_client))
    missing = rbac_client.get("/api/v1/applications/missing?project=default", headers=admin)
    assert missing.status_code == 404
    assert missing.json()["message"] == 'applications.argoproj.io "missing" not found'
    other = rbac_client.get("/api/v1/applications/visible?project=other", headers=admin)
    assert other.status_code == 404
    denied = rbac_client.get("/api/v1/applications/hidden?project=default", headers=alice)
    assert denied.status_code == 403
    two = rbac_client.get("/api/v1/applications/visible?projects=a&projects=b", headers=admin)
    assert two.status_code == 400


def test_list_filters_by_rbac(rbac_client: TestClient) -> None:
    alice = bearer(login(rbac_client, "alice", "alice-password-1"))
    body = rbac_client.get("/api/v1/applications", headers=alice).json()
    assert [i["metadata"]["name"] for i in body["items"]] == ["visible"]
    bob = bearer(login(rbac_client, "bob", "bob-password-1"))
    names = [i["metadata"]["name"] for i in rbac_client.get("/api/v1/applications", headers=bob).json()["items"]]
    assert names == ["hidden", "visible"]


def test_rbac_denials_on_writes(rbac_client: TestClient) -> None:
    bob = bearer(login(rbac_client, "bob", "bob-password-1"))
    response = create(rbac_client, bob, app_body("new"))
    assert response.status_code == 403
    assert response.json()["message"].startswith("permission denied: applications, create, default/new, sub: bob")
    alice = bearer(login(rbac_client, "alice", "alice-password-1"))
    deny = rbac_client.request("DELETE", "/api/v1/applications/visible", headers={**alice, **JSON})
    assert deny.status_code == 403
    update = rbac_client.put(
        "/api/v1/applications/visible/spec",
        json={**app_body()["spec"], "source": {"repoURL": REPO, "path": "v2"}},
        headers=alice,
    )
    assert update.status_code == 200, update.text
    assert update.json()["source"]["path"] == "v2"


def test_update_replaces_metadata_and_keeps_status(client: TestClient, admin: dict[str, str]) -> None:
    body = app_body()
    body["metadata"]["labels"] = {"a": "1"}
    body["metadata"]["annotations"] = {"note": "x"}
    create(client, admin, body)
    body["metadata"]["labels"] = {"b": "2"}
    body["metadata"].pop("annotations")
    body["metadata"]["resourceVersion"] = "999"  # ignored, as upstream
    body["spec"]["source"]["path"] = "changed"
    response = client.put("/api/v1/applications/guestbook", json=body, headers=admin)
    assert response.status_code == 200, response.text
    app = response.json()
    assert app["metadata"]["labels"] == {"b": "2"}
    assert "annotations" not in app["metadata"]
    assert app["spec"]["source"]["path"] == "changed"
    assert app["metadata"]["generation"] == 2
    assert app["status"]["health"] == {}
    same = client.put("/api/v1/applications/guestbook", json=body, headers=admin).json()
    assert same["metadata"]["generation"] == 2
    assert same["metadata"]["resourceVersion"] == "3"


def test_update_spec_normalises(client: TestClient, admin: dict[str, str]) -> None:
    create(client, admin, app_body())
    spec = {**app_body()["spec"], "project": "", "syncPolicy": {}}
    spec["source"] = {**spec["source"], "helm": {}}
    response = client.put("/api/v1/applications/guestbook/spec", json=spec, headers=admin)
    assert response.status_code == 200, response.text
    saved = response.json()
    assert saved["project"] == "default"
    assert "syncPolicy" not in saved
    assert "helm" not in saved["source"]


def test_patch_json_and_merge(client: TestClient, admin: dict[str, str]) -> None:
    create(client, admin, app_body())
    json_patch = '[{"op":"replace","path":"/spec/source/path","value":"p1"}]'
    response = client.patch(
        "/api/v1/applications/guestbook", json={"patch": json_patch, "patchType": "json"}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert response.json()["spec"]["source"]["path"] == "p1"
    merge = '{"metadata":{"labels":{"env":"prod"}},"spec":{"source":{"targetRevision":"v2"}}}'
    response = client.patch(
        "/api/v1/applications/guestbook", json={"patch": merge, "patchType": "merge"}, headers=admin
    )
    assert response.json()["metadata"]["labels"] == {"env": "prod"}
    assert response.json()["spec"]["source"]["targetRevision"] == "v2"
    bad = client.patch("/api/v1/applications/guestbook", json={"patch": "{}", "patchType": "strategic"}, headers=admin)
    assert bad.status_code == 400
    assert bad.json()["message"] == "Patch type 'strategic' is not supported"
    invalid = client.patch(
        "/api/v1/applications/guestbook",
        json={"patch": '[{"op":"replace","path":"/spec/project","value":"nope"}]'},
        headers=admin,
    )
    assert invalid.status_code == 400
    assert client.get("/api/v1/applications/guestbook", headers=admin).json()["spec"]["project"] == "default"


def test_delete_cascade_and_non_cascade(client: TestClient, admin: dict[str, str]) -> None:
    create(client, admin, app_body("a"))
    create(client, admin, app_body("b"))
    mixed = client.request(
        "DELETE", "/api/v1/applications/a?cascade=false&propagationPolicy=foreground", headers={**admin, **JSON}
    )
    assert mixed.status_code == 400
    assert mixed.json()["message"] == "cannot set propagation policy when cascading is disabled"
    unknown = client.request("DELETE", "/api/v1/applications/a?propagationPolicy=sideways", headers={**admin, **JSON})
    assert unknown.status_code == 400
    assert unknown.json()["message"] == "invalid propagation policy: sideways"

    cascade = client.request("DELETE", "/api/v1/applications/a?propagationPolicy=Foreground", headers={**admin, **JSON})
    assert cascade.status_code == 200
    assert cascade.json() == {}
    app = client.get("/api/v1/applications/a", headers=admin).json()
    assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io/foreground"]
    assert app["metadata"]["deletionTimestamp"].endswith("Z")

    gone = client.request("DELETE", "/api/v1/applications/b?cascade=false", headers={**admin, **JSON})
    assert gone.status_code == 200
    assert client.get("/api/v1/applications/b", headers=admin).status_code == 403


def test_list_filters_selector_and_fields(client: TestClient, admin: dict[str, str]) -> None:
    for name, labels, repo in (
        ("one", {"env": "prod", "tier": "web"}, REPO),
        ("two", {"env": "dev"}, REPO),
        ("three", {}, OTHER_REPO),
    ):
        body = app_body(name, source={"repoURL": repo, "path": "p"})
        body["metadata"]["labels"] = labels
        assert create(client, admin, body).status_code == 200

    def names(query: str) -> list[str]:
        response = client.get(f"/api/v1/applications{query}", headers=admin)
        assert response.status_code == 200, response.text
        return [i["metadata"]["name"] for i in response.json()["items"]]

    assert names("") == ["one", "three", "two"]
    assert names("?selector=env%3Dprod") == ["one"]
    assert names("?selector=env%20in%20(prod,dev),tier!%3Dweb") == ["two"]
    assert names("?selector=!env") == ["three"]
    assert names(f"?repo={REPO}") == ["one", "two"]
    assert names("?name=two") == ["two"]
    assert names("?projects=default") == ["one", "three", "two"]
    assert names("?projects=other") == []
    bad = client.get("/api/v1/applications?selector=env%20in%20(", headers=admin)
    assert bad.status_code == 500
    body = client.get("/api/v1/applications?fields=items.metadata.name,items.spec.project", headers=admin).json()
    assert body["items"][0] == {"metadata": {"name": "one"}, "spec": {"project": "default"}}
    assert body["metadata"]["resourceVersion"]
    empty = client.get("/api/v1/applications?name=none", headers=admin).json()
    assert empty["items"] == []


def test_concurrent_updates_lose_nothing(client: TestClient, admin: dict[str, str]) -> None:
    create(client, admin, app_body())
    errors: list[str] = []

    def add_label(i: int) -> None:
        patch = f'{{"metadata":{{"labels":{{"k{i}":"v"}}}}}}'
        response = client.patch(
            "/api/v1/applications/guestbook", json={"patch": patch, "patchType": "merge"}, headers=admin
        )
        if response.status_code != 200:
            errors.append(response.text)

    threads = [threading.Thread(target=add_label, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    labels = client.get("/api/v1/applications/guestbook", headers=admin).json()["metadata"]["labels"]
    assert set(labels) == {f"k{i}" for i in range(6)}


def test_global_projects_are_merged_for_validation(make_settings: SettingsFactory, tmp_path: Path) -> None:
    global_projects = '- projectName: shared\n  labelSelector:\n    matchLabels:\n      inherit: "yes"\n'
    maps = write_configmaps(tmp_path / "g", argocd_cm={"globalProjects": global_projects})
    with TestClient(create_app(make_settings(configmaps=maps))) as client:
        admin = bearer(login(client))
        shared = {"metadata": {"name": "shared"}, "spec": {"sourceRepos": [REPO]}}
        assert client.post("/api/v1/projects", json={"project": shared}, headers=admin).status_code == 200
        dests = [{"server": "https://kubernetes.default.svc", "namespace": "*"}]
        for name, labels in (("inheriting", {"inherit": "yes"}), ("plain", {})):
            project = {"metadata": {"name": name, "labels": labels}, "spec": {"destinations": dests}}
            assert client.post("/api/v1/projects", json={"project": project}, headers=admin).status_code == 200
        assert create(client, admin, app_body("a", project="inheriting")).status_code == 200
        refused = create(client, admin, app_body("b", project="plain"))
        assert refused.status_code == 400
        assert "is not permitted in project 'plain'" in refused.json()["message"]


def test_empty_automated_block_keeps_auto_sync_on(client: TestClient, admin: dict[str, str]) -> None:
    body = app_body(syncPolicy={"automated": {}})
    created = create(client, admin, body)
    assert created.status_code == 200, created.text
    assert created.json()["spec"]["syncPolicy"] == {"automated": {}}


def test_lists_follow_every_write_through_the_document_cache(client: TestClient, admin: dict[str, str]) -> None:
    # Lists remember documents by version: each write must show in the next list, filtered or not.
    def names_and_paths(query: str = "") -> dict[str, str]:
        response = client.get(f"/api/v1/applications{query}", headers=admin)
        assert response.status_code == 200, response.text
        return {i["metadata"]["name"]: i["spec"]["source"]["path"] for i in response.json()["items"]}

    for name in ("cache-a", "cache-b"):
        assert create(client, admin, app_body(name)).status_code == 200
    assert names_and_paths() == {"cache-a": "guestbook", "cache-b": "guestbook"}
    assert names_and_paths("?projects=default") == {"cache-a": "guestbook", "cache-b": "guestbook"}

    body = app_body("cache-a")["spec"]
    body["source"]["path"] = "other"
    assert client.put("/api/v1/applications/cache-a/spec", json=body, headers=admin).status_code == 200
    assert names_and_paths() == {"cache-a": "other", "cache-b": "guestbook"}
    assert names_and_paths("?name=cache-a") == {"cache-a": "other"}

    deleted = client.delete("/api/v1/applications/cache-b", params={"cascade": "false"}, headers={**admin, **JSON})
    assert deleted.status_code == 200, deleted.text
    # Recreated at once (SQLite may reuse the row id, the version starts at 1 again): never the old document.
    assert create(client, admin, app_body("cache-b", source={"repoURL": REPO, "path": "p"})).status_code == 200
    assert names_and_paths() == {"cache-a": "other", "cache-b": "p"}
    deleted = client.delete("/api/v1/applications/cache-b", params={"cascade": "false"}, headers={**admin, **JSON})
    assert deleted.status_code == 200, deleted.text
    assert names_and_paths() == {"cache-a": "other"}
