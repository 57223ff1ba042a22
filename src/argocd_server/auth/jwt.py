"""Local JWTs as upstream issues them: HS256, ``iss: argocd``, ``sub`` = ``<user>:login|apiKey`` or
``proj:<p>:<r>``, ``iat`` = ``nbf`` = issue time, ``exp`` optional, ``jti`` a UUID (or a caller-chosen id)."""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Mapping
from typing import Any

import jwt as pyjwt

from argocd_server.errors import Unauthenticated

ISSUER = "argocd"
_ALGORITHM = "HS256"


def issue_token(
    key: bytes,
    *,
    subject: str,
    expires_in: float | None,
    jti: str | None = None,
    now: float | None = None,
) -> tuple[str, dict[str, Any]]:
    """A signed token and its claims; ``expires_in`` None or <= 0 means the token never expires."""
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {"iss": ISSUER, "sub": subject}
    if expires_in is not None and expires_in > 0:
        claims["exp"] = issued + int(expires_in)
    claims["nbf"] = issued
    claims["iat"] = issued
    claims["jti"] = jti or str(uuid.uuid4())
    return pyjwt.encode(claims, key, algorithm=_ALGORITHM), claims


def looks_like_jwt(value: str) -> bool:
    return value.count(".") == 2


_DECODE_OPTIONS: Any = {
    "require": ["iat"],
    "verify_aud": False,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
}


@functools.lru_cache(maxsize=1024)
def _decoded(key: bytes, token: str) -> Mapping[str, Any]:
    """The signature-checked claims of ``token`` under ``key``: the same for the same two, so the answers for the
    tokens in use are kept (a request's token check is then a lookup; PyJWT spends about 50 microseconds per token).
    Only successes are kept; what depends on the time is checked by the caller on every use."""
    try:
        claims: dict[str, Any] = pyjwt.decode(
            token, key, algorithms=[_ALGORITHM], options=_DECODE_OPTIONS, issuer=ISSUER
        )
    except pyjwt.MissingRequiredClaimError:
        raise Unauthenticated("invalid session: token has invalid claims: token is missing iat") from None
    except pyjwt.InvalidSignatureError:
        raise Unauthenticated("invalid session: token signature is invalid") from None
    except pyjwt.PyJWTError:
        raise Unauthenticated("invalid session: token is malformed") from None
    return claims


def verify_token(key: bytes, token: str, *, now: float | None = None) -> dict[str, Any]:
    """Checked claims of a local token (the caller's own copy), or Unauthenticated with upstream's
    ``invalid session: ...`` text.

    Expiry and not-before are checked here against ``now`` (default: the wall clock) rather than by PyJWT, so a
    server clock can be injected.
    """
    claims = dict(_decoded(key, token))
    current = time.time() if now is None else now
    try:
        exp = claims.get("exp")
        nbf = claims.get("nbf")
        if exp is not None and int(exp) <= current:
            raise Unauthenticated("invalid session: token has invalid claims: token is expired")
        if nbf is not None and int(nbf) > current:
            raise Unauthenticated("invalid session: token has invalid claims: token is not valid yet")
        int(claims["iat"])
    except (TypeError, ValueError):
        raise Unauthenticated("invalid session: token is malformed") from None
    return claims
