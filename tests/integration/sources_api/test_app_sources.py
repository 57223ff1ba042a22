"""ApplicationService source operations over the REST API: GetManifests (checked against helm and kubectl run by
hand), RevisionMetadata, RevisionChartDetails, manifest generation on create/update with validate, RBAC and
existence hiding."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.sources_api.conftest import CHART_PASSWORD, CHART_USER, HTTP_PASSWORD, HTTP_USER, Api, Examples
from tests.support.git_http import GitHttpServer
from tests.support.helm_repo import HelmRepoServer

IN_CLUSTER = "https://kubernetes.default.svc"
TRACKING = "argocd.argoproj.io/tracking-id"


def app_body(name: str, source: dict[str, Any], *, namespace: str = "guestbook") -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"project": "default", "source": source, "destination": {"server": IN_CLUSTER, "namespace": namespace}},
    }


def create_app(api: Api, name: str, source: dict[str, Any], **params: str) -> dict[str, Any]:
    response = api.client.post("/api/v1/applications", json=app_body(name, source), params=params, headers=api.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def run(args: list[str], home: Path) -> str:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    return subprocess.run(args, env=env, capture_output=True, text=True, check=True, timeout=120).stdout


def tracked(objects: list[dict[str, Any]], *, app: str, namespace: str) -> list[dict[str, Any]]:
    """What the API must answer for ``objects``: each with its tracking id (the app's namespace if it has none)."""
    for obj in objects:
        group = obj["apiVersion"].rpartition("/")[0]
        meta = obj["metadata"]
        tracking = f"{app}:{group}/{obj['kind']}:{meta.get('namespace') or namespace}/{meta['name']}"
        meta.setdefault("annotations", {})[TRACKING] = tracking
    return objects


def key(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


def manifests(api: Api, name: str, headers: dict[str, str] | None = None, **params: Any) -> list[dict[str, Any]]:
    response = api.client.get(f"/api/v1/applications/{name}/manifests", params=params, headers=headers or api.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"manifests"}
    assert all(isinstance(m, str) for m in body["manifests"])
    return sorted((json.loads(m) for m in body["manifests"]), key=key)


def test_manifests_of_a_directory_app(api: Api, examples: Examples) -> None:
    create_app(api, "plain", {"repoURL": examples.repo.url, "path": "guestbook"})
    expected = [
        yaml.safe_load((examples.repo.path / "guestbook" / f).read_text())
        for f in ("guestbook-ui-deployment.yaml", "guestbook-ui-svc.yaml")
    ]
    assert manifests(api, "plain") == sorted(tracked(expected, app="plain", namespace="guestbook"), key=key)


def test_manifests_of_a_helm_app_and_an_older_revision(
    api: Api, examples: Examples, helm_bin: str, tmp_path: Path
) -> None:
    source = {
        "repoURL": examples.repo.url,
        "path": "helm-guestbook",
        "helm": {"valueFiles": ["values-production.yaml"]},
    }
    create_app(api, "helmbook", source)
    chart = examples.repo.path / "helm-guestbook"
    out = run(
        [
            helm_bin,
            "template",
            str(chart),
            "--name-template",
            "helmbook",
            "--namespace",
            "guestbook",
            "--values",
            str(chart / "values-production.yaml"),
            "--include-crds",
        ],
        tmp_path,
    )
    expected = [d for d in yaml.safe_load_all(out) if d]
    got = manifests(api, "helmbook")
    assert got == sorted(tracked(expected, app="helmbook", namespace="guestbook"), key=key)
    assert next(o for o in got if o["kind"] == "Deployment")["spec"]["replicas"] == 3  # production values win

    # Without the production values the replica count follows values.yaml: 4 at HEAD, 1 at the first commit.
    spec = {"repoURL": examples.repo.url, "path": "helm-guestbook", "targetRevision": "main"}
    create_app(api, "helmbook-dev", spec)
    head = next(o for o in manifests(api, "helmbook-dev") if o["kind"] == "Deployment")
    old = next(o for o in manifests(api, "helmbook-dev", revision=examples.first) if o["kind"] == "Deployment")
    tagged = next(o for o in manifests(api, "helmbook-dev", revision="v1.0.0") if o["kind"] == "Deployment")
    assert (head["spec"]["replicas"], old["spec"]["replicas"], tagged["spec"]["replicas"]) == (4, 1, 1)


def test_manifests_of_a_kustomize_app(api: Api, examples: Examples, kubectl_bin: str, tmp_path: Path) -> None:
    create_app(api, "kbook", {"repoURL": examples.repo.url, "path": "kustomize-guestbook/overlays/dev"})
    out = run(
        [kubectl_bin, "kustomize", str(examples.repo.path / "kustomize-guestbook" / "overlays" / "dev")], tmp_path
    )
    expected = [d for d in yaml.safe_load_all(out) if d]
    got = manifests(api, "kbook")
    assert got == sorted(tracked(expected, app="kbook", namespace="guestbook"), key=key)
    assert {o["metadata"]["name"] for o in got} == {"dev-guestbook-ui"}


def test_manifests_mask_secret_data(api: Api, examples: Examples) -> None:
    secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ndata:\n  token: c2VjcmV0LXRva2Vu\n"
    examples.repo.commit("a secret", {"secrets/secret.yaml": secret})
    create_app(api, "secrets", {"repoURL": examples.repo.url, "path": "secrets"})
    (obj,) = manifests(api, "secrets")
    assert obj["data"] == {"token": "++++++++"}
    assert obj["metadata"]["annotations"][TRACKING] == "secrets:/Secret:guestbook/creds"


def test_manifests_rbac_and_existence_hiding(api: Api, examples: Examples) -> None:
    create_app(api, "guestbook", {"repoURL": examples.repo.url, "path": "guestbook"})
    create_app(api, "other", {"repoURL": examples.repo.url, "path": "guestbook"})
    denied = {"error": "permission denied", "code": 7, "message": "permission denied"}

    assert manifests(api, "guestbook", headers=api.as_("reader"))
    forbidden = api.client.get("/api/v1/applications/other/manifests", headers=api.as_("reader"))
    assert (forbidden.status_code, forbidden.json()) == (403, denied)
    missing = api.client.get("/api/v1/applications/ghost/manifests", headers=api.as_("reader"))
    assert (missing.status_code, missing.json()) == (403, denied)
    with_project = api.client.get(
        "/api/v1/applications/ghost/manifests", params={"project": "default"}, headers=api.headers
    )
    assert with_project.status_code == 404
    assert with_project.json()["message"] == 'applications.argoproj.io "ghost" not found'


def test_revision_metadata_of_a_commit(api: Api, examples: Examples) -> None:
    create_app(api, "meta", {"repoURL": examples.repo.url, "path": "guestbook"})
    response = api.client.get(f"/api/v1/applications/meta/revisions/{examples.second}/metadata", headers=api.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["author"] == "Test Author <author@example.com>"
    assert body["date"] == "2024-01-02T03:04:05Z"
    assert body["tags"] == ["v1.1.0"]
    assert body["message"].startswith("Scale the helm guestbook\n\nFour replicas for the demo.")
    assert "signatureInfo" not in body

    first = api.client.get(f"/api/v1/applications/meta/revisions/{examples.first[:10]}/metadata", headers=api.headers)
    assert first.status_code == 200, first.text
    assert first.json()["tags"] == ["v1.0.0"]

    unresolved = api.client.get("/api/v1/applications/meta/revisions/main/metadata", headers=api.headers)
    assert unresolved.status_code == 500
    assert unresolved.json()["message"] == "revision main must be resolved"
    bad_index = api.client.get(
        f"/api/v1/applications/meta/revisions/{examples.first}/metadata", params={"sourceIndex": 3}, headers=api.headers
    )
    assert bad_index.status_code == 500
    assert bad_index.json()["message"] == "source index 3 not found because there is only 1 source"
    hidden = api.client.get(f"/api/v1/applications/meta/revisions/{examples.first}/metadata", headers=api.as_("reader"))
    assert hidden.status_code == 403


def test_revision_chart_details(api: Api, chart_repo: HelmRepoServer) -> None:
    body = {"repo": chart_repo.url, "type": "helm", "username": CHART_USER, "password": CHART_PASSWORD}
    assert api.client.post("/api/v1/repositories", json=body, headers=api.headers).status_code == 200
    source = {"repoURL": chart_repo.url, "chart": "helm-guestbook", "targetRevision": "0.2.0"}
    create_app(api, "charted", source)

    response = api.client.get("/api/v1/applications/charted/revisions/0.2.0/chartdetails", headers=api.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "description": "The guestbook web app as a Helm chart",
        "home": "https://guestbook.example.com",
        "maintainers": ["Jane Doe <jane@example.com>", "Ops Team"],
    }
    older = api.client.get("/api/v1/applications/charted/revisions/0.1.0/chartdetails", headers=api.headers)
    assert older.json() == {"description": "The guestbook web app as a Helm chart"}
    assert CHART_PASSWORD not in older.text


def test_chart_details_of_a_git_app_is_an_error(api: Api, examples: Examples) -> None:
    create_app(api, "gitapp", {"repoURL": examples.repo.url, "path": "guestbook"})
    response = api.client.get("/api/v1/applications/gitapp/revisions/1.0.0/chartdetails", headers=api.headers)
    assert response.status_code == 500
    assert response.json()["message"] == "no chart found for application: gitapp"


@pytest.mark.parametrize("validate", [None, "true"])
def test_create_with_validate_rejects_a_broken_path(api: Api, examples: Examples, validate: str | None) -> None:
    params = {"validate": validate} if validate else {}
    body = app_body("broken", {"repoURL": examples.repo.url, "path": "does-not-exist"})
    response = api.client.post("/api/v1/applications", json=body, params=params, headers=api.headers)
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert message.startswith(
        "application spec for broken is invalid: InvalidSpecError: Unable to generate manifests in does-not-exist: "
    )
    assert response.json()["code"] == 3
    assert api.client.get("/api/v1/applications/broken", headers=api.headers).status_code == 403


def test_create_without_validate_accepts_a_broken_path(api: Api, examples: Examples) -> None:
    created = create_app(api, "broken", {"repoURL": examples.repo.url, "path": "does-not-exist"}, validate="false")
    assert created["spec"]["source"]["path"] == "does-not-exist"


def test_update_with_validate_generates_manifests(api: Api, examples: Examples) -> None:
    create_app(api, "upd", {"repoURL": examples.repo.url, "path": "guestbook"})
    broken = {"repoURL": examples.repo.url, "path": "helm-guestbook", "helm": {"valueFiles": ["missing.yaml"]}}
    spec = app_body("upd", broken)["spec"]
    rejected = api.client.put("/api/v1/applications/upd/spec", json=spec, headers=api.headers)
    assert rejected.status_code == 400, rejected.text
    assert "Unable to generate manifests in helm-guestbook: " in rejected.json()["message"]

    accepted = api.client.put(
        "/api/v1/applications/upd/spec", params={"validate": "false"}, json=spec, headers=api.headers
    )
    assert accepted.status_code == 200, accepted.text
    fixed = app_body("upd", {"repoURL": examples.repo.url, "path": "helm-guestbook"})
    replaced = api.client.put("/api/v1/applications/upd", json=fixed, headers=api.headers)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["spec"]["source"] == {"repoURL": examples.repo.url, "path": "helm-guestbook"}


def test_create_with_validate_uses_registered_credentials(api: Api, http_git: tuple[GitHttpServer, str]) -> None:
    _, url = http_git
    source = {"repoURL": url, "path": "guestbook"}
    refused = api.client.post("/api/v1/applications", json=app_body("private", source), headers=api.headers)
    assert refused.status_code == 400
    repo = {"repo": url, "username": HTTP_USER, "password": HTTP_PASSWORD}
    assert api.client.post("/api/v1/repositories", json=repo, headers=api.headers).status_code == 200
    create_app(api, "private", source)
    assert {o["kind"] for o in manifests(api, "private")} == {"Deployment", "Service"}


def test_create_with_validate_sees_a_path_committed_after_the_last_look(api: Api, examples: Examples) -> None:
    # The first create leaves the repository's refs in the revision cache; validation renders from there first
    # and, when that fails, looks at the repository again instead of refusing what it holds now.
    create_app(api, "first", {"repoURL": examples.repo.url, "path": "guestbook"})
    examples.repo.commit("a new app", {"later/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: later\n"})
    created = create_app(api, "later", {"repoURL": examples.repo.url, "path": "later"})
    assert created["spec"]["source"]["path"] == "later"
    assert [o["metadata"]["name"] for o in manifests(api, "later", revision=examples.repo.head())] == ["later"]
