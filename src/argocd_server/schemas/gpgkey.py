"""Wire models of the GPGKeyService tag."""

from __future__ import annotations

from pydantic import Field

from argocd_server.schemas.common import ArgoModel, ListMeta, always

__all__ = ["GnuPGPublicKey", "GnuPGPublicKeyCreateResponse", "GnuPGPublicKeyList"]


class GnuPGPublicKey(ArgoModel):
    """A GnuPG public key; `keyID` always written, `keyData` is ASCII-armoured text."""

    key_id: str = always("", alias="keyID")
    fingerprint: str = ""
    owner: str = ""
    trust: str = ""
    sub_type: str = ""
    key_data: str = ""


class GnuPGPublicKeyList(ArgoModel):
    """Key listing; `items` is `null` when no key is configured."""

    metadata: ListMeta = always(ListMeta)
    items: list[GnuPGPublicKey] | None = always(None)


class GnuPGPublicKeyCreateResponse(ArgoModel):
    """Keys created and key ids skipped by `POST /api/v1/gpgkeys`."""

    created: GnuPGPublicKeyList | None = None
    skipped: list[str] = Field(default_factory=list)
