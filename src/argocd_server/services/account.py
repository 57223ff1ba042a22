"""AccountService: local accounts, passwords, API tokens and can-i (upstream server/account)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from argocd_server.auth.passwords import hash_password
from argocd_server.auth.rbac_validation import normalize_can_i_subresource, validate_can_i
from argocd_server.config import AccountConfig
from argocd_server.db.stores.accounts import AccountStore
from argocd_server.errors import ArgoError, InvalidArgument, NotFound, Unauthenticated
from argocd_server.services.access import Access
from argocd_server.services.auth import Authenticator


class AccountService:
    def __init__(self, *, session: Session, access: Access, authenticator: Authenticator, namespace: str) -> None:
        self._session = session
        self._access = access
        self._auth = authenticator
        self._namespace = namespace

    def _is_self(self, name: str) -> bool:
        p = self._access.principal
        return p is not None and p.is_local_user and p.username == name

    def _account(self, name: str) -> AccountConfig:
        account = self._auth.account(name)
        if account is None:
            raise NotFound(f"account '{name}' does not exist")
        return account

    def _wire(self, account: AccountConfig) -> dict[str, Any]:
        row = AccountStore(self._session).get(account.name)
        tokens = sorted(row.tokens if row else [], key=lambda t: int(t.get("iat", 0)), reverse=True)
        out: dict[str, Any] = {"name": account.name}
        if account.enabled:
            out["enabled"] = True
        if account.capabilities:
            out["capabilities"] = list(account.capabilities)
        if tokens:
            out["tokens"] = [_wire_token(t) for t in tokens]
        return out

    def list(self) -> dict[str, Any]:
        items = [
            self._wire(acc)
            for name, acc in sorted(self._auth.config.all_accounts().items())
            if self._is_self(name) or self._access.allowed("accounts", "get", name)
        ]
        return {"items": items} if items else {}

    def get(self, name: str) -> dict[str, Any]:
        if not self._is_self(name):
            self._access.check("accounts", "get", name)
        return self._wire(self._account(name))

    def can_i(self, *, resource: str, action: str, subresource: str) -> dict[str, str]:
        validate_can_i(resource, action)
        if action == "rollback":
            action = "sync"
        obj = normalize_can_i_subresource(resource, subresource, namespace=self._namespace)
        return {"value": "yes" if self._access.allowed(resource, action, obj) else "no"}

    def update_password(self, *, current_password: str, new_password: str, name: str) -> None:
        principal = self._access.principal
        if principal is None or not principal.is_local_user:
            raise Unauthenticated("no session information")
        target = name or principal.username
        if target != principal.username:
            self._access.check("accounts", "update", target)
        account = self._account(target)
        if not self._auth.check_password(principal.username, current_password):
            raise InvalidArgument("current password does not match")
        pattern = self._auth.config.password_pattern
        if not re.search(pattern, new_password):
            # Upstream answers this as a plain error (Unknown, HTTP 500).
            raise ArgoError(f"New password does not match the following expression: {pattern}.")
        store = AccountStore(self._session)
        row = store.get_for_update(account.name)
        mtime = datetime.fromtimestamp(int(self._auth.clock()), tz=UTC)
        store.set_password(row, password_hash=hash_password(new_password), mtime=mtime)
        self._session.commit()
        self._auth.invalidate(account.name)

    def create_token(self, *, name: str, expires_in: int, token_id: str) -> dict[str, str]:
        if not self._is_self(name):
            self._access.check("accounts", "update", name)
        account = self._account(name)
        if "apiKey" not in account.capabilities:
            raise ArgoError(f"account '{name}' does not have apiKey capability")
        store = AccountStore(self._session)
        row = store.get_for_update(name)
        jti = token_id or str(uuid.uuid4())
        if any(t.get("id") == jti for t in row.tokens):
            raise ArgoError(f"account already has token with id '{jti}'")
        token, claims = self._auth.issue(subject=f"{name}:apiKey", expires_in=expires_in or None, jti=jti)
        record = {"id": jti, "iat": claims["iat"], "exp": claims.get("exp", 0)}
        store.set_tokens(row, [*row.tokens, record])
        self._session.commit()
        self._auth.invalidate(name)
        return {"token": token}

    def delete_token(self, *, name: str, token_id: str) -> None:
        if not self._is_self(name):
            self._access.check("accounts", "update", name)
        self._account(name)
        store = AccountStore(self._session)
        row = store.get_for_update(name)
        remaining = [t for t in row.tokens if t.get("id") != token_id]
        if len(remaining) == len(row.tokens):
            raise NotFound(f"token with id '{token_id}' does not exist")
        store.set_tokens(row, remaining)
        self._session.commit()
        self._auth.invalidate(name)


def _wire_token(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if record.get("id"):
        out["id"] = record["id"]
    if record.get("iat"):
        out["issuedAt"] = int(record["iat"])
    if record.get("exp"):
        out["expiresAt"] = int(record["exp"])
    return out
