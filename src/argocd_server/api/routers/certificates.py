"""CertificateService routes: ``/api/v1/certificates`` (list, batch create, delete by selector)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.responses import Response

from argocd_server.api.deps import AccessDep, DbSession, JsonBody, query_bool
from argocd_server.api.responses import json_response
from argocd_server.api.routing import Router
from argocd_server.services.certificates import CertificateService


async def certificate_service(db: DbSession, access: AccessDep) -> CertificateService:
    return CertificateService(session=db, access=access)


CertificateServiceDep = Annotated[CertificateService, Depends(certificate_service)]

router = Router(prefix="/api/v1")


@router.get("/certificates", operation_id="CertificateService_ListCertificates")
def list_certificates(
    svc: CertificateServiceDep,
    hostNamePattern: str = "",
    certType: str = "",
    certSubType: str = "",
) -> Response:
    return json_response(svc.list(host_name_pattern=hostNamePattern, cert_type=certType, cert_sub_type=certSubType))


@router.post("/certificates", operation_id="CertificateService_CreateCertificate")
def create_certificate(body: JsonBody, svc: CertificateServiceDep, upsert: str | None = None) -> Response:
    return json_response(svc.create(body, upsert=query_bool("upsert", upsert)))


@router.delete("/certificates", operation_id="CertificateService_DeleteCertificate")
def delete_certificate(
    svc: CertificateServiceDep,
    hostNamePattern: str = "",
    certType: str = "",
    certSubType: str = "",
) -> Response:
    return json_response(svc.delete(host_name_pattern=hostNamePattern, cert_type=certType, cert_sub_type=certSubType))
