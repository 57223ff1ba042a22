"""CRUD semantics over HTTP with the official client: errors, versions, selectors, dry-run."""

from __future__ import annotations

import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from kubesim import KubeSim


def _status(exc: ApiException) -> dict:
    return json.loads(exc.body)


def test_create_get_replace_delete(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_config_map(ns, {"metadata": {"name": "cm"}, "data": {"a": "1"}})
    assert created.metadata.uid
    assert created.metadata.creation_timestamp is not None
    got = core.read_namespaced_config_map("cm", ns)
    assert got.data == {"a": "1"}
    got.data["b"] = "2"
    replaced = core.replace_namespaced_config_map("cm", ns, got)
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
    core.delete_namespaced_config_map("cm", ns)
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("cm", ns)
    body = _status(err.value)
    assert err.value.status == 404
    assert body["kind"] == "Status"
    assert body["reason"] == "NotFound"
    assert body["message"] == 'configmaps "cm" not found'
    assert body["details"] == {"name": "cm", "kind": "configmaps"}


def test_already_exists_and_generate_name(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "dup"}})
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "dup"}})
    assert err.value.status == 409
    assert _status(err.value)["reason"] == "AlreadyExists"
    assert _status(err.value)["message"] == 'configmaps "dup" already exists'
    generated = core.create_namespaced_config_map(ns, {"metadata": {"generateName": "gen-"}})
    assert generated.metadata.name.startswith("gen-")
    assert len(generated.metadata.name) == len("gen-") + 5


def test_missing_namespace_is_404(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("nowhere", {"metadata": {"name": "x"}})
    assert err.value.status == 404
    assert _status(err.value)["message"] == 'namespaces "nowhere" not found'


def test_invalid_name_is_422(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "Bad_Name"}})
    assert err.value.status == 422
    body = _status(err.value)
    assert body["reason"] == "Invalid"
    assert body["message"].startswith('ConfigMap "Bad_Name" is invalid: metadata.name')


def test_stale_resource_version_conflicts(core: client.CoreV1Api, ns: str) -> None:
    first = core.create_namespaced_config_map(ns, {"metadata": {"name": "cm"}, "data": {"a": "1"}})
    current = core.read_namespaced_config_map("cm", ns)
    current.data = {"a": "2"}
    core.replace_namespaced_config_map("cm", ns, current)
    first.data = {"a": "3"}
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("cm", ns, first)
    assert err.value.status == 409
    assert _status(err.value)["message"] == (
        'Operation cannot be fulfilled on configmaps "cm": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )


def test_resource_version_is_global_and_noop_does_not_bump(core: client.CoreV1Api, ns: str) -> None:
    a = core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    b = core.create_namespaced_secret(ns, {"metadata": {"name": "b"}})
    assert int(b.metadata.resource_version) > int(a.metadata.resource_version)
    again = core.replace_namespaced_config_map("a", ns, a)
    assert again.metadata.resource_version == a.metadata.resource_version


def test_generation_and_status_subresource(*, apps: client.AppsV1Api, ns: str, sim: KubeSim) -> None:
    body = {
        "metadata": {"name": "d"},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "d"}},
            "template": {
                "metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
        "status": {"replicas": 99},
    }
    created = apps.create_namespaced_deployment(ns, body)
    assert created.metadata.generation == 1
    assert created.status.replicas in (None, 0)
    labelled = apps.patch_namespaced_deployment("d", ns, {"metadata": {"labels": {"x": "y"}}})
    assert labelled.metadata.generation == 1
    scaled = apps.patch_namespaced_deployment("d", ns, {"spec": {"replicas": 0, "paused": True}})
    assert scaled.metadata.generation == 2
    # status on the main resource is ignored; the /status subresource writes it
    ignored = apps.patch_namespaced_deployment("d", ns, {"status": {"observedGeneration": 42}})
    assert ignored.status.observed_generation != 42
    written = apps.patch_namespaced_deployment_status("d", ns, {"status": {"observedGeneration": 42}})
    assert written.status.observed_generation == 42
    assert written.metadata.generation == 2


def test_status_subresource_without_controller(api_client: client.ApiClient, ns: str) -> None:
    policy = client.PolicyV1Api(api_client)
    body = {"metadata": {"name": "pdb"}, "spec": {"minAvailable": 1, "selector": {"matchLabels": {"a": "b"}}}}
    policy.create_namespaced_pod_disruption_budget(ns, body)
    status = {"currentHealthy": 1, "desiredHealthy": 1, "disruptionsAllowed": 0, "expectedPods": 1}
    policy.patch_namespaced_pod_disruption_budget_status("pdb", ns, {"status": status})
    read = policy.read_namespaced_pod_disruption_budget_status("pdb", ns)
    assert read.status.current_healthy == 1
    # a spec write does not reset the status
    policy.patch_namespaced_pod_disruption_budget("pdb", ns, {"spec": {"minAvailable": 2}})
    assert policy.read_namespaced_pod_disruption_budget("pdb", ns).status.current_healthy == 1


