"""Resource operations end to end against kubesim: get/patch/delete a live resource, the not-part-of-app error,
fine-grained RBAC, events, resource actions (built-in and configured in argocd-cm), deep links and sync windows."""

from __future__ import annotations

import base64
import json
from typing import Any

import orjson
from kubernetes import client as k8s
from tests.e2e.resources.conftest import APP, World, node, wait_for

RESOURCE = f"/api/v1/applications/{APP}/resource"
WEB = {"namespace": "default", "resourceName": "web", "group": "apps", "kind": "Deployment", "version": "v1"}
SERVICE = {"namespace": "default", "resourceName": "web", "group": "", "kind": "Service", "version": "v1"}
CRONJOB = {"namespace": "default", "resourceName": "tick", "group": "batch", "kind": "CronJob", "version": "v1"}


def patch_body(patch: dict[str, Any]) -> str:
    """PatchResource takes the patch as a JSON string."""
    return json.dumps(patch)


def test_get_resource_returns_live_manifest(world: World) -> None:
    response = world.get(RESOURCE, **WEB)
    assert response.status_code == 200, response.text
    manifest = orjson.loads(response.json()["manifest"])
    assert manifest["metadata"]["name"] == "web"
    assert manifest["spec"]["replicas"] == 2


def test_resource_outside_the_app_is_invalid_argument(world: World) -> None:
    world.sim.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "stranger", "namespace": "default"}}
    )
    query = {"namespace": "default", "resourceName": "stranger", "kind": "ConfigMap", "version": "v1"}
    response = world.get(RESOURCE, **query)
    assert response.status_code == 400
    message = "ConfigMap  stranger not found as part of application shop"
    assert response.json() == {"error": message, "code": 3, "message": message}
    patched = world.send("POST", RESOURCE, patch_body({"data": {"a": "b"}}), **query)
    assert patched.status_code == 400
    assert world.live("v1", "ConfigMap", "stranger") is not None


def test_patch_resource_merge_and_json_patch(world: World) -> None:
    response = world.send(
        "POST",
        RESOURCE,
        patch_body({"metadata": {"labels": {"patched": "yes"}}}),
        patchType="application/merge-patch+json",
        **SERVICE,
    )
    assert response.status_code == 200, response.text
    assert orjson.loads(response.json()["manifest"])["metadata"]["labels"]["patched"] == "yes"
    live = world.live("v1", "Service", "web")
    assert live is not None
    assert live["metadata"]["labels"]["patched"] == "yes"

    json_patch = [{"op": "add", "path": "/metadata/annotations", "value": {"note": "json-patch"}}]
    response = world.send("POST", RESOURCE, json.dumps(json_patch), patchType="application/json-patch+json", **SERVICE)
    assert response.status_code == 200, response.text
    live = world.live("v1", "Service", "web")
    assert live is not None
    assert live["metadata"]["annotations"]["note"] == "json-patch"


def test_patch_records_an_application_event(world: World) -> None:
    response = world.send("POST", RESOURCE, patch_body({"metadata": {"labels": {"evt": "1"}}}), **SERVICE)
    assert response.status_code == 200, response.text
    events = world.get(f"/api/v1/applications/{APP}/events").json()
    reasons = [(e["reason"], e["involvedObject"]["kind"]) for e in events["items"]]
    assert ("ResourceUpdated", "Application") in reasons
    assert any("patched resource /Service 'web'" in e["message"] for e in events["items"])


def test_delete_resource(world: World) -> None:
    query = {"namespace": "default", "resourceName": "scratch", "kind": "ConfigMap", "version": "v1"}
    node(world, "ConfigMap", "scratch")
    response = world.send("DELETE", RESOURCE, **query, force="true")
    assert response.status_code == 200, response.text
    assert response.json() == {}
    wait_for(lambda: world.live("v1", "ConfigMap", "scratch") is None, what="scratch deleted")


