"""Diff and normalisation of desired versus live objects."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from argocd_server.engine.diff import (
    DiffOptions,
    IgnoreDifferences,
    IgnoreStatusMode,
    canonical_quantity,
    compare_options_of,
    diff_resource,
    diff_resources,
    has_ignore_extraneous,
    mask_secrets,
    normalize_object,
    only_owned_by,
    parse_ignore_differences_customizations,
    server_side_diff_enabled,
    unified_diff,
)
from argocd_server.engine.resources import ANNOTATION_LAST_APPLIED, KubeObject
from argocd_server.engine.tracking import ANNOTATION_TRACKING_ID, TrackingMethod


def deployment(*, replicas: int = 2, image: str = "nginx:1.25", cpu: str | int = "500m") -> KubeObject:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": image,
                            "ports": [{"containerPort": 80}],
                            "resources": {"limits": {"cpu": cpu, "memory": "256Mi"}},
                        }
                    ]
                },
            },
        },
    }


def live_of(target: KubeObject, *, last_applied: bool = False) -> KubeObject:
    """What the API server returns for ``target``: server-set metadata, defaults and status added."""
    live = copy.deepcopy(target)
    metadata = live["metadata"]
    metadata.update(
        {
            "uid": "4d0a9e1c-0000-4000-8000-000000000001",
            "resourceVersion": "12345",
            "generation": 3,
            "creationTimestamp": "2024-05-01T10:00:00Z",
            "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update"}],
        }
    )
    if last_applied:
        metadata.setdefault("annotations", {})[ANNOTATION_LAST_APPLIED] = json.dumps(target)
    spec = live.get("spec", {})
    if live["kind"] == "Deployment":
        spec["revisionHistoryLimit"] = 10
        spec["progressDeadlineSeconds"] = 600
        spec["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
        pod = spec["template"]["spec"]
        pod.update({"restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler"})
        for container in pod["containers"]:
            container.setdefault("imagePullPolicy", "IfNotPresent")
            container["terminationMessagePath"] = "/dev/termination-log"
            for port in container.get("ports", []):
                port.setdefault("protocol", "TCP")
        live["status"] = {"replicas": spec["replicas"], "readyReplicas": spec["replicas"], "observedGeneration": 3}
    return live


def test_identical_with_server_defaults_is_not_modified() -> None:
    target = deployment()
    result = diff_resource(target=target, live=live_of(target))
    assert result.modified is False


def test_changed_image_is_modified_and_predicted_carries_it() -> None:
    live = live_of(deployment())
    result = diff_resource(target=deployment(image="nginx:1.26"), live=live)
    assert result.modified is True
    predicted = result.predicted_object()
    assert predicted is not None
    container = predicted["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:1.26"
    # Defaults from live survive in the prediction.
    assert container["imagePullPolicy"] == "IfNotPresent"


def test_status_and_server_metadata_are_ignored() -> None:
    target = deployment()
    live = live_of(target)
    live["status"]["readyReplicas"] = 0
    result = diff_resource(target=target, live=live)
    assert result.modified is False
    normalized = result.live_object()
    assert normalized is not None
    assert "status" not in normalized
    assert "creationTimestamp" not in normalized["metadata"]
    assert "managedFields" not in normalized["metadata"]


def test_status_compared_when_configured() -> None:
    target = deployment()
    target["status"] = {"replicas": 5}
    options = DiffOptions(ignore_status=IgnoreStatusMode.NONE)
    assert diff_resource(target=target, live=live_of(deployment()), options=options).modified is True


def test_live_only_fields_are_not_drift() -> None:
    target = deployment()
    live = live_of(target)
    live["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = "4"
    live["spec"]["template"]["spec"]["containers"].append({"name": "istio-proxy", "image": "istio/proxyv2"})
    live["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "INJECTED", "value": "1"}]
    assert diff_resource(target=target, live=live).modified is False


def test_removed_field_is_drift_only_with_last_applied() -> None:
    previous = deployment()
    previous["metadata"]["labels"]["tier"] = "frontend"
    live = live_of(previous, last_applied=True)
    # Git dropped the label: three-way sees it in last-applied, so it is drift.
    assert diff_resource(target=deployment(), live=live).modified is True
    # Without last-applied (two-way) a label only present live is never drift.
    assert diff_resource(target=deployment(), live=live_of(previous)).modified is False


def test_removed_container_via_last_applied() -> None:
    previous = deployment()
    previous["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    live = live_of(previous, last_applied=True)
    result = diff_resource(target=deployment(), live=live)
    assert result.modified is True
    predicted = result.predicted_object()
    assert predicted is not None
    assert [c["name"] for c in predicted["spec"]["template"]["spec"]["containers"]] == ["web"]


def test_last_applied_unchanged_is_in_sync() -> None:
    target = deployment()
    assert diff_resource(target=target, live=live_of(target, last_applied=True)).modified is False


@pytest.mark.parametrize(("desired", "live"), [("1000m", "1"), ("1", "1"), (1, "1"), ("0.5", "500m"), ("2Gi", "2Gi")])
def test_quantities_are_canonicalised(desired: str | int, live: str) -> None:
    target = deployment(cpu=desired)
    live_obj = live_of(deployment())
    live_obj["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = live
    assert diff_resource(target=target, live=live_obj).modified is False


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("1000m", "1"),
        ("1500m", "1500m"),
        ("0.5", "500m"),
        ("1024Mi", "1Gi"),
        ("1536Mi", "1536Mi"),
        ("0.5Gi", "512Mi"),
        ("2000", "2k"),
        ("1e3", "1e3"),
        ("0", "0"),
        ("100Mi", "100Mi"),
        (2, "2"),
        ("abc", None),
    ],
)
def test_canonical_quantity(text: str | int, canonical: str | None) -> None:
    assert canonical_quantity(text) == canonical


def test_empty_lists_and_maps_equal_missing() -> None:
    target = deployment()
    target["metadata"]["annotations"] = {}
    target["spec"]["template"]["spec"]["containers"][0]["args"] = []
    target["spec"]["template"]["spec"]["volumes"] = []
    assert diff_resource(target=target, live=live_of(deployment())).modified is False


def test_int_or_string_keeps_type() -> None:
    # Kubernetes keeps IntOrString values as written, so upstream reports "80" vs 80 as a difference.
    svc: KubeObject = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": "web"}},
    }
    live = copy.deepcopy(svc)
    live["spec"]["ports"][0]["protocol"] = "TCP"
    live["spec"]["clusterIP"] = "10.0.0.12"
    assert diff_resource(target=svc, live=live).modified is False
    changed = copy.deepcopy(svc)
    changed["spec"]["ports"][0]["targetPort"] = "http"
    assert diff_resource(target=changed, live=live).modified is True


def test_creation_and_deletion() -> None:
    created = diff_resource(target=deployment(), live=None)
    assert created.modified is True
    assert created.normalized_live == "null"
    pruned = diff_resource(target=None, live=live_of(deployment()))
    assert pruned.modified is False
    assert pruned.predicted_live == "null"


def test_ignore_differences_json_pointer() -> None:
    live = live_of(deployment(replicas=5))
    rule = IgnoreDifferences(group="apps", kind="Deployment", json_pointers=("/spec/replicas",))
    assert diff_resource(target=deployment(), live=live).modified is True
    assert (
        diff_resource(target=deployment(), live=live, options=DiffOptions(ignore_differences=(rule,))).modified is False
    )


def test_ignore_differences_respects_name_and_namespace() -> None:
    live = live_of(deployment(replicas=5))
    other = IgnoreDifferences(group="apps", kind="Deployment", name="api", json_pointers=("/spec/replicas",))
    glob = IgnoreDifferences(group="*", kind="Deploy*", namespace="default", json_pointers=("/spec/replicas",))
    assert diff_resource(target=deployment(), live=live, options=DiffOptions(ignore_differences=(other,))).modified
    assert not diff_resource(target=deployment(), live=live, options=DiffOptions(ignore_differences=(glob,))).modified


def test_ignore_differences_escaped_pointer() -> None:
    target = deployment()
    target["metadata"]["annotations"] = {"example.com/owner": "team-a"}
    live = live_of(deployment())
    live["metadata"]["annotations"] = {"example.com/owner": "team-b"}
    rule = IgnoreDifferences(
        group="apps", kind="Deployment", json_pointers=("/metadata/annotations/example.com~1owner",)
    )
    assert diff_resource(target=target, live=live).modified is True
    assert not diff_resource(target=target, live=live, options=DiffOptions(ignore_differences=(rule,))).modified


def test_ignore_differences_jq_path_expression() -> None:
    live = live_of(deployment(image="nginx:mutated"))
    rule = IgnoreDifferences(
        group="apps",
        kind="Deployment",
        jq_path_expressions=('.spec.template.spec.containers[] | select(.name == "web") | .image',),
    )
    result = diff_resource(target=deployment(), live=live, options=DiffOptions(ignore_differences=(rule,)))
    assert result.modified is False
    bad = IgnoreDifferences(group="apps", kind="Deployment", jq_path_expressions=(".[[[",))
    assert diff_resource(target=deployment(), live=live, options=DiffOptions(ignore_differences=(bad,))).modified


def test_ignore_differences_managed_fields_managers() -> None:
    live = live_of(deployment(replicas=7))
    live["metadata"]["managedFields"] = [
        {
            "manager": "kube-controller-manager",
            "operation": "Update",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:replicas": {}}},
        },
        {
            "manager": "vpa",
            "operation": "Update",
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:spec": {
                    "f:template": {
                        "f:spec": {"f:containers": {'k:{"name":"web"}': {"f:resources": {"f:limits": {"f:cpu": {}}}}}}
                    }
                }
            },
        },
    ]
    live["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "2"
    rule = IgnoreDifferences(
        group="apps", kind="Deployment", managed_fields_managers=("kube-controller-manager", "vpa")
    )
    assert diff_resource(target=deployment(), live=live).modified is True
    assert not diff_resource(target=deployment(), live=live, options=DiffOptions(ignore_differences=(rule,))).modified


def test_ignore_rules_from_argocd_cm() -> None:
    rules = parse_ignore_differences_customizations(
        {
            "resource.customizations.ignoreDifferences.apps_Deployment": "jsonPointers:\n- /spec/replicas\n",
            "resource.customizations.ignoreDifferences.Service": "jqPathExpressions:\n- .spec.clusterIP\n",
            "resource.customizations.ignoreDifferences.all": "managedFieldsManagers:\n- kube-controller-manager\n",
            "unrelated": "x",
        }
    )
    by_kind = {(r.group, r.kind): r for r in rules}
    assert by_kind[("apps", "Deployment")].json_pointers == ("/spec/replicas",)
    assert by_kind[("", "Service")].jq_path_expressions == (".spec.clusterIP",)
    assert by_kind[("*", "*")].managed_fields_managers == ("kube-controller-manager",)


def secret(**string_data: str) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "default"},
        "type": "Opaque",
        "stringData": dict(string_data),
    }


def encoded(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def test_secret_string_data_folded_and_masked() -> None:
    target = secret(password="s3cr3t", user="admin")
    live: KubeObject = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "default", "uid": "x"},
        "type": "Opaque",
        "data": {"password": encoded("s3cr3t"), "user": encoded("admin")},
    }
    same = diff_resource(target=target, live=live)
    assert same.modified is False
    changed = diff_resource(target=secret(password="other", user="admin"), live=live)
    assert changed.modified is True
    for text in (changed.normalized_live, changed.target, changed.predicted_live):
        assert "s3cr3t" not in text
        assert encoded("s3cr3t") not in text
        assert encoded("other") not in text
    live_data = json.loads(changed.normalized_live)["data"]
    target_data = json.loads(changed.target)["data"]
    assert live_data["user"] == target_data["user"] == "++++++++"
    assert live_data["password"] != target_data["password"]
    assert set(live_data["password"]) == {"+"}
    assert "stringData" not in json.loads(changed.target)


def test_mask_secrets_keeps_equal_values_equal_including_last_applied() -> None:
    applied: KubeObject = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "data": {"k": encoded("old")},
    }
    live: KubeObject = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "annotations": {ANNOTATION_LAST_APPLIED: json.dumps(applied)}},
        "data": {"k": encoded("old")},
    }
    target: KubeObject = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "data": {"k": encoded("new")},
    }
    masked_target, masked_live = mask_secrets([target, live])
    assert masked_target is not None
    assert masked_live is not None
    assert masked_target["data"]["k"] == "++++++++"
    assert masked_live["data"]["k"] == "++++++++++++"
    inner = json.loads(masked_live["metadata"]["annotations"][ANNOTATION_LAST_APPLIED])
    assert inner["data"]["k"] == "++++++++++++"
    assert target["data"]["k"] == encoded("new")


def test_role_empty_rules_normalised() -> None:
    role: KubeObject = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "reader", "namespace": "default"},
        "rules": [],
    }
    live = copy.deepcopy(role)
    del live["rules"]
    assert diff_resource(target=role, live=live).modified is False


def test_aggregated_cluster_role_rules_ignored_when_configured() -> None:
    role: KubeObject = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "monitoring"},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"rbac.example.com/aggregate": "true"}}]},
    }
    live = copy.deepcopy(role)
    live["rules"] = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    with_last_applied = copy.deepcopy(live)
    with_last_applied["metadata"]["annotations"] = {ANNOTATION_LAST_APPLIED: json.dumps({**role, "rules": []})}
    assert not diff_resource(
        target=role, live=with_last_applied, options=DiffOptions(ignore_aggregated_roles=True)
    ).modified


def test_custom_resource_lists_are_atomic() -> None:
    widget: KubeObject = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "default"},
        "spec": {"items": [{"name": "a"}, {"name": "b"}]},
    }
    live = copy.deepcopy(widget)
    live["spec"]["items"][0]["defaulted"] = True
    assert diff_resource(target=widget, live=live).modified is False
    reordered = copy.deepcopy(widget)
    reordered["spec"]["items"].reverse()
    assert diff_resource(target=reordered, live=live).modified is True


def test_tracking_migration_prevents_drift() -> None:
    target = deployment()
    target["metadata"]["annotations"] = {ANNOTATION_TRACKING_ID: "guestbook:apps/Deployment:default/web"}
    live = live_of(deployment())
    live["metadata"]["labels"]["app.kubernetes.io/instance"] = "guestbook"
    assert diff_resource(target=target, live=live).modified is False
    assert diff_resource(target=target, live=live, options=DiffOptions(tracking_method=None)).modified is True
    assert not diff_resource(
        target=target, live=live, options=DiffOptions(tracking_method=TrackingMethod.ANNOTATION)
    ).modified


def test_server_side_live_is_used_as_prediction() -> None:
    target = deployment()
    live = live_of(target, last_applied=True)
    predicted = live_of(deployment(replicas=3))
    assert diff_resource(target=target, live=live, server_side_live=predicted).modified is True
    assert diff_resource(target=target, live=live, server_side_live=live_of(target)).modified is False


def test_known_type_fields_normalise_rollout_pod_spec() -> None:
    rollout: KubeObject = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "r", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": [{"name": "a", "resources": {"requests": {"cpu": "1000m"}}}]}}},
    }
    live = copy.deepcopy(rollout)
    live["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "1"
    assert diff_resource(target=rollout, live=live).modified is False


def test_compare_options() -> None:
    obj: KubeObject = {
        "metadata": {"annotations": {"argocd.argoproj.io/compare-options": "IgnoreExtraneous,ServerSideDiff=true"}}
    }
    assert has_ignore_extraneous(obj)
    assert compare_options_of(obj) == {"IgnoreExtraneous": "", "ServerSideDiff": "true"}
    assert server_side_diff_enabled(obj) is True
    off = {"metadata": {"annotations": {"argocd.argoproj.io/compare-options": "ServerSideDiff=false"}}}
    assert server_side_diff_enabled(off, default=True) is False
    assert server_side_diff_enabled({}, default=True) is True
    assert not has_ignore_extraneous({})


def test_diff_resources_and_unified_text() -> None:
    results = diff_resources(
        [(deployment(), live_of(deployment())), (deployment(image="nginx:2"), live_of(deployment()))]
    )
    assert results.modified is True
    assert [d.modified for d in results.diffs] == [False, True]
    text = unified_diff(results.diffs[1], name="apps/Deployment default/web")
    assert "-      - image: nginx:1.25" in text
    assert "+      - image: nginx:2" in text
    assert text.startswith("--- apps/Deployment default/web live")
    assert unified_diff(results.diffs[0]) == ""


def test_normalize_object_and_inputs_untouched() -> None:
    target = secret(password="x")
    snapshot = copy.deepcopy(target)
    normalised = normalize_object(target)
    assert normalised["data"] == {"password": encoded("x")}
    assert target == snapshot


def _owned(manager: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"manager": manager, "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": fields}


def test_server_side_prediction_keeps_only_what_the_controller_changes() -> None:
    """Webhook mutations in a dry-run apply revert to live; the controller's own changes, removals included, stay."""
    live = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "managedFields": [_owned("argocd-controller", {"f:spec": {"f:replicas": {}, "f:paused": {}}})],
        },
        "spec": {
            "replicas": 1,
            "paused": False,
            "template": {"spec": {"containers": [{"name": "app", "image": "a:1"}]}},
        },
    }
    predicted = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "managedFields": [
                _owned(
                    "argocd-controller",
                    {
                        "f:spec": {
                            "f:replicas": {},
                            "f:template": {
                                "f:spec": {"f:containers": {'k:{"name":"app"}': {".": {}, "f:name": {}, "f:image": {}}}}
                            },
                        }
                    },
                ),
                _owned(
                    "injector",
                    {
                        "f:spec": {
                            "f:template": {
                                "f:spec": {"f:containers": {'k:{"name":"sidecar"}': {".": {}, "f:name": {}}}}
                            }
                        }
                    },
                ),
            ],
        },
        "spec": {
            "replicas": 3,
            "template": {
                "spec": {"containers": [{"name": "app", "image": "a:2"}, {"name": "sidecar"}]},
                "metadata": {"labels": {"mutated": "yes"}},
            },
        },
    }
    kept = only_owned_by(predicted, live, "argocd-controller")
    assert kept["spec"]["replicas"] == 3
    assert "paused" not in kept["spec"]  # owned before, dropped from the apply
    assert kept["spec"]["template"] == {"spec": {"containers": [{"name": "app", "image": "a:2"}]}}
    diff = diff_resource(target=predicted, live=live, server_side_live=kept)
    assert diff.modified
    unchanged = only_owned_by({**live, "spec": {**live["spec"], "minReadySeconds": 5}}, live, "argocd-controller")
    assert not diff_resource(target=live, live=live, server_side_live=unchanged).modified
