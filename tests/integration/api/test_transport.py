"""Transport rules: the Content-Type gate, bad JSON, oversized bodies, unknown routes, error shape."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from argocd_server.db.models import AccountSecretRow
from argocd_server.main import create_app
from tests.conftest import SettingsFactory, bearer, login
from tests.support.configmaps import write_configmaps


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json; charset=utf-8", "application/xml"])
def test_content_type_gate(client: TestClient, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/api/v1/session", content=b'{"username":"a","password":"b"}', headers=headers)
    assert response.status_code == 415
    assert response.text == "Invalid content type"
    assert response.headers["content-type"].startswith("text/plain")


def test_content_type_gate_covers_delete_before_auth(client: TestClient) -> None:
    response = client.request("DELETE", "/api/v1/account/admin/token/x")
    assert response.status_code == 415


def test_content_type_is_case_insensitive(client: TestClient) -> None:
    response = client.post(
        "/api/v1/session",
        content=b'{"username":"admin","password":"nope"}',
        headers={"Content-Type": "Application/JSON"},
    )
    assert response.status_code == 401


def test_content_types_are_configurable(make_settings: SettingsFactory, tmp_path: Path) -> None:
    maps = write_configmaps(tmp_path / "p", argocd_cmd_params_cm={"server.api.content.types": ""})
    with TestClient(create_app(make_settings(configmaps=maps))) as client:
        response = client.post("/api/v1/session", content=b'{"username":"admin","password":"nope-nope"}')
        assert response.status_code == 401


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post("/api/v1/session", content=b'{"username": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 3
    assert body["error"] == body["message"]


def test_wrong_json_types_are_400(client: TestClient) -> None:
    response = client.post("/api/v1/session", json={"username": 5, "password": "x"})
    assert response.status_code == 400
    assert "cannot unmarshal" in response.json()["message"]
    response = client.post("/api/v1/session", json=["a"])
    assert response.status_code == 400


def test_oversized_body_is_refused_and_changes_nothing(make_settings: SettingsFactory, database_url: str) -> None:
    with TestClient(create_app(make_settings(max_request_bytes=1024))) as client:
        token = login(client)
        big = {"id": "x" * 4096}
        response = client.post("/api/v1/account/admin/token", json=big, headers=bearer(token))
        assert response.status_code == 429
        assert response.json()["code"] == 8

        def chunks() -> object:
            yield b'{"id": "'
            yield b"y" * 4096
            yield b'"}'

        streamed = client.post(
            "/api/v1/account/admin/token",
            content=chunks(),  # type: ignore[arg-type]
            headers={**bearer(token), "Content-Type": "application/json"},
        )
        assert streamed.status_code == 429
    engine = create_engine(database_url)
    with Session(engine) as session:
        row = session.scalars(select(AccountSecretRow).where(AccountSecretRow.name == "admin")).one()
        assert row.tokens == []
    engine.dispose()


def test_unknown_api_route_is_plain_404(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.text == "Not Found"


def test_wrong_method_is_plain_405(client: TestClient) -> None:
    response = client.request("PATCH", "/api/v1/session", headers={"Content-Type": "application/json"})
    assert response.status_code == 405
    assert response.text == "Method Not Allowed"


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.text == "ok"


def test_gzip_when_asked(client: TestClient) -> None:
    token = login(client)
    response = client.get("/api/v1/settings", headers={**bearer(token), "Accept-Encoding": "gzip"})
    assert response.status_code == 200
