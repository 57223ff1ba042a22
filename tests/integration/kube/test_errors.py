"""Kubernetes failures arrive as ArgoError classes carrying the Status message, never as client exceptions."""

from __future__ import annotations

import socket

import pytest
from kubernetes import client as k8s

from argocd_server.errors import (
    Aborted,
    AlreadyExists,
    ArgoError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from argocd_server.kube.client import ClusterClient, ClusterCredentials
from argocd_server.kube.errors import Gone, translate, translating
from argocd_server.kube.resources import GroupVersionKind, ResourceClient
from kubesim import KubeSim

CONFIGMAP = GroupVersionKind("", "v1", "ConfigMap")


def _cm(name: str, namespace: str, **data: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": data}


def test_missing_object_is_not_found_with_the_status_message(resources: ResourceClient, namespace: str) -> None:
    with pytest.raises(NotFound) as err:
        resources.get(CONFIGMAP, "x", namespace=namespace)
    assert err.value.message == 'configmaps "x" not found'


def test_duplicate_create_is_already_exists(resources: ResourceClient, namespace: str) -> None:
    resources.create(_cm("dup", namespace))
    with pytest.raises(AlreadyExists) as err:
        resources.create(_cm("dup", namespace))
    assert err.value.message == 'configmaps "dup" already exists'


def test_stale_resource_version_is_aborted(resources: ResourceClient, namespace: str) -> None:
    created = resources.create(_cm("stale", namespace, a="1"))
    resources.replace({**created, "data": {"a": "2"}})
    with pytest.raises(Aborted) as err:
        resources.replace({**created, "data": {"a": "3"}})
    assert not isinstance(err.value, AlreadyExists)
    assert err.value.message.startswith('Operation cannot be fulfilled on configmaps "stale"')


def test_invalid_object_is_invalid_argument(resources: ResourceClient, namespace: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        resources.create(_cm("Not_A_Valid_Name", namespace))
    assert 'ConfigMap "Not_A_Valid_Name" is invalid' in err.value.message


def test_unknown_kind_is_not_found(resources: ResourceClient, namespace: str) -> None:
    with pytest.raises(NotFound) as err:
        resources.get(GroupVersionKind("example.com", "v1", "Nope"), "x", namespace=namespace)
    assert err.value.message == 'no matches for kind "Nope" in version "example.com/v1"'


def test_token_errors_are_unauthenticated_and_permission_denied() -> None:
    with KubeSim(pace=0.0, tokens={"admin-token": None, "team-token": ["team"]}) as sim:
        sim.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
        with ClusterClient(ClusterCredentials(server=sim.url, bearer_token="wrong")) as bad:
            with pytest.raises(Unauthenticated) as unauth:
                ResourceClient(bad).api_resources()
            assert unauth.value.message == "Unauthorized"
        with ClusterClient(ClusterCredentials(server=sim.url, bearer_token="team-token")) as team:
            res = ResourceClient(team)
            res.create(_cm("ok", "team"))
            with pytest.raises(PermissionDenied) as denied:
                res.get(CONFIGMAP, "x", namespace="default")
        assert denied.value.message == (
            'configmaps "x" is forbidden: User "user-1" cannot get resource "configmaps" in API group "" '
            'in the namespace "default"'
        )


def test_official_typed_client_errors_translate(cluster: ClusterClient, namespace: str) -> None:
    core = k8s.CoreV1Api(cluster.api_client)
    with pytest.raises(NotFound) as err, translating():
        core.read_namespaced_config_map("absent", namespace)
    assert err.value.message == 'configmaps "absent" not found'
    assert isinstance(err.value.__cause__, k8s.ApiException)
    assert isinstance(translate(err.value.__cause__), NotFound)


def test_expired_watch_is_gone(sim: KubeSim, resources: ResourceClient, namespace: str) -> None:
    resources.create(_cm("w", namespace))
    api = resources.resource_for(CONFIGMAP)
    sim.compact()
    with pytest.raises(Gone) as err:
        list(resources.watch(api, resource_version="1", namespace=namespace, timeout_seconds=1))
    assert err.value.grpc_code == 2  # upstream passes a 410 on as an Unknown error
    assert err.value.message.startswith("too old resource version: 1")


def test_unreachable_server_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with ClusterClient(ClusterCredentials(server=f"http://127.0.0.1:{port}")) as dead:
        with pytest.raises(Unavailable):
            dead.server_version()
        with pytest.raises(ArgoError):
            ResourceClient(dead).api_resources()
        status = dead.check_connection()
    assert status.status == "Failed"
    assert status.message.startswith("Unable to connect to cluster: ")
