"""Errors the CLI reports and the exit codes it reports them with.

Upstream's CLI ends on most failures through a fatal log line and exit code 20 (its "generic error"); usage
mistakes exit 1, and a few commands have their own codes (``app diff``: 1 = differences found, 2 = error).
"""

from __future__ import annotations

EXIT_GENERIC = 20
EXIT_USAGE = 1

GRPC_CODE_NAMES = {
    0: "OK",
    1: "Canceled",
    2: "Unknown",
    3: "InvalidArgument",
    4: "DeadlineExceeded",
    5: "NotFound",
    6: "AlreadyExists",
    7: "PermissionDenied",
    8: "ResourceExhausted",
    9: "FailedPrecondition",
    10: "Aborted",
    11: "OutOfRange",
    12: "Unimplemented",
    13: "Internal",
    14: "Unavailable",
    15: "DataLoss",
    16: "Unauthenticated",
}

# When a body is not one of our JSON errors, the HTTP status still tells which gRPC code the server meant.
HTTP_TO_GRPC = {400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 409: 10, 415: 3, 429: 8, 501: 12, 503: 14, 504: 4}


class CliError(Exception):
    """A failure that ends the command: the message goes to the fatal log line, the process exits with the code."""

    def __init__(self, message: str, *, exit_code: int = EXIT_GENERIC) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class ApiError(CliError):
    """An error answer of the API, worded the way upstream's gRPC client words it."""

    def __init__(self, code: int, message: str, *, http_status: int = 0) -> None:
        self.code = code
        self.http_status = http_status
        self.detail = message
        name = GRPC_CODE_NAMES.get(code, f"Code({code})")
        super().__init__(f"rpc error: code = {name} desc = {message}")


class UsageError(CliError):
    """Bad arguments: reported like a usage error, exit code 1."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=EXIT_USAGE)
