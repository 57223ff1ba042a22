"""SessionService: login, logout and user info (upstream server/session)."""

from __future__ import annotations

from typing import Any

from argocd_server.errors import Unauthenticated
from argocd_server.services.auth import Authenticator, Principal


class SessionService:
    def __init__(self, *, authenticator: Authenticator, principal: Principal | None) -> None:
        self._auth = authenticator
        self._principal = principal

    def create(self, *, username: str, password: str, token: str) -> str:
        if token:
            raise Unauthenticated(
                "token-based session creation no longer supported. please upgrade argocd cli to v0.7+"
            )
        return self._auth.login(username, password)

    def delete(self) -> None:
        """Logout: the presented token is revoked (upstream only does this on ``/auth/logout``)."""
        if self._principal is not None and self._principal.capability == "login":
            self._auth.revoke(self._principal)

    def get_user_info(self) -> dict[str, Any]:
        if self._principal is None:
            return {}
        info: dict[str, Any] = {
            "loggedIn": True,
            "username": self._principal.username,
            "iss": self._principal.claims.get("iss", ""),
        }
        if self._principal.groups:
            info["groups"] = list(self._principal.groups)
        return info
