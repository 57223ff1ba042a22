"""The one RBAC enforcement point services use: who is calling, and may they do this.

Routers never check permissions; every service receives an ``Access`` built per request from the principal and
the process-wide enforcer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from argocd_server.auth.rbac import Enforcer
from argocd_server.errors import PermissionDenied
from argocd_server.services.auth import Principal


@dataclass(frozen=True)
class Access:
    principal: Principal | None
    enforcer: Enforcer
    auth_disabled: bool = False

    @property
    def username(self) -> str:
        return self.principal.username if self.principal else ""

    def allowed(self, resource: str, action: str, obj: str) -> bool:
        if self.auth_disabled:
            return True
        claims = self.principal.rbac if self.principal else None
        return self.enforcer.enforce(claims, resource, action, obj)

    def allowed_many(self, resource: str, action: str, objects: Sequence[str]) -> list[bool]:
        """``allowed`` for each object, in order; one enforcer pass for a whole list."""
        if self.auth_disabled:
            return [True] * len(objects)
        claims = self.principal.rbac if self.principal else None
        return self.enforcer.allowed_many(claims, resource, action, objects)

    def check(self, resource: str, action: str, obj: str) -> None:
        """PermissionDenied with upstream's detailed text when the caller may not act."""
        if self.auth_disabled:
            return
        claims = self.principal.rbac if self.principal else None
        self.enforcer.enforce_or_raise(claims, resource, action, obj)

    def check_hidden(self, resource: str, action: str, obj: str) -> None:
        """PermissionDenied with the bare ``permission denied`` text, where upstream hides existence."""
        if not self.allowed(resource, action, obj):
            raise PermissionDenied()
