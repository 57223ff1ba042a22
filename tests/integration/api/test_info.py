"""Version and settings: what anonymous and logged-in callers see, and ConfigMap keys taking effect."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from argocd_server.main import create_app
from tests.conftest import SettingsFactory, bearer, login
from tests.support.configmaps import write_configmaps

FULL_VERSION_KEYS = {
    "Version",
    "GoVersion",
    "Compiler",
    "Platform",
    "HelmVersion",
    "KubectlVersion",
    "KustomizeVersion",
    "JsonnetVersion",
    "ExtraBuildInfo",
}


def test_version_anonymous_gets_only_the_version(client: TestClient) -> None:
    for path in ("/api/version", "/api/v1/version"):
        response = client.get(path)
        assert response.status_code == 200
        body = response.json()
        assert list(body) == ["Version"]
        assert body["Version"].startswith("v3.6.0+")


def test_version_logged_in_shows_tools(client: TestClient) -> None:
    token = login(client)
    body = client.get("/api/version", headers=bearer(token)).json()
    assert body["Version"].startswith("v3.6.0+")
    assert set(body) <= FULL_VERSION_KEYS | {"BuildDate", "GitCommit", "GitTag", "GitTreeState"}
    assert body["HelmVersion"].startswith("v4.1.4")
    assert body["KubectlVersion"] == "v1.33.9"
    assert body["KustomizeVersion"].startswith("v5.6")
    assert client.get("/api/v1/version", headers=bearer(token)).json() == body


def test_settings_anonymous_vs_logged_in(make_settings: SettingsFactory, tmp_path: Path) -> None:
    maps = write_configmaps(
        tmp_path / "cm",
        argocd_cm={
            "url": "https://argocd.example.com",
            "ui.bannercontent": "maintenance tonight",
            "resource.customizations.health.argoproj.io_Rollout": "hs = {}\nreturn hs",
        },
    )
    with TestClient(create_app(make_settings(configmaps=maps))) as client:
        anonymous = client.get("/api/v1/settings").json()
        assert anonymous["url"] == "https://argocd.example.com"
        assert anonymous["appLabelKey"] == "app.kubernetes.io/instance"
        assert anonymous["trackingMethod"] == "annotation"
        for hidden in (
            "uiBannerContent",
            "controllerNamespace",
            "resourceOverrides",
            "passwordPattern",
        ):
            assert hidden not in anonymous
        token = login(client)
        full = client.get("/api/v1/settings", headers=bearer(token)).json()
        assert full["uiBannerContent"] == "maintenance tonight"
        assert full["controllerNamespace"] == "argocd"
        assert full["passwordPattern"] == "^.{8,32}$"
        assert full["resourceOverrides"] == {"argoproj.io/Rollout": {"health.lua": "hs = {}\nreturn hs"}}


def test_plugins_needs_auth(client: TestClient) -> None:
    assert client.get("/api/v1/settings/plugins").status_code == 401
    token = login(client)
    assert client.get("/api/v1/settings/plugins", headers=bearer(token)).json() == {}


def test_session_duration_from_argocd_cm(make_settings: SettingsFactory, tmp_path: Path) -> None:
    import jwt as pyjwt

    maps = write_configmaps(tmp_path / "d", argocd_cm={"users.session.duration": "1h30m"})
    with TestClient(create_app(make_settings(configmaps=maps))) as client:
        claims = pyjwt.decode(login(client), options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 5400
