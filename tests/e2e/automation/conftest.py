"""Fixtures for the automation and deletion stories: the engine suite's server + kubesim + git repository, plus a
controllable controller clock (sync windows are tested by moving it, never by sleeping) and small kube helpers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes import client as k8s

from argocd_server.engine.controller import ApplicationController
from tests.e2e.engine.conftest import Env, EnvFactory, env, kube, make_env, repo

__all__ = ["Clock", "Env", "EnvFactory", "env", "kube", "make_env", "repo"]


@dataclass
class Clock:
    """A settable stand-in for the controller's clock; None follows real time."""

    fixed: datetime | None = None

    def __call__(self) -> datetime:
        return self.fixed if self.fixed is not None else datetime.now(tz=UTC)


def controller_of(env: Env) -> ApplicationController:
    controller = env.client.app.state.argo.controller  # type: ignore[attr-defined]
    assert isinstance(controller, ApplicationController)
    return controller


@pytest.fixture
def fast_env(make_env: EnvFactory) -> Iterator[Env]:
    """Periodic refresh every second, so drift and commits are noticed without refresh requests."""
    with make_env(reconciliation_seconds=1.0, reconciliation_jitter_seconds=0.0) as environment:
        yield environment


def patch_deployment(env: Env, name: str, body: dict[str, Any], namespace: str = "default") -> None:
    """A change made directly in the cluster, behind Argo CD's back."""
    api = env.sim.api_client()
    try:
        k8s.AppsV1Api(api).patch_namespaced_deployment(name, namespace, body)
    finally:
        api.close()


def conditions(app: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [c for c in app.get("status", {}).get("conditions") or [] if c.get("type") == kind]


def last_state(app: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = app.get("status", {}).get("operationState") or {}
    return state


def gone(env: Env, name: str) -> bool:
    return env.client.get(f"/api/v1/applications/{name}", headers=env.headers).status_code in (403, 404)
