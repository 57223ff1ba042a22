"""How a Kubernetes Status becomes an error code: upstream's table, the reason first, the HTTP code only when the
reason is not one Kubernetes defines."""

from __future__ import annotations

import orjson
import pytest

from argocd_server.errors import (
    Aborted,
    AlreadyExists,
    ArgoError,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
)
from argocd_server.kube.errors import Gone, translate_status


def _status(code: int, reason: str | None) -> bytes:
    body: dict[str, object] = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "m", "code": code}
    if reason is not None:
        body["reason"] = reason
    return orjson.dumps(body)


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (404, "NotFound", NotFound),
        (409, "AlreadyExists", AlreadyExists),
        (422, "Invalid", InvalidArgument),
        (405, "MethodNotAllowed", Unimplemented),
        (503, "ServiceUnavailable", Unavailable),
        (400, "BadRequest", FailedPrecondition),
        (401, "Unauthorized", Unauthenticated),
        (403, "Forbidden", PermissionDenied),
        (504, "Timeout", DeadlineExceeded),
        (500, "ServerTimeout", Unavailable),
        (409, "Conflict", Aborted),
        (429, "TooManyRequests", ResourceExhausted),
        (500, "InternalError", Internal),
        # No reason, or one Kubernetes does not define: the HTTP code decides.
        (404, None, NotFound),
        (400, "", FailedPrecondition),
        (409, None, Aborted),
        (500, "SomethingNew", Internal),
        (504, None, DeadlineExceeded),
        # A reason Kubernetes defines that no rule names: the code does not count; an Unknown error.
        (400, "RequestEntityTooLarge", ArgoError),
        (406, "NotAcceptable", ArgoError),
        (415, "UnsupportedMediaType", ArgoError),
        (502, None, ArgoError),
        # TooManyRequests is recognised by its code whatever the reason says.
        (429, "Forbidden", PermissionDenied),
        (429, "StoreReadError", ResourceExhausted),
    ],
)
def test_status_to_error(code: int, reason: str | None, expected: type[ArgoError]) -> None:
    error = translate_status(code, _status(code, reason))
    assert type(error) is expected
    assert error.message == "m"


def test_an_expired_resource_version_is_gone_an_unknown_error() -> None:
    for reason in ("Expired", "Gone", None):
        error = translate_status(410, _status(410, reason))
        assert type(error) is Gone
        assert error.grpc_code == 2


def test_an_answer_that_is_not_a_status_keeps_its_text_and_its_http_code_decides() -> None:
    error = translate_status(503, b"<html>upstream connect error</html>")
    assert type(error) is Unavailable
    assert error.message == "<html>upstream connect error</html>"
