"""Wire models of the SettingsService tag: the public `GET /api/v1/settings` document and plugins.

`Settings` is a protobuf message upstream, so every member is omitempty and nested messages are
pointers. Resource overrides use upstream's custom JSON keys (`health.lua`, YAML strings for the
ignore rules).
"""

from __future__ import annotations

from pydantic import Field

from argocd_server.schemas.common import ArgoModel, always

__all__ = [
    "Command",
    "ConfigManagementPlugin",
    "Connector",
    "DexConfig",
    "GoogleAnalyticsConfig",
    "Help",
    "KnownTypeField",
    "KustomizeOptions",
    "OIDCConfig",
    "OidcClaim",
    "Plugin",
    "PluginsResponse",
    "ResourceOverride",
    "Settings",
]


class KnownTypeField(ArgoModel):
    """A field of a CRD with a known core type (for diffing)."""

    field: str = ""
    type: str = ""


class ResourceOverride(ArgoModel):
    """A per group/kind customisation; the ignore rules travel as YAML text."""

    health_lua: str = Field(default="", alias="health.lua")
    use_open_libs: bool = Field(default=False, alias="health.lua.useOpenLibs")
    actions: str = ""
    ignore_differences: str = ""
    ignore_resource_updates: str = ""
    known_type_fields: list[KnownTypeField] = Field(default_factory=list)


class GoogleAnalyticsConfig(ArgoModel):
    """Google Analytics settings of the UI."""

    tracking_id: str = Field(default="", alias="trackingID")
    anonymize_users: bool = False


class Connector(ArgoModel):
    """A Dex connector."""

    name: str = ""
    type: str = ""
    id: str = ""


class DexConfig(ArgoModel):
    """Dex connectors offered on the login page."""

    connectors: list[Connector] = Field(default_factory=list)
    dex_auth_connector_id: str = Field(default="", alias="dexAuthConnectorID")


class OidcClaim(ArgoModel):
    """A requested ID-token claim."""

    essential: bool = False
    value: str = ""
    values: list[str] = Field(default_factory=list)


class OIDCConfig(ArgoModel):
    """Public OIDC settings (no client secret)."""

    name: str = ""
    issuer: str = ""
    client_id: str = Field(default="", alias="clientID")
    cli_client_id: str = Field(default="", alias="cliClientID")
    scopes: list[str] = Field(default_factory=list)
    id_token_claims: dict[str, OidcClaim] = Field(default_factory=dict)
    enable_pkce_authentication: bool = Field(default=False, alias="enablePKCEAuthentication")


class Help(ArgoModel):
    """Help links of the UI."""

    chat_url: str = ""
    chat_text: str = ""
    binary_urls: dict[str, str] = Field(default_factory=dict)


class KustomizeOptions(ArgoModel):
    """Global Kustomize build options."""

    build_options: str = ""
    binary_path: str = ""


class Command(ArgoModel):
    """A command line of a legacy config management plugin."""

    command: list[str] = Field(default_factory=list)
    args: list[str] = Field(default_factory=list)


class ConfigManagementPlugin(ArgoModel):
    """A legacy (argocd-cm) config management plugin."""

    name: str = always("")
    init: Command | None = None
    generate: Command = always(Command)
    lock_repo: bool = always(False)


class Plugin(ArgoModel):
    """A sidecar config management plugin name."""

    name: str = ""


class PluginsResponse(ArgoModel):
    """Response of `GET /api/v1/settings/plugins`."""

    plugins: list[Plugin] = Field(default_factory=list)


class Settings(ArgoModel):
    """Response of `GET /api/v1/settings` (public; every member optional)."""

    url: str = ""
    additional_urls: list[str] = Field(default_factory=list)
    dex_config: DexConfig | None = None
    oidc_config: OIDCConfig | None = None
    app_label_key: str = ""
    resource_overrides: dict[str, ResourceOverride] = Field(default_factory=dict)
    status_badge_enabled: bool = False
    status_badge_root_url: str = ""
    google_analytics: GoogleAnalyticsConfig | None = None
    kustomize_options: KustomizeOptions | None = None
    help: Help | None = None
    plugins: list[Plugin] = Field(default_factory=list)
    user_logins_disabled: bool = False
    kustomize_versions: list[str] = Field(default_factory=list)
    ui_css_url: str = Field(default="", alias="uiCssURL")
    ui_banner_content: str = ""
    ui_banner_url: str = Field(default="", alias="uiBannerURL")
    ui_banner_permanent: bool = False
    ui_banner_position: str = ""
    config_management_plugins: list[ConfigManagementPlugin] = Field(default_factory=list)
    exec_enabled: bool = False
    ui_login_button_text: str = ""
    password_pattern: str = ""
    tracking_method: str = ""
    controller_namespace: str = ""
    apps_in_any_namespace_enabled: bool = False
    impersonation_enabled: bool = False
    installation_id: str = Field(default="", alias="installationID")
    hydrator_enabled: bool = False
    sync_with_replace_allowed: bool = False
    resource_view_enabled: bool = False
