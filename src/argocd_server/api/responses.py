"""Fast JSON responses (orjson) for the wire dicts services return."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response


class ArgoJSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        return orjson.dumps(content)


EMPTY = b"{}"


def json_response(content: Any, *, status_code: int = 200) -> ArgoJSONResponse:
    return ArgoJSONResponse(content=content, status_code=status_code)
