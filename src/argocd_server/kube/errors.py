"""Kubernetes API errors translated into the ``argocd_server.errors`` hierarchy.

Role: the one place where a failed Kubernetes call (an ``ApiException`` from the official client, a raw non-2xx
answer read straight from urllib3, or a transport failure) becomes an ``ArgoError``. Boundary: nothing above
``kube/`` ever sees a ``kubernetes`` or ``urllib3`` exception type; every public kube call runs inside
:func:`translating`.

Mapping (the Status ``code``/``reason`` decide, the message is the Status ``message`` verbatim, e.g.
``configmaps "x" not found``):

    401 -> Unauthenticated          403 -> PermissionDenied      404 -> NotFound
    409 AlreadyExists -> AlreadyExists, other 409 (resourceVersion or apply conflicts) -> Aborted
    400 / 422 -> InvalidArgument    410 -> Gone (an Aborted: the watch/list resourceVersion expired, relist)
    429 -> ResourceExhausted        405/406/415 -> InvalidArgument
    5xx, connection refused/reset, TLS failures -> Unavailable;   timeouts -> DeadlineExceeded
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
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)


class Gone(Aborted):
    """410: the resourceVersion a watch or paged list started from was compacted away; the caller must relist."""


_BY_STATUS: dict[int, type[ArgoError]] = {
    400: InvalidArgument,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    405: InvalidArgument,
    406: InvalidArgument,
    409: Aborted,
    410: Gone,
    415: InvalidArgument,
    422: InvalidArgument,
    429: ResourceExhausted,
    504: DeadlineExceeded,
}


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
    if code == 409 and reason == "AlreadyExists":
        return AlreadyExists(message)
    if code in _BY_STATUS:
        return _BY_STATUS[code](message)
    if code >= 500:
        return Unavailable(message)
    return ArgoError(message)


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
