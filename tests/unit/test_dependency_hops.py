"""Route dependencies that only build objects run on the event loop: FastAPI sends every ``def`` dependency to a
worker thread, and each such hop costs a thread wake-up per request (more while the controller's threads are busy)."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi.routing import APIRoute

from argocd_server.api.deps import get_db
from argocd_server.main import create_app
from tests.conftest import SettingsFactory


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):  # an included router
            found.extend(_api_routes(route.original_router.routes))
    return found


def _dependencies(dependant: object) -> list[object]:
    found = []
    for sub in getattr(dependant, "dependencies", []):
        found.append(sub.call)
        found.extend(_dependencies(sub))
    return found


def test_service_factories_never_hop_to_a_thread(make_settings: SettingsFactory) -> None:
    app = create_app(make_settings())
    factories = {
        call
        for route in _api_routes(app.routes)
        for call in _dependencies(route.dependant)
        if getattr(call, "__name__", "").endswith("_service")
    }
    assert len(factories) >= 15
    blocking = sorted(f.__name__ for f in factories if not inspect.iscoroutinefunction(f))  # type: ignore[attr-defined]
    assert blocking == []
    # The database session is opened on the event loop too; its one wait (SQLite's write lock) happens in a worker
    # thread: tests/integration/api/test_db_session.py.
    assert inspect.isasyncgenfunction(get_db)
