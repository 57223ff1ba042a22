"""The error of ApplicationSet generation, and how it reaches the API the way upstream's interceptors shape it.

Upstream builds generation errors by wrapping (``fmt.Errorf("...: %w", err)``). At the API boundary its interceptors
then rewrite some of them: an error that wraps a gRPC status (a repo-server failure) answers with *that status's*
code and message only; one that wraps a Kubernetes NotFound answers NotFound with the full text; anything else is a
plain error (Unknown) with the full text. :class:`GenerationError` keeps what is needed to do the same: the
full message, the innermost status error (``status``) and the Kubernetes-derived class (``kube``).
"""

from __future__ import annotations

from argocd_server.errors import ArgoError

__all__ = ["GenerationError"]


class GenerationError(ArgoError):
    """A failure while generating parameters or rendering applications."""

    def __init__(
        self,
        message: str,
        *,
        status: ArgoError | None = None,
        kube: type[ArgoError] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kube = kube

    def wrap(self, prefix: str) -> GenerationError:
        """``fmt.Errorf(prefix + ": %w", self)``."""
        return GenerationError(f"{prefix}: {self.message}", status=self.status, kube=self.kube)

    def resolve(self, *, suffix: str = "") -> ArgoError:
        """The error the API answers with (upstream kubeErrToGRPC after the handler returned this error)."""
        if self.kube is not None:
            return self.kube(self.message + suffix)
        if self.status is not None:
            return self.status
        return ArgoError(self.message + suffix)