def test_defaults_are_filled(*, apps: client.AppsV1Api, core: client.CoreV1Api, ns: str) -> None:
    dep = apps.create_namespaced_deployment(
        ns,
        {
            "metadata": {"name": "d"},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "d"}},
                "template": {
                    "metadata": {"labels": {"app": "d"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                },
            },
        },
    )
    assert dep.spec.strategy.type == "RollingUpdate"
    assert dep.spec.revision_history_limit == 10
    assert dep.spec.template.spec.containers[0].image_pull_policy == "Always"
    svc = core.create_namespaced_service(ns, {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}})
    assert svc.spec.type == "ClusterIP"
    assert svc.spec.cluster_ip
    assert svc.spec.ports[0].protocol == "TCP"
    assert svc.spec.ports[0].target_port == 80


def test_label_selectors(core: client.CoreV1Api, ns: str) -> None:
    labels = {
        "a": {"env": "prod", "tier": "web"},
        "b": {"env": "dev", "tier": "web"},
        "c": {"env": "prod"},
        "d": {},
    }
    for name, lab in labels.items():
        core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": lab}})

    def names(selector: str) -> list[str]:
        return [i.metadata.name for i in core.list_namespaced_config_map(ns, label_selector=selector).items]

    assert names("env=prod") == ["a", "c"]
    assert names("env==prod") == ["a", "c"]
    assert names("env!=prod") == ["b", "d"]
    assert names("env in (dev,prod),tier") == ["a", "b"]
    assert names("env notin (prod)") == ["b", "d"]
    assert names("tier") == ["a", "b"]
    assert names("!tier") == ["c", "d"]
    assert names("env=prod,!tier") == ["c"]


def test_field_selectors_and_all_namespaces(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "one"}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "two"}})
    picked = core.list_namespaced_config_map(ns, field_selector="metadata.name=two").items
    assert [i.metadata.name for i in picked] == ["two"]
    everywhere = core.list_config_map_for_all_namespaces(field_selector=f"metadata.namespace={ns}")
    assert sorted(i.metadata.name for i in everywhere.items) == ["one", "two"]
    others = core.list_config_map_for_all_namespaces(field_selector=f"metadata.namespace!={ns}")
    assert all(i.metadata.namespace != ns for i in others.items)


def test_limit_and_continue(core: client.CoreV1Api, ns: str) -> None:
    for i in range(7):
        core.create_namespaced_config_map(ns, {"metadata": {"name": f"cm-{i}"}})
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = core.list_namespaced_config_map(ns, limit=3, _continue=token)
        pages += 1
        seen.extend(i.metadata.name for i in page.items)
        token = page.metadata._continue
        if not token:
            break
        assert page.metadata.remaining_item_count == 7 - len(seen)
    assert pages == 3
    assert seen == [f"cm-{i}" for i in range(7)]


def test_dry_run_stores_nothing(*, core: client.CoreV1Api, ns: str, sim: KubeSim) -> None:
    before = sim.store.resource_version
    made = core.create_namespaced_config_map(ns, {"metadata": {"name": "dry"}, "data": {"a": "b"}}, dry_run="All")
    assert made.metadata.name == "dry"
    assert made.metadata.uid
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("dry", ns)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "real"}, "data": {"a": "b"}})
    patched = core.patch_namespaced_config_map("real", ns, {"data": {"a": "c"}}, dry_run="All")
    assert patched.data["a"] == "c"
    assert core.read_namespaced_config_map("real", ns).data["a"] == "b"
    core.delete_namespaced_config_map("real", ns, dry_run="All")
    assert core.read_namespaced_config_map("real", ns).data["a"] == "b"
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "real"}}, dry_run="All")
    assert err.value.status == 409
    dry_entries = [e for e in sim.oplog if e["namespace"] == ns and e["dryRun"]]
    assert [e["verb"] for e in dry_entries] == ["create", "patch", "delete"]
    assert sim.store.resource_version > before


def test_cluster_scoped_and_namespace_deletion(core: client.CoreV1Api, sim: KubeSim) -> None:
    core.create_namespace({"metadata": {"name": "doomed"}})
    core.create_namespaced_config_map("doomed", {"metadata": {"name": "a"}})
    core.create_namespaced_secret("doomed", {"metadata": {"name": "s"}, "stringData": {"k": "v"}})
    core.delete_namespace("doomed")
    with pytest.raises(ApiException) as err:
        core.read_namespace("doomed")
    assert err.value.status == 404
    assert core.list_namespaced_config_map("doomed").items == []


def test_terminating_namespace_refuses_new_content(core: client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "held"}})
    core.create_namespaced_config_map("held", {"metadata": {"name": "a", "finalizers": ["x/y"]}})
    core.delete_namespace("held")
    namespace = core.read_namespace("held")
    assert namespace.status.phase == "Terminating"
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("held", {"metadata": {"name": "b"}})
    assert err.value.status == 403
    core.patch_namespaced_config_map("a", "held", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException):
        core.read_namespace("held")


def test_secret_string_data_is_encoded(core: client.CoreV1Api, ns: str) -> None:
    secret = core.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "stringData": {"user": "admin"}})
    assert secret.data == {"user": "YWRtaW4="}
    assert secret.type == "Opaque"
