"""ConfigMap keys -> effective configuration, and Go duration parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from argocd_server.config import apply_cmd_params, build_config, read_configmaps
from argocd_server.engine.durations import parse_go_duration
from argocd_server.errors import InvalidArgument
from argocd_server.settings import Settings
from tests.support.configmaps import write_configmaps


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("24h", 86400),
        ("1h30m", 5400),
        ("90s", 90),
        ("1.5h", 5400),
        ("500ms", 0.5),
        ("3m0s", 180),
        ("45", 45),
    ],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "5x", "h"])
def test_bad_go_durations(text: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_go_duration(text)


def test_configmaps_take_effect(tmp_path: Path) -> None:
    paths = write_configmaps(
        tmp_path,
        argocd_cm={
            "url": "https://cd.example.com",
            "accounts.alice": "apiKey, login",
            "accounts.alice.enabled": "false",
            "accounts.admin": "apiKey, login",
            "users.session.duration": "2h",
            "users.anonymous.enabled": "true",
            "admin.enabled": "true",
            "timeout.reconciliation": "5m",
            "resource.customizations.health.apps_Deployment": "return {}",
        },
        argocd_rbac_cm={"policy.default": "role:readonly", "policy.csv": "g, alice, role:admin"},
        argocd_cmd_params_cm={"server.insecure": "false", "server.basehref": "/argo"},
    )
    settings = Settings(_env_file=None, configmaps=paths)  # type: ignore[call-arg]
    maps = read_configmaps(paths)
    config = build_config(settings, maps)
    assert config.url == "https://cd.example.com"
    assert config.session_seconds == 7200
    assert config.anonymous_enabled is True
    assert config.reconciliation_seconds == 300
    assert config.rbac_data["policy.default"] == "role:readonly"
    accounts = config.all_accounts()
    assert accounts["admin"].capabilities == ("apiKey", "login")
    assert accounts["alice"].enabled is False
    assert "resource.customizations.health.apps_Deployment" in config.resource_customizations
    updated = apply_cmd_params(settings, maps["argocd-cmd-params-cm"])
    assert updated.insecure is False
    assert updated.basehref == "/argo"


def test_settings_from_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "server.yaml"
    config.write_text("port: 9090\nnamespace: tools\nlog-level: debug\n")
    monkeypatch.setenv("ARGOCD_SERVER_NAMESPACE", "from-env")
    settings = Settings.load(config_file=config)
    assert settings.port == 9090
    assert settings.namespace == "from-env"
    assert settings.log_level == "debug"
    assert Settings.load(config_file=config, port=7000).port == 7000
