"""Wire models of the SessionService tag (protobuf messages: every member omitempty)."""

from __future__ import annotations

from pydantic import Field

from argocd_server.schemas.common import ArgoModel

__all__ = ["GetUserInfoResponse", "SessionCreateRequest", "SessionResponse"]


class SessionCreateRequest(ArgoModel):
    """Body of `POST /api/v1/session`: username/password, or an existing token."""

    username: str = ""
    password: str = ""
    token: str = ""


class SessionResponse(ArgoModel):
    """A session token."""

    token: str = ""


class GetUserInfoResponse(ArgoModel):
    """Response of `GET /api/v1/session/userinfo`; `loggedIn: false` is omitted."""

    logged_in: bool = False
    username: str = ""
    iss: str = ""
    groups: list[str] = Field(default_factory=list)
