"""Kubernetes-style API errors: an exception carrying a ``Status`` body."""

from __future__ import annotations

from typing import Any

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    500: "InternalError",
}


class ApiError(Exception):
    """An error answered to the client as a ``Status`` object."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # An explicit "" is the API server's StatusReasonUnknown (errors it did not classify), left off the wire.
        self.reason = reason if reason is not None else _REASONS.get(code, "Unknown")
        self.details = details

    def status(self) -> dict[str, Any]:
        """The wire form of the error."""
        return status_body(code=self.code, message=self.message, reason=self.reason, details=self.details)


def status_body(*, code: int, message: str, reason: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """A failure ``Status`` as the API server writes it."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
    }
    if reason:
        body["reason"] = reason
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def _details(name: str, group: str, *, kind: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    return details


def not_found(*, group: str, resource: str, name: str) -> ApiError:
    """``<resource>[.<group>] "<name>" not found``."""
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(
        404,
        f'{qualified} "{name}" not found',
        details=_details(name, group, kind=resource),
    )


def already_exists(*, group: str, resource: str, name: str) -> ApiError:
    """``<resource> "<name>" already exists``."""
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(
        409,
        f'{qualified} "{name}" already exists',
        reason="AlreadyExists",
        details=_details(name, group, kind=resource),
    )


def conflict(*, group: str, resource: str, name: str, why: str) -> ApiError:
    """``Operation cannot be fulfilled on ...`` (optimistic-concurrency failure)."""
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {qualified} "{name}": {why}',
        reason="Conflict",
        details=_details(name, group, kind=resource),
    )


def invalid(*, group: str, kind: str, name: str, causes: list[tuple[str, str, str]]) -> ApiError:
    """A 422 whose causes are ``(field, reason type, message)``."""
    qualified = f"{kind}.{group}" if group else kind
    text = ", ".join(f"{field}: {msg}" for field, _, msg in causes)
    if len(causes) > 1:
        text = "[" + text + "]"
    details = _details(name, group, kind=kind)
    details["causes"] = [{"reason": reason, "message": msg, "field": field} for field, reason, msg in causes]
    return ApiError(422, f'{qualified} "{name}" is invalid: {text}', details=details)


def bad_request(message: str) -> ApiError:
    """A plain 400."""
    return ApiError(400, message)


def forbidden(*, user: str, verb: str, group: str, resource: str, name: str, namespace: str) -> ApiError:
    """The RBAC denial wording."""
    target = f'{resource} "{name}"' if name else resource
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = f'{target} is forbidden: User "{user}" cannot {verb} resource "{resource}" in API group "{group}" {where}'
    details = _details(name, group, kind=resource) if name else {"group": group, "kind": resource}
    if not group:
        details.pop("group", None)
    return ApiError(403, message, details=details)
