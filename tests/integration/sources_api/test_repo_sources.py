"""RepositoryService content operations over the REST API: refs, apps, app details, Helm charts, validate access,
and the live connection state of repository Get/List."""

from __future__ import annotations

from typing import Any

from tests.integration.sources_api.conftest import (
    CHART_PASSWORD,
    CHART_USER,
    HTTP_PASSWORD,
    HTTP_USER,
    Api,
    Examples,
    enc,
)
from tests.support.git_http import GitHttpServer
from tests.support.helm_repo import HelmRepoServer


def register(api: Api, body: dict[str, Any]) -> None:
    response = api.client.post("/api/v1/repositories", json=body, headers=api.headers)
    assert response.status_code == 200, response.text


def test_list_refs_gives_branches_and_tags(api: Api, examples: Examples) -> None:
    response = api.client.get(f"/api/v1/repositories/{enc(examples.repo.url)}/refs", headers=api.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"branches": ["feature", "main"], "tags": ["v1.0.0", "v1.1.0"]}


def test_list_refs_of_a_private_repository_uses_registered_credentials(
    api: Api, http_git: tuple[GitHttpServer, str]
) -> None:
    _, url = http_git
    anonymous = api.client.get(f"/api/v1/repositories/{enc(url)}/refs", headers=api.headers)
    assert anonymous.status_code >= 400
    assert HTTP_PASSWORD not in anonymous.text

    register(api, {"repo": url, "username": HTTP_USER, "password": HTTP_PASSWORD})
    response = api.client.get(f"/api/v1/repositories/{enc(url)}/refs", headers=api.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"branches": ["main"]}


def test_list_apps_finds_the_three_forms(api: Api, examples: Examples) -> None:
    params = {"appName": "guestbook", "appProject": "default"}
    response = api.client.get(f"/api/v1/repositories/{enc(examples.repo.url)}/apps", params=params, headers=api.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "items": [
            {"type": "Directory", "path": "guestbook"},
            {"type": "Helm", "path": "helm-guestbook"},
            {"type": "Kustomize", "path": "kustomize-guestbook/base"},
            {"type": "Kustomize", "path": "kustomize-guestbook/overlays/dev"},
        ]
    }
    # At the feature branch the Directory app has one more file but the same set of apps.
    feature = api.client.get(
        f"/api/v1/repositories/{enc(examples.repo.url)}/apps",
        params={**params, "revision": "feature"},
        headers=api.headers,
    )
    assert feature.status_code == 200
    assert len(feature.json()["items"]) == 4


def test_list_apps_rbac_and_project_permission(api: Api, examples: Examples) -> None:
    url = f"/api/v1/repositories/{enc(examples.repo.url)}/apps"
    allowed = api.client.get(url, params={"appName": "x", "appProject": "default"}, headers=api.as_("dev"))
    assert allowed.status_code == 200, allowed.text
    # creator may create but not update apps: listing apps needs both.
    denied = api.client.get(url, params={"appName": "x", "appProject": "default"}, headers=api.as_("creator"))
    assert denied.status_code == 403
    assert denied.json() == {"error": "permission denied", "code": 7, "message": "permission denied"}

    restricted = {"project": {"metadata": {"name": "narrow"}, "spec": {"sourceRepos": ["https://example.com/*"]}}}
    assert api.client.post("/api/v1/projects", json=restricted, headers=api.headers).status_code == 200
    response = api.client.get(url, params={"appName": "x", "appProject": "narrow"}, headers=api.headers)
    assert response.status_code == 403
    assert response.json()["message"] == f"repository '{examples.repo.url}' not permitted in project 'narrow'"
    missing = api.client.get(url, params={"appName": "x", "appProject": "ghost"}, headers=api.headers)
    assert missing.status_code == 404
    assert missing.json()["message"] == 'appprojects.argoproj.io "ghost" not found'


def details(api: Api, source: dict[str, Any], *, user: str = "", app: str = "new-app") -> Any:
    return api.client.post(
        f"/api/v1/repositories/{enc(source['repoURL'])}/appdetails",
        json={"source": source, "appName": app, "appProject": "default"},
        headers=api.as_(user) if user else api.headers,
    )


def test_app_details_of_each_type(api: Api, examples: Examples) -> None:
    url = examples.repo.url
    directory = details(api, {"repoURL": url, "path": "guestbook", "targetRevision": "HEAD"})
    assert directory.status_code == 200, directory.text
    assert directory.json() == {"type": "Directory", "directory": {}}

    helm = details(
        api,
        {
            "repoURL": url,
            "path": "helm-guestbook",
            "targetRevision": "v1.0.0",
            "helm": {"valueFiles": ["values-production.yaml"], "parameters": [{"name": "image.tag", "value": "2.0"}]},
        },
    )
    assert helm.status_code == 200, helm.text
    body = helm.json()
    assert body["type"] == "Helm"
    assert body["helm"]["name"] == "helm-guestbook"
    assert body["helm"]["valueFiles"] == ["values-production.yaml", "values.yaml"]
    params = {p["name"]: p["value"] for p in body["helm"]["parameters"]}
    assert params["image.tag"] == "2.0"
    assert params["replicaCount"] == "1"  # the chart's values.yaml at v1.0.0
    assert params["service.port"] == "80"
    assert "replicaCount: 1" in body["helm"]["values"]

    kustomize = details(
        api,
        {
            "repoURL": url,
            "path": "kustomize-guestbook/overlays/dev",
            "kustomize": {"images": ["ghcr.io/example/guestbook-ui:2.0.0"]},
        },
    )
    assert kustomize.status_code == 200, kustomize.text
    assert kustomize.json() == {"type": "Kustomize", "kustomize": {"images": ["ghcr.io/example/guestbook-ui:2.0.0"]}}


