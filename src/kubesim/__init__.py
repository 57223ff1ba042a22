"""kubesim: a simulated Kubernetes API server speaking the real HTTP protocol, for tests."""

from kubesim.auth import TokenGrant
from kubesim.errors import ApiError
from kubesim.server import KubeSim

__all__ = ["ApiError", "KubeSim", "TokenGrant"]
