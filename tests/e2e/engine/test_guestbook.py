"""The guestbook stories: plain directory, Helm and Kustomize forms compared, synced, drifted and pruned."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.e2e.engine.conftest import Env, EnvFactory, commit_example
from tests.support.git_repo import GitRepo

GUESTBOOK_KEYS = [("", "Service", "guestbook-ui"), ("apps", "Deployment", "guestbook-ui")]


def resource_keys(app: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((r.get("group", ""), r["kind"], r["name"]) for r in app["status"].get("resources", []))


def test_plain_guestbook_compare_sync_drift_and_prune(env: Env) -> None:
    env.create("guestbook", path="guestbook")

    app = env.get("guestbook", refresh="normal")
    status = app["status"]
    assert status["sync"]["status"] == "OutOfSync"
    assert status["sync"]["revision"] == env.repo.head()
    assert status["sync"]["comparedTo"]["source"]["path"] == "guestbook"
    assert status["sourceType"] == "Directory"
    assert resource_keys(app) == sorted(GUESTBOOK_KEYS)
    assert all(r["status"] == "OutOfSync" for r in status["resources"])
    assert all(r["health"]["status"] == "Missing" for r in status["resources"])
    assert status["health"]["status"] == "Missing"
    assert status["reconciledAt"]
    assert "annotations" not in app["metadata"]  # the refresh annotation was served and removed

    response = env.sync("guestbook")
    assert response.status_code == 200, response.text
    requested = response.json()
    assert requested["operation"]["sync"]["revision"] == env.repo.head()
    assert requested["operation"]["initiatedBy"] == {"username": "admin"}
    assert "operationState" not in requested["status"]

    done = env.wait_operation("guestbook")
    state = done["status"]["operationState"]
    assert state["phase"] == "Succeeded", state
    assert state["message"] == "successfully synced (all tasks run)"
    results = {(r["kind"], r["name"]): r for r in state["syncResult"]["resources"]}
    assert results[("Deployment", "guestbook-ui")]["status"] == "Synced"
    assert results[("Deployment", "guestbook-ui")]["message"] == "deployment.apps/guestbook-ui created"
    assert results[("Service", "guestbook-ui")]["message"] == "service/guestbook-ui created"
    assert state["syncResult"]["revision"] == env.repo.head()
    assert state["startedAt"]
    assert state["finishedAt"]
    assert done["status"]["history"][0]["id"] == 0
    assert done["status"]["history"][0]["revision"] == env.repo.head()

    synced = env.wait_synced_healthy("guestbook")
    assert "ghcr.io/example/guestbook-ui:1.0.0" in synced["status"]["summary"]["images"]
    deployment = env.live("apps/v1", "Deployment", "guestbook-ui")
    assert deployment is not None
    assert deployment["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] == (
        "guestbook:apps/Deployment:default/guestbook-ui"
    )
    assert "kubectl.kubernetes.io/last-applied-configuration" in deployment["metadata"]["annotations"]

    # A commit changes the image: OutOfSync with the right diff, then a sync brings it back.
    text = (env.repo.path / "guestbook/guestbook-ui-deployment.yaml").read_text()
    env.repo.commit("bump", {"guestbook/guestbook-ui-deployment.yaml": text.replace("1.0.0", "2.0.0")})
    drifted = env.get("guestbook", refresh="normal")
    assert drifted["status"]["sync"]["status"] == "OutOfSync"
    assert drifted["status"]["sync"]["revision"] == env.repo.head()
    managed = env.client.get("/api/v1/applications/guestbook/managed-resources", headers=env.headers).json()
    by_kind = {item["kind"]: item for item in managed["items"]}
    assert by_kind["Deployment"]["modified"] is True
    assert by_kind.get("Service", {}).get("modified", False) is False
    live_image = json.loads(by_kind["Deployment"]["normalizedLiveState"])["spec"]["template"]["spec"]["containers"][0]
    predicted = json.loads(by_kind["Deployment"]["predictedLiveState"])["spec"]["template"]["spec"]["containers"][0]
    assert (live_image["image"], predicted["image"]) == (
        "ghcr.io/example/guestbook-ui:1.0.0",
        "ghcr.io/example/guestbook-ui:2.0.0",
    )

    assert env.sync("guestbook").status_code == 200
    done = env.wait_operation("guestbook")
    assert done["status"]["operationState"]["phase"] == "Succeeded"
    env.wait_synced_healthy("guestbook")
    deployment = env.live("apps/v1", "Deployment", "guestbook-ui")
    assert deployment is not None
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/example/guestbook-ui:2.0.0"
    assert [h["id"] for h in done["status"]["history"]] == [0, 1]

    # A deleted file: the Service needs pruning; a sync without prune skips it, with prune removes it.
    (env.repo.path / "guestbook/guestbook-ui-svc.yaml").unlink()
    env.repo.commit("drop service")
    app = env.get("guestbook", refresh="normal")
    service = next(r for r in app["status"]["resources"] if r["kind"] == "Service")
    assert service["requiresPruning"] is True
    assert app["status"]["sync"]["status"] == "OutOfSync"
    assert env.sync("guestbook").status_code == 200
    done = env.wait_operation("guestbook")
    skipped = next(r for r in done["status"]["operationState"]["syncResult"]["resources"] if r["kind"] == "Service")
    assert (skipped["status"], skipped["message"]) == ("PruneSkipped", "ignored (requires pruning)")
    assert env.live("v1", "Service", "guestbook-ui") is not None
    assert env.sync("guestbook", prune=True).status_code == 200
    done = env.wait_operation("guestbook")
    pruned = next(r for r in done["status"]["operationState"]["syncResult"]["resources"] if r["kind"] == "Service")
    assert (pruned["status"], pruned["message"]) == ("Pruned", "pruned")
    env.wait("guestbook", lambda _a: env.live("v1", "Service", "guestbook-ui") is None)
    final = env.get("guestbook", refresh="normal")
    assert resource_keys(final) == [("apps", "Deployment", "guestbook-ui")]
    assert final["status"]["sync"]["status"] == "Synced"


@pytest.mark.parametrize(
    ("example", "path", "source_type"),
    [
        ("helm-guestbook", "helm-guestbook", "Helm"),
        ("kustomize-guestbook", "kustomize-guestbook/overlays/dev", "Kustomize"),
    ],
)
def test_helm_and_kustomize_guestbook_sync(
    make_env: EnvFactory, repo: GitRepo, example: str, path: str, source_type: str
) -> None:
    commit_example(repo, example)
    with make_env() as env:
        env.create("guestbook", path=path)
        app = env.get("guestbook", refresh="hard")
        assert app["status"]["sourceType"] == source_type
        assert app["status"]["sync"]["status"] == "OutOfSync", app["status"]
        kinds = sorted(r["kind"] for r in app["status"]["resources"])
        assert kinds == ["Deployment", "Service"]
        assert env.sync("guestbook").status_code == 200
        assert env.wait_operation("guestbook")["status"]["operationState"]["phase"] == "Succeeded"
        synced = env.wait_synced_healthy("guestbook")
        assert all(r["status"] == "Synced" for r in synced["status"]["resources"])
