"""Kubernetes API errors translated into the ``argocd_server.errors`` hierarchy.

Role: the one place where a failed Kubernetes call (an ``ApiException`` from the official client, a raw non-2xx
answer read straight from urllib3, or a transport failure) becomes an ``ArgoError``. Boundary: nothing above
``kube/`` ever sees a ``kubernetes`` or ``urllib3`` exception type; every public kube call runs inside
:func:`translating`.

Mapping, as upstream's API server maps a Kubernetes error to a gRPC code (the first rule that fits, in this order;
a rule fits when the Status ``reason`` is its reason, or when the reason is not one Kubernetes defines and the HTTP
code is its code; the message is the Status ``message`` verbatim, e.g. ``configmaps "x" not found``):

    NotFound (404) -> NotFound              AlreadyExists (reason only) -> AlreadyExists
    Invalid (422) -> InvalidArgument        MethodNotAllowed (405) -> Unimplemented
    ServiceUnavailable (503) -> Unavailable BadRequest (400) -> FailedPrecondition
    Unauthorized (401) -> Unauthenticated   Forbidden (403) -> PermissionDenied
    Timeout (504) -> DeadlineExceeded       ServerTimeout (reason only) -> Unavailable
    Conflict (409) -> Aborted               TooManyRequests (429, whatever the reason) -> ResourceExhausted
    InternalError (500) -> Internal         anything else -> ArgoError (Unknown, HTTP 500)

A 410 (the resourceVersion a watch or list started from expired) is ``Gone``, an Unknown error as upstream's, which
the watches catch to relist. Without an HTTP answer at all (connection refused or reset, TLS failures) the call is
Unavailable; a timeout is DeadlineExceeded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import orjson
import urllib3.exceptions
from kubernetes.client.exceptions import ApiException, ApiValueError

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


class Gone(ArgoError):
    """410: the resourceVersion a watch or paged list started from was compacted away; the caller must relist."""


# The reasons Kubernetes defines (metav1.StatusReason): with one of them, the HTTP code alone decides nothing.
_KNOWN_REASONS = frozenset(
    {
        "Unauthorized",
        "Forbidden",
        "NotFound",
        "AlreadyExists",
        "Conflict",
        "Gone",
        "Invalid",
        "ServerTimeout",
        "StoreReadError",
        "Timeout",
        "TooManyRequests",
        "BadRequest",
        "MethodNotAllowed",
        "NotAcceptable",
        "RequestEntityTooLarge",
        "UnsupportedMediaType",
        "InternalError",
        "Expired",
        "ServiceUnavailable",
    }
)

# (reason, the HTTP code that stands for it when the reason is unknown, class), tried in this order.
_RULES: tuple[tuple[str, int | None, type[ArgoError]], ...] = (
    ("NotFound", 404, NotFound),
    ("AlreadyExists", None, AlreadyExists),
    ("Invalid", 422, InvalidArgument),
    ("MethodNotAllowed", 405, Unimplemented),
    ("ServiceUnavailable", 503, Unavailable),
    ("BadRequest", 400, FailedPrecondition),
    ("Unauthorized", 401, Unauthenticated),
    ("Forbidden", 403, PermissionDenied),
    ("Timeout", 504, DeadlineExceeded),
    ("ServerTimeout", None, Unavailable),
    ("Conflict", 409, Aborted),
    ("TooManyRequests", 429, ResourceExhausted),
    ("InternalError", 500, Internal),
)


def _class_for(reason: str, code: int) -> type[ArgoError]:
    unknown_reason = reason not in _KNOWN_REASONS
    for rule_reason, rule_code, cls in _RULES:
        # Too many requests is recognised by its code whatever the reason says (upstream too).
        by_code = code == rule_code and (unknown_reason or rule_reason == "TooManyRequests")
        if reason == rule_reason or by_code:
            return cls
    if reason in ("Gone", "Expired") or (unknown_reason and code == 410):
        return Gone
    return ArgoError


def _status_body(raw: bytes | str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def translate_status(status: int, body: bytes | str | None, *, fallback: str = "") -> ArgoError:
    """An ``ArgoError`` for an HTTP status and (maybe) a Kubernetes ``Status`` body."""
    doc = _status_body(body)
    message = str(doc.get("message") or "")
    if not message:
        text = body.decode(errors="replace") if isinstance(body, bytes) else (body or "")
        message = text.strip()[:500] or fallback or f"the server responded with status {status}"
    reason = str(doc.get("reason") or "")
    code = int(doc.get("code") or status or 0)
    return _class_for(reason, code)(message)


def translate(exc: ApiException) -> ArgoError:
    """An ``ArgoError`` for an ``ApiException`` raised by the official client."""
    status = int(exc.status or 0)
    if status == 0:
        # The client raises ApiException(status=0) for its own transport failures.
        return Unavailable(str(exc.reason or "connection failed"))
    return translate_status(status, exc.body, fallback=str(exc.reason or ""))


def translate_transport(exc: BaseException) -> ArgoError:
    """An ``ArgoError`` for a urllib3/socket-level failure (no HTTP answer at all)."""
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        return translate_transport(exc.reason)
    # NewConnectionError subclasses ConnectTimeoutError in urllib3 2 for compatibility: refused is not a timeout.
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return Unavailable(f"unable to reach the Kubernetes API: {exc}")
    if isinstance(exc, (urllib3.exceptions.TimeoutError, TimeoutError)):
        return DeadlineExceeded(f"timeout talking to the Kubernetes API: {exc}")
    return Unavailable(f"unable to reach the Kubernetes API: {exc}")


@contextlib.contextmanager
def translating() -> Iterator[None]:
    """Run a block (or decorate a function) so foreign Kubernetes/transport errors leave as ``ArgoError``."""
    try:
        yield
    except ArgoError:
        raise
    except ApiException as exc:
        raise translate(exc) from exc
    except ApiValueError as exc:
        raise InvalidArgument(str(exc)) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise translate_transport(exc) from exc
