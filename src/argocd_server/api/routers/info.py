"""VersionService and SettingsService routes, and ``/healthz``."""

from __future__ import annotations

from fastapi.responses import PlainTextResponse, Response

from argocd_server.api.deps import InfoServiceDep, PublicInfoServiceDep
from argocd_server.api.responses import json_response
from argocd_server.api.routing import Router

router = Router()


@router.get("/healthz", include_in_schema=False)
def healthz() -> Response:
    return PlainTextResponse("ok")


@router.get("/api/version", operation_id="VersionService_Version")
def get_version(svc: PublicInfoServiceDep) -> Response:
    return json_response(svc.version())


@router.get("/api/v1/version", operation_id="VersionService_VersionV1", include_in_schema=False)
def get_version_v1(svc: PublicInfoServiceDep) -> Response:
    """The product brief's path for the same answer."""
    return json_response(svc.version())


@router.get("/api/v1/settings", operation_id="SettingsService_Get")
def get_settings(svc: PublicInfoServiceDep) -> Response:
    return json_response(svc.settings())


@router.get("/api/v1/settings/plugins", operation_id="SettingsService_GetPlugins")
def get_plugins(svc: InfoServiceDep) -> Response:
    return json_response(svc.plugins())
