"""ServerSideDiff against a synced guestbook: the prediction comes from a server-side apply dry run in kubesim."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.e2e.engine.conftest import Env

APP = "guestbook"


def _synced(env: Env) -> dict[str, Any]:
    env.create(APP, path="guestbook")
    assert env.sync(APP).status_code == 200
    env.wait_operation(APP)
    env.wait_synced_healthy(APP)
    live = env.live("apps/v1", "Deployment", "guestbook-ui")
    assert live is not None
    return live


def _target(live: dict[str, Any], image: str) -> dict[str, Any]:
    """The Deployment as the repository would render it, with the given image."""
    target: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "guestbook-ui",
            "namespace": "default",
            "labels": copy.deepcopy(live["metadata"].get("labels") or {}),
            "annotations": {
                k: v
                for k, v in (live["metadata"].get("annotations") or {}).items()
                if k == "argocd.argoproj.io/tracking-id"
            },
        },
        "spec": copy.deepcopy(live["spec"]),
    }
    target["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return target


def _diff(env: Env, *manifests: dict[str, Any], **params: str) -> Any:
    query: list[tuple[str, str]] = [("targetManifests", json.dumps(m)) for m in manifests]
    query += list(params.items())
    return env.client.get(f"/api/v1/applications/{APP}/server-side-diff", params=query, headers=env.headers)


def test_changed_image_is_predicted_and_modified(env: Env) -> None:
    live = _synced(env)
    response = _diff(env, _target(live, "ghcr.io/example/guestbook-ui:2.0.0"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["modified"] is True
    [item] = body["items"]
    assert (item["group"], item["kind"], item["namespace"], item["name"]) == (
        "apps",
        "Deployment",
        "default",
        "guestbook-ui",
    )
    assert item["modified"] is True
    predicted = json.loads(item["predictedLiveState"])
    normalized = json.loads(item["normalizedLiveState"])
    assert predicted["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/example/guestbook-ui:2.0.0"
    assert normalized["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/example/guestbook-ui:1.0.0"
    # A dry run changes nothing in the cluster.
    after = env.live("apps/v1", "Deployment", "guestbook-ui")
    assert after is not None
    assert after["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/example/guestbook-ui:1.0.0"


def test_unchanged_manifest_is_not_modified(env: Env) -> None:
    live = _synced(env)
    response = _diff(env, _target(live, "ghcr.io/example/guestbook-ui:1.0.0"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert "modified" not in body
    [item] = body["items"]
    assert "modified" not in item
    assert json.loads(item["predictedLiveState"]) == json.loads(item["normalizedLiveState"])


def test_missing_object_is_a_creation(env: Env) -> None:
    _synced(env)
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fresh"}, "data": {"a": "b"}}
    body = _diff(env, config_map).json()
    [item] = body["items"]
    assert body["modified"] is True
    assert item["namespace"] == "default"
    assert json.loads(item["normalizedLiveState"]) is None
    assert json.loads(item["predictedLiveState"])["data"] == {"a": "b"}


def test_missing_app_is_hidden_and_bad_manifest_refused(env: Env) -> None:
    _synced(env)
    missing = env.client.get("/api/v1/applications/nope/server-side-diff", headers=env.headers)
    assert missing.status_code == 403
    bad = _diff(env, {"kind": "Deployment"})
    assert bad.status_code == 400
