"""AccountService routes: ``/api/v1/account``."""

from __future__ import annotations

from fastapi.responses import Response

from argocd_server.api.deps import AccountServiceDep, JsonBody, body_int, body_str
from argocd_server.api.responses import EMPTY, json_response
from argocd_server.api.routing import Router

router = Router(prefix="/api/v1/account")


@router.get("", operation_id="AccountService_ListAccounts")
def list_accounts(svc: AccountServiceDep) -> Response:
    return json_response(svc.list())


@router.get("/can-i/{resource}/{action}/{subresource:path}", operation_id="AccountService_CanI")
def can_i(resource: str, action: str, subresource: str, svc: AccountServiceDep) -> Response:
    return json_response(svc.can_i(resource=resource, action=action, subresource=subresource))


@router.put("/password", operation_id="AccountService_UpdatePassword")
def update_password(body: JsonBody, svc: AccountServiceDep) -> Response:
    msg = "UpdatePasswordRequest"
    svc.update_password(
        current_password=body_str(body, "currentPassword", message=msg),
        new_password=body_str(body, "newPassword", message=msg),
        name=body_str(body, "name", message=msg),
    )
    return json_response(EMPTY)


@router.get("/{name}", operation_id="AccountService_GetAccount")
def get_account(name: str, svc: AccountServiceDep) -> Response:
    return json_response(svc.get(name))


@router.post("/{name}/token", operation_id="AccountService_CreateToken")
def create_token(name: str, body: JsonBody, svc: AccountServiceDep) -> Response:
    msg = "CreateTokenRequest"
    return json_response(
        svc.create_token(
            name=name,
            expires_in=body_int(body, "expiresIn", message=msg),
            token_id=body_str(body, "id", message=msg),
        )
    )


@router.delete("/{name}/token/{token_id}", operation_id="AccountService_DeleteToken")
def delete_token(name: str, token_id: str, svc: AccountServiceDep) -> Response:
    svc.delete_token(name=name, token_id=token_id)
    return json_response(EMPTY)
