"""NotificationService routes: ``/api/v1/notifications/{services,templates,triggers}`` (authenticated, no RBAC)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.responses import Response

from argocd_server.api.deps import CurrentPrincipal, StateDep
from argocd_server.api.responses import json_response
from argocd_server.api.routing import Router
from argocd_server.services.notifications import NotificationService, load_notifications_config


async def notification_service(state: StateDep, principal: CurrentPrincipal) -> NotificationService:
    del principal  # required only so that anonymous callers are refused
    return NotificationService(config=load_notifications_config(state.settings.configmaps))


NotificationServiceDep = Annotated[NotificationService, Depends(notification_service)]

router = Router(prefix="/api/v1/notifications")


@router.get("/services", operation_id="NotificationService_ListServices")
def list_notification_services(svc: NotificationServiceDep) -> Response:
    return json_response(svc.list_services())


@router.get("/templates", operation_id="NotificationService_ListTemplates")
def list_notification_templates(svc: NotificationServiceDep) -> Response:
    return json_response(svc.list_templates())


@router.get("/triggers", operation_id="NotificationService_ListTriggers")
def list_notification_triggers(svc: NotificationServiceDep) -> Response:
    return json_response(svc.list_triggers())
