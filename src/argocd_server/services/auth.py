"""Authentication: login, token verification with upstream's checks and texts, lockout, revocation.

Reproduces upstream's util/session: the order of checks in token verification decides the error text users see
(§2.3 of the API reference), so it is kept exactly. Account secrets and revocations live in the database; to keep
a token check cheap they are cached per process for ``auth_cache_seconds`` (local writes invalidate at once, other
replicas see them after at most that long).
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.orm import Session, sessionmaker

from argocd_server.auth.jwt import issue_token, verify_token
from argocd_server.auth.passwords import generate_initial_password, hash_password, verify_password
from argocd_server.auth.rbac import Claims
from argocd_server.config import AccountConfig, ArgoConfig
from argocd_server.db.stores.accounts import AccountStore, RevokedTokenStore
from argocd_server.errors import InvalidArgument, Unauthenticated

log = logging.getLogger(__name__)

MAX_USERNAME_BYTES = 32
RENEW_BEFORE_SECONDS = 300
INITIAL_PASSWORD_FILE = "initial-admin-password"  # noqa: S105 - a file name

ProjectTokenLookup = Callable[[str, str], Sequence[Mapping[str, Any]] | None]
"""(project, role) -> the role's issued token records ``{"id", "iat", "exp"}``, or None if role/project missing."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    username: str
    """``admin``, ``alice``, or ``proj:<p>:<r>`` for project tokens."""
    capability: str
    """``login``, ``apiKey`` or ``project``."""
    claims: Mapping[str, Any] = field(repr=False)
    groups: tuple[str, ...] = ()

    @property
    def rbac(self) -> Claims:
        iat = self.claims.get("iat")
        return Claims(
            subject=self.username,
            groups=self.groups,
            iat=int(iat) if iat is not None else None,
            raw=self.claims,
        )

    @property
    def is_local_user(self) -> bool:
        return self.capability in {"login", "apiKey"}


@dataclass
class _AccountState:
    password_mtime: int | None
    token_ids: frozenset[str]
    loaded_at: float


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


class LoginLimiter:
    """Upstream's login throttling: per-user failure counts with a window, and a cap on concurrent logins."""

    MAX_TRACKED = 10_000

    def __init__(
        self,
        *,
        max_failures: int,
        window_seconds: float,
        max_concurrent: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_failures = max_failures
        self._window = window_seconds
        self.clock = clock
        """Replaceable (tests move time forward without sleeping)."""
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, max_concurrent))

    def try_enter(self) -> bool:
        return self._slots.acquire(blocking=False)

    def leave(self) -> None:
        self._slots.release()

    def _current(self, username: str, now: float) -> int:
        entry = self._failures.get(username)
        if entry is None:
            return 0
        count, last = entry
        if now - last > self._window:
            del self._failures[username]
            return 0
        return count

    def locked(self, username: str) -> bool:
        with self._lock:
            return self._current(username, self.clock()) >= self._max_failures

    def record_failure(self, username: str) -> None:
        with self._lock:
            now = self.clock()
            count = self._current(username, now)
            if len(self._failures) >= self.MAX_TRACKED and username not in self._failures:
                victims = [u for u in self._failures if u != "admin"]
                if victims:
                    del self._failures[random.choice(victims)]  # noqa: S311 - eviction, not security
            self._failures[username] = (count + 1, now)

    def clear(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username, None)


class RedisLoginLimiter(LoginLimiter):
    """Failure counts shared by every replica through Redis, as upstream shares them; the concurrency cap stays
    per process. Each failure increments the user's counter and restarts its expiry, so the window runs from the
    last counted failure. If Redis cannot be reached the process falls back to its own counts."""

    KEY_PREFIX = "argocd-server:login-failures:"

    def __init__(
        self,
        *,
        client: Any,
        max_failures: int,
        window_seconds: float,
        max_concurrent: int,
    ) -> None:
        super().__init__(max_failures=max_failures, window_seconds=window_seconds, max_concurrent=max_concurrent)
        self._redis = client

    def _key(self, username: str) -> str:
        return self.KEY_PREFIX + username

    def locked(self, username: str) -> bool:
        try:
            value = self._redis.get(self._key(username))
        except RedisError:
            log.warning("redis unavailable for login throttling; using this process's counts")
            return super().locked(username)
        return value is not None and int(value) >= self._max_failures

    def record_failure(self, username: str) -> None:
        key = self._key(username)
        try:
            pipe = self._redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, max(1, int(self._window)))
            pipe.execute()
        except RedisError:
            log.warning("redis unavailable for login throttling; using this process's counts")
            super().record_failure(username)

    def clear(self, username: str) -> None:
        with contextlib.suppress(RedisError):
            self._redis.delete(self._key(username))
        super().clear(username)


