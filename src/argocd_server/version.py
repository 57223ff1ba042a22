"""The version this server reports: upstream's API version it is compatible with, plus our own."""

from __future__ import annotations

from argocd_server import __version__

UPSTREAM_VERSION = "3.6.0"
"""The upstream Argo CD release whose REST API this server reproduces."""


def server_version() -> str:
    """``v<upstream>+py.<ours>``: semver build metadata keeps clients' version parsing working."""
    return f"v{UPSTREAM_VERSION}+py.{__version__}"
