"""The error hierarchy of argocd-server.

Every error a user can see is an ``ArgoError`` subclass carrying the gRPC code upstream would answer with and the
HTTP status grpc-gateway v1 maps that code to. ``api/errors.py`` renders them once as
``{"error": msg, "code": grpc_code, "message": msg}``; nothing else chooses an HTTP status. This module imports
nothing from FastAPI so every layer (engine, kube, db, services) can raise these.

    ArgoError (Unknown, 2 -> 500)
      Canceled (1 -> 408), InvalidArgument (3 -> 400), DeadlineExceeded (4 -> 504), NotFound (5 -> 404),
      AlreadyExists (6 -> 409), PermissionDenied (7 -> 403), ResourceExhausted (8 -> 429),
      FailedPrecondition (9 -> 400), Aborted (10 -> 409), OutOfRange (11 -> 400), Unimplemented (12 -> 501),
      Internal (13 -> 500), Unavailable (14 -> 503), DataLoss (15 -> 500), Unauthenticated (16 -> 401)
"""

from __future__ import annotations


class ArgoError(Exception):
    """An error with upstream's gRPC code; plain errors upstream answer as Unknown (2) / HTTP 500."""

    grpc_code: int = 2
    http_status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Canceled(ArgoError):
    grpc_code = 1
    http_status = 408


class InvalidArgument(ArgoError):
    grpc_code = 3
    http_status = 400


class DeadlineExceeded(ArgoError):
    grpc_code = 4
    http_status = 504


class NotFound(ArgoError):
    grpc_code = 5
    http_status = 404


class AlreadyExists(ArgoError):
    grpc_code = 6
    http_status = 409


class PermissionDenied(ArgoError):
    grpc_code = 7
    http_status = 403

    def __init__(self, message: str = "permission denied") -> None:
        super().__init__(message)


class ResourceExhausted(ArgoError):
    grpc_code = 8
    http_status = 429


class FailedPrecondition(ArgoError):
    """grpc-gateway v1 maps FailedPrecondition to 400, not 412."""

    grpc_code = 9
    http_status = 400


class Aborted(ArgoError):
    grpc_code = 10
    http_status = 409


class OutOfRange(ArgoError):
    grpc_code = 11
    http_status = 400


class Unimplemented(ArgoError):
    grpc_code = 12
    http_status = 501


class Internal(ArgoError):
    grpc_code = 13
    http_status = 500


class Unavailable(ArgoError):
    grpc_code = 14
    http_status = 503


class DataLoss(ArgoError):
    grpc_code = 15
    http_status = 500


class Unauthenticated(ArgoError):
    grpc_code = 16
    http_status = 401


class SourceError(ArgoError):
    """Fetching or rendering a source failed (git, helm, kustomize, directory); message already redacted."""


class SourceNotFound(NotFound):
    """A git repository, revision or path that does not exist."""
