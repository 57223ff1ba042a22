"""SessionService routes: ``/api/v1/session`` and ``/auth/logout``."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from argocd_server.api.cookies import clear_token_cookies, cookie_path, set_token_cookies
from argocd_server.api.deps import JsonBody, SessionServiceDep, StateDep, body_str
from argocd_server.api.responses import EMPTY, json_response
from argocd_server.api.routing import Router

router = Router()


@router.post("/api/v1/session", operation_id="SessionService_Create")
def create_session(body: JsonBody, svc: SessionServiceDep, state: StateDep) -> Response:
    """Log in with a local account; answers the token and sets the session cookie."""
    token = svc.create(
        username=body_str(body, "username", message="SessionCreateRequest"),
        password=body_str(body, "password", message="SessionCreateRequest"),
        token=body_str(body, "token", message="SessionCreateRequest"),
    )
    response = json_response({"token": token})
    set_token_cookies(response, token, settings=state.settings)
    return response


@router.delete("/api/v1/session", operation_id="SessionService_Delete")
def delete_session(request: Request, svc: SessionServiceDep, state: StateDep) -> Response:
    """Log out: the presented session token is revoked and the cookie cleared."""
    svc.delete()
    response = json_response(EMPTY)
    if request.cookies:
        clear_token_cookies(response, request.cookies, settings=state.settings)
    return response


@router.get("/api/v1/session/userinfo", operation_id="SessionService_GetUserInfo")
def get_user_info(svc: SessionServiceDep) -> Response:
    return json_response(svc.get_user_info())


@router.get("/auth/logout", include_in_schema=False)
def logout(request: Request, svc: SessionServiceDep, state: StateDep) -> Response:
    """Browser logout as upstream: revoke, clear every token cookie, redirect to the base URL."""
    svc.delete()
    response = RedirectResponse(url=state.config.url or cookie_path(state.settings), status_code=303)
    clear_token_cookies(response, request.cookies, settings=state.settings)
    return response