class Authenticator:
    """Issues and verifies local tokens; one per process, shared by every request thread."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        jwt_key: bytes,
        config: ArgoConfig,
        limiter: LoginLimiter,
        cache_seconds: float,
        login_delay_ms: tuple[int, int] = (0, 0),
        clock: Callable[[], float] = time.time,
        project_tokens: ProjectTokenLookup | None = None,
    ) -> None:
        self._sessions = sessions
        self._key = jwt_key
        self.config = config
        self.limiter = limiter
        self._cache_seconds = cache_seconds
        self._delay = login_delay_ms
        self.clock = clock
        """Replaceable (tests move time forward without sleeping)."""
        self.project_tokens = project_tokens
        self._accounts: dict[str, _AccountState] = {}
        self._revoked: frozenset[str] = frozenset()
        self._revoked_loaded = float("-inf")
        self._lock = threading.Lock()

    # --- configuration -------------------------------------------------------------------------------

    def account(self, name: str) -> AccountConfig | None:
        return self.config.all_accounts().get(name)

    def invalidate(self, name: str | None = None) -> None:
        with self._lock:
            if name is None:
                self._accounts.clear()
                self._revoked_loaded = float("-inf")
            else:
                self._accounts.pop(name, None)

    # --- state caches ----------------------------------------------------------------------------------

    def _account_state(self, name: str, now: float) -> _AccountState:
        state = self._accounts.get(name)
        if state is not None and now - state.loaded_at < self._cache_seconds:
            return state
        with self._sessions() as session:
            row = AccountStore(session).get(name)
            mtime = int(row.password_mtime.timestamp()) if row and row.password_mtime else None
            ids = frozenset(str(t.get("id")) for t in (row.tokens if row else []))
        state = _AccountState(password_mtime=mtime, token_ids=ids, loaded_at=now)
        with self._lock:
            self._accounts[name] = state
        return state

    def _is_revoked(self, jti: str, now: float) -> bool:
        if now - self._revoked_loaded >= self._cache_seconds:
            with self._sessions() as session:
                revoked = frozenset(RevokedTokenStore(session).active(_utc(now)))
            with self._lock:
                self._revoked = revoked
                self._revoked_loaded = now
        return jti in self._revoked

    # --- tokens ------------------------------------------------------------------------------------------

    def issue(self, *, subject: str, expires_in: float | None, jti: str | None = None) -> tuple[str, dict[str, Any]]:
        return issue_token(self._key, subject=subject, expires_in=expires_in, jti=jti, now=self.clock())

    def authenticate(self, token: str) -> Principal:
        """Verify a local token as upstream's session manager does; Unauthenticated with its texts otherwise."""
        now = self.clock()
        claims = verify_token(self._key, token, now=now)
        subject = str(claims.get("sub", ""))
        if subject.startswith("proj:"):
            return self._authenticate_project(subject, claims)
        name, _, capability = subject.partition(":")
        capability = capability or "apiKey"
        account = self.account(name)
        if account is None:
            raise Unauthenticated(f"invalid session: account {name} does not exist")
        if not account.enabled:
            raise Unauthenticated(f"invalid session: account {name} is disabled")
        if capability not in account.capabilities:
            raise Unauthenticated(f"invalid session: account {name} does not have '{capability}' capability")
        jti = claims.get("jti")
        if not jti:
            raise Unauthenticated("invalid session: token does not have id")
        if self._is_revoked(str(jti), now):
            raise Unauthenticated("invalid session: token is revoked, please re-login")
        state = self._account_state(name, now)
        if capability == "apiKey" and str(jti) not in state.token_ids:
            raise Unauthenticated(f"invalid session: account {name} does not have token with id {jti}")
        if state.password_mtime is not None and int(claims["iat"]) < state.password_mtime:
            raise Unauthenticated("invalid session: account password has changed since token issued")
        return Principal(username=name, capability=capability, claims=claims)

    def _authenticate_project(self, subject: str, claims: Mapping[str, Any]) -> Principal:
        parts = subject.split(":")
        if len(parts) != 3:
            raise Unauthenticated("invalid session: invalid project token subject")
        _, project, role = parts
        records = self.project_tokens(project, role) if self.project_tokens else None
        if records is None:
            raise Unauthenticated(f"invalid session: project {project} or role {role} does not exist")
        jti, iat = claims.get("jti"), claims.get("iat")
        for record in records:
            if (jti and record.get("id") == jti) or (not jti and int(record.get("iat", -1)) == int(iat or 0)):
                return Principal(username=subject, capability="project", claims=claims)
        raise Unauthenticated(f"invalid session: {subject} token with iat {iat} was revoked or does not exist")

    def needs_renewal(self, principal: Principal) -> bool:
        exp = principal.claims.get("exp")
        return principal.capability == "login" and exp is not None and int(exp) - self.clock() < RENEW_BEFORE_SECONDS

    def renew(self, principal: Principal) -> str:
        claims = principal.claims
        lifetime = int(claims["exp"]) - int(claims["iat"])
        token, _ = self.issue(subject=str(claims["sub"]), expires_in=lifetime)
        return token

    # --- login -------------------------------------------------------------------------------------------

    def login(self, username: str, password: str) -> str:
        """A session token for a correct local login; 401 ``Invalid username or password`` otherwise."""
        if len(username.encode()) > MAX_USERNAME_BYTES:
            raise InvalidArgument(f"Username is too long ({MAX_USERNAME_BYTES} bytes max)")
        if not username or not password:
            raise Unauthenticated("no credentials supplied")
        if not self.limiter.try_enter():
            raise Unauthenticated("Invalid username or password")
        try:
            return self._login(username, password)
        finally:
            self.limiter.leave()

    def _login(self, username: str, password: str) -> str:
        started = time.monotonic()
        low, high = self._delay
        pad = random.uniform(low, high) / 1000.0 if high > 0 else 0.0  # noqa: S311 - timing noise only
        try:
            if self.limiter.locked(username):
                log.warning("login rejected: too many failed attempts for one user")
                raise Unauthenticated("Invalid username or password")
            account = self.account(username)
            with self._sessions() as session:
                row = AccountStore(session).get(username)
                stored_hash = row.password_hash if row else None
            if not verify_password(password, stored_hash if account else None):
                self.limiter.record_failure(username)
                raise Unauthenticated("Invalid username or password")
            self.limiter.clear(username)
            assert account is not None  # a hash verified, so the account is configured
            if not account.enabled:
                raise Unauthenticated(f"Account {username} is disabled")
            if "login" not in account.capabilities:
                raise Unauthenticated(f"Account {username} does not have login capability")
            token, _ = self.issue(subject=f"{username}:login", expires_in=self.config.session_seconds)
            return token
        finally:
            remaining = pad - (time.monotonic() - started)
            if remaining > 0:
                time.sleep(remaining)

    def check_password(self, username: str, password: str) -> bool:
        """Verify a password outside login (password change); a failure counts towards lockout."""
        if self.limiter.locked(username):
            return False
        with self._sessions() as session:
            row = AccountStore(session).get(username)
            ok = verify_password(password, row.password_hash if row else None)
        if ok:
            self.limiter.clear(username)
        else:
            self.limiter.record_failure(username)
        return ok

    # --- revocation ---------------------------------------------------------------------------------------

    def revoke(self, principal: Principal) -> None:
        """Add the token's id to the revoked set until it would expire anyway."""
        jti = principal.claims.get("jti")
        if not jti:
            return
        exp = principal.claims.get("exp")
        # A token without expiry stays revoked for a long time; the row is pruned when that passes.
        expires = _utc(int(exp)) if exp else _utc(self.clock() + 10 * 365 * 86400)
        with self._sessions() as session:
            store = RevokedTokenStore(session)
            store.add(str(jti), expires_at=expires)
            store.prune(_utc(self.clock()))
            session.commit()
        with self._lock:
            self._revoked = self._revoked | {str(jti)}


def ensure_admin_password(
    *, sessions: sessionmaker[Session], config: ArgoConfig, data_dir: Path, explicit: str | None
) -> None:
    """First start: give admin a password (explicit, or random written once to a 0600 file)."""
    if not config.admin_enabled:
        return
    now = datetime.now(tz=UTC).replace(microsecond=0)
    with sessions() as session:
        store = AccountStore(session)
        row = store.get_for_update("admin")
        if explicit is not None:
            if not verify_password(explicit, row.password_hash):
                store.set_password(row, password_hash=hash_password(explicit), mtime=now)
                log.info("admin password set from configuration")
            session.commit()
            return
        if row.password_hash:
            session.commit()
            return
        password = generate_initial_password()
        store.set_password(row, password_hash=hash_password(password), mtime=now)
        session.commit()
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / INITIAL_PASSWORD_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password + "\n")
    log.info("generated the initial admin password; it is in %s", path)
