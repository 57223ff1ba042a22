"""Password hashing with bcrypt (cost 10, as upstream) through the passlib API (maintained fork: libpass)."""

from __future__ import annotations

import hmac
import secrets
import string

from passlib.hash import bcrypt

from argocd_server.errors import InvalidArgument

BCRYPT_ROUNDS = 10
_MAX_BYTES = 72
# A real hash of a random password: verifying against it costs as much as a real check, so unknown users and
# users without a password take the same time as known ones.
_DUMMY_HASH = bcrypt.using(rounds=BCRYPT_ROUNDS).hash(secrets.token_hex(16))

_INITIAL_ALPHABET = string.ascii_letters + string.digits + "-"


def hash_password(password: str) -> str:
    if len(password.encode()) > _MAX_BYTES:
        raise InvalidArgument("password is too long (72 bytes max)")
    return str(bcrypt.using(rounds=BCRYPT_ROUNDS).hash(password))


def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant-work check; a missing hash still runs bcrypt against a dummy and answers False."""
    candidate = password.encode()
    if len(candidate) > _MAX_BYTES or not password_hash:
        bcrypt.verify("x", _DUMMY_HASH)
        return False
    try:
        return bool(bcrypt.verify(password, password_hash))
    except ValueError:
        bcrypt.verify("x", _DUMMY_HASH)
        return False


def generate_initial_password(length: int = 16) -> str:
    """A random password from ``[0-9A-Za-z-]``, like upstream's initial admin password."""
    return "".join(secrets.choice(_INITIAL_ALPHABET) for _ in range(length))


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
