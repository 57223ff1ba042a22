"""Transport gates that run before routing and auth, as pure ASGI middleware (cheap on every request).

* Content-Type gate: every non-GET ``/api/`` request must carry a Content-Type whose whole lower-cased value is an
  allowed type (default exactly ``application/json``), else 415 ``Invalid content type`` as plain text.
* Body size: a declared Content-Length over ``max_request_bytes`` is refused with ResourceExhausted before the
  body is read; bodies without a length are counted while read (``api/deps.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_UNGATED = {"GET", "HEAD", "OPTIONS"}


async def _plain(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _too_large_body(limit: int) -> bytes:
    msg = f"grpc: received message larger than max (limit {limit} bytes)"
    return orjson.dumps({"error": msg, "code": 8, "message": msg})


class TransportGate:
    def __init__(self, app: ASGIApp, *, content_types: list[str], max_body: int) -> None:
        self.app = app
        self.allowed = {t.strip().lower() for t in content_types if t.strip()}
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _UNGATED or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if self.allowed:
            content_type = headers.get(b"content-type", b"").decode("latin-1").strip().lower()
            if content_type not in self.allowed:
                await _plain(send, 415, b"Invalid content type", b"text/plain; charset=utf-8")
                return
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await _plain(send, 429, _too_large_body(self.max_body), b"application/json")
            return
        await self.app(scope, receive, send)


EXTRA_HEADERS_KEY = "argocd_extra_headers"


class ExtraHeaders:
    """Adds headers that dependencies queued in the request state (token renewal) to whatever response is sent.

    Routes return ready ``Response`` objects, so headers set on FastAPI's injected response would be lost.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = scope.get("state", {}).get(EXTRA_HEADERS_KEY)
                if extra:
                    message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