def test_fine_grained_rbac(world: World) -> None:
    # alice may patch exactly Deployment default/web; bob's plain update/delete do not cover live resources.
    ok = world.send("POST", RESOURCE, patch_body({"metadata": {"labels": {"by": "alice"}}}), user="alice", **WEB)
    assert ok.status_code == 200, ok.text
    for user, method, query in (
        ("alice", "POST", SERVICE),
        ("alice", "DELETE", WEB),
        ("bob", "POST", WEB),
        ("bob", "DELETE", SERVICE),
    ):
        body = patch_body({"metadata": {"labels": {"x": "y"}}}) if method == "POST" else None
        denied = world.send(method, RESOURCE, body, user=user, **query)
        assert denied.status_code == 403, (user, method, denied.text)
        assert denied.json()["message"] == "permission denied"
    assert world.live("v1", "Service", "web") is not None
    # Reads only need applications get.
    assert world.get(RESOURCE, user="bob", **SERVICE).status_code == 200


def test_resource_events_from_the_cluster(world: World) -> None:
    web = node(world, "Deployment", "web")
    params = {"resourceNamespace": "default", "resourceName": "web", "resourceUID": web["uid"]}

    def events() -> list[dict[str, Any]]:
        response = world.get(f"/api/v1/applications/{APP}/events", **params)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    items = wait_for(events, what="deployment events")
    assert all(e["involvedObject"]["name"] == "web" for e in items)
    assert any(e["reason"] == "ScalingReplicaSet" for e in items)
    missing = world.get(
        f"/api/v1/applications/{APP}/events", resourceNamespace="default", resourceName="nope", resourceUID="0"
    )
    assert missing.status_code == 400


def test_list_actions_builtin_and_configured(world: World) -> None:
    response = world.get(f"{RESOURCE}/actions", **WEB)
    assert response.status_code == 200, response.text
    actions = {a["name"]: a for a in response.json()["actions"]}
    assert {"restart", "pause", "resume", "scale"} <= set(actions)
    assert actions["resume"]["disabled"] is True
    assert "disabled" not in actions["restart"]
    assert actions["scale"]["params"] == [{"name": "replicas"}]

    cron = world.get(f"{RESOURCE}/actions", **CRONJOB).json()
    assert {a["name"] for a in cron["actions"]} == {"create-job", "resume", "suspend"}
    service = world.get(f"{RESOURCE}/actions", **SERVICE)
    assert service.status_code == 200
    assert service.json() == {}


def test_restart_sets_restarted_at(world: World) -> None:
    response = world.send("POST", f"{RESOURCE}/actions", "restart", **WEB)
    assert response.status_code == 200, response.text
    assert response.json() == {}
    live = world.live("apps/v1", "Deployment", "web")
    assert live is not None
    annotations = live["spec"]["template"]["metadata"]["annotations"]
    assert annotations["kubectl.kubernetes.io/restartedAt"].endswith("Z")
    assert live["spec"]["template"]["spec"]["containers"][0]["name"] == "main"


def test_cronjob_suspend_resume_and_create_job(world: World) -> None:
    body = {**CRONJOB, "action": "suspend"}
    response = world.send("POST", f"{RESOURCE}/actions/v2", body)
    assert response.status_code == 200, response.text
    live = world.live("batch/v1", "CronJob", "tick")
    assert live is not None
    assert live["spec"]["suspend"] is True

    def resume_enabled() -> bool:
        actions = world.get(f"{RESOURCE}/actions", **CRONJOB).json()["actions"]
        return not next(a for a in actions if a["name"] == "resume").get("disabled", False)

    assert resume_enabled()
    response = world.send("POST", f"{RESOURCE}/actions/v2", {**CRONJOB, "action": "resume"})
    assert response.status_code == 200, response.text
    live = world.live("batch/v1", "CronJob", "tick")
    assert live is not None
    assert live["spec"]["suspend"] is False

    response = world.send("POST", f"{RESOURCE}/actions/v2", {**CRONJOB, "action": "create-job"})
    assert response.status_code == 200, response.text
    jobs = world.sim.list_objects("batch/v1", "Job", namespace="default")
    created = [j for j in jobs if j["metadata"]["name"].startswith("tick-")]
    assert created
    assert created[0]["metadata"]["ownerReferences"][0]["name"] == "tick"


def test_configured_lua_action_with_parameters(world: World) -> None:
    body = {
        **WEB,
        "resourceName": "many",
        "action": "scale",
        "resourceActionParameters": [{"name": "replicas", "value": "3"}],
    }
    response = world.send("POST", f"{RESOURCE}/actions/v2", body)
    assert response.status_code == 200, response.text
    live = world.live("apps/v1", "Deployment", "many")
    assert live is not None
    assert live["spec"]["replicas"] == 3


