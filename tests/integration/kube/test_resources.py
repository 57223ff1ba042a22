"""Discovery, unstructured CRUD, patches, server-side and client-side apply, dry run, logs and events."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from argocd_server.errors import Aborted, ArgoError, FailedPrecondition, InvalidArgument, NotFound
from argocd_server.kube.resources import (
    CLIENT_SIDE_APPLY_MANAGER,
    LAST_APPLIED_ANNOTATION,
    ApplyAction,
    GroupVersionKind,
    PatchType,
    ResourceClient,
    client_side_apply_migration_patch,
)
from kubesim import KubeSim

from .polling import eventually

CONFIGMAP = GroupVersionKind("", "v1", "ConfigMap")
DEPLOYMENT = GroupVersionKind("apps", "v1", "Deployment")
POD = GroupVersionKind("", "v1", "Pod")
_crd_names = itertools.count()


def cm(name: str, namespace: str, data: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, **meta},
        "data": data or {},
    }


def deployment(name: str, namespace: str, env: list[dict[str, str]], replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "nginx:1.27", "env": env}]},
            },
        },
    }


def crd(plural: str, kind: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": plural[:-1], "kind": kind, "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }


def test_discovery_lists_core_and_group_kinds(resources: ResourceClient) -> None:
    apis = {(a.group, a.kind): a for a in resources.api_resources()}
    configmaps = apis[("", "ConfigMap")]
    assert (configmaps.name, configmaps.version, configmaps.namespaced) == ("configmaps", "v1", True)
    assert "cm" in configmaps.short_names
    assert configmaps.can("list", "watch", "patch")
    assert apis[("apps", "Deployment")].name == "deployments"
    assert not apis[("", "Namespace")].namespaced
    assert all("/" not in a.name for a in apis.values())


def test_crd_created_at_runtime_is_discovered_after_refresh(resources: ResourceClient, namespace: str) -> None:
    n = next(_crd_names)
    kind = f"Widget{n}"
    before = resources.api_resources()
    resources.create(crd(f"widgets{n}s", kind))
    assert all(a.kind != kind for a in resources.api_resources())  # cached until refreshed
    eventually(lambda: any(a.kind == kind for a in resources.refresh_discovery()), what="the CRD to be served")
    assert len(resources.api_resources()) > len(before)
    gvk = GroupVersionKind("example.com", "v1", kind)
    created = resources.create(
        {
            "apiVersion": "example.com/v1",
            "kind": kind,
            "metadata": {"name": "w", "namespace": namespace},
            "spec": {"a": 1},
        }
    )
    assert created["spec"] == {"a": 1}
    assert resources.get(gvk, "w", namespace=namespace)["metadata"]["uid"] == created["metadata"]["uid"]


def test_crud_round_trip(sim: KubeSim, resources: ResourceClient, namespace: str) -> None:
    created = resources.create(cm("a", namespace, {"k": "1"}, labels={"tier": "web"}))
    resources.create(cm("b", namespace, {"k": "2"}, labels={"tier": "db"}))
    assert created["metadata"]["resourceVersion"]
    names = [o["metadata"]["name"] for o in resources.list_objects(CONFIGMAP, namespace=namespace)]
    assert sorted(names) == ["a", "b"]
    web = resources.list_objects(CONFIGMAP, namespace=namespace, label_selector="tier=web")
    assert [o["metadata"]["name"] for o in web] == ["a"]
    assert all(o["kind"] == "ConfigMap" and o["apiVersion"] == "v1" for o in web)
    everywhere = resources.list_objects(CONFIGMAP, label_selector="tier in (web,db)")
    assert {o["metadata"]["namespace"] for o in everywhere} >= {namespace}

    replaced = resources.replace({**created, "data": {"k": "changed"}})
    assert replaced["data"] == {"k": "changed"}
    stored = sim.get("v1", "ConfigMap", name="a", namespace=namespace)
    assert stored is not None
    assert stored["data"] == {"k": "changed"}

    assert resources.delete(CONFIGMAP, "a", namespace=namespace, propagation_policy="Foreground") is None
    with pytest.raises(NotFound):
        resources.get(CONFIGMAP, "a", namespace=namespace)


def test_namespace_required_for_namespaced_kinds(resources: ResourceClient) -> None:
    with pytest.raises(InvalidArgument):
        resources.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})


def test_dry_run_changes_nothing(sim: KubeSim, resources: ResourceClient, namespace: str) -> None:
    preview = resources.create(cm("dry", namespace, {"k": "v"}), dry_run=True)
    assert preview["metadata"]["name"] == "dry"
    assert sim.get("v1", "ConfigMap", name="dry", namespace=namespace) is None
    resources.create(cm("dry", namespace, {"k": "v"}))
    resources.patch(CONFIGMAP, "dry", {"data": {"k": "w"}}, namespace=namespace, dry_run=True)
    resources.apply(cm("dry", namespace, {"k": "x"}), field_manager="argocd-controller", dry_run=True, force=True)
    resources.delete(CONFIGMAP, "dry", namespace=namespace, dry_run=True)
    stored = sim.get("v1", "ConfigMap", name="dry", namespace=namespace)
    assert stored is not None
    assert stored["data"] == {"k": "v"}


def test_patch_types(resources: ResourceClient, namespace: str) -> None:
    resources.create(cm("p", namespace, {"a": "1", "b": "2"}))
    merged = resources.patch(CONFIGMAP, "p", {"data": {"a": None, "c": "3"}}, namespace=namespace)
    assert merged["data"] == {"b": "2", "c": "3"}
    jsonp = resources.patch(
        CONFIGMAP,
        "p",
        [{"op": "replace", "path": "/data/b", "value": "20"}],
        namespace=namespace,
        patch_type=PatchType.JSON,
    )
    assert jsonp["data"] == {"b": "20", "c": "3"}

    resources.create(deployment("d", namespace, [{"name": "A", "value": "1"}]))
    strategic = resources.patch(
        DEPLOYMENT,
        "d",
        {"spec": {"template": {"spec": {"containers": [{"name": "main", "env": [{"name": "B", "value": "2"}]}]}}}},
        namespace=namespace,
        patch_type=PatchType.STRATEGIC,
    )
    container = strategic["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:1.27"
    assert {e["name"] for e in container["env"]} == {"A", "B"}


def test_server_side_apply_conflict_and_force(resources: ResourceClient, namespace: str) -> None:
    resources.apply(cm("ssa", namespace, {"owned": "by-other"}), field_manager="kubectl-edit")
    applied = resources.apply(cm("ssa", namespace, {"mine": "1"}), field_manager="argocd-controller")
    assert applied["data"] == {"owned": "by-other", "mine": "1"}
    managers = {m["manager"] for m in applied["metadata"]["managedFields"]}
    assert {"kubectl-edit", "argocd-controller"} <= managers

    with pytest.raises(Aborted) as err:
        resources.apply(cm("ssa", namespace, {"mine": "1", "owned": "by-argo"}), field_manager="argocd-controller")
    assert '"kubectl-edit"' in err.value.message
    assert ".data.owned" in err.value.message

    forced = resources.apply(
        cm("ssa", namespace, {"mine": "1", "owned": "by-argo"}), field_manager="argocd-controller", force=True
    )
    assert forced["data"]["owned"] == "by-argo"


def test_client_side_apply_removes_fields_dropped_from_desired(resources: ResourceClient, namespace: str) -> None:
    first = resources.client_side_apply(cm("csa", namespace, {"keep": "1", "drop": "2"}))
    assert first.action is ApplyAction.CREATED
    assert LAST_APPLIED_ANNOTATION in first.object["metadata"]["annotations"]
    # Another writer adds a field Argo never managed: three-way apply must leave it alone.
    resources.patch(CONFIGMAP, "csa", {"data": {"foreign": "x"}}, namespace=namespace)

    second = resources.client_side_apply(cm("csa", namespace, {"keep": "1", "new": "3"}))
    assert second.action is ApplyAction.CONFIGURED
    assert second.object["data"] == {"keep": "1", "new": "3", "foreign": "x"}
    recorded = second.object["metadata"]["annotations"][LAST_APPLIED_ANNOTATION]
    assert '"new":"3"' in recorded
    assert "drop" not in recorded

    third = resources.client_side_apply(cm("csa", namespace, {"keep": "1", "new": "3"}))
    assert third.action is ApplyAction.UNCHANGED
    assert third.patch is None


def test_client_side_apply_of_an_object_thought_missing(resources: ResourceClient, namespace: str) -> None:
    """A cache that has not seen the object yet only saves the first read: an existing object is still patched."""
    created = resources.client_side_apply(cm("csa-new", namespace, {"a": "1"}), probably_missing=True)
    assert created.action is ApplyAction.CREATED
    again = resources.client_side_apply(cm("csa-new", namespace, {"a": "2"}), probably_missing=True)
    assert again.action is ApplyAction.CONFIGURED
    assert again.object["data"] == {"a": "2"}
    same = resources.client_side_apply(cm("csa-new", namespace, {"a": "2"}), probably_missing=True)
    assert same.action is ApplyAction.UNCHANGED


def test_client_side_apply_merges_keyed_lists(resources: ResourceClient, namespace: str) -> None:
    env = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    resources.client_side_apply(deployment("web", namespace, env))
    result = resources.client_side_apply(deployment("web", namespace, [{"name": "A", "value": "10"}], replicas=2))
    assert result.action is ApplyAction.CONFIGURED
    live = resources.get(DEPLOYMENT, "web", namespace=namespace)
    assert live["spec"]["replicas"] == 2
    containers = live["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["main"]
    assert containers[0]["env"] == [{"name": "A", "value": "10"}]


def test_client_side_apply_dry_run(sim: KubeSim, resources: ResourceClient, namespace: str) -> None:
    result = resources.client_side_apply(cm("csa-dry", namespace, {"k": "v"}), dry_run=True)
    assert result.action is ApplyAction.CREATED
    assert sim.get("v1", "ConfigMap", name="csa-dry", namespace=namespace) is None


def test_custom_resource_client_side_apply_uses_merge_patch(resources: ResourceClient, namespace: str) -> None:
    n = next(_crd_names)
    kind = f"Gadget{n}"
    resources.create(crd(f"gadgets{n}s", kind))
    eventually(lambda: any(a.kind == kind for a in resources.refresh_discovery()), what="the CRD")
    body = {"apiVersion": "example.com/v1", "kind": kind, "metadata": {"name": "g", "namespace": namespace}}
    resources.client_side_apply({**body, "spec": {"a": 1, "b": [1, 2]}})
    result = resources.client_side_apply({**body, "spec": {"b": [3]}})
    assert result.object["spec"] == {"b": [3]}


def _directives(sim: KubeSim, namespace: str) -> list[tuple[str, str]]:
    return [(e["verb"], e["fieldValidation"]) for e in sim.oplog if e["namespace"] == namespace]


def test_every_write_sends_the_field_validation_directive(
    sim: KubeSim, resources: ResourceClient, namespace: str
) -> None:
    with_extra = {**cm("fv", namespace, {"a": "1"}), "extra": "x"}
    created = resources.create(with_extra, field_validation="Ignore")
    assert "extra" not in created
    created["extra"] = "x"
    assert "extra" not in resources.replace(created, field_validation="Ignore")
    patched = resources.patch(CONFIGMAP, "fv", {"extra": "x"}, namespace=namespace, field_validation="Ignore")
    assert "extra" not in patched
    resources.apply(
        cm("fv", namespace, {"a": "2"}), field_manager="m", force=True, dry_run=True, field_validation="Ignore"
    )
    resources.client_side_apply({**cm("fv-csa", namespace, {"a": "1"}), "extra": "x"}, field_validation="Ignore")
    configured = resources.client_side_apply(
        {**cm("fv-csa", namespace, {"a": "2"}), "extra": "x"}, field_validation="Ignore"
    )
    assert configured.action is ApplyAction.CONFIGURED
    assert "extra" not in configured.object
    assert _directives(sim, namespace) == [
        ("create", "Ignore"),
        ("update", "Ignore"),
        ("patch", "Ignore"),
        ("apply", "Ignore"),
        ("create", "Ignore"),
        ("patch", "Ignore"),
    ]
    # Left out, the parameter is not sent: the API server's default (Warn) applies.
    resources.create(cm("fv-default", namespace))
    assert _directives(sim, namespace)[-1] == ("create", "Warn")


def test_strict_field_validation_refuses_unknown_fields(resources: ResourceClient, namespace: str) -> None:
    """Kubernetes refuses with BadRequest (400), which upstream's API server passes on as FailedPrecondition."""
    strict = 'strict decoding error: unknown field "extra"'
    with_extra = {**cm("strict", namespace, {"a": "1"}), "extra": "x"}
    for write in (
        lambda: resources.create(with_extra, field_validation="Strict"),
        lambda: resources.client_side_apply(with_extra, field_validation="Strict"),
    ):
        with pytest.raises(FailedPrecondition) as err:
            write()
        assert err.value.message == f'ConfigMap in version "v1" cannot be handled as a ConfigMap: {strict}'
    live = resources.create(cm("strict", namespace, {"a": "1"}), field_validation="Strict")
    # A patch that does not decode is Invalid (422) instead: InvalidArgument.
    writes: list[tuple[Callable[[], object], type[ArgoError]]] = [
        (lambda: resources.replace({**live, "extra": "x"}, field_validation="Strict"), FailedPrecondition),
        (
            lambda: resources.patch(
                CONFIGMAP, "strict", {"extra": "x"}, namespace=namespace, field_validation="Strict"
            ),
            InvalidArgument,
        ),
        (lambda: resources.client_side_apply(with_extra, field_validation="Strict"), InvalidArgument),
    ]
    for refused_write, expected in writes:
        with pytest.raises(expected) as refused:
            refused_write()
        assert refused.value.message.endswith(strict)


