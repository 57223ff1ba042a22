"""NotificationService over HTTP: names from argocd-notifications-cm, sorted; empty without the ConfigMap; auth only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from argocd_server.main import create_app
from tests.conftest import SettingsFactory, bearer, login
from tests.support.configmaps import write_configmaps

NOTIFICATIONS_CM = {
    "service.slack": "token: $slack-token\n",
    "service.webhook.github": "url: https://api.github.com\n",
    "service.email.gmail": "host: smtp.gmail.com\n",
    "template.app-deployed": "message: deployed\n",
    "template.app.sync.failed": "message: failed\n",
    "trigger.on-deployed": "- when: app.status.health.status == 'Healthy'\n  send: [app-deployed]\n",
    "trigger.on-sync-failed": "- when: 'true'\n  send: [app.sync.failed]\n",
    "subscriptions": "- recipients: [slack:general]\n",
    "defaultTriggers": "- on-deployed\n",
    "context": "argocdUrl: https://argocd.example.com\n",
}


def get_json(client: TestClient, path: str) -> object:
    response = client.get(path, headers=bearer(login(client)))
    assert response.status_code == 200, response.text
    return response.json()


def test_lists_names_sorted(make_settings: SettingsFactory, tmp_path: Path) -> None:
    maps = write_configmaps(tmp_path / "cm", argocd_notifications_cm=NOTIFICATIONS_CM)
    with TestClient(create_app(make_settings(configmaps=maps))) as client:
        assert get_json(client, "/api/v1/notifications/services") == {
            "items": [{"name": "github"}, {"name": "gmail"}, {"name": "slack"}]
        }
        assert get_json(client, "/api/v1/notifications/templates") == {
            "items": [{"name": "app-deployed"}, {"name": "app.sync.failed"}]
        }
        assert get_json(client, "/api/v1/notifications/triggers") == {
            "items": [{"name": "on-deployed"}, {"name": "on-sync-failed"}]
        }


def test_edited_configmap_is_picked_up(make_settings: SettingsFactory, tmp_path: Path) -> None:
    [path] = write_configmaps(tmp_path / "cm", argocd_notifications_cm={"service.slack": "{}"})
    with TestClient(create_app(make_settings(configmaps=[path]))) as client:
        assert get_json(client, "/api/v1/notifications/services") == {"items": [{"name": "slack"}]}
        write_configmaps(tmp_path / "cm", argocd_notifications_cm={"service.teams": "{}", "service.slack": "{}"})
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        assert get_json(client, "/api/v1/notifications/services") == {"items": [{"name": "slack"}, {"name": "teams"}]}


@pytest.mark.parametrize("kind", ["services", "templates", "triggers"])
def test_empty_without_configmap(client: TestClient, kind: str) -> None:
    assert get_json(client, f"/api/v1/notifications/{kind}") == {}


def test_empty_configmap_lists_nothing(make_settings: SettingsFactory, tmp_path: Path) -> None:
    maps = write_configmaps(tmp_path / "cm", argocd_notifications_cm={"context": "x: y"})
    with TestClient(create_app(make_settings(configmaps=maps))) as client:
        assert get_json(client, "/api/v1/notifications/triggers") == {}


def test_invalid_configuration_is_an_error(make_settings: SettingsFactory, tmp_path: Path) -> None:
    maps = write_configmaps(
        tmp_path / "cm", argocd_notifications_cm={"service.a.b.c": "{}", "trigger.bad": "when: scalar"}
    )
    with TestClient(create_app(make_settings(configmaps=maps))) as client:
        response = client.get("/api/v1/notifications/services", headers=bearer(login(client)))
        assert response.status_code == 500
        assert response.json()["code"] == 2
        assert response.json()["message"] in {
            "invalid service key; expected 'service.<type>(.<name>)' but got 'service.a.b.c'",
            "failed to unmarshal trigger bad: expected a list of conditions",
        }


def test_broken_template_yaml_is_reported_without_its_content(make_settings: SettingsFactory, tmp_path: Path) -> None:
    maps = write_configmaps(tmp_path / "cm", argocd_notifications_cm={"template.t": "a: [unclosed SECRETVALUE"})
    with TestClient(create_app(make_settings(configmaps=maps))) as client:
        response = client.get("/api/v1/notifications/templates", headers=bearer(login(client)))
        assert response.status_code == 500
        assert response.json()["message"].startswith("failed to unmarshal template t: invalid YAML")
        assert "SECRETVALUE" not in response.text


@pytest.mark.parametrize("kind", ["services", "templates", "triggers"])
def test_authentication_required(client: TestClient, kind: str) -> None:
    response = client.get(f"/api/v1/notifications/{kind}")
    assert response.status_code == 401
    assert response.json()["message"] == "no session information"
