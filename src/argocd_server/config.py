"""The effective Argo CD configuration: our settings plus the keys of Argo CD's ConfigMaps that apply here.

A user can hand the server their existing ``argocd-cm``, ``argocd-rbac-cm`` and ``argocd-cmd-params-cm`` manifests;
the keys we honour are parsed here into one frozen ``ArgoConfig`` (accounts, session duration, anonymous access,
RBAC policy, reconciliation timeout, resource customizations, ``server.*`` parameters).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from argocd_server.engine.durations import parse_go_duration
from argocd_server.settings import Settings

DEFAULT_PASSWORD_PATTERN = "^.{8,32}$"  # noqa: S105 - a policy, not a password
DEFAULT_SESSION_SECONDS = 24 * 3600


@dataclass(frozen=True)
class AccountConfig:
    """A local account from ``accounts.<name>`` (capabilities) and ``accounts.<name>.enabled``."""

    name: str
    capabilities: tuple[str, ...]
    enabled: bool = True


@dataclass(frozen=True)
class ArgoConfig:
    """What argocd-cm, argocd-rbac-cm and argocd-cmd-params-cm say, with upstream's defaults."""

    url: str = ""
    admin_enabled: bool = True
    admin_capabilities: tuple[str, ...] = ("login",)
    accounts: Mapping[str, AccountConfig] = field(default_factory=dict)
    session_seconds: float = DEFAULT_SESSION_SECONDS
    anonymous_enabled: bool = False
    password_pattern: str = DEFAULT_PASSWORD_PATTERN
    rbac_data: Mapping[str, str] = field(default_factory=dict)
    reconciliation_seconds: float = 180.0
    resource_customizations: Mapping[str, str] = field(default_factory=dict)
    cm_data: Mapping[str, str] = field(default_factory=dict)
    cmd_params: Mapping[str, str] = field(default_factory=dict)
    disable_auth: bool = False
    app_label_key: str = "app.kubernetes.io/instance"
    tracking_method: str = "annotation"
    status_badge_enabled: bool = False
    exec_enabled: bool = False

    def all_accounts(self) -> dict[str, AccountConfig]:
        """Every local account, admin first; admin exists unless ``admin.enabled: "false"`` disables it."""
        accounts = {"admin": AccountConfig("admin", self.admin_capabilities, self.admin_enabled)}
        for name, acc in self.accounts.items():
            if name != "admin":
                accounts[name] = acc
        return accounts


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"true", "1", "t", "yes", "y"}


def read_configmaps(paths: list[Path]) -> dict[str, dict[str, str]]:
    """ConfigMap name -> data, from YAML files holding one or more ConfigMap manifests."""
    found: dict[str, dict[str, str]] = {}
    for path in paths:
        for doc in yaml.safe_load_all(path.read_text()):
            if not isinstance(doc, dict) or doc.get("kind") != "ConfigMap":
                continue
            name = str((doc.get("metadata") or {}).get("name", ""))
            data = doc.get("data") or {}
            found.setdefault(name, {}).update({str(k): str(v) for k, v in data.items()})
    return found


def build_config(settings: Settings, configmaps: Mapping[str, Mapping[str, str]] | None = None) -> ArgoConfig:
    """Merge the ConfigMaps' keys (when given) with the settings into the effective configuration."""
    maps = dict(configmaps) if configmaps is not None else read_configmaps(settings.configmaps)
    cm = dict(maps.get("argocd-cm", {}))
    rbac = dict(maps.get("argocd-rbac-cm", {}))
    params = dict(maps.get("argocd-cmd-params-cm", {}))

    accounts: dict[str, AccountConfig] = {}
    admin_caps: tuple[str, ...] = ("login",)
    for key, value in cm.items():
        if not key.startswith("accounts.") or key.endswith(".enabled"):
            continue
        name = key.removeprefix("accounts.")
        caps = tuple(c.strip() for c in value.split(",") if c.strip())
        if name == "admin":
            admin_caps = caps or ("login",)
            continue
        enabled = _bool(cm.get(f"accounts.{name}.enabled"), True)
        accounts[name] = AccountConfig(name, caps, enabled)

    session_seconds = float(DEFAULT_SESSION_SECONDS)
    if cm.get("users.session.duration"):
        session_seconds = parse_go_duration(cm["users.session.duration"])
    reconciliation = settings.reconciliation_seconds
    recon_text = cm.get("timeout.reconciliation") or params.get("timeout.reconciliation")
    if recon_text:
        reconciliation = parse_go_duration(recon_text)

    customizations = {k: v for k, v in cm.items() if k.startswith("resource.customizations")}
    return ArgoConfig(
        url=cm.get("url", ""),
        admin_enabled=_bool(cm.get("admin.enabled"), True),
        admin_capabilities=admin_caps,
        accounts=accounts,
        session_seconds=session_seconds,
        anonymous_enabled=_bool(cm.get("users.anonymous.enabled"), False),
        password_pattern=cm.get("passwordPattern") or DEFAULT_PASSWORD_PATTERN,
        rbac_data=rbac,
        reconciliation_seconds=reconciliation,
        resource_customizations=customizations,
        cm_data=cm,
        cmd_params=params,
        disable_auth=_bool(params.get("server.disable.auth"), False),
        app_label_key=cm.get("application.instanceLabelKey") or "app.kubernetes.io/instance",
        tracking_method=cm.get("application.resourceTrackingMethod") or "annotation",
        status_badge_enabled=_bool(cm.get("statusbadge.enabled"), False),
        exec_enabled=_bool(cm.get("exec.enabled"), False),
    )


def apply_cmd_params(settings: Settings, params: Mapping[str, str]) -> Settings:
    """Settings updated with the ``server.*`` keys of argocd-cmd-params-cm that have a counterpart here."""
    updates: dict[str, Any] = {}
    if "server.insecure" in params:
        updates["insecure"] = _bool(params["server.insecure"], settings.insecure)
    if params.get("server.basehref"):
        updates["basehref"] = params["server.basehref"]
    if "server.enable.gzip" in params:
        updates["gzip"] = _bool(params["server.enable.gzip"], settings.gzip)
    if "server.api.content.types" in params:
        raw = params["server.api.content.types"]
        updates["api_content_types"] = [t.strip() for t in raw.split(";") if t.strip()]
    if not updates:
        return settings
    return settings.model_copy(update=updates)
