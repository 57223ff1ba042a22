"""The single exception -> HTTP mapping: ``{"error","code","message"}`` with grpc-gateway v1 statuses.

Unknown ``/api`` routes are 404 and wrong methods 405 as plain text, like grpc-gateway's own answers; request
validation failures are InvalidArgument/400 (grpc-gateway never answers 422); anything unexpected is logged with
its traceback and answered as Internal/500 with a generic message.
"""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from argocd_server.errors import ArgoError, Internal, InvalidArgument

log = logging.getLogger(__name__)


def error_body(error: ArgoError) -> bytes:
    return orjson.dumps({"error": error.message, "code": error.grpc_code, "message": error.message})


def error_response(error: ArgoError) -> Response:
    return Response(content=error_body(error), status_code=error.http_status, media_type="application/json")


def validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


async def _argo_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ArgoError)
    return error_response(exc)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(InvalidArgument(validation_message(exc)))


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return PlainTextResponse("Not Found", status_code=404)
    if exc.status_code == 405:
        return PlainTextResponse("Method Not Allowed", status_code=405)
    return PlainTextResponse(str(exc.detail), status_code=exc.status_code)


async def _unexpected(_request: Request, exc: Exception) -> Response:
    log.error("unexpected error serving a request", exc_info=exc)
    return error_response(Internal("internal error"))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ArgoError, _argo_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
