"""The local config file (``~/.config/argocd/config``) in upstream's YAML layout.

Layout: ``contexts: [{name, server, user}]``, ``servers: [{server, insecure, plain-text, grpc-web,
grpc-web-root-path, core, ...}]``, ``users: [{name, auth-token, refresh-token}]``, ``current-context``. Keys we do
not know are kept as they were, so a file written by upstream's CLI survives a round trip through ours.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from argocd_server.cli.errors import CliError


def default_config_dir() -> Path:
    """Where upstream keeps its config: ``$ARGOCD_CONFIG_DIR``, a legacy ``~/.argocd``, else the XDG location."""
    env_dir = os.environ.get("ARGOCD_CONFIG_DIR")
    if env_dir:
        return Path(env_dir)
    home = Path(os.environ.get("HOME") or Path.home())
    legacy = home / ".argocd"
    if legacy.exists():
        return legacy
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return Path(xdg) / "argocd" if xdg else home / ".config" / "argocd"


def default_config_path() -> Path:
    return default_config_dir() / "config"


@dataclass
class ResolvedContext:
    """A context joined with its server and user entries."""

    name: str
    server: dict[str, Any]
    user: dict[str, Any]


class LocalConfig:
    """The parsed config file; an absent file reads as an empty config."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = data or {}
        for key in ("contexts", "servers", "users"):
            if not isinstance(self.data.get(key), list):
                self.data[key] = []

    @classmethod
    def read(cls, path: Path) -> LocalConfig | None:
        if not path.exists():
            return None
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise CliError(f"error reading local config {path}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise CliError(f"local config {path} is not a YAML mapping")
        return cls(loaded)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(self.data, default_flow_style=False, sort_keys=True)
        # The file holds bearer tokens: owner-only, as upstream writes it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        path.chmod(0o600)

    @property
    def contexts(self) -> list[dict[str, Any]]:
        value: list[dict[str, Any]] = self.data["contexts"]
        return value

    @property
    def servers(self) -> list[dict[str, Any]]:
        value: list[dict[str, Any]] = self.data["servers"]
        return value

    @property
    def users(self) -> list[dict[str, Any]]:
        value: list[dict[str, Any]] = self.data["users"]
        return value

    @property
    def current_context(self) -> str:
        return str(self.data.get("current-context") or "")

    @current_context.setter
    def current_context(self, name: str) -> None:
        self.data["current-context"] = name

    @staticmethod
    def _find(items: list[dict[str, Any]], key: str, value: str) -> dict[str, Any] | None:
        return next((item for item in items if item.get(key) == value), None)

    def context(self, name: str) -> dict[str, Any] | None:
        return self._find(self.contexts, "name", name)

    def server(self, address: str) -> dict[str, Any] | None:
        return self._find(self.servers, "server", address)

    def user(self, name: str) -> dict[str, Any] | None:
        return self._find(self.users, "name", name)

    def resolve(self, name: str = "") -> ResolvedContext | None:
        """The named context (default: the current one) with its server and user; None when nothing is current."""
        name = name or self.current_context
        if not name:
            return None
        ctx = self.context(name)
        if ctx is None:
            raise CliError(f"Context {name} does not exist")
        server = self.server(str(ctx.get("server", ""))) or {"server": ctx.get("server", "")}
        user = self.user(str(ctx.get("user", ""))) or {"name": ctx.get("user", "")}
        return ResolvedContext(name=name, server=server, user=user)

    def upsert(self, items: list[dict[str, Any]], key: str, entry: dict[str, Any]) -> None:
        existing = self._find(items, key, str(entry[key]))
        if existing is None:
            items.append(entry)
        else:
            existing.update(entry)

    def remove_token(self, user_name: str) -> bool:
        user = self.user(user_name)
        if user is None:
            return False
        user.pop("auth-token", None)
        user.pop("refresh-token", None)
        return True

    def remove_context(self, name: str) -> bool:
        """Drops the context, and its server and user when no other context uses them."""
        ctx = self.context(name)
        if ctx is None:
            return False
        self.contexts.remove(ctx)
        if not any(c.get("server") == ctx.get("server") for c in self.contexts):
            self.data["servers"] = [s for s in self.servers if s.get("server") != ctx.get("server")]
        if not any(c.get("user") == ctx.get("user") for c in self.contexts):
            self.data["users"] = [u for u in self.users if u.get("name") != ctx.get("user")]
        if self.current_context == name:
            self.current_context = ""
        return True
