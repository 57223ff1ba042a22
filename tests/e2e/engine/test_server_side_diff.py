"""Server-side diff in the controller's comparison (compare option ``ServerSideDiff=true``, or the controller-wide
setting): a dry-run server-side apply predicts the live object, so a field the controller owns and Git dropped is
drift, which the client-side diff of a server-side-applied object (no last-applied annotation) cannot see. Both this
and ignore rules by field manager read the live objects' ``managedFields``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client as k8s
from tests.e2e.engine.conftest import EnvFactory

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  keep: one\n{extra}"
SSD_ANNOTATION = {"argocd.argoproj.io/compare-options": "ServerSideDiff=true"}


def _resource(app: dict[str, Any]) -> dict[str, Any]:
    (resource,) = app["status"]["resources"]
    return resource


@pytest.mark.parametrize("how", ["annotation", "setting", "off"])
def test_a_field_dropped_from_git_is_drift_only_with_server_side_diff(make_env: EnvFactory, how: str) -> None:
    with make_env(controller_server_side_diff=how == "setting") as env:
        env.repo.commit("settings", {"cm/settings.yaml": CONFIGMAP.format(extra="  dropped: two\n")})
        body: dict[str, Any] = {"syncPolicy": {"syncOptions": ["ServerSideApply=true"]}}
        env.create("settings", path="cm", **body)
        if how == "annotation":
            patch = {"metadata": {"annotations": SSD_ANNOTATION}}
            response = env.client.patch(
                "/api/v1/applications/settings",
                json={"patch": json.dumps(patch), "patchType": "merge"},
                headers=env.headers,
            )
            assert response.status_code == 200, response.text
        assert env.sync("settings").status_code == 200
        env.wait_operation("settings")
        synced = env.wait_synced_healthy("settings")
        assert _resource(synced)["status"] == "Synced"

        env.repo.commit("drop a key", {"cm/settings.yaml": CONFIGMAP.format(extra="")})
        app = env.get("settings", refresh="normal")
        expected = "Synced" if how == "off" else "OutOfSync"
        assert app["status"]["sync"]["status"] == expected, app["status"]
        assert _resource(app)["status"] == expected

        if how != "off":
            # The prediction is what a sync leaves: syncing removes the key and the app compares Synced again.
            assert env.sync("settings").status_code == 200
            env.wait_operation("settings")
            env.wait_synced_healthy("settings")
            live = env.live("v1", "ConfigMap", "settings")
            assert live is not None
            assert live["data"] == {"keep": "one"}


def test_an_app_opts_out_of_the_controller_wide_setting(make_env: EnvFactory) -> None:
    with make_env(controller_server_side_diff=True) as env:
        env.repo.commit("settings", {"cm/settings.yaml": CONFIGMAP.format(extra="  dropped: two\n")})
        env.create(
            "settings",
            path="cm",
            syncPolicy={"syncOptions": ["ServerSideApply=true"]},
        )
        response = env.client.patch(
            "/api/v1/applications/settings",
            json={
                "patch": '{"metadata":{"annotations":{"argocd.argoproj.io/compare-options":"ServerSideDiff=false"}}}',
                "patchType": "merge",
            },
            headers=env.headers,
        )
        assert response.status_code == 200, response.text
        assert env.sync("settings").status_code == 200
        env.wait_operation("settings")
        env.wait_synced_healthy("settings")
        env.repo.commit("drop a key", {"cm/settings.yaml": CONFIGMAP.format(extra="")})
        app = env.get("settings", refresh="normal")
        assert app["status"]["sync"]["status"] == "Synced"


@pytest.mark.parametrize("ignored", [True, False])
def test_changes_by_an_ignored_manager_are_not_drift(make_env: EnvFactory, ignored: bool) -> None:
    """``ignoreDifferences[].managedFieldsManagers`` needs the live objects' field ownership, which the controller's
    cluster cache keeps for the objects apps track."""
    with make_env() as env:
        env.repo.commit("settings", {"cm/settings.yaml": CONFIGMAP.format(extra="")})
        rules = [{"group": "", "kind": "ConfigMap", "managedFieldsManagers": ["tuner"]}] if ignored else []
        env.create("settings", path="cm", ignoreDifferences=rules)
        assert env.sync("settings").status_code == 200
        env.wait_operation("settings")
        env.wait_synced_healthy("settings")

        core = k8s.CoreV1Api(env.sim.api_client())
        core.patch_namespaced_config_map("settings", "default", {"data": {"keep": "tuned"}}, field_manager="tuner")
        expected = "Synced" if ignored else "OutOfSync"
        app = env.wait(
            "settings", lambda a: a["status"]["sync"]["status"] == expected and _resource(a)["status"] == expected
        )
        assert app["status"]["sync"]["status"] == expected
        assert env.live("v1", "ConfigMap", "settings")["data"] == {"keep": "tuned"}  # type: ignore[index]
