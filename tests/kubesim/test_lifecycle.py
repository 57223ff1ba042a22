"""Finalizers, owner-reference garbage collection with each propagation policy, and the oplog."""

from __future__ import annotations

import json

import pytest
from ksim_helpers import eventually, raw_request
from kubernetes import client
from kubernetes.client.rest import ApiException

from kubesim import KubeSim


def _owner(cm: client.V1ConfigMap) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": cm.metadata.name,
        "uid": cm.metadata.uid,
        "blockOwnerDeletion": True,
    }


def _exists(core: client.CoreV1Api, ns: str, *, name: str) -> bool:
    try:
        core.read_namespaced_config_map(name, ns)
    except ApiException as exc:
        if exc.status != 404:
            raise
        return False
    return True


def test_finalizers_hold_deletion(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "f", "finalizers": ["example.com/hold"]}})
    core.delete_namespaced_config_map("f", ns)
    held = core.read_namespaced_config_map("f", ns)
    assert held.metadata.deletion_timestamp is not None
    assert held.metadata.finalizers == ["example.com/hold"]
    core.patch_namespaced_config_map("f", ns, {"metadata": {"$patch": "merge", "finalizers": None}})
    assert not _exists(core, ns, name="f")


def test_background_garbage_collection(core: client.CoreV1Api, ns: str) -> None:
    owner = core.create_namespaced_config_map(ns, {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "child", "ownerReferences": [_owner(owner)]}})
    child = core.read_namespaced_config_map("child", ns)
    grandchild_ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "child", "uid": child.metadata.uid}
    core.create_namespaced_config_map(ns, {"metadata": {"name": "grandchild", "ownerReferences": [grandchild_ref]}})
    core.delete_namespaced_config_map("owner", ns, propagation_policy="Background")
    eventually(lambda: not _exists(core, ns, name="child") and not _exists(core, ns, name="grandchild"))


def test_foreground_deletion_waits_for_dependents(core: client.CoreV1Api, ns: str) -> None:
    owner = core.create_namespaced_config_map(ns, {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map(
        ns, {"metadata": {"name": "child", "ownerReferences": [_owner(owner)], "finalizers": ["x/hold"]}}
    )
    core.delete_namespaced_config_map("owner", ns, propagation_policy="Foreground")
    owner_now = core.read_namespaced_config_map("owner", ns)
    assert owner_now.metadata.deletion_timestamp is not None
    assert "foregroundDeletion" in owner_now.metadata.finalizers
    assert core.read_namespaced_config_map("child", ns).metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("child", ns, {"metadata": {"finalizers": None}})
    eventually(lambda: not _exists(core, ns, name="owner") and not _exists(core, ns, name="child"))


def test_orphan_keeps_dependents(core: client.CoreV1Api, ns: str) -> None:
    owner = core.create_namespaced_config_map(ns, {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "child", "ownerReferences": [_owner(owner)]}})
    core.delete_namespaced_config_map("owner", ns, propagation_policy="Orphan")
    assert not _exists(core, ns, name="owner")
    child = core.read_namespaced_config_map("child", ns)
    assert not child.metadata.owner_references


def test_delete_preconditions(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "p"}})
    body = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid="not-the-uid"))
    with pytest.raises(ApiException) as err:
        core.delete_namespaced_config_map("p", ns, body=body)
    assert err.value.status == 409
    assert "Precondition failed" in json.loads(err.value.body)["message"]


def test_delete_collection(core: client.CoreV1Api, ns: str) -> None:
    for name in ("a", "b", "c"):
        core.create_namespaced_config_map(
            ns, {"metadata": {"name": name, "labels": {"g": "1" if name != "c" else "2"}}}
        )
    core.delete_collection_namespaced_config_map(ns, label_selector="g=1")
    assert [i.metadata.name for i in core.list_namespaced_config_map(ns).items] == ["c"]


def test_oplog_records_writes_in_order(
    *, sim: KubeSim, core: client.CoreV1Api, api_client: client.ApiClient, ns: str
) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "o"}}, field_manager="tester")
    core.patch_namespaced_config_map("o", ns, {"data": {"a": "b"}}, field_manager="tester")
    current = core.read_namespaced_config_map("o", ns)
    core.replace_namespaced_config_map("o", ns, current)
    core.delete_namespaced_config_map("o", ns)
    mine = [e for e in sim.oplog if e["namespace"] == ns]
    assert [e["verb"] for e in mine] == ["create", "patch", "update", "delete"]
    assert mine[0]["kind"] == "ConfigMap"
    assert mine[0]["fieldManager"] == "tester"
    assert mine[0]["user"] == "system:admin"
    assert [e["seq"] for e in mine] == sorted(e["seq"] for e in mine)
    over_http = raw_request(api_client, "GET", path="/kubesim/oplog")
    assert [e["verb"] for e in over_http["items"] if e["namespace"] == ns] == ["create", "patch", "update", "delete"]
    raw_request(api_client, "DELETE", path="/kubesim/oplog")
    assert sim.oplog == []
