"""Annotated dependency aliases: the only way routers reach state, sessions, the caller and services.

Cheap dependencies are ``async def`` so FastAPI runs them on the event loop instead of hopping to a worker thread
for each (token checks are CPU-only, with account state cached; the routers' service factories only build objects):
each hop costs a thread wake-up, and more while the controller's threads hold the interpreter. Anything that touches
the database (the session dependency, the routes themselves) stays ``def``.

Token lookup follows upstream (first hit wins): the ``Grpc-Metadata-Token`` header, ``Authorization: Bearer``
(only when the value has three dot-separated parts), then the ``argocd.token`` cookie, reassembled from its chunks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import orjson
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from argocd_server.api.cookies import read_token_cookie, token_cookie_lines
from argocd_server.api.middleware import EXTRA_HEADERS_KEY
from argocd_server.api.state import AppState
from argocd_server.auth.jwt import looks_like_jwt
from argocd_server.db.engine import writes_first
from argocd_server.errors import ArgoError, InvalidArgument, ResourceExhausted, Unauthenticated
from argocd_server.services.access import Access
from argocd_server.services.account import AccountService
from argocd_server.services.auth import Principal
from argocd_server.services.info import InfoService
from argocd_server.services.session import SessionService

RENEW_HEADER = "Grpc-Metadata-Renew-Token"


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.argo
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_db(request: Request, state: StateDep) -> AsyncIterator[Session]:
    """The request's session. Services commit before returning; this only rolls back leftovers and closes.

    Built on the event loop: a session connects lazily, so that costs no I/O. A mutating request's session begins
    its first transaction as a writer (``BEGIN IMMEDIATE`` on SQLite) at its first statement, in the endpoint's worker
    thread (``writes_first``); reads never queue behind the single writer. Ending a SQLite session is a local call
    and stays on the loop; a PostgreSQL transaction ends with a round trip, in a worker thread."""
    session = state.sessions()
    if request.method not in ("GET", "HEAD"):
        writes_first(session, state.engine)
    try:
        yield session
    finally:
        if session.in_transaction() and state.engine.dialect.name != "sqlite":
            await anyio.to_thread.run_sync(_finish, session)
        else:
            _finish(session)


def _finish(session: Session) -> None:
    session.rollback()
    session.close()


DbSession = Annotated[Session, Depends(get_db)]


def extract_token(request: Request) -> str | None:
    header = request.headers.get("grpc-metadata-token")
    if header:
        return header.strip()
    authorization = request.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and looks_like_jwt(value.strip()):
        return value.strip()
    cookie = read_token_cookie(request.cookies)
    if cookie and looks_like_jwt(cookie):
        return cookie
    return None


def _renew(state: AppState, principal: Principal, request: Request) -> None:
    if state.authenticator.needs_renewal(principal):
        token = state.authenticator.renew(principal)
        headers = [(b"set-cookie", line.encode()) for line in token_cookie_lines(token, settings=state.settings)]
        headers.append((RENEW_HEADER.lower().encode(), token.encode()))
        setattr(request.state, EXTRA_HEADERS_KEY, headers)


async def optional_principal(request: Request, state: StateDep) -> Principal | None:
    """For endpoints upstream exempts from auth: claims are used when valid, errors ignored."""
    token = extract_token(request)
    if not token:
        return None
    try:
        principal = state.authenticator.authenticate(token)
    except Unauthenticated:
        return None
    _renew(state, principal, request)
    return principal


async def required_principal(request: Request, state: StateDep) -> Principal | None:
    """The caller, or Unauthenticated; None only when anonymous access is on or auth is disabled."""
    config = state.config
    token = extract_token(request)
    if not token:
        if config.anonymous_enabled or config.disable_auth:
            return None
        raise Unauthenticated("no session information")
    try:
        principal = state.authenticator.authenticate(token)
    except Unauthenticated:
        if config.anonymous_enabled or config.disable_auth:
            return None
        raise
    _renew(state, principal, request)
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
CurrentPrincipal = Annotated[Principal | None, Depends(required_principal)]


async def get_access(principal: CurrentPrincipal, state: StateDep) -> Access:
    return Access(principal=principal, enforcer=state.enforcer, auth_disabled=state.config.disable_auth)


AccessDep = Annotated[Access, Depends(get_access)]


async def json_body(request: Request, state: StateDep) -> dict[str, Any]:
    """The request body as a JSON object; empty is ``{}`` as Go's decoder leaves fields unset."""
    limit = state.settings.max_request_bytes
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ResourceExhausted(f"grpc: received message larger than max (limit {limit} bytes)")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"invalid character in JSON body: {exc.msg}") from None
    if not isinstance(data, dict):
        raise InvalidArgument(f"json: cannot unmarshal {type(data).__name__} into Go value of type object")
    return data


JsonBody = Annotated[dict[str, Any], Depends(json_body)]


_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})


def query_bool(name: str, value: str | None, *, default: bool = False) -> bool:
    """A query boolean as grpc-gateway reads it (Go's strconv.ParseBool); absent or empty is ``default``."""
    if value is None or value == "":
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidArgument(f'parsing field "{name}": strconv.ParseBool: parsing "{value}": invalid syntax')


def one_project(request: Request) -> str:
    """The single ``projects``/``project`` query value single-app reads accept (upstream refuses several)."""
    projects = request.query_params.getlist("projects") or request.query_params.getlist("project")
    if len(projects) > 1:
        raise InvalidArgument("multiple projects specified - the get endpoint accepts either zero or one project")
    return projects[0] if projects else ""


def body_str(body: dict[str, Any], key: str, *, message: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidArgument(
            f"json: cannot unmarshal {type(value).__name__} into Go struct field {message}.{key} of type string"
        )
    return value


def body_int(body: dict[str, Any], key: str, *, message: str) -> int:
    value = body.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidArgument(f"json: cannot unmarshal into Go struct field {message}.{key} of type int64")
    try:
        return int(value)
    except ValueError:
        raise InvalidArgument(f"json: invalid number for Go struct field {message}.{key} of type int64") from None


async def session_service(state: StateDep, principal: OptionalPrincipal) -> SessionService:
    return SessionService(authenticator=state.authenticator, principal=principal)


async def account_service(db: DbSession, state: StateDep, access: AccessDep) -> AccountService:
    return AccountService(
        session=db,
        access=access,
        authenticator=state.authenticator,
        namespace=state.settings.namespace,
    )


async def info_service_optional(state: StateDep, principal: OptionalPrincipal) -> InfoService:
    return InfoService(
        config=state.config,
        principal=principal,
        tools=state.tools,
        namespace=state.settings.namespace,
    )


async def info_service_required(state: StateDep, principal: CurrentPrincipal) -> InfoService:
    return InfoService(
        config=state.config,
        principal=principal,
        tools=state.tools,
        namespace=state.settings.namespace,
    )


SessionServiceDep = Annotated[SessionService, Depends(session_service)]
AccountServiceDep = Annotated[AccountService, Depends(account_service)]
PublicInfoServiceDep = Annotated[InfoService, Depends(info_service_optional)]
InfoServiceDep = Annotated[InfoService, Depends(info_service_required)]

__all__ = ["ArgoError"]