def test_action_rbac_and_unknown_action(world: World) -> None:
    allowed = world.send("POST", f"{RESOURCE}/actions", "restart", user="alice", **WEB)
    assert allowed.status_code == 200, allowed.text
    denied = world.send("POST", f"{RESOURCE}/actions/v2", {**CRONJOB, "action": "suspend"}, user="alice")
    assert denied.status_code == 403
    assert denied.json()["message"] == "permission denied"
    unknown = world.send("POST", f"{RESOURCE}/actions", "explode", **WEB)
    assert unknown.status_code == 400


def test_links(world: World) -> None:
    response = world.get(f"/api/v1/applications/{APP}/links")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "items": [
            {
                "title": "Dashboard",
                "url": "https://dash.example.com/shop?ns=default",
                "description": "the app dashboard",
                "iconClass": "fa-chart",
            }
        ]
    }
    links = world.get(f"{RESOURCE}/links", **WEB).json()
    assert links == {"items": [{"title": "Logs", "url": "https://logs.example.com/default/web"}]}
    assert world.get(f"{RESOURCE}/links", **SERVICE).json() == {}


def test_sync_windows(world: World) -> None:
    assert world.get(f"/api/v1/applications/{APP}/syncwindows").json() == {"canSync": True}
    project = {
        "metadata": {"name": "windowed"},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "syncWindows": [
                {"kind": "deny", "schedule": "* * * * *", "duration": "1h", "applications": ["quiet"]},
                {"kind": "allow", "schedule": "0 0 1 1 *", "duration": "1m", "applications": ["other"]},
            ],
        },
    }
    response = world.send("POST", "/api/v1/projects", {"project": project})
    assert response.status_code == 200, response.text
    app = {
        "metadata": {"name": "quiet"},
        "spec": {
            "source": {"repoURL": "https://example.com/none.git", "path": "x"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"},
            "project": "windowed",
        },
    }
    response = world.send("POST", "/api/v1/applications", app, validate="false")
    assert response.status_code == 200, response.text
    windows = world.get("/api/v1/applications/quiet/syncwindows").json()
    deny = {"kind": "deny", "schedule": "* * * * *", "duration": "1h"}
    assert windows == {"activeWindows": [deny], "assignedWindows": [deny], "canSync": False}


def test_a_refused_patch_keeps_the_clusters_code_behind_upstreams_context(world: World) -> None:
    """Kubernetes answers BadRequest to a JSON patch that is not a list: FailedPrecondition (HTTP 400), with the
    operation in front of the cluster's message, as upstream's API server wraps it."""
    response = world.send(
        "POST", RESOURCE, json.dumps({"not": "a list"}), patchType="application/json-patch+json", **SERVICE
    )
    assert response.status_code == 400, response.text
    message = "error patching resource: json: cannot unmarshal object into Go value of type jsonpatch.Patch"
    assert response.json() == {"error": message, "code": 9, "message": message}


def test_a_failed_read_of_a_live_resource_keeps_the_clusters_code_behind_upstreams_context(world: World) -> None:
    for path in (RESOURCE, f"/api/v1/applications/{APP}/resource/actions"):
        response = world.get(path, **{**SERVICE, "version": "v9"})
        assert response.status_code == 404, response.text
        body = response.json()
        assert body["code"] == 5
        assert body["message"].startswith("error getting resource: ")


def test_a_refused_secret_patch_answers_without_the_clusters_message(world: World) -> None:
    """The cluster may quote the object in its refusal: for a Secret only a plain error naming it comes back."""
    secret = base64.b64encode(b"hunter2-secret-value").decode()
    world.sim.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "creds",
                "namespace": "default",
                "annotations": {"argocd.argoproj.io/tracking-id": f"{APP}:/Secret:default/creds"},
            },
            "data": {"password": secret},
        }
    )
    node(world, "Secret", "creds")
    query = {"namespace": "default", "resourceName": "creds", "group": "", "kind": "Secret", "version": "v1"}
    response = world.send(
        "POST", RESOURCE, json.dumps({"not": "a list"}), patchType="application/json-patch+json", **query
    )
    assert response.status_code == 500, response.text
    message = "failed to patch Secret default/creds"
    assert response.json() == {"error": message, "code": 2, "message": message}
    api = world.sim.api_client()
    try:
        k8s.CoreV1Api(api).delete_namespaced_secret("creds", "default")
    finally:
        api.close()
