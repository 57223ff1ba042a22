"""Routers skip paths none of their routes can match; which route answers a request must not change."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.routing import Match

from argocd_server.api.routing import Router, _literal_prefixes
from argocd_server.main import create_app
from tests.conftest import SettingsFactory
from tests.unit.test_dependency_hops import _api_routes


def _sample_path(template: str) -> str:
    """A concrete path for a route template: each parameter becomes a value (``:path`` ones two segments)."""
    return re.sub(
        r"\{([^}:]+)(:path)?\}", lambda m: "a/b" if m.group(2) else f"{m.group(1).replace('.', '-')}-1", template
    )


def _winner(app: FastAPI, method: str, path: str, root_path: str = "") -> tuple[int, Match]:
    """Index of the first top-level route answering, FastAPI's way (a full match, else the first partial)."""
    scope: dict[str, Any] = {"type": "http", "method": method, "path": root_path + path, "root_path": root_path}
    scope.update(app=app, headers=[], query_string=b"")
    partial: tuple[int, Match] | None = None
    for index, route in enumerate(app.router.routes):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return index, match
        if match is Match.PARTIAL and partial is None:
            partial = (index, match)
    return partial or (-1, Match.NONE)


@pytest.fixture
def app(make_settings: SettingsFactory) -> FastAPI:
    return create_app(make_settings())


def _requests(app: FastAPI) -> Iterator[tuple[str, str]]:
    routes = _api_routes(app.routes)
    assert len(routes) > 100
    for route in routes:
        path = _sample_path(route.path)
        for method in sorted(route.methods or ()):
            yield method, path
            # Another method on the same path: a 405 comes from the first partial match.
            yield ("PUT" if method != "PUT" else "PATCH"), path
    yield "GET", "/no/such/path"
    yield "GET", "/api/v1/applicationsx"


def test_every_request_reaches_the_route_fastapi_would_pick(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    requests = list(_requests(app))
    filtered = {(m, p): _winner(app, m, p) for m, p in requests}
    monkeypatch.setattr(Router, "prefilter", False)
    unfiltered = {(m, p): _winner(app, m, p) for m, p in requests}
    assert filtered == unfiltered
    reached = [index >= 0 for (_, path), (index, _) in filtered.items() if path.startswith("/api/v1/applications/")]
    assert reached
    assert all(reached)


def test_a_root_path_turns_the_filter_off(app: FastAPI) -> None:
    assert _winner(app, "GET", "/api/v1/applications/one", root_path="/argo")[1] is Match.FULL


def test_literal_prefixes_cover_every_path() -> None:
    paths = ["/api/v1/repositories/{repo}", "/api/v1/repositories", "/api/v1/write-repositories/{repo}/apps", "/x"]
    assert _literal_prefixes(paths) == ("/api/v1/repositories", "/api/v1/write-repositories/", "/x")
