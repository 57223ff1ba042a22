"""ApplicationSetService Generate and the dry-run create over HTTP on SQLite and PostgreSQL: generators reading real
git repositories (file:// and a private smart-HTTP server) and registered clusters, RBAC on ``create``, input errors
with upstream's codes and texts, and ``status.resources`` of a dry run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from argocd_server.main import create_app
from tests.conftest import ADMIN_PASSWORD, SettingsFactory, bearer, login
from tests.integration.api.test_applicationsets import make_project
from tests.support.configmaps import write_configmaps
from tests.support.git_http import serve_git_http
from tests.support.git_repo import GitRepo, make_git_repo

JSON = {"Content-Type": "application/json"}
ALICE_PASSWORD = "alice-password-1"
HTTP_USER = "gen-user"
HTTP_PASSWORD = "Gen-S3cret-Pa55"
POLICY = "\n".join(
    [
        "p, alice, applicationsets, get, team-a/*, allow",
        "p, alice, applicationsets, create, team-a/*, allow",
    ]
)
GENERATE = "/api/v1/applicationsets/generate"
FINALIZER = "resources-finalizer.argocd.argoproj.io"


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


@pytest.fixture
def apps_repo(tmp_path: Path) -> GitRepo:
    """Directories per app (one hidden, one excluded) and per-cluster config files in JSON and YAML."""
    repo = make_git_repo(tmp_path / "remotes", "apps")
    repo.commit(
        "apps",
        {
            "apps/guestbook/kustomization.yaml": "resources: []\n",
            "apps/helm-guestbook/Chart.yaml": "name: x\n",
            "apps/excluded/README.md": "no\n",
            "apps/.hidden/README.md": "no\n",
            "cluster-config/dev/config.json": '{"cluster": {"name": "dev", "address": "https://dev.example.com"}}',
            "cluster-config/prod/config.yaml": "cluster:\n  name: prod\n  address: https://prod.example.com\n",
        },
    )
    return repo


def appset(name: str, generators: list[dict[str, Any]], template: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"generators": generators, "template": template, **spec}}


def app_template(name: str, path: str, *, project: str = "default", server: str = "{{server}}") -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "project": project,
            "source": {"repoURL": "https://git.example.com/apps.git", "path": path, "targetRevision": "HEAD"},
            "destination": {"server": server, "namespace": "default"},
        },
    }


def generate(api: TestClient, headers: dict[str, str], body: dict[str, Any]) -> list[dict[str, Any]]:
    response = api.post(GENERATE, json={"applicationSet": body}, headers=headers)
    assert response.status_code == 200, response.text
    apps: list[dict[str, Any]] = response.json().get("applications", [])
    return apps


def assert_error(response: Any, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    code = {400: 3, 403: 7, 404: 5, 500: 2}[status]
    assert response.json() == {"error": message, "code": code, "message": message}


def test_list_generator_renders_applications(api: TestClient, admin: dict[str, str]) -> None:
    body = appset(
        "guestbook",
        [
            {
                "list": {
                    "elements": [
                        {"cluster": "dev", "url": "https://dev.example.com"},
                        {"cluster": "prod", "url": "https://prod.example.com"},
                    ]
                }
            }
        ],
        app_template("{{cluster}}-guestbook", "guestbook/{{cluster}}", server="{{url}}"),
    )
    apps = generate(api, admin, body)
    assert [a["metadata"]["name"] for a in apps] == ["dev-guestbook", "prod-guestbook"]
    first = apps[0]
    assert first["metadata"]["finalizers"] == [FINALIZER]
    assert "namespace" not in first["metadata"]  # the set in the request names no namespace
    assert first["spec"]["destination"] == {"server": "https://dev.example.com", "namespace": "default"}
    assert first["spec"]["source"]["path"] == "guestbook/dev"
    assert first["spec"]["project"] == "default"
    # Nothing is stored by Generate.
    assert api.get("/api/v1/applicationsets", headers=admin).json()["items"] == []
    assert not api.get("/api/v1/applications", headers=admin).json()["items"]


def test_git_directories_and_files(api: TestClient, admin: dict[str, str], apps_repo: GitRepo) -> None:
    directories = appset(
        "dirs",
        [
            {
                "git": {
                    "repoURL": apps_repo.url,
                    "revision": "HEAD",
                    "directories": [{"path": "apps/*"}, {"path": "apps/excluded", "exclude": True}],
                }
            }
        ],
        app_template("{{path.basename}}", "{{path}}", server="https://kubernetes.default.svc"),
    )
    apps = generate(api, admin, directories)
    assert [(a["metadata"]["name"], a["spec"]["source"]["path"]) for a in apps] == [
        ("guestbook", "apps/guestbook"),
        ("helm-guestbook", "apps/helm-guestbook"),
    ]
    files = appset(
        "files",
        [{"git": {"repoURL": apps_repo.url, "revision": "main", "files": [{"path": "cluster-config/**/config.*"}]}}],
        app_template(
            "{{ .cluster.name }}-{{ index .path.segments 1 }}", "{{ .path.path }}", server="{{ .cluster.address }}"
        ),
        goTemplate=True,
        goTemplateOptions=["missingkey=error"],
    )
    apps = generate(api, admin, files)
    assert [a["metadata"]["name"] for a in apps] == ["dev-dev", "prod-prod"]
    assert [a["spec"]["destination"]["server"] for a in apps] == ["https://dev.example.com", "https://prod.example.com"]
    assert apps[1]["spec"]["source"]["path"] == "cluster-config/prod"


def test_clusters_generator_uses_registered_clusters(api: TestClient, admin: dict[str, str]) -> None:
    for name, env in (("prod-eu", "prod"), ("staging", "staging")):
        response = api.post(
            "/api/v1/clusters",
            json={"server": f"https://{name}.example.com", "name": name, "labels": {"env": env}},
            headers=admin,
        )
        assert response.status_code == 200, response.text
    everything = appset("all", [{"clusters": {}}], app_template("{{name}}-app", "app"))
    assert [a["metadata"]["name"] for a in generate(api, admin, everything)] == [
        "prod-eu-app",
        "staging-app",
        "in-cluster-app",
    ]
    selected = appset(
        "prod",
        [{"clusters": {"selector": {"matchLabels": {"env": "prod"}}, "values": {"tier": "{{name}}-tier"}}}],
        app_template("{{name}}-{{metadata.labels.env}}-{{values.tier}}", "app"),
    )
    apps = generate(api, admin, selected)
    assert [a["metadata"]["name"] for a in apps] == ["prod-eu-prod-prod-eu-tier"]
    assert apps[0]["spec"]["destination"]["server"] == "https://prod-eu.example.com"


def test_matrix_of_git_and_clusters(api: TestClient, admin: dict[str, str], apps_repo: GitRepo) -> None:
    body = appset(
        "matrix",
        [
            {
                "matrix": {
                    "generators": [
                        {
                            "git": {
                                "repoURL": apps_repo.url,
                                "revision": "HEAD",
                                "directories": [{"path": "apps/guestbook"}],
                            }
                        },
                        {"list": {"elements": [{"env": "dev"}, {"env": "prod"}]}},
                    ]
                }
            }
        ],
        app_template("{{path.basename}}-{{env}}", "{{path}}", server="https://kubernetes.default.svc"),
    )
    assert [a["metadata"]["name"] for a in generate(api, admin, body)] == ["guestbook-dev", "guestbook-prod"]


def test_private_repository_uses_registered_credentials(api: TestClient, admin: dict[str, str], tmp_path: Path) -> None:
    root = tmp_path / "served"
    repo = make_git_repo(root, "private.git")
    repo.commit("apps", {"apps/one/a.yaml": "a: 1\n", "apps/two/a.yaml": "a: 2\n"})
    with serve_git_http(root, username=HTTP_USER, password=HTTP_PASSWORD) as server:
        url = f"{server.url}/private.git"
        body = appset(
            "private",
            [{"git": {"repoURL": url, "revision": "HEAD", "directories": [{"path": "apps/*"}]}}],
            app_template("{{path.basename}}", "{{path}}", server="https://kubernetes.default.svc"),
        )
        response = api.post(GENERATE, json={"applicationSet": body}, headers=admin)
        assert response.status_code == 500, response.text
        assert response.json()["code"] == 13  # the repo server's Internal status, its message only
        assert response.json()["message"].startswith("unable to resolve git revision : ")
        assert HTTP_PASSWORD not in response.text
        registered = api.post(
            "/api/v1/repositories",
            json={"repo": url, "username": HTTP_USER, "password": HTTP_PASSWORD},
            headers=admin,
        )
        assert registered.status_code == 200, registered.text
        assert [a["metadata"]["name"] for a in generate(api, admin, body)] == ["one", "two"]


def test_rbac_needs_create_on_the_set(api: TestClient, alice: dict[str, str]) -> None:
    allowed = appset("mine", [{"list": {"elements": [{"n": "a"}]}}], app_template("{{n}}", "p", project="team-a"))
    assert [a["metadata"]["name"] for a in generate(api, alice, allowed)] == ["a"]
    denied = appset("theirs", [{"list": {"elements": [{"n": "a"}]}}], app_template("{{n}}", "p", project="team-b"))
    response = api.post(GENERATE, json={"applicationSet": denied}, headers=alice)
    assert response.status_code == 403
    assert response.json()["message"].startswith(
        "permission denied: applicationsets, create, team-b/theirs, sub: alice"
    )
    assert api.post(GENERATE, json={"applicationSet": allowed}).status_code == 401


def test_bad_input(api: TestClient, admin: dict[str, str]) -> None:
    assert_error(
        api.post(GENERATE, json={}, headers=admin),
        500,
        "error creating ApplicationSets: ApplicationSets is nil in request",
    )
    good = appset("x", [{"list": {"elements": [{"n": "a"}]}}], app_template("{{n}}", "p"))
    assert_error(
        api.post(
            GENERATE,
            json={"applicationSet": {**good, "spec": {**good["spec"], "generators": [{"lsit": {}}]}}},
            headers=admin,
        ),
        500,
        "error validating ApplicationSets: ApplicationSet x contains unrecognized generators: lsit",
    )
    assert_error(
        api.post(
            GENERATE,
            json={
                "applicationSet": appset("x", good["spec"]["generators"], app_template("{{n}}", "p", project="ghost"))
            },
            headers=admin,
        ),
        400,
        "ApplicationSet references project ghost which does not exist",
    )
    assert_error(
        api.post(
            GENERATE,
            json={
                "applicationSet": appset("x", good["spec"]["generators"], app_template("{{n}}", "p", project="{{n}}"))
            },
            headers=admin,
        ),
        500,
        "error validating ApplicationSets: the Argo CD API does not currently support creating ApplicationSets "
        "with templated `project` fields",
    )
    wrong_type = appset("x", [{"git": {"repoURL": "r", "directories": "apps"}}], app_template("{{n}}", "p"))
    response = api.post(GENERATE, json={"applicationSet": wrong_type}, headers=admin)
    assert response.status_code == 400
    assert response.json()["message"].startswith("json: cannot unmarshal string into Go struct field GitGenerator.")
    elsewhere = {**good, "metadata": {"name": "x", "namespace": "elsewhere"}}
    assert_error(
        api.post(GENERATE, json={"applicationSet": elsewhere}, headers=admin),
        500,
        "namespace 'elsewhere' is not permitted",
    )


def test_generation_errors_carry_the_log(api: TestClient, admin: dict[str, str]) -> None:
    body = appset(
        "strict",
        [{"list": {"elements": [{"n": "a"}]}}],
        app_template("{{ .missing }}", "p"),
        goTemplate=True,
        goTemplateOptions=["missingkey=error"],
    )
    response = api.post(GENERATE, json={"applicationSet": body}, headers=admin)
    assert response.status_code == 500
    message = response.json()["message"]
    first_line, *log = message.split("\n")
    assert first_line == (
        "unable to generate Applications of ApplicationSet: error generating applications: failed to execute go "
        'template {{ .missing }}: template: base:1:3: executing "base" at <.missing>: map has no entry for key '
        '"missing"'
    )
    assert "level=error" in log[0]
    assert "applicationset=strict" in log[0]
    assert "generated 0 applications" in log[1]
    unsupported = appset("scm", [{"scmProvider": {"github": {"organization": "o"}}}], app_template("x", "p"))
    response = api.post(GENERATE, json={"applicationSet": unsupported}, headers=admin)
    assert response.status_code == 500
    assert response.json()["message"].startswith(
        "unable to generate Applications of ApplicationSet: error generating applications: scm providers are disabled\n"
    )
    plugin = appset("plug", [{"plugin": {"configMapRef": {"name": "my-plugin"}}}], app_template("x", "p"))
    response = api.post(GENERATE, json={"applicationSet": plugin}, headers=admin)
    assert response.status_code == 404
    assert 'error fetching ConfigMap: configmaps "my-plugin" not found' in response.json()["message"]


def test_dry_run_lists_generated_applications(api: TestClient, admin: dict[str, str]) -> None:
    body = appset(
        "preview",
        [{"list": {"elements": [{"n": "b"}, {"n": "a"}, {"n": "a"}]}}],
        app_template("app-{{n}}", "p"),
    )
    body["metadata"]["namespace"] = "team-x"
    response = api.post("/api/v1/applicationsets", json=body, headers=admin, params={"dryRun": "true"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == {
        "resources": [
            {"namespace": "team-x", "name": "app-a", "health": {}},
            {"namespace": "team-x", "name": "app-b", "health": {}},
        ]
    }
    assert api.get("/api/v1/applicationsets", headers=admin, params={"appsetNamespace": "team-x"}).json()["items"] == []
    empty = appset("none", [{"list": {"elements": []}}], app_template("app-{{n}}", "p"))
    response = api.post("/api/v1/applicationsets", json=empty, headers=admin, params={"dryRun": "true"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == {}
    broken = appset("broken", [{"list": {"elements": [{"n": 1}]}}], app_template("app-{{n}}", "p"))
    assert_error(
        api.post("/api/v1/applicationsets", json=broken, headers=admin, params={"dryRun": "true"}),
        500,
        "unable to generate Applications of ApplicationSet: error generating applications: error parsing value as "
        "string %!w(<nil>)",
    )
