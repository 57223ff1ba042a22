"""``GET /api/v1/projects/{name}/detailed`` never returns a credential (regression in the spirit of CVE-2025-55190).

Upstream once returned project-scoped repositories with their credentials to anyone allowed to read the project.
Here secrets are planted everywhere they could be — the sealed secret column and, as a worst case, the stored
document itself — and the response must carry none of them while still describing the repository and cluster.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from argocd_server.api.state import AppState
from argocd_server.db.models import ClusterRow, RepositoryRow
from argocd_server.services.objects import dumps, new_uid
from tests.conftest import bearer, login

JSON = {"Content-Type": "application/json"}


def app_state(client: TestClient) -> AppState:
    app = client.app
    assert isinstance(app, FastAPI)
    state: AppState = app.state.argo
    return state


REPO_URL = "https://git.example.com/team-a/app.git"
SERVER = "https://team-a.example.com:6443"

REPO_SECRETS = {
    "password": "repo-password-SECRET",
    "sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----repo-ssh-SECRET",
    "tlsClientCertData": "repo-cert-SECRET",
    "tlsClientCertKey": "repo-key-SECRET",
    "githubAppPrivateKey": "repo-ghapp-SECRET",
    "gcpServiceAccountKey": "repo-gcp-SECRET",
    "bearerToken": "repo-bearer-SECRET",
    "azureServicePrincipalClientSecret": "repo-azure-SECRET",
}
CLUSTER_SECRETS = {
    "password": "cluster-password-SECRET",
    "bearerToken": "cluster-bearer-SECRET",
    "certData": "cluster-cert-SECRET",
    "keyData": "cluster-key-SECRET",
    "caData": "cluster-ca-SECRET",
    "execEnv": "cluster-exec-SECRET",
}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def plant(client: TestClient) -> None:
    state = app_state(client)
    now = datetime.now(tz=UTC)
    repo_doc: dict[str, Any] = {
        "repo": REPO_URL,
        "username": "deploy-bot",
        "project": "team-a",
        "type": "git",
        **REPO_SECRETS,
    }
    cluster_doc: dict[str, Any] = {
        "server": SERVER,
        "name": "team-a-cluster",
        "project": "team-a",
        "config": {
            "username": "cluster-admin",
            "password": CLUSTER_SECRETS["password"],
            "bearerToken": CLUSTER_SECRETS["bearerToken"],
            "tlsClientConfig": {
                "insecure": False,
                "serverName": "team-a",
                "certData": _b64(CLUSTER_SECRETS["certData"]),
                "keyData": _b64(CLUSTER_SECRETS["keyData"]),
                "caData": _b64(CLUSTER_SECRETS["caData"]),
            },
            "execProviderConfig": {"command": "login", "env": {"TOKEN": CLUSTER_SECRETS["execEnv"]}},
        },
    }
    with state.sessions() as session:
        session.add(
            RepositoryRow(
                url=REPO_URL,
                normalized_url="git.example.com/team-a/app",
                project="team-a",
                type="git",
                write=False,
                created_at=now,
                doc=dumps(repo_doc),
                secrets=state.secret_box.seal(dumps(REPO_SECRETS).encode(), purpose="repository"),
            )
        )
        session.add(
            ClusterRow(
                server=SERVER,
                name="team-a-cluster",
                project="team-a",
                uid=new_uid(),
                created_at=now,
                doc=dumps(cluster_doc),
                secrets=state.secret_box.seal(dumps(CLUSTER_SECRETS).encode(), purpose="cluster"),
            )
        )
        # Scoped to another project: must not appear at all.
        session.add(
            RepositoryRow(
                url="https://git.example.com/other.git",
                normalized_url="git.example.com/other",
                project="other",
                created_at=now,
                doc=dumps({"repo": "https://git.example.com/other.git", "project": "other"}),
            )
        )
        session.commit()


def test_detailed_project_never_leaks_credentials(client: TestClient) -> None:
    admin = login(client)
    response = client.post(
        "/api/v1/projects",
        json={"project": {"metadata": {"name": "team-a"}, "spec": {"sourceRepos": ["*"]}}},
        headers={**bearer(admin), **JSON},
    )
    assert response.status_code == 200, response.text
    plant(client)

    response = client.get("/api/v1/projects/team-a/detailed", headers=bearer(admin))
    assert response.status_code == 200, response.text
    text = response.text
    for secret in [*REPO_SECRETS.values(), *CLUSTER_SECRETS.values()]:
        assert secret not in text
        assert _b64(secret) not in text
    assert "SECRET" not in text

    body = response.json()
    assert body["project"]["metadata"]["name"] == "team-a"
    assert body["repositories"] == [
        {
            "repo": REPO_URL,
            "username": "deploy-bot",
            "connectionState": {"status": "", "message": "", "attemptedAt": None},
            "type": "git",
            "project": "team-a",
        }
    ]
    [cluster] = body["clusters"]
    assert cluster["server"] == SERVER
    assert cluster["project"] == "team-a"
    assert cluster["config"] == {"tlsClientConfig": {"insecure": False, "serverName": "team-a"}}
    assert "globalProjects" not in body


def test_detailed_project_rules(client: TestClient) -> None:
    admin = login(client)
    response = client.get("/api/v1/projects/missing/detailed", headers=bearer(admin))
    assert response.status_code == 404
    assert response.json()["message"] == 'appprojects.argoproj.io "missing" not found'
    body = client.get("/api/v1/projects/default/detailed", headers=bearer(admin)).json()
    assert set(body) == {"project"}