def test_app_details_rbac_and_source_history(api: Api, examples: Examples) -> None:
    url = examples.repo.url
    source = {"repoURL": url, "path": "guestbook", "targetRevision": "HEAD"}
    app = {
        "metadata": {"name": "guestbook"},
        "spec": {"project": "default", "source": source, "destination": {"server": "https://kubernetes.default.svc"}},
    }
    created = api.client.post("/api/v1/applications", json=app, headers=api.headers)
    assert created.status_code == 200, created.text

    # reader may get the existing app but has no repositories get.
    denied = details(api, source, user="reader", app="guestbook")
    assert denied.status_code == 403
    assert denied.json()["message"].startswith("permission denied: repositories, get, ")
    # dev may read the app's current source ...
    assert details(api, source, user="dev", app="guestbook").status_code == 200
    # ... but not render an arbitrary other source under the existing app's name.
    other = details(api, {**source, "path": "helm-guestbook"}, user="dev", app="guestbook")
    assert other.status_code == 403
    assert other.json()["message"] == "permission denied"
    # A missing app needs applications create as well as get.
    assert details(api, source, user="dev", app="brand-new").status_code == 200
    no_get = details(api, source, user="creator", app="brand-new")
    assert no_get.status_code == 403
    assert no_get.json()["message"].startswith("permission denied: applications, get, default/brand-new")


def test_helm_charts_of_a_chart_repository(api: Api, chart_repo: HelmRepoServer) -> None:
    register(
        api,
        {"repo": chart_repo.url, "type": "helm", "name": "charts", "username": CHART_USER, "password": CHART_PASSWORD},
    )
    response = api.client.get(f"/api/v1/repositories/{enc(chart_repo.url)}/helmcharts", headers=api.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [{"name": "helm-guestbook", "versions": ["0.2.0", "0.1.0"]}]}


def test_validate_access_right_and_wrong_password(api: Api, http_git: tuple[GitHttpServer, str]) -> None:
    _, url = http_git
    path = f"/api/v1/repositories/{enc(url)}/validate"
    ok = api.client.post(path, params={"username": HTTP_USER, "password": HTTP_PASSWORD}, json=url, headers=api.headers)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {}

    wrong = "Wr0ng-Pa55word-xyz"
    bad = api.client.post(path, params={"username": HTTP_USER, "password": wrong}, json=url, headers=api.headers)
    assert bad.status_code >= 400
    body = bad.json()
    assert body["message"].startswith("error testing repository connectivity: ")
    assert wrong not in bad.text
    assert HTTP_PASSWORD not in bad.text

    # validate needs repositories create; reader has nothing on repositories.
    denied = api.client.post(path, json=url, headers=api.as_("reader"))
    assert denied.status_code == 403
    assert denied.json()["message"].startswith("permission denied: repositories, create, ")


def test_validate_access_inherits_a_credential_template(api: Api, http_git: tuple[GitHttpServer, str]) -> None:
    server, url = http_git
    template = {"url": server.url, "username": HTTP_USER, "password": HTTP_PASSWORD}
    assert api.client.post("/api/v1/repocreds", json=template, headers=api.headers).status_code == 200
    response = api.client.post(f"/api/v1/repositories/{enc(url)}/validate", json=url, headers=api.headers)
    assert response.status_code == 200, response.text


def test_connection_state_in_get_and_list(api: Api, http_git: tuple[GitHttpServer, str], examples: Examples) -> None:
    server, url = http_git
    register(api, {"repo": url, "username": HTTP_USER, "password": HTTP_PASSWORD})
    register(api, {"repo": examples.repo.url})

    got = api.client.get(f"/api/v1/repositories/{enc(url)}", headers=api.headers)
    assert got.status_code == 200, got.text
    state = got.json()["connectionState"]
    assert state["status"] == "Successful"
    assert state["message"] == ""
    assert state["attemptedAt"].endswith("Z")

    # Break the stored password: the cached state survives until a forced refresh.
    update = {"repo": url, "username": HTTP_USER, "password": "Br0ken-Pa55word"}
    assert api.client.put(f"/api/v1/repositories/{enc(url)}", json=update, headers=api.headers).status_code == 200
    cached = api.client.get("/api/v1/repositories", headers=api.headers).json()
    assert {r["repo"]: r["connectionState"]["status"] for r in cached["items"]}[url] == "Successful"

    fresh = api.client.get("/api/v1/repositories", params={"forceRefresh": "true"}, headers=api.headers)
    assert fresh.status_code == 200
    states = {r["repo"]: r["connectionState"] for r in fresh.json()["items"]}
    assert states[examples.repo.url]["status"] == "Successful"
    assert states[url]["status"] == "Failed"
    assert states[url]["message"].startswith("Unable to connect to repository: ")
    assert "Br0ken-Pa55word" not in fresh.text
    assert HTTP_PASSWORD not in fresh.text

    single = api.client.get(f"/api/v1/repositories/{enc(url)}", headers=api.headers).json()
    assert single["connectionState"]["status"] == "Failed"
    assert "password" not in single
    assert server.requests  # the checks really went over HTTP


def test_content_routes_do_not_shadow_get(api: Api, examples: Examples) -> None:
    register(api, {"repo": examples.repo.url})
    got = api.client.get(f"/api/v1/repositories/{enc(examples.repo.url)}", headers=api.headers)
    assert got.status_code == 200
    assert got.json()["repo"] == examples.repo.url
    unknown = api.client.get(f"/api/v1/repositories/{enc('file:///nowhere/refs')}/refs", headers=api.as_("reader"))
    assert unknown.status_code == 403
