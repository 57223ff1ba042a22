"""OCI over the REST API: ListOCITags, GetOCIMetadata and GetManifests of OCI sources (a plain-manifests artifact and
a Helm chart pushed with the real ``helm push``), with RBAC, existence hiding and credentials from a registered
repository or a credential template."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.sources_api.conftest import Api, Examples, enc
from tests.support.git_repo import EXAMPLES
from tests.support.helm_repo import package_chart
from tests.support.oci_registry import OciRegistry, serve_oci_registry

USER = "robot"
PASSWORD = "Registry-S3cret-Pa55"
IN_CLUSTER = "https://kubernetes.default.svc"
DENIED = {"error": "permission denied", "code": 7, "message": "permission denied"}
ANNOTATIONS = {
    "org.opencontainers.image.created": "2024-05-06T07:08:09Z",
    "org.opencontainers.image.authors": "Jane Doe <jane@example.com>",
    "org.opencontainers.image.url": "https://example.com/guestbook",
    "org.opencontainers.image.documentation": "https://docs.example.com/guestbook",
    "org.opencontainers.image.source": "https://git.example.com/guestbook",
    "org.opencontainers.image.version": "1.1.0",
    "org.opencontainers.image.description": "The guestbook as plain manifests",
}


@pytest.fixture
def registry() -> Iterator[OciRegistry]:
    with serve_oci_registry(auth="bearer", username=USER, password=PASSWORD) as server:
        yield server


def guestbook_files() -> dict[str, str]:
    return {f"guestbook/{p.name}": p.read_text() for p in sorted((EXAMPLES / "guestbook").glob("*.yaml"))}


def register(api: Api, body: dict[str, Any]) -> None:
    response = api.client.post("/api/v1/repositories", json=body, headers=api.headers)
    assert response.status_code == 200, response.text


def oci_repo(registry: OciRegistry, repository: str) -> dict[str, Any]:
    return {
        "repo": registry.oci_url(repository),
        "type": "oci",
        "username": USER,
        "password": PASSWORD,
        "insecureOCIForceHttp": True,
    }


def create_app(api: Api, name: str, source: dict[str, Any]) -> None:
    body = {
        "metadata": {"name": name},
        "spec": {"project": "default", "source": source, "destination": {"server": IN_CLUSTER, "namespace": "web"}},
    }
    response = api.client.post("/api/v1/applications", json=body, headers=api.headers)
    assert response.status_code == 200, response.text


def manifests(api: Api, name: str, **params: str) -> list[dict[str, Any]]:
    response = api.client.get(f"/api/v1/applications/{name}/manifests", params=params, headers=api.headers)
    assert response.status_code == 200, response.text
    return sorted(
        (json.loads(m) for m in response.json()["manifests"]), key=lambda o: (o["kind"], o["metadata"]["name"])
    )


# -- ListOCITags


def test_list_oci_tags_of_a_registered_repository(api: Api, registry: OciRegistry) -> None:
    digest = registry.push_artifact("apps/guestbook", "v1.0.0", guestbook_files())
    for tag in ("v1.1.0", "latest", "0.9.0_build.2"):
        registry.tag("apps/guestbook", tag, digest)
    url = registry.oci_url("apps/guestbook")
    register(api, oci_repo(registry, "apps/guestbook"))

    response = api.client.get(f"/api/v1/repositories/{enc(url)}/oci-tags", headers=api.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"tags": ["0.9.0+build.2", "latest", "v1.0.0", "v1.1.0"]}
    registry.tag("apps/guestbook", "v2.0.0", digest)
    refreshed = api.client.get(
        f"/api/v1/repositories/{enc(url)}/oci-tags", params={"forceRefresh": "true"}, headers=api.headers
    )
    assert refreshed.json()["tags"][-1] == "v2.0.0"
    assert PASSWORD not in response.text


def test_list_oci_tags_rbac(api: Api, registry: OciRegistry) -> None:
    registry.push_artifact("apps/guestbook", "v1", guestbook_files())
    url = registry.oci_url("apps/guestbook")
    register(api, oci_repo(registry, "apps/guestbook"))
    denied = api.client.get(f"/api/v1/repositories/{enc(url)}/oci-tags", headers=api.as_("reader"))
    assert denied.status_code == 403
    assert denied.json()["message"].startswith(f"permission denied: repositories, get, {url}, sub: reader")
    allowed = api.client.get(f"/api/v1/repositories/{enc(url)}/oci-tags", headers=api.as_("dev"))
    assert allowed.status_code == 200, allowed.text


def test_list_oci_tags_of_an_unregistered_repository(api: Api, registry: OciRegistry) -> None:
    registry.push_artifact("team/app", "v1", guestbook_files())
    url = registry.oci_url("team/app")
    # Unknown URL: read anonymously over HTTPS, which this plain-HTTP registry cannot answer.
    anonymous = api.client.get(f"/api/v1/repositories/{enc(url)}/oci-tags", headers=api.headers)
    assert anonymous.status_code == 500
    assert anonymous.json()["message"].startswith(f"{registry.host}/team/app: cannot reach the registry")
    assert api.client.get(f"/api/v1/repositories/{enc(url)}/oci-tags", headers=api.as_("reader")).status_code == 403

    # A credential template for the registry's prefix supplies credentials and plain HTTP.
    template = {
        "url": f"oci://{registry.host}",
        "type": "oci",
        "username": USER,
        "password": PASSWORD,
        "insecureOCIForceHttp": True,
    }
    created = api.client.post("/api/v1/repocreds", json=template, headers=api.headers)
    assert created.status_code == 200, created.text
    response = api.client.get(f"/api/v1/repositories/{enc(url)}/oci-tags", headers=api.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"tags": ["v1"]}

    missing = api.client.get(f"/api/v1/repositories/{enc(registry.oci_url('team/none'))}/oci-tags", headers=api.headers)
    assert missing.status_code == 404
    assert "NAME_UNKNOWN" in missing.json()["message"]


# -- GetManifests and GetOCIMetadata


def test_manifests_and_metadata_of_an_oci_app(api: Api, registry: OciRegistry) -> None:
    digest = registry.push_artifact("apps/guestbook", "v1.1.0", guestbook_files(), annotations=ANNOTATIONS)
    register(api, oci_repo(registry, "apps/guestbook"))
    url = registry.oci_url("apps/guestbook")
    create_app(api, "guestbook", {"repoURL": url, "path": "guestbook", "targetRevision": "v1.1.0"})

    objects = manifests(api, "guestbook")
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("Deployment", "guestbook-ui"),
        ("Service", "guestbook-ui"),
    ]
    tracking = objects[0]["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"]
    assert tracking == "guestbook:apps/Deployment:web/guestbook-ui"
    # A revision given to GetManifests is resolved like targetRevision: tag, constraint or digest.
    assert manifests(api, "guestbook", revision=digest) == objects
    assert manifests(api, "guestbook", revision="^1.0") == objects

    source = {"repoURL": url, "path": "guestbook", "targetRevision": "v1.1.0"}
    details = api.client.post(
        f"/api/v1/repositories/{enc(url)}/appdetails",
        json={"source": source, "appName": "guestbook", "appProject": "default"},
        headers=api.headers,
    )
    assert details.status_code == 200, details.text
    assert details.json() == {"type": "Directory", "directory": {}}

    expected = {
        "createdAt": "2024-05-06T07:08:09Z",
        "authors": "Jane Doe <jane@example.com>",
        "docsUrl": "https://docs.example.com/guestbook",
        "sourceUrl": "https://git.example.com/guestbook",
        "version": "1.1.0",
        "description": "The guestbook as plain manifests",
    }
    response = api.client.get(f"/api/v1/applications/guestbook/revisions/{digest}/ocimetadata", headers=api.headers)
    assert response.status_code == 200, response.text
    assert response.json() == expected
    by_tag = api.client.get("/api/v1/applications/guestbook/revisions/v1.1.0/ocimetadata", headers=api.headers)
    assert by_tag.json() == expected
    as_reader = api.client.get(
        f"/api/v1/applications/guestbook/revisions/{digest}/ocimetadata", headers=api.as_("reader")
    )
    assert as_reader.status_code == 200, as_reader.text


def test_oci_metadata_rbac_and_existence_hiding(api: Api, registry: OciRegistry) -> None:
    digest = registry.push_artifact("apps/guestbook", "v1", guestbook_files(), annotations=ANNOTATIONS)
    register(api, oci_repo(registry, "apps/guestbook"))
    source = {"repoURL": registry.oci_url("apps/guestbook"), "path": "guestbook", "targetRevision": "v1"}
    create_app(api, "other", source)

    forbidden = api.client.get(f"/api/v1/applications/other/revisions/{digest}/ocimetadata", headers=api.as_("reader"))
    assert (forbidden.status_code, forbidden.json()) == (403, DENIED)
    missing = api.client.get(f"/api/v1/applications/ghost/revisions/{digest}/ocimetadata", headers=api.as_("reader"))
    assert (missing.status_code, missing.json()) == (403, DENIED)
    with_project = api.client.get(
        f"/api/v1/applications/ghost/revisions/{digest}/ocimetadata", params={"project": "default"}, headers=api.headers
    )
    assert with_project.status_code == 404
    assert with_project.json()["message"] == 'applications.argoproj.io "ghost" not found'
    bad_index = api.client.get(
        f"/api/v1/applications/other/revisions/{digest}/ocimetadata", params={"sourceIndex": 2}, headers=api.headers
    )
    assert bad_index.status_code == 500
    assert bad_index.json()["message"] == "source index 2 not found because there is only 1 source"


def test_oci_metadata_of_a_git_app_is_an_error(api: Api, examples: Examples) -> None:
    create_app(api, "gitapp", {"repoURL": examples.repo.url, "path": "guestbook"})
    response = api.client.get(
        f"/api/v1/applications/gitapp/revisions/{examples.second}/ocimetadata", headers=api.headers
    )
    assert response.status_code == 500
    assert response.json()["code"] == 2
    assert response.json()["message"].startswith("failed to initialize oci client: invalid OCI repository URL")


def test_helm_chart_from_oci_pushed_by_helm(api: Api, helm_bin: str, registry: OciRegistry, tmp_path: Path) -> None:
    home = tmp_path / "helm-home"
    home.mkdir()
    for version in ("0.1.0", "0.2.0"):
        archive = package_chart(helm_bin, EXAMPLES / "helm-guestbook", home, version=version)
        push = [helm_bin, "push", str(archive), f"oci://{registry.host}/charts", "--plain-http"]
        subprocess.run(
            [*push, "--username", USER, "--password", PASSWORD],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)},
            check=True,
            capture_output=True,
            timeout=60,
        )
    # Registered as upstream documents Helm OCI repositories: no scheme, type helm, enableOCI.
    repo_url = f"{registry.host}/charts"
    register(
        api,
        {
            "repo": repo_url,
            "type": "helm",
            "enableOCI": True,
            "username": USER,
            "password": PASSWORD,
            "insecureOCIForceHttp": True,
        },
    )
    source = {
        "repoURL": repo_url,
        "chart": "helm-guestbook",
        "targetRevision": "0.*",
        "helm": {"parameters": [{"name": "replicaCount", "value": "2"}]},
    }
    create_app(api, "charted", source)
    objects = manifests(api, "charted")
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["metadata"]["labels"]["helm.sh/chart"] == "helm-guestbook-0.2.0"

    details = api.client.get("/api/v1/applications/charted/revisions/0.1.0/chartdetails", headers=api.headers)
    assert details.status_code == 200, details.text
    assert details.json() == {"description": "The guestbook web app as a Helm chart"}
    meta = api.client.get("/api/v1/applications/charted/revisions/0.2.0/ocimetadata", headers=api.headers)
    assert meta.status_code == 200, meta.text
    assert meta.json()["version"] == "0.2.0"
    assert meta.json()["description"] == "The guestbook web app as a Helm chart"
