"""Fixtures for the sources API tests: an app with the real helm and kubectl, accounts with narrow RBAC, and real
repositories (a file:// git repo with the three guestbook forms, a smart-HTTP git server behind basic auth, a Helm
chart repository)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from fastapi.testclient import TestClient

from argocd_server.main import create_app
from tests.conftest import ADMIN_PASSWORD, SettingsFactory, bearer, login
from tests.support.configmaps import write_configmaps
from tests.support.git_http import GitHttpServer, serve_git_http
from tests.support.git_repo import EXAMPLES, GitRepo, make_git_repo
from tests.support.helm_repo import HelmRepoServer, index_repo, package_chart, serve_helm_repo

USER_PASSWORD = "user-password-1"
HTTP_USER = "alice"
HTTP_PASSWORD = "Git-S3cret-Pa55"
CHART_USER = "bob"
CHART_PASSWORD = "Chart-S3cret-Pa55"

# dev may read repositories under file:// and create/update apps in proj-a; reader may only read the guestbook app.
POLICY = "\n".join(
    [
        "p, dev, repositories, get, *, allow",
        "p, dev, repositories, create, *, allow",
        "p, dev, applications, create, default/*, allow",
        "p, dev, applications, update, default/*, allow",
        "p, dev, applications, get, default/*, allow",
        "p, reader, applications, get, default/guestbook, allow",
        "p, creator, repositories, get, *, allow",
        "p, creator, applications, create, default/*, allow",
    ]
)


def find_binary(name: str) -> str | None:
    local = Path(sys.executable).parent / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(name)


def require_binary(name: str) -> str:
    path = find_binary(name)
    if path is None:
        if os.environ.get("CI") == "true" or os.environ.get("ARGOCD_TEST_REQUIRE_BINARIES"):
            pytest.fail(f"{name} binary is required in CI")
        pytest.skip(f"{name} binary not found")
    return path


@pytest.fixture
def helm_bin() -> str:
    return require_binary("helm")


@pytest.fixture
def kubectl_bin() -> str:
    return require_binary("kubectl")


def enc(url: str) -> str:
    return quote(url, safe="")


def json_headers(token: str) -> dict[str, str]:
    return {**bearer(token), "Content-Type": "application/json"}


@dataclass
class Api:
    client: TestClient
    admin: str
    tokens: dict[str, str]

    def as_(self, user: str) -> dict[str, str]:
        return json_headers(self.tokens[user])

    @property
    def headers(self) -> dict[str, str]:
        return json_headers(self.admin)


@pytest.fixture
def api(make_settings: SettingsFactory, tmp_path: Path, helm_bin: str, kubectl_bin: str) -> Iterator[Api]:
    maps = write_configmaps(
        tmp_path / "cm",
        argocd_cm={"accounts.dev": "login", "accounts.reader": "login", "accounts.creator": "login"},
        argocd_rbac_cm={"policy.csv": POLICY},
    )
    settings = make_settings(
        configmaps=maps, helm_path=helm_bin, kubectl_path=kubectl_bin, repository_connection_checks=True
    )
    with TestClient(create_app(settings)) as client:
        admin = login(client)
        tokens = {}
        for name in ("dev", "reader", "creator"):
            response = client.put(
                "/api/v1/account/password",
                json={"name": name, "currentPassword": ADMIN_PASSWORD, "newPassword": USER_PASSWORD},
                headers=json_headers(admin),
            )
            assert response.status_code == 200, response.text
            tokens[name] = login(client, name, USER_PASSWORD)
        yield Api(client=client, admin=admin, tokens=tokens)


@dataclass
class Examples:
    repo: GitRepo
    first: str
    """The commit with the three guestbook forms at replicaCount 1."""
    second: str
    """HEAD of main: helm-guestbook's replicaCount raised to 4, tagged v1.1.0."""


@pytest.fixture
def examples(tmp_path: Path) -> Examples:
    repo = make_git_repo(tmp_path / "remotes", "examples")
    repo.copy_example("guestbook")
    repo.copy_example("helm-guestbook")
    repo.copy_example("kustomize-guestbook")
    first = repo.commit("guestbook in three forms")
    repo.tag("v1.0.0", message="first release")
    repo.branch("feature")
    repo.commit("feature work", {"guestbook/extra-cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"})
    repo.switch("main")
    values = (repo.path / "helm-guestbook" / "values.yaml").read_text().replace("replicaCount: 1", "replicaCount: 4")
    second = repo.commit(
        "Scale the helm guestbook\n\nFour replicas for the demo.", {"helm-guestbook/values.yaml": values}
    )
    repo.tag("v1.1.0")
    return Examples(repo=repo, first=first, second=second)


@pytest.fixture
def http_git(tmp_path: Path) -> Iterator[tuple[GitHttpServer, str]]:
    """A private repository over smart HTTP with basic auth, and its URL."""
    root = tmp_path / "served"
    repo = make_git_repo(root, "private.git")
    repo.copy_example("guestbook")
    repo.commit("private guestbook")
    with serve_git_http(root, username=HTTP_USER, password=HTTP_PASSWORD) as server:
        yield server, f"{server.url}/private.git"


@pytest.fixture
def chart_repo(tmp_path: Path, helm_bin: str) -> Iterator[HelmRepoServer]:
    """A Helm repository with helm-guestbook 0.1.0 and 0.2.0; 0.2.0 has a home page and maintainers."""
    root = tmp_path / "charts"
    root.mkdir()
    package_chart(helm_bin, EXAMPLES / "helm-guestbook", root, version="0.1.0")
    chart = tmp_path / "chart-src" / "helm-guestbook"
    shutil.copytree(EXAMPLES / "helm-guestbook", chart)
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    meta["home"] = "https://guestbook.example.com"
    meta["maintainers"] = [{"name": "Jane Doe", "email": "jane@example.com"}, {"name": "Ops Team"}]
    (chart / "Chart.yaml").write_text(yaml.safe_dump(meta))
    package_chart(helm_bin, chart, root, version="0.2.0")
    index_repo(helm_bin, root)
    with serve_helm_repo(root, username=CHART_USER, password=CHART_PASSWORD) as server:
        yield server