def _managers(obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["manager"], m["operation"]) for m in obj["metadata"].get("managedFields") or []]


def test_client_side_apply_writes_as_kubectl(resources: ResourceClient, namespace: str) -> None:
    created = resources.client_side_apply(cm("mgr", namespace, {"a": "1"}))
    assert _managers(created.object) == [(CLIENT_SIDE_APPLY_MANAGER, "Update")]
    configured = resources.client_side_apply(cm("mgr", namespace, {"a": "2"}))
    assert _managers(configured.object) == [(CLIENT_SIDE_APPLY_MANAGER, "Update")]


def test_client_side_apply_migration_patch_hands_fields_to_the_apply_manager(
    resources: ResourceClient, namespace: str
) -> None:
    resources.client_side_apply(cm("up", namespace, {"keep": "1", "drop": "2"}))
    live = resources.get(CONFIGMAP, "up", namespace=namespace)
    patch = client_side_apply_migration_patch(
        live, csa_managers=[CLIENT_SIDE_APPLY_MANAGER], ssa_manager="argocd-controller"
    )
    assert patch is not None
    assert patch[1] == {
        "op": "replace",
        "path": "/metadata/resourceVersion",
        "value": live["metadata"]["resourceVersion"],
    }
    migrated = resources.patch(CONFIGMAP, "up", patch, namespace=namespace, patch_type=PatchType.JSON)
    assert _managers(migrated) == [("argocd-controller", "Apply")]
    assert migrated["metadata"]["managedFields"][0]["fieldsV1"] == live["metadata"]["managedFields"][0]["fieldsV1"]
    assert (
        client_side_apply_migration_patch(
            migrated, csa_managers=[CLIENT_SIDE_APPLY_MANAGER], ssa_manager="argocd-controller"
        )
        is None
    )
    applied = resources.apply(cm("up", namespace, {"keep": "1"}), field_manager="argocd-controller", force=True)
    assert applied["data"] == {"keep": "1"}

    # A second client-side apply writer: its fields merge into the existing Apply entry.
    resources.client_side_apply(cm("up", namespace, {"keep": "1", "more": "3"}))
    live = resources.get(CONFIGMAP, "up", namespace=namespace)
    assert _managers(live) == [("argocd-controller", "Apply"), (CLIENT_SIDE_APPLY_MANAGER, "Update")]
    patch = client_side_apply_migration_patch(
        live, csa_managers=[CLIENT_SIDE_APPLY_MANAGER], ssa_manager="argocd-controller"
    )
    assert patch is not None
    merged = resources.patch(CONFIGMAP, "up", patch, namespace=namespace, patch_type=PatchType.JSON)
    assert _managers(merged) == [("argocd-controller", "Apply")]
    assert merged["metadata"]["managedFields"][0]["fieldsV1"]["f:data"] == {"f:keep": {}, "f:more": {}}

    # Read before someone else wrote: the patch conflicts instead of overwriting.
    resources.client_side_apply(cm("up", namespace, {"keep": "1", "more": "4"}))
    stale = resources.get(CONFIGMAP, "up", namespace=namespace)
    resources.patch(CONFIGMAP, "up", {"data": {"other": "5"}}, namespace=namespace)
    patch = client_side_apply_migration_patch(
        stale, csa_managers=[CLIENT_SIDE_APPLY_MANAGER], ssa_manager="argocd-controller"
    )
    assert patch is not None
    with pytest.raises(Aborted):
        resources.patch(CONFIGMAP, "up", patch, namespace=namespace, patch_type=PatchType.JSON)


