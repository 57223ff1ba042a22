"""Wire models of the AccountService tag (protobuf messages: every member omitempty).

`enabled: false` therefore disappears from account listings, as upstream's does.
"""

from __future__ import annotations

from pydantic import Field

from argocd_server.schemas.common import ArgoModel

__all__ = [
    "Account",
    "AccountsList",
    "CanIResponse",
    "CreateTokenRequest",
    "CreateTokenResponse",
    "EmptyResponse",
    "Token",
    "UpdatePasswordRequest",
]


class Token(ArgoModel):
    """An API token issued to an account; times are Unix seconds."""

    id: str = ""
    issued_at: int = 0
    expires_at: int = 0


class Account(ArgoModel):
    """A local account."""

    name: str = ""
    enabled: bool = False
    capabilities: list[str] = Field(default_factory=list)
    tokens: list[Token] = Field(default_factory=list)


class AccountsList(ArgoModel):
    """Response of `GET /api/v1/account`."""

    items: list[Account] = Field(default_factory=list)


class CanIResponse(ArgoModel):
    """`yes` or `no`."""

    value: str = ""


class UpdatePasswordRequest(ArgoModel):
    """Body of `PUT /api/v1/account/password`."""

    new_password: str = ""
    current_password: str = ""
    name: str = ""


class CreateTokenRequest(ArgoModel):
    """Body of `POST /api/v1/account/{name}/token`; `expiresIn` is seconds (0 = never)."""

    name: str = ""
    expires_in: int = 0
    id: str = ""


class CreateTokenResponse(ArgoModel):
    """A freshly issued account token."""

    token: str = ""


class EmptyResponse(ArgoModel):
    """`{}`: the answer of delete/update style calls."""
