"""Discovery documents, the dynamic client, and CustomResourceDefinitions served at runtime."""

from __future__ import annotations

import pytest
from ksim_helpers import application_crd, ensure_crd, eventually, raw_request
from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient

from kubesim import KubeSim


def test_version_and_groups(api_client: client.ApiClient) -> None:
    version = client.VersionApi(api_client).get_code()
    assert version.major == "1"
    groups = {g.name for g in client.ApisApi(api_client).get_api_versions().groups}
    assert {
        "apps",
        "batch",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "policy",
        "autoscaling",
        "storage.k8s.io",
        "coordination.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
    } <= groups
    core_resources = {r.name: r for r in client.CoreV1Api(api_client).get_api_resources().resources}
    assert core_resources["pods"].namespaced
    assert core_resources["pods"].short_names == ["po"]
    assert not core_resources["nodes"].namespaced
    assert "pods/log" in core_resources
    assert core_resources["configmaps"].singular_name == "configmap"
    assert set(core_resources["configmaps"].verbs) >= {"create", "get", "list", "watch", "patch", "delete"}


def test_aggregated_discovery(api_client: client.ApiClient) -> None:
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    doc = raw_request(api_client, "GET", path="/apis", headers={"Accept": accept})
    assert doc["kind"] == "APIGroupDiscoveryList"
    apps = next(i for i in doc["items"] if i["metadata"]["name"] == "apps")
    deployments = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    assert deployments["scope"] == "Namespaced"
    assert deployments["responseKind"]["kind"] == "Deployment"
    assert deployments["shortNames"] == ["deploy"]


def test_dynamic_client_discovers_builtins(dynamic: DynamicClient, ns: str) -> None:
    deployments = dynamic.resources.get(api_version="apps/v1", kind="Deployment")
    assert deployments.namespaced
    cms = dynamic.resources.get(api_version="v1", kind="ConfigMap")
    cms.create(body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dyn"}}, namespace=ns)
    assert cms.get(name="dyn", namespace=ns).metadata.name == "dyn"
    for api_version, kind in [
        ("batch/v1", "CronJob"),
        ("networking.k8s.io/v1", "Ingress"),
        ("rbac.authorization.k8s.io/v1", "ClusterRole"),
        ("policy/v1", "PodDisruptionBudget"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ("storage.k8s.io/v1", "StorageClass"),
        ("coordination.k8s.io/v1", "Lease"),
        ("apiregistration.k8s.io/v1", "APIService"),
    ]:
        assert dynamic.resources.get(api_version=api_version, kind=kind).kind == kind


def test_application_crd(
    *, api_client: client.ApiClient, custom: client.CustomObjectsApi, sim: KubeSim, ns: str
) -> None:
    ext = client.ApiextensionsV1Api(api_client)
    ensure_crd(api_client, application_crd())
    crd = ext.read_custom_resource_definition("applications.argoproj.io")
    assert {c.type for c in crd.status.conditions if c.status == "True"} >= {"Established", "NamesAccepted"}
    dynamic = DynamicClient(api_client)
    apps = dynamic.resources.get(api_version="argoproj.io/v1alpha1", kind="Application")
    assert apps.namespaced
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "guestbook"},
        "spec": {"project": "default", "source": {"repoURL": "https://example.com/repo.git"}},
        "status": {"sync": {"status": "Synced"}},
    }
    created = custom.create_namespaced_custom_object("argoproj.io", "v1alpha1", ns, "applications", app)
    assert "status" not in created
    assert created["metadata"]["generation"] == 1
    custom.patch_namespaced_custom_object_status(
        "argoproj.io", "v1alpha1", ns, "applications", "guestbook", {"status": {"sync": {"status": "OutOfSync"}}}
    )
    listed = custom.list_namespaced_custom_object("argoproj.io", "v1alpha1", ns, "applications")
    assert listed["kind"] == "ApplicationList"
    assert listed["items"][0]["status"]["sync"]["status"] == "OutOfSync"


def test_crd_cluster_scope_multiple_versions_and_removal(
    *, api_client: client.ApiClient, custom: client.CustomObjectsApi, sim: KubeSim
) -> None:
    ext = client.ApiextensionsV1Api(api_client)
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Cluster",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "shortNames": ["wd"]},
            "versions": [
                {"name": "v1", "served": True, "storage": True, "schema": schema},
                {"name": "v1beta1", "served": True, "storage": False, "schema": schema},
            ],
        },
    }
    ext.create_custom_resource_definition(crd)
    resources = (
        client.CustomObjectsApi(api_client).get_api_resources("example.com", "v1beta1")
        if hasattr(client.CustomObjectsApi, "get_api_resources")
        else None
    )
    assert resources is None or resources.resources[0].name == "widgets"
    custom.create_cluster_custom_object(
        "example.com", "v1", "widgets", {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    )
    via_beta = custom.get_cluster_custom_object("example.com", "v1beta1", "widgets", "w")
    assert via_beta["apiVersion"] == "example.com/v1beta1"
    dynamic = DynamicClient(api_client)
    assert not dynamic.resources.get(api_version="example.com/v1", kind="Widget").namespaced
    ext.delete_custom_resource_definition("widgets.example.com")
    eventually(lambda: sim.registry.get("example.com", "v1", plural="widgets") is None)
    with pytest.raises(ApiException) as err:
        custom.get_cluster_custom_object("example.com", "v1", "widgets", "w")
    assert err.value.status == 404


def test_unknown_paths_are_404(api_client: client.ApiClient) -> None:
    with pytest.raises(ApiException) as err:
        raw_request(api_client, "GET", path="/apis/nope.example.com/v1/things")
    assert err.value.status == 404
