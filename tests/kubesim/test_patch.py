"""JSON, merge and strategic merge patches, and server-side apply with managed fields."""

from __future__ import annotations

import json

import pytest
import yaml
from ksim_helpers import application_crd, ensure_crd, eventually, raw_request
from kubernetes import client
from kubernetes.client.rest import ApiException

from kubesim import KubeSim


def _patch(api: client.ApiClient, path: str, *, body: object, content_type: str, **query: str) -> dict:
    return raw_request(api, "PATCH", path=path, body=body, content_type=content_type, query=query)  # type: ignore[no-any-return]


def _apply(api: client.ApiClient, path: str, *, obj: dict, manager: str, force: bool = False) -> dict:
    query = {"fieldManager": manager}
    if force:
        query["force"] = "true"
    return _patch(api, path, body=yaml.safe_dump(obj), content_type="application/apply-patch+yaml", **query)


def _deployment(name: str) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "a",
                            "image": "nginx:1",
                            "env": [{"name": "X", "value": "1"}],
                            "ports": [{"containerPort": 80}],
                        },
                        {"name": "b", "image": "redis:7"},
                    ]
                },
            },
        },
    }


def test_json_patch(*, core: client.CoreV1Api, api_client: client.ApiClient, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "cm"}, "data": {"a": "1", "b": "2"}})
    ops = [
        {"op": "test", "path": "/data/a", "value": "1"},
        {"op": "replace", "path": "/data/a", "value": "10"},
        {"op": "remove", "path": "/data/b"},
        {"op": "add", "path": "/metadata/labels", "value": {"x/y": "z"}},
    ]
    out = _patch(
        api_client, f"/api/v1/namespaces/{ns}/configmaps/cm", body=ops, content_type="application/json-patch+json"
    )
    assert out["data"] == {"a": "10"}
    assert out["metadata"]["labels"] == {"x/y": "z"}
    bad = [{"op": "test", "path": "/data/a", "value": "nope"}]
    with pytest.raises(ApiException) as err:
        _patch(
            api_client, f"/api/v1/namespaces/{ns}/configmaps/cm", body=bad, content_type="application/json-patch+json"
        )
    assert err.value.status == 422


def test_merge_patch_replaces_lists(*, apps: client.AppsV1Api, api_client: client.ApiClient, ns: str) -> None:
    apps.create_namespaced_deployment(ns, _deployment("d"))
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "busybox"}]}}}}
    out = _patch(
        api_client,
        f"/apis/apps/v1/namespaces/{ns}/deployments/d",
        body=patch,
        content_type="application/merge-patch+json",
    )
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["only"]
    out = _patch(
        api_client,
        f"/apis/apps/v1/namespaces/{ns}/deployments/d",
        body={"metadata": {"labels": {"k": "v"}}},
        content_type="application/merge-patch+json",
    )
    out = _patch(
        api_client,
        f"/apis/apps/v1/namespaces/{ns}/deployments/d",
        body={"metadata": {"labels": {"k": None}}},
        content_type="application/merge-patch+json",
    )
    assert "k" not in (out["metadata"].get("labels") or {})


def test_strategic_merge_patch_uses_merge_keys(
    *, apps: client.AppsV1Api, api_client: client.ApiClient, ns: str
) -> None:
    apps.create_namespaced_deployment(ns, _deployment("d"))
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/d"
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "a",
                            "image": "nginx:2",
                            "env": [{"name": "Y", "value": "2"}],
                            "ports": [{"containerPort": 443}],
                        },
                        {"name": "c", "image": "memcached"},
                    ]
                }
            }
        }
    }
    out = _patch(api_client, path, body=patch, content_type="application/strategic-merge-patch+json")
    containers = {c["name"]: c for c in out["spec"]["template"]["spec"]["containers"]}
    assert set(containers) == {"a", "b", "c"}
    assert containers["a"]["image"] == "nginx:2"
    assert [e["name"] for e in containers["a"]["env"]] == ["X", "Y"]
    assert [p["containerPort"] for p in containers["a"]["ports"]] == [80, 443]
    delete = {"spec": {"template": {"spec": {"containers": [{"name": "b", "$patch": "delete"}]}}}}
    out = _patch(api_client, path, body=delete, content_type="application/strategic-merge-patch+json")
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["a", "c"]
    replace = {"spec": {"template": {"spec": {"containers": [{"$patch": "replace"}, {"name": "z", "image": "z"}]}}}}
    out = _patch(api_client, path, body=replace, content_type="application/strategic-merge-patch+json")
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["z"]
    # the typed client sends strategic merge patches by default
    patched = apps.patch_namespaced_deployment("d", ns, {"metadata": {"finalizers": ["a/b"]}})
    assert patched.metadata.finalizers == ["a/b"]
    patched = apps.patch_namespaced_deployment("d", ns, {"metadata": {"finalizers": ["c/d"]}})
    assert patched.metadata.finalizers == ["a/b", "c/d"]
    apps.patch_namespaced_deployment("d", ns, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a/b", "c/d"]}})


def test_strategic_merge_patch_on_custom_resource_is_415(
    *, dynamic: object, custom: client.CustomObjectsApi, api_client: client.ApiClient, sim: KubeSim
) -> None:
    ensure_crd(api_client, application_crd())
    eventually(lambda: sim.registry.get("argoproj.io", "v1alpha1", plural="applications"))
    custom.create_namespaced_custom_object(
        "argoproj.io",
        "v1alpha1",
        "default",
        "applications",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "smp"},
            "spec": {"project": "default"},
        },
    )
    path = "/apis/argoproj.io/v1alpha1/namespaces/default/applications/smp"
    with pytest.raises(ApiException) as err:
        _patch(api_client, path, body={"spec": {"project": "x"}}, content_type="application/strategic-merge-patch+json")
    assert err.value.status == 415
    out = _patch(api_client, path, body={"spec": {"project": "x"}}, content_type="application/merge-patch+json")
    assert out["spec"]["project"] == "x"


