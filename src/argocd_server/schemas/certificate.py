"""Wire models of the CertificateService tag (TLS certificates and SSH known-hosts entries).

Upstream tags none of the certificate members omitempty; `certData` is a base64 `[]byte`.
"""

from __future__ import annotations

from argocd_server.schemas.common import ArgoModel, Base64Bytes, ListMeta, always

__all__ = ["RepositoryCertificate", "RepositoryCertificateList"]


class RepositoryCertificate(ArgoModel):
    """A repository server certificate."""

    server_name: str = always("")
    cert_type: str = always("")
    cert_sub_type: str = always("")
    cert_data: Base64Bytes | None = always(None)
    cert_info: str = always("")


class RepositoryCertificateList(ArgoModel):
    """Certificate listing; also the body of `POST /api/v1/certificates`."""

    metadata: ListMeta = always(ListMeta)
    items: list[RepositoryCertificate] | None = always(None)
