"""Bearer-token authentication and a namespace-scoped authorization model."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kubesim.errors import ApiError, forbidden
from kubesim.resources import ResourceType

ADMIN_USER = "system:admin"


@dataclass(frozen=True)
class TokenGrant:
    """What a token may do: ``namespaces=None`` means everything, cluster-scoped included."""

    user: str = "admin"
    namespaces: frozenset[str] | None = None


TokenSpec = TokenGrant | Iterable[str] | None


def _grant(index: int, spec: TokenSpec) -> TokenGrant:
    if isinstance(spec, TokenGrant):
        return spec
    if spec is None:
        return TokenGrant(user="admin" if index == 0 else f"admin-{index}")
    return TokenGrant(user=f"user-{index}", namespaces=frozenset(spec))


class Authenticator:
    """Holds the configured tokens; with none configured every request is the admin user."""

    def __init__(self, tokens: Mapping[str, TokenSpec] | None = None) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, TokenGrant] = {}
        if tokens:
            self.set_tokens(tokens)

    @property
    def enabled(self) -> bool:
        return bool(self._tokens)

    def set_tokens(self, tokens: Mapping[str, TokenSpec] | None) -> None:
        """Replace the token table (rotation takes effect on the next request)."""
        table = {tok: _grant(i, spec) for i, (tok, spec) in enumerate((tokens or {}).items())}
        with self._lock:
            self._tokens = table

    def authenticate(self, header: str | None) -> TokenGrant:
        with self._lock:
            table = self._tokens
        if not table:
            return TokenGrant(user=ADMIN_USER)
        if header and header.lower().startswith("bearer "):
            presented = header[7:].strip()
            for token, grant in table.items():
                if hmac.compare_digest(token.encode(), presented.encode()):
                    return grant
        raise ApiError(401, "Unauthorized", reason="Unauthorized")

    @staticmethod
    def authorize(grant: TokenGrant, *, verb: str, rt: ResourceType, namespace: str | None, name: str) -> None:
        """403 unless the grant covers the request."""
        allowed = grant.namespaces
        if allowed is None:
            return
        if rt.namespaced and namespace is not None and namespace in allowed:
            return
        if rt.plural == "namespaces" and not rt.group and name in allowed and verb == "get":
            return
        raise forbidden(
            user=grant.user,
            verb=verb,
            group=rt.group,
            resource=rt.plural,
            name=name,
            namespace=namespace or "",
        )
