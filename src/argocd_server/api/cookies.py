"""The ``argocd.token`` cookie, split into chunks as upstream does when a token is long.

A cookie line may be at most 4093 bytes. One chunk is sent as ``argocd.token=<jwt>``; several as
``argocd.token=<N>:<chunk0>`` then ``argocd.token-1=<chunk1>`` ... each with the same attributes.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Response

from argocd_server.errors import Internal
from argocd_server.settings import Settings

COOKIE_NAME = "argocd.token"
MAX_COOKIE_LINE = 4093
MAX_CHUNKS = 20


def cookie_path(settings: Settings) -> str:
    return "/" + settings.basehref.strip("/")


def _attributes(settings: Settings) -> str:
    attrs = f"path={cookie_path(settings)}; SameSite=lax; httpOnly"
    if not settings.insecure:
        attrs += "; Secure"
    return attrs


def token_cookie_lines(token: str, *, settings: Settings) -> list[str]:
    attrs = _attributes(settings)
    chunk_size = MAX_COOKIE_LINE - (len(COOKIE_NAME) + 3) - (len(attrs) + 2)
    chunks = [token[i : i + chunk_size] for i in range(0, len(token), chunk_size)] or [""]
    if len(chunks) > MAX_CHUNKS:
        raise Internal("the authentication token is too long to be stored in cookies")
    if len(chunks) == 1:
        return [f"{COOKIE_NAME}={chunks[0]}; {attrs}"]
    lines = [f"{COOKIE_NAME}={len(chunks)}:{chunks[0]}; {attrs}"]
    lines += [f"{COOKIE_NAME}-{i}={chunk}; {attrs}" for i, chunk in enumerate(chunks[1:], start=1)]
    return lines


def set_token_cookies(response: Response, token: str, *, settings: Settings) -> None:
    for line in token_cookie_lines(token, settings=settings):
        response.headers.append("set-cookie", line)


def clear_token_cookies(response: Response, cookies: Mapping[str, str], *, settings: Settings) -> None:
    attrs = _attributes(settings)
    names = [n for n in cookies if n == COOKIE_NAME or n.startswith(COOKIE_NAME + "-")] or [COOKIE_NAME]
    for name in names:
        response.headers.append("set-cookie", f"{name}=; {attrs}")


def read_token_cookie(cookies: Mapping[str, str]) -> str | None:
    first = cookies.get(COOKIE_NAME)
    if not first:
        return None
    count_text, sep, chunk0 = first.partition(":")
    if not sep or not count_text.isdigit():
        return first
    count = int(count_text)
    if count < 1 or count > MAX_CHUNKS:
        return None
    parts = [chunk0]
    for i in range(1, count):
        part = cookies.get(f"{COOKIE_NAME}-{i}")
        if part is None:
            return None
        parts.append(part)
    return "".join(parts)
