"""ApplicationSet resource tree and events: owned applications as nodes, stored events, RBAC and 404."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from argocd_server.db.engine import make_engine, make_sessionmaker
from argocd_server.services.objects import utcnow
from argocd_server.services.projects import record_event
from tests.conftest import ADMIN_PASSWORD, bearer, login
from tests.e2e.engine.conftest import IN_CLUSTER, Env, EnvFactory
from tests.support.configmaps import write_configmaps

SET = "guestbooks"
RBAC = "p, carol, applications, get, default/*, allow\n"


def _appset(env: Env) -> dict[str, Any]:
    body = {
        "metadata": {"name": SET},
        "spec": {
            "generators": [{"list": {"elements": [{"env": "dev"}]}}],
            "template": {
                "metadata": {"name": "guestbook-{{env}}"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": env.repo.url, "path": "guestbook"},
                    "destination": {"server": IN_CLUSTER, "namespace": "default"},
                },
            },
        },
    }
    response = env.client.post("/api/v1/applicationsets", json=body, headers=env.headers)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture
def rbac_env(make_env: EnvFactory, tmp_path: Path) -> Any:
    maps = write_configmaps(
        tmp_path / "configmaps", argocd_cm={"accounts.carol": "login"}, argocd_rbac_cm={"policy.csv": RBAC}
    )
    with make_env(configmaps=maps) as env:
        response = env.client.put(
            "/api/v1/account/password",
            json={"name": "carol", "currentPassword": ADMIN_PASSWORD, "newPassword": "carol-password-1"},
            headers=env.headers,
        )
        assert response.status_code == 200, response.text
        yield env, bearer(login(env.client, "carol", "carol-password-1"))


def test_tree_lists_owned_applications(env: Env) -> None:
    appset = _appset(env)
    owner = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "name": SET,
        "uid": appset["metadata"]["uid"],
    }
    body = {
        "metadata": {"name": "guestbook-dev", "ownerReferences": [owner]},
        "spec": {
            "source": {"repoURL": env.repo.url, "path": "guestbook", "targetRevision": "HEAD"},
            "destination": {"server": IN_CLUSTER, "namespace": "default"},
            "project": "default",
        },
    }
    assert env.client.post("/api/v1/applications", json=body, headers=env.headers).status_code == 200
    env.create("unrelated", path="guestbook")
    response = env.client.get(f"/api/v1/applicationsets/{SET}/resource-tree", headers=env.headers)
    assert response.status_code == 200, response.text
    [node] = response.json()["nodes"]
    assert (node["group"], node["kind"], node["name"], node["namespace"]) == (
        "argoproj.io",
        "Application",
        "guestbook-dev",
        "argocd",
    )
    [parent] = node["parentRefs"]
    assert (parent["kind"], parent["name"], parent["uid"]) == ("ApplicationSet", SET, appset["metadata"]["uid"])


def test_events_of_the_set(env: Env) -> None:
    appset = _appset(env)
    empty = env.client.get(f"/api/v1/applicationsets/{SET}/events", headers=env.headers)
    assert empty.status_code == 200, empty.text
    assert empty.json()["items"] == []
    assert env.settings.database_url is not None
    engine = make_engine(env.settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            record_event(session, obj=appset, kind="ApplicationSet", reason="Tested", message="hello", now=utcnow())
            session.commit()
    finally:
        engine.dispose()
    [event] = env.client.get(f"/api/v1/applicationsets/{SET}/events", headers=env.headers).json()["items"]
    assert event["reason"] == "Tested"
    assert event["involvedObject"]["name"] == SET


def test_missing_set_is_404(env: Env) -> None:
    for path in ("resource-tree", "events"):
        response = env.client.get(f"/api/v1/applicationsets/nope/{path}", headers=env.headers)
        assert response.status_code == 404, response.text


def test_rbac_denial(rbac_env: tuple[Env, dict[str, str]]) -> None:
    env, carol = rbac_env
    _appset(env)
    for path in ("resource-tree", "events"):
        response = env.client.get(f"/api/v1/applicationsets/{SET}/{path}", headers=carol)
        assert response.status_code == 403, response.text