def test_server_side_apply_creates_and_tracks_managers(api_client: client.ApiClient, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps/cfg"
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "labels": {"l": "1"}},
        "data": {"a": "1", "b": "2"},
    }
    out = _apply(api_client, path, obj=obj, manager="alice")
    assert out["data"] == {"a": "1", "b": "2"}
    [entry] = out["metadata"]["managedFields"]
    assert entry["manager"] == "alice"
    assert entry["operation"] == "Apply"
    assert entry["fieldsType"] == "FieldsV1"
    assert entry["fieldsV1"] == {"f:data": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:labels": {"f:l": {}}}}
    # an ordinary update takes ownership of what it changes (operation Update)
    out = _patch(
        api_client, path, body={"data": {"c": "3"}}, content_type="application/merge-patch+json", fieldManager="bob"
    )
    managers = {(m["manager"], m["operation"]) for m in out["metadata"]["managedFields"]}
    assert managers == {("alice", "Apply"), ("bob", "Update")}


def test_server_side_apply_conflict_and_force(api_client: client.ApiClient, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps/cfg"
    base = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"key": "one"}}
    _apply(api_client, path, obj=base, manager="first")
    same = _apply(api_client, path, obj=base, manager="second")
    owners = sorted(m["manager"] for m in same["metadata"]["managedFields"])
    assert owners == ["first", "second"]
    changed = {**base, "data": {"key": "two"}}
    with pytest.raises(ApiException) as err:
        _apply(api_client, path, obj=changed, manager="third")
    assert err.value.status == 409
    status = json.loads(err.value.body)
    assert status["reason"] == "Conflict"
    assert status["message"].startswith('Apply failed with 2 conflicts: conflicts with "first":')
    assert "- .data.key" in status["message"]
    assert {c["field"] for c in status["details"]["causes"]} == {".data.key"}
    assert status["details"]["causes"][0]["reason"] == "FieldManagerConflict"
    forced = _apply(api_client, path, obj=changed, manager="third", force=True)
    assert forced["data"]["key"] == "two"
    owners_after = [m["manager"] for m in forced["metadata"]["managedFields"]]
    assert owners_after == ["third"]


def test_server_side_apply_single_conflict_wording(
    *, api_client: client.ApiClient, core: client.CoreV1Api, ns: str
) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "cm"}, "data": {"k": "v"}}, field_manager="creator")
    path = f"/api/v1/namespaces/{ns}/configmaps/cm"
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"k": "w"}}
    with pytest.raises(ApiException) as err:
        _apply(api_client, path, obj=obj, manager="applier")
    message = json.loads(err.value.body)["message"]
    assert message.startswith('Apply failed with 1 conflict: conflict with "creator" using v1 at ')
    assert message.endswith(": .data.k")


def test_server_side_apply_removes_fields_no_longer_applied(api_client: client.ApiClient, ns: str) -> None:
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/d"
    full = _deployment("d")
    full["metadata"]["labels"] = {"keep": "1", "drop": "1"}
    _apply(api_client, path, obj=full, manager="mgr")
    slim = _deployment("d")
    slim["metadata"]["labels"] = {"keep": "1"}
    slim["spec"]["template"]["spec"]["containers"] = slim["spec"]["template"]["spec"]["containers"][:1]
    out = _apply(api_client, path, obj=slim, manager="mgr")
    assert out["metadata"]["labels"] == {"keep": "1"}
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["a"]
    fields = out["metadata"]["managedFields"][0]["fieldsV1"]
    containers = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert list(containers) == ['k:{"name":"a"}']
    assert containers['k:{"name":"a"}']["f:ports"] == {
        'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}
    }
    # a field another manager also owns survives when one applier drops it
    shared = _deployment("d")
    shared["metadata"]["labels"] = {"keep": "1"}
    shared["spec"]["template"]["spec"]["containers"] = shared["spec"]["template"]["spec"]["containers"][:1]
    _apply(api_client, path, obj=shared, manager="other")
    again = _deployment("d")
    again["spec"]["template"]["spec"]["containers"] = again["spec"]["template"]["spec"]["containers"][:1]
    out = _apply(api_client, path, obj=again, manager="mgr")
    assert out["metadata"]["labels"] == {"keep": "1"}


def test_apply_requires_field_manager(api_client: client.ApiClient, ns: str) -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
    with pytest.raises(ApiException) as err:
        _patch(
            api_client,
            f"/api/v1/namespaces/{ns}/configmaps/x",
            body=yaml.safe_dump(obj),
            content_type="application/apply-patch+yaml",
        )
    assert err.value.status == 422
    assert json.loads(err.value.body)["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'
    )


def test_apply_answers_201_when_it_creates(api_client: client.ApiClient, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps/made"
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "made"}, "data": {"a": "b"}}
    url = api_client.configuration.host + path + "?fieldManager=m"
    headers = {"Content-Type": "application/apply-patch+yaml", "Accept": "application/json"}
    statuses = []
    for _ in range(2):
        response = api_client.call_api("PATCH", url, header_params=headers, body=yaml.safe_dump(obj))
        response.read()
        statuses.append(response.status)
    assert statuses == [201, 200]


def test_apply_noop_keeps_resource_version(api_client: client.ApiClient, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps/x"
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "b"}}
    first = _apply(api_client, path, obj=obj, manager="m")
    second = _apply(api_client, path, obj=obj, manager="m")
    assert first["metadata"]["resourceVersion"] == second["metadata"]["resourceVersion"]
