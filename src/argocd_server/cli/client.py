"""A small typed HTTP client of the REST API (httpx), turning error answers into upstream-worded errors."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from argocd_server.cli.errors import HTTP_TO_GRPC, ApiError, CliError

Params = Mapping[str, str | int | bool | Sequence[str] | None]


def esc(value: str) -> str:
    """A path segment with every reserved character escaped (repo and cluster URLs travel in the path)."""
    return quote(value, safe="")


def base_url_for(server: str, *, plaintext: bool, root_path: str = "") -> str:
    """``host:port`` becomes ``https://host:port`` (``http://`` with plaintext); an explicit scheme is kept."""
    address = server.strip().rstrip("/")
    if not address.startswith(("http://", "https://")):
        address = ("http://" if plaintext else "https://") + address
    if root_path.strip("/"):
        address += "/" + root_path.strip("/")
    return address


@dataclass
class Connection:
    """Everything needed to reach the API server, already resolved from flags, environment and config."""

    server: str
    base_url: str
    token: str = ""
    insecure: bool = False
    plaintext: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    context_name: str = ""
    client_cert: str = ""
    client_key: str = ""
    ca_file: str = ""
    grpc_web: bool = False
    grpc_web_root_path: str = ""


def _clean_params(params: Params | None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            out.append((key, "true" if value else "false"))
        elif isinstance(value, str | int):
            out.append((key, str(value)))
        else:
            out.extend((key, str(item)) for item in value)
    return out


class ApiClient:
    """Calls ``/api/v1``; every non-GET carries ``Content-Type: application/json`` as the server demands."""

    def __init__(self, conn: Connection, *, timeout: float = 60.0) -> None:
        self.conn = conn
        headers = {"Accept": "application/json", "User-Agent": "argocd-client/py"}
        headers.update(conn.headers)
        if conn.token:
            headers["Authorization"] = f"Bearer {conn.token}"
        verify: bool | str = not conn.insecure
        if conn.ca_file and not conn.insecure:
            verify = conn.ca_file
        cert = (conn.client_cert, conn.client_key) if conn.client_cert and conn.client_key else None
        self._http = httpx.Client(
            base_url=conn.base_url, headers=headers, verify=verify, cert=cert, timeout=timeout, follow_redirects=False
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        has_body: bool = False,
        stream: bool = False,
        timeout: float | None = None,
    ) -> httpx.Response:
        headers: dict[str, str] = {}
        content: bytes | None = None
        if method != "GET":
            headers["Content-Type"] = "application/json"
            content = json.dumps(body).encode() if has_body else b""
        query: list[tuple[str, str | int | float | bool | None]] = list(_clean_params(params))
        request = self._http.build_request(
            method,
            path,
            params=query,
            content=content,
            headers=headers,
            timeout=timeout if timeout is not None else self._http.timeout,
        )
        try:
            response = self._http.send(request, stream=stream)
        except httpx.ConnectError as exc:
            raise ApiError(14, f'connection error: desc = "transport: Error while dialing: {exc}"') from exc
        except httpx.TimeoutException as exc:
            raise ApiError(4, f"context deadline exceeded: {exc}") from exc
        except httpx.HTTPError as exc:
            raise ApiError(14, f"transport error: {exc}") from exc
        if response.status_code >= 400:
            if stream:
                response.read()
            raise self._error(response)
        return response

    def _error(self, response: httpx.Response) -> ApiError:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            err = payload.get("error")
            if isinstance(err, dict):  # streaming error envelope
                return ApiError(
                    int(err.get("grpc_code", 2)), str(err.get("message", "")), http_status=response.status_code
                )
            if "code" in payload or "message" in payload:
                code = int(payload.get("code") or HTTP_TO_GRPC.get(response.status_code, 2))
                message = str(payload.get("message") or payload.get("error") or "")
                return ApiError(code, message, http_status=response.status_code)
        request = response.request
        return ApiError(
            2,
            f"{request.method} {request.url} failed with status code {response.status_code}",
            http_status=response.status_code,
        )

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        has_body: bool | None = None,
        timeout: float | None = None,
    ) -> Any:
        """One unary call; answers the decoded JSON (``{}`` for an empty body)."""
        response = self._send(
            method,
            path,
            params=params,
            body=body,
            has_body=body is not None if has_body is None else has_body,
            timeout=timeout,
        )
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError as exc:
            raise CliError(f"unexpected answer from {method} {path}: {response.text[:200]}") from exc

    def get(self, path: str, params: Params | None = None, *, timeout: float | None = None) -> Any:
        return self.call("GET", path, params=params, timeout=timeout)

    def post(self, path: str, body: Any = None, params: Params | None = None) -> Any:
        return self.call("POST", path, params=params, body=body if body is not None else {})

    def put(self, path: str, body: Any = None, params: Params | None = None) -> Any:
        return self.call("PUT", path, params=params, body=body if body is not None else {})

    def patch(self, path: str, body: Any = None, params: Params | None = None) -> Any:
        return self.call("PATCH", path, params=params, body=body if body is not None else {})

    def delete(self, path: str, params: Params | None = None) -> Any:
        return self.call("DELETE", path, params=params)

    def stream(self, path: str, params: Params | None = None) -> Iterator[dict[str, Any]]:
        """Messages of a newline-delimited JSON stream (``{"result": ...}`` envelopes unwrapped)."""
        response = self._send("GET", path, params=params, stream=True, timeout=None)
        try:
            for line in response.iter_lines():
                if not line.strip():
                    continue
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if isinstance(message, dict) and isinstance(message.get("error"), dict):
                    err = message["error"]
                    raise ApiError(int(err.get("grpc_code", 2)), str(err.get("message", "")))
                if isinstance(message, dict) and "result" in message:
                    yield message["result"]
        finally:
            response.close()
