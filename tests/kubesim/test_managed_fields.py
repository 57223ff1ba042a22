"""Writing ``metadata.managedFields`` directly, as client-go's csaupgrade does to hand client-side apply ownership
to a server-side apply manager: the request's entries replace the stored ones on the main resource, an empty list
changes nothing, a list of empty entries resets them, and subresource writes never touch them."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from kubesim import KubeSim

CSA = "kubectl-client-side-apply"


@pytest.fixture(scope="module")
def http(sim: KubeSim) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, timeout=10.0) as session:
        yield session


def _cms(ns: str) -> str:
    return f"/api/v1/namespaces/{ns}/configmaps"


def _patch(http: httpx.Client, path: str, body: Any, content_type: str, **query: str) -> httpx.Response:
    data = yaml.safe_dump(body) if "yaml" in content_type else json.dumps(body)
    return http.patch(path, content=data, params=query, headers={"Content-Type": content_type})


def _csa_configmap(http: httpx.Client, ns: str, name: str) -> dict[str, Any]:
    body = {"metadata": {"name": name}, "data": {"keep": "1", "drop": "2"}}
    r = http.post(_cms(ns), json=body, params={"fieldManager": CSA})
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    assert [(m["manager"], m["operation"]) for m in created["metadata"]["managedFields"]] == [(CSA, "Update")]
    return created


def _apply_keep_only(http: httpx.Client, ns: str, name: str) -> dict[str, Any]:
    applied = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"keep": "1"}}
    r = _patch(
        http,
        f"{_cms(ns)}/{name}",
        applied,
        "application/apply-patch+yaml",
        fieldManager="argocd-controller",
        force="true",
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def test_json_patch_of_managed_fields_replaces_them(*, http: httpx.Client, ns: str) -> None:
    live = _csa_configmap(http, ns, "migrated")
    upgraded = copy.deepcopy(live["metadata"]["managedFields"])
    upgraded[0].update(manager="argocd-controller", operation="Apply")
    ops = [
        {"op": "replace", "path": "/metadata/managedFields", "value": upgraded},
        {"op": "replace", "path": "/metadata/resourceVersion", "value": live["metadata"]["resourceVersion"]},
    ]
    r = _patch(http, f"{_cms(ns)}/migrated", ops, "application/json-patch+json")
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["managedFields"] == upgraded
    assert http.get(f"{_cms(ns)}/migrated").json()["metadata"]["managedFields"] == upgraded

    # argocd-controller now owns what client-side apply wrote: applying without ``drop`` removes it.
    assert _apply_keep_only(http, ns, "migrated")["data"] == {"keep": "1"}

    # Without the hand-over the field stays, still owned by the client-side apply manager.
    _csa_configmap(http, ns, "unmigrated")
    assert _apply_keep_only(http, ns, "unmigrated")["data"] == {"keep": "1", "drop": "2"}


def test_a_stale_resource_version_in_the_patch_conflicts(*, http: httpx.Client, ns: str) -> None:
    live = _csa_configmap(http, ns, "raced")
    r = _patch(http, f"{_cms(ns)}/raced", {"data": {"other": "x"}}, "application/merge-patch+json")
    assert r.status_code == 200
    ops = [
        {"op": "replace", "path": "/metadata/managedFields", "value": []},
        {"op": "replace", "path": "/metadata/resourceVersion", "value": live["metadata"]["resourceVersion"]},
    ]
    r = _patch(http, f"{_cms(ns)}/raced", ops, "application/json-patch+json")
    assert (r.status_code, r.json()["reason"]) == (409, "Conflict")


def test_an_empty_list_keeps_the_stored_entries(*, http: httpx.Client, ns: str) -> None:
    _csa_configmap(http, ns, "kept")
    # Clients unaware of managedFields cannot wipe them by sending none.
    body = {"metadata": {"managedFields": []}, "data": {"more": "3"}}
    r = _patch(http, f"{_cms(ns)}/kept", body, "application/merge-patch+json", fieldManager="editor")
    assert r.status_code == 200
    assert {(m["manager"], m["operation"]) for m in r.json()["metadata"]["managedFields"]} == {
        (CSA, "Update"),
        ("editor", "Update"),
    }


def test_a_list_of_empty_entries_resets_them(*, http: httpx.Client, ns: str) -> None:
    _csa_configmap(http, ns, "reset")
    r = _patch(http, f"{_cms(ns)}/reset", {"metadata": {"managedFields": [{}]}}, "application/merge-patch+json")
    assert r.status_code == 200
    assert "managedFields" not in r.json()["metadata"]


def test_subresource_writes_ignore_sent_managed_fields(*, http: httpx.Client, ns: str) -> None:
    r = http.post(
        f"/api/v1/namespaces/{ns}/services",
        json={"metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}},
        params={"fieldManager": CSA},
    )
    assert r.status_code == 201, r.text
    forged = [
        {
            "manager": "forger",
            "operation": "Apply",
            "apiVersion": "v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:ports": {}}},
        }
    ]
    body = {"metadata": {"managedFields": forged}, "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}}}
    r = _patch(
        http, f"/api/v1/namespaces/{ns}/services/svc/status", body, "application/merge-patch+json", fieldManager="lb"
    )
    assert r.status_code == 200, r.text
    managers = {(m["manager"], m["operation"], m.get("subresource", "")) for m in r.json()["metadata"]["managedFields"]}
    assert managers == {(CSA, "Update", ""), ("lb", "Update", "status")}
