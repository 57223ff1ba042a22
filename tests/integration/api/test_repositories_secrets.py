"""Secrets of repositories and credential templates never leave the server and are sealed at rest.

A distinct marker goes into every secret member; after create, read, list, update, upsert and failing requests no
marker may appear in a response body or header, in any log record, or in clear text in the database.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from argocd_server.api.state import AppState
from argocd_server.schemas.repocreds import REPOCREDS_SECRET_FIELDS
from argocd_server.schemas.repository import REPOSITORY_SECRET_FIELDS
from argocd_server.services.repositories import resolve_repo_credentials
from tests.conftest import bearer, login

REPO = "https://github.com/secure/app"
TEMPLATE = "https://github.com/tpl"


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def markers(prefix: str, fields: frozenset[str]) -> dict[str, str]:
    return {camel(name): f"MARKER-{prefix}-{name}-7f3a" for name in sorted(fields)}


def test_no_secret_leaks(client: TestClient, caplog: pytest.LogCaptureFixture, database_url: str) -> None:
    caplog.set_level(logging.DEBUG)
    repo_secrets = markers("repo", REPOSITORY_SECRET_FIELDS)
    creds_secrets = markers("creds", REPOCREDS_SECRET_FIELDS)
    write_creds_secrets = markers("wcreds", REPOCREDS_SECRET_FIELDS)
    upsert_secrets = markers("upsert", REPOSITORY_SECRET_FIELDS)
    all_markers = [
        *repo_secrets.values(),
        *creds_secrets.values(),
        *write_creds_secrets.values(),
        *upsert_secrets.values(),
    ]
    assert "githubAppPrivateKey" in repo_secrets
    assert "bearerToken" in repo_secrets

    admin = login(client)
    h = {**bearer(admin), "Content-Type": "application/json"}
    enc = quote(REPO, safe="")
    tpl = quote(TEMPLATE, safe="")
    responses: list[httpx.Response] = [
        client.post("/api/v1/repocreds", json={"url": TEMPLATE, "username": "t", **creds_secrets}, headers=h),
        client.post(
            "/api/v1/write-repocreds", json={"url": TEMPLATE, "username": "w", **write_creds_secrets}, headers=h
        ),
        client.post("/api/v1/repositories", json={"repo": REPO, "username": "u", **repo_secrets}, headers=h),
        client.post("/api/v1/repositories", json={"repo": "https://github.com/tpl/inherits"}, headers=h),
        client.get("/api/v1/repositories", headers=h),
        client.get(f"/api/v1/repositories/{enc}", headers=h),
        client.get("/api/v1/repocreds", headers=h),
        client.get("/api/v1/write-repocreds", headers=h),
        # Conflicts and type errors carrying secrets must not echo them.
        client.post("/api/v1/repositories", json={"repo": REPO, **upsert_secrets}, headers=h),
        client.post(
            "/api/v1/repocreds", json={"url": TEMPLATE, **markers("conflict", REPOCREDS_SECRET_FIELDS)}, headers=h
        ),
        client.post("/api/v1/repositories", json={"repo": REPO, "password": ["MARKER-list-7f3a"]}, headers=h),
        client.post("/api/v1/repositories", json={"repo": REPO, "type": "MARKER-type-7f3a-bad"}, headers=h),
        client.put(f"/api/v1/repositories/{quote('https://x.example/none', safe='')}", json=repo_secrets, headers=h),
        client.post("/api/v1/repositories?upsert=true", json={"repo": REPO, **upsert_secrets}, headers=h),
        client.put(f"/api/v1/repositories/{enc}", json={"username": "u2", **repo_secrets}, headers=h),
        client.put(f"/api/v1/repocreds/{tpl}", json={"username": "t2", **creds_secrets}, headers=h),
        client.get("/api/v1/repositories", headers=h),
        client.get(f"/api/v1/repositories/{enc}", headers=h),
        client.post("/api/v1/write-repositories", json={"repo": REPO, **repo_secrets}, headers=h),
    ]
    all_markers.append("MARKER-list-7f3a")
    statuses = [r.status_code for r in responses]
    assert statuses[:8] == [200] * 8
    assert statuses[8:13] == [400, 400, 400, 400, 403]
    assert statuses[13:18] == [200] * 5
    assert statuses[18] == 501

    for response in responses:
        blob = response.text + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        for marker in all_markers:
            assert marker not in blob, (response.request.method, str(response.request.url))
    for record in caplog.records:
        line = record.getMessage() + " " + repr(record.args) + " " + str(record.exc_info or "")
        for marker in all_markers:
            assert marker not in line

    # At rest: doc never has a secret, the sealed blob never has one in clear text.
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = list(
                conn.execute(
                    text("SELECT doc, secrets FROM repositories UNION ALL SELECT doc, secrets FROM repo_creds")
                )
            )
    finally:
        engine.dispose()
    assert len(rows) == 4
    for doc, sealed in rows:
        for marker in all_markers:
            assert marker not in doc
            assert sealed is None or marker.encode() not in bytes(sealed)
    assert sum(1 for _, sealed in rows if sealed is not None) == 3

    # The secrets are still there for the server itself.
    state: AppState = client.app.state.argo  # type: ignore[attr-defined]
    with state.sessions() as session:
        resolved = resolve_repo_credentials(session, state.secret_box, REPO)
        inherited = resolve_repo_credentials(session, state.secret_box, "https://github.com/tpl/inherits")
    assert resolved is not None
    assert resolved["password"] == repo_secrets["password"]
    assert resolved["githubAppPrivateKey"] == repo_secrets["githubAppPrivateKey"]
    assert inherited is not None
    assert inherited["sshPrivateKey"] == creds_secrets["sshPrivateKey"]
    assert inherited["bearerToken"] == creds_secrets["bearerToken"]
