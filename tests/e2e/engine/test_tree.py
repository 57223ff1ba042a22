"""Resource tree and managed resources of a synced app, orphaned resources and access rules."""

from __future__ import annotations

from typing import Any

from tests.e2e.engine.conftest import Env


def test_resource_tree_managed_resources_and_orphans(env: Env) -> None:
    env.create("guestbook", path="guestbook")
    assert env.sync("guestbook").status_code == 200
    env.wait_operation("guestbook")
    env.wait_synced_healthy("guestbook")
    env.sim.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "stray", "namespace": "default"}})

    def tree() -> dict[str, Any]:
        response = env.client.get("/api/v1/applications/guestbook/resource-tree", headers=env.headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def has_pod(_app: dict[str, Any]) -> bool:
        return any(n["kind"] == "Pod" for n in tree().get("nodes", []))

    env.wait("guestbook", has_pod)
    nodes = tree()["nodes"]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for node in nodes:
        by_kind.setdefault(node["kind"], []).append(node)
    deployment = by_kind["Deployment"][0]
    replicaset = by_kind["ReplicaSet"][0]
    pod = by_kind["Pod"][0]
    assert deployment["health"]["status"] == "Healthy"
    assert replicaset["parentRefs"][0]["uid"] == deployment["uid"]
    assert pod["parentRefs"][0]["uid"] == replicaset["uid"]
    assert pod["networkingInfo"]["labels"]["app.kubernetes.io/name"] == "guestbook-ui"
    assert pod["images"] == ["ghcr.io/example/guestbook-ui:1.0.0"]
    assert by_kind["Service"][0]["networkingInfo"]["targetLabels"] == {"app.kubernetes.io/name": "guestbook-ui"}
    assert all(node.get("resourceVersion") and node.get("createdAt") for node in nodes)
    assert "orphanedNodes" not in tree()

    project = env.client.get("/api/v1/projects/default", headers=env.headers).json()
    project["spec"]["orphanedResources"] = {"warn": True}
    response = env.client.put("/api/v1/projects/default", json={"project": project}, headers=env.headers)
    assert response.status_code == 200, response.text
    orphans = [n["name"] for n in tree().get("orphanedNodes", [])]
    assert "stray" in orphans
    app = env.get("guestbook", refresh="normal")
    warnings = [c for c in app["status"].get("conditions", []) if c["type"] == "OrphanedResourceWarning"]
    assert warnings
    assert warnings[0]["message"].startswith("Application has ")

    managed = env.client.get(
        "/api/v1/applications/guestbook/managed-resources?kind=Deployment", headers=env.headers
    ).json()["items"]
    assert [(m["kind"], m["name"]) for m in managed] == [("Deployment", "guestbook-ui")]
    assert managed[0].get("modified", False) is False
    assert managed[0]["targetState"].startswith("{")

    hidden = env.client.get("/api/v1/applications/nope/resource-tree", headers=env.headers)
    assert hidden.status_code == 403
    assert env.client.get("/api/v1/applications/nope/managed-resources", headers=env.headers).status_code == 403
    scoped = env.client.get("/api/v1/applications/nope/resource-tree?project=default", headers=env.headers)
    assert scoped.status_code == 404