def test_pod_logs(resources: ResourceClient, namespace: str) -> None:
    resources.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "logger", "namespace": namespace},
            "spec": {"containers": [{"name": "app", "image": "busybox"}]},
        }
    )
    eventually(
        lambda: (resources.get(POD, "logger", namespace=namespace).get("status") or {}).get("phase") == "Running",
        what="the pod to run",
    )
    lines = list(resources.pod_logs(namespace, "logger", container="app", tail_lines=3))
    assert len(lines) == 3
    assert all(line for line in lines)
    stamped = list(resources.pod_logs(namespace, "logger", tail_lines=1, timestamps=True))
    assert stamped[0][:4].isdigit()
    follow = resources.pod_logs(namespace, "logger", tail_lines=1, follow=True)
    assert next(follow)
    follow.close()  # type: ignore[attr-defined]
    with pytest.raises(NotFound):
        next(resources.pod_logs(namespace, "no-such-pod"))


def test_events_about_one_object(resources: ResourceClient, namespace: str) -> None:
    resources.create(deployment("evented", namespace, []))
    eventually(
        lambda: bool(resources.events(namespace, involved_kind="Deployment", involved_name="evented")),
        what="a Deployment event",
    )
    events = resources.events(namespace, involved_kind="Deployment", involved_name="evented")
    assert all(e["involvedObject"]["name"] == "evented" for e in events)


def test_scope_lookup_answers_from_discovery(resources: ResourceClient) -> None:
    namespaced = resources.scope_lookup()
    assert namespaced("", "ConfigMap") is True
    assert namespaced("", "Namespace") is False
    assert namespaced("apps", "Deployment") is True
    assert namespaced("example.invalid", "Nothing") is None
