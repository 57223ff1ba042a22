"""argocd-server: a Python re-implementation of the Argo CD API server, wire-compatible with /api/v1."""

__version__ = "0.1.0"
