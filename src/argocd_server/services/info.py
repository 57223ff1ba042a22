"""VersionService and SettingsService (upstream server/version and server/settings)."""

from __future__ import annotations

import platform
import sys
from typing import Any

from argocd_server import __version__
from argocd_server.config import ArgoConfig
from argocd_server.services.auth import Principal
from argocd_server.tools import ToolVersions
from argocd_server.version import server_version


class InfoService:
    def __init__(
        self,
        *,
        config: ArgoConfig,
        principal: Principal | None,
        tools: ToolVersions,
        namespace: str,
    ) -> None:
        self._config = config
        self._principal = principal
        self._tools = tools
        self._namespace = namespace

    @property
    def _logged_in(self) -> bool:
        return self._principal is not None or self._config.disable_auth or self._config.anonymous_enabled

    def version(self) -> dict[str, Any]:
        if not self._logged_in:
            return {"Version": server_version()}
        machine = platform.machine().lower()
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
        out = {
            "Version": server_version(),
            "BuildDate": "",
            "GitCommit": "",
            "GitTag": "",
            "GitTreeState": "",
            "GoVersion": f"python{platform.python_version()}",
            "Compiler": sys.implementation.name,
            "Platform": f"{platform.system().lower()}/{arch}",
            "KustomizeVersion": self._tools.kustomize,
            "HelmVersion": self._tools.helm,
            "KubectlVersion": self._tools.kubectl,
            "JsonnetVersion": self._tools.jsonnet,
            "ExtraBuildInfo": f"argocd-server (Python) {__version__}",
        }
        return {k: v for k, v in out.items() if v or k == "Version"}

    def settings(self) -> dict[str, Any]:
        cm = self._config.cm_data
        out: dict[str, Any] = {
            "url": self._config.url,
            "appLabelKey": self._config.app_label_key,
            "statusBadgeEnabled": self._config.status_badge_enabled,
            "statusBadgeRootUrl": cm.get("statusbadge.url", ""),
            "userLoginsDisabled": not any(
                a.enabled and "login" in a.capabilities for a in self._config.all_accounts().values()
            ),
            "kustomizeOptions": {"buildOptions": cm.get("kustomize.buildOptions", "")},
            "help": {
                "chatUrl": cm.get("help.chatUrl", ""),
                "chatText": cm.get("help.chatText", ""),
                "binaryUrls": {
                    k.removeprefix("help.download."): v for k, v in cm.items() if k.startswith("help.download.")
                },
            },
            "uiCssURL": cm.get("ui.cssurl", ""),
            "trackingMethod": self._config.tracking_method,
            "execEnabled": self._config.exec_enabled,
            "appsInAnyNamespaceEnabled": bool(self._config.cmd_params.get("application.namespaces")),
            "installationID": cm.get("installationID", ""),
            "hydratorEnabled": False,
            "syncWithReplaceAllowed": cm.get("server.sync.replace.allowed", "true").lower() != "false",
            "resourceViewEnabled": True,
            "googleAnalytics": {
                "trackingID": cm.get("ga.trackingid", ""),
                "anonymizeUsers": cm.get("ga.anonymizeusers", "true").lower() != "false",
            },
        }
        if self._logged_in:
            out["uiBannerContent"] = cm.get("ui.bannercontent", "")
            out["uiBannerURL"] = cm.get("ui.bannerurl", "")
            out["uiBannerPermanent"] = cm.get("ui.bannerpermanent", "").lower() == "true"
            out["uiBannerPosition"] = cm.get("ui.bannerposition", "")
            out["controllerNamespace"] = self._namespace
            out["resourceOverrides"] = _resource_overrides(self._config.resource_customizations)
        if self._principal is not None:
            out["passwordPattern"] = self._config.password_pattern
        return _omit_empty(out)

    def plugins(self) -> dict[str, Any]:
        # No config-management sidecar plugins are supported by this server: an empty, truthful answer.
        return {}


def _resource_overrides(custom: dict[str, str] | Any) -> dict[str, Any]:
    """``resource.customizations.<field>.<group_kind>`` keys as upstream's resourceOverrides map."""
    overrides: dict[str, dict[str, Any]] = {}
    field_names = {
        "health": "health.lua",
        "useOpenLibs": "health.lua.useOpenLibs",
        "actions": "actions",
        "ignoreDifferences": "ignoreDifferences",
        "ignoreResourceUpdates": "ignoreResourceUpdates",
        "knownTypeFields": "knownTypeFields",
    }
    for key, value in dict(custom).items():
        rest = key.removeprefix("resource.customizations.")
        if rest == key or "." not in rest:
            continue
        kind, _, gk = rest.partition(".")
        wire = field_names.get(kind)
        if wire is None:
            continue
        gk = gk.replace("_", "/", 1) if "/" not in gk else gk
        entry = overrides.setdefault(gk, {})
        entry[wire] = value if wire != "health.lua.useOpenLibs" else value.lower() == "true"
    return overrides


def _omit_empty(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            value = _omit_empty(value)
        if value in ("", False, None, {}, []):
            continue
        out[key] = value
    return out
