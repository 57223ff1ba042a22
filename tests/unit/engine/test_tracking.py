"""Resource keys, sync options, hook detection and app instance tracking."""

from __future__ import annotations

import pytest

from argocd_server.engine.resources import (
    HookType,
    KubeObject,
    ResourceKey,
    hook_types,
    is_hook,
    is_ignored_hook,
    is_namespaced_kind,
    parse_api_version,
    parse_sync_options,
    sync_wave_of,
)
from argocd_server.engine.tracking import (
    ANNOTATION_INSTALLATION_ID,
    ANNOTATION_TRACKING_ID,
    TrackingId,
    TrackingMethod,
    get_app_name,
    instance_name,
    is_self_referenced,
    normalize_tracking_migration,
    parse_tracking_id,
    parse_tracking_method,
    set_tracking,
    truncate_label_value,
)


def service(name: str = "guestbook-ui", namespace: str | None = "default") -> KubeObject:
    metadata: KubeObject = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {"ports": [{"port": 80, "targetPort": 80}], "selector": {"app": "guestbook-ui"}},
    }


def with_annotations(obj: KubeObject, **annotations: str) -> KubeObject:
    obj.setdefault("metadata", {}).setdefault("annotations", {}).update(annotations)
    return obj


@pytest.mark.parametrize(
    ("api_version", "expected"),
    [("v1", ("", "v1")), ("apps/v1", ("apps", "v1")), ("argoproj.io/v1alpha1", ("argoproj.io", "v1alpha1"))],
)
def test_parse_api_version(api_version: str, expected: tuple[str, str]) -> None:
    assert parse_api_version(api_version) == expected


def test_resource_key_round_trip_and_string_form() -> None:
    key = ResourceKey.from_object(service())
    assert key == ResourceKey(group="", kind="Service", namespace="default", name="guestbook-ui")
    assert str(key) == "/Service/default/guestbook-ui"
    assert ResourceKey.parse(str(key)) == key
    assert ResourceKey.from_object(service(namespace=None), default_namespace="prod").namespace == "prod"


def test_cluster_scope_table() -> None:
    assert is_namespaced_kind("", "Namespace") is False
    assert is_namespaced_kind("rbac.authorization.k8s.io", "ClusterRole") is False
    assert is_namespaced_kind("apps", "Deployment") is True
    assert is_namespaced_kind("example.com", "Widget") is None


def test_parse_sync_options_later_wins_and_csv() -> None:
    assert parse_sync_options(["Prune=false", "CreateNamespace=true", "Prune=confirm"]) == {
        "Prune": "confirm",
        "CreateNamespace": "true",
    }
    assert parse_sync_options("Prune=false, ServerSideApply=true") == {
        "Prune": "false",
        "ServerSideApply": "true",
    }
    assert parse_sync_options(None) == {}


@pytest.mark.parametrize(
    ("annotations", "wave"),
    [
        ({}, 0),
        ({"argocd.argoproj.io/sync-wave": "-2"}, -2),
        ({"argocd.argoproj.io/sync-wave": "abc", "helm.sh/hook-weight": "5"}, 5),
        ({"helm.sh/hook-weight": "3"}, 3),
        ({"argocd.argoproj.io/sync-wave": "1.5"}, 0),
    ],
)
def test_sync_wave_falls_back_to_helm_weight(annotations: dict[str, str], wave: int) -> None:
    assert sync_wave_of(with_annotations(service(), **annotations)) == wave


@pytest.mark.parametrize(
    ("annotations", "types", "hook", "ignored"),
    [
        ({"argocd.argoproj.io/hook": "PreSync"}, [HookType.PRE_SYNC], True, False),
        ({"argocd.argoproj.io/hook": "PreSync,PostSync,PreSync"}, [HookType.PRE_SYNC, HookType.POST_SYNC], True, False),
        ({"argocd.argoproj.io/hook": "Skip"}, [HookType.SKIP], False, False),
        ({"helm.sh/hook": "pre-install,pre-upgrade"}, [HookType.PRE_SYNC], True, False),
        ({"helm.sh/hook": "post-install"}, [HookType.POST_SYNC], True, False),
        ({"helm.sh/hook": "pre-delete"}, [HookType.PRE_DELETE], True, False),
        ({"helm.sh/hook": "test"}, [], True, True),
        ({"helm.sh/hook": "crd-install"}, [], False, False),
        ({"argocd.argoproj.io/hook": "Sync", "helm.sh/hook": "post-install"}, [HookType.SYNC], True, False),
        ({}, [], False, False),
    ],
)
def test_hook_detection(annotations: dict[str, str], types: list[HookType], hook: bool, ignored: bool) -> None:
    obj = with_annotations(service(), **annotations)
    assert hook_types(obj) == types
    assert is_hook(obj) is hook
    assert is_ignored_hook(obj) is ignored


def test_instance_name_prefixes_apps_outside_controller_namespace() -> None:
    assert instance_name("guestbook", app_namespace="argocd", controller_namespace="argocd") == "guestbook"
    assert instance_name("guestbook", app_namespace="team-a", controller_namespace="argocd") == "team-a_guestbook"


def test_annotation_tracking_round_trip() -> None:
    tracked = set_tracking(service(), app="guestbook")
    assert tracked["metadata"]["annotations"][ANNOTATION_TRACKING_ID] == "guestbook:/Service:default/guestbook-ui"
    assert "labels" not in tracked["metadata"]
    assert get_app_name(tracked) == "guestbook"
    parsed = parse_tracking_id(tracked["metadata"]["annotations"][ANNOTATION_TRACKING_ID])
    assert parsed == TrackingId(
        app_name="guestbook", group="", kind="Service", namespace="default", name="guestbook-ui"
    )
    assert str(parsed) == "guestbook:/Service:default/guestbook-ui"


def test_set_tracking_does_not_mutate_input() -> None:
    original = service()
    set_tracking(original, app="guestbook")
    assert "annotations" not in original["metadata"]


def test_cluster_scoped_object_carries_destination_namespace() -> None:
    role: KubeObject = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "reader"},
    }
    tracked = set_tracking(role, app="team-a_guestbook", namespace="guestbook")
    tracking_id = tracked["metadata"]["annotations"][ANNOTATION_TRACKING_ID]
    assert tracking_id == "team-a_guestbook:rbac.authorization.k8s.io/ClusterRole:guestbook/reader"
    assert get_app_name(tracked) == "team-a_guestbook"


def test_label_tracking() -> None:
    tracked = set_tracking(service(), app="guestbook", method=TrackingMethod.LABEL)
    assert tracked["metadata"]["labels"] == {"app.kubernetes.io/instance": "guestbook"}
    assert "annotations" not in tracked["metadata"]
    assert get_app_name(tracked, method=TrackingMethod.LABEL) == "guestbook"
    assert get_app_name(tracked) is None


def test_custom_label_key() -> None:
    tracked = set_tracking(
        service(), app="guestbook", method=TrackingMethod.LABEL, label_key="argocd.argoproj.io/instance"
    )
    assert get_app_name(tracked, method=TrackingMethod.LABEL, label_key="argocd.argoproj.io/instance") == "guestbook"


def test_annotation_and_label_reads_only_annotation_and_truncates_label() -> None:
    long_name = "a" * 60 + "-_-bcd"
    tracked = set_tracking(service(), app=long_name, method=TrackingMethod.ANNOTATION_AND_LABEL)
    assert tracked["metadata"]["labels"]["app.kubernetes.io/instance"] == "a" * 60
    assert get_app_name(tracked, method=TrackingMethod.ANNOTATION_AND_LABEL) == long_name
    tracked["metadata"]["annotations"].clear()
    assert get_app_name(tracked, method=TrackingMethod.ANNOTATION_AND_LABEL) is None


def test_truncate_label_value_keeps_short_values() -> None:
    assert truncate_label_value("guestbook") == "guestbook"


def test_crds_get_no_tracking() -> None:
    crd: KubeObject = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
    }
    assert set_tracking(crd, app="guestbook") == crd


def test_installation_id() -> None:
    tracked = set_tracking(service(), app="guestbook", installation_id="prod-1")
    assert tracked["metadata"]["annotations"][ANNOTATION_INSTALLATION_ID] == "prod-1"
    assert get_app_name(tracked, installation_id="prod-1") == "guestbook"
    assert get_app_name(tracked, installation_id="prod-2") is None
    retracked = set_tracking(tracked, app="guestbook")
    assert ANNOTATION_INSTALLATION_ID not in retracked["metadata"]["annotations"]


@pytest.mark.parametrize(
    "value",
    ["", "guestbook", "guestbook:/Service", "guestbook:Service:default/ui", "guestbook:/Service:ui", "a:b/c/d:ns/n"],
)
def test_malformed_tracking_ids_are_untracked(value: str) -> None:
    assert parse_tracking_id(value) is None
    assert get_app_name(with_annotations(service(), **{ANNOTATION_TRACKING_ID: value})) is None


def test_copied_annotation_is_not_tracked() -> None:
    copied = with_annotations(
        service(name="copy", namespace="other"), **{ANNOTATION_TRACKING_ID: "guestbook:/Service:default/guestbook-ui"}
    )
    assert get_app_name(copied) is None
    assert is_self_referenced(copied) is False
    assert is_self_referenced(set_tracking(service(), app="guestbook")) is True
    assert is_self_referenced(copied, method=TrackingMethod.LABEL) is True
    assert is_self_referenced(service()) is True


def test_self_reference_uses_target_identity() -> None:
    live = set_tracking(service(), app="guestbook")
    assert is_self_referenced(live, target=service()) is True
    assert is_self_referenced(live, target=service(name="other")) is False


def test_parse_tracking_method_defaults_to_annotation() -> None:
    assert parse_tracking_method(None) is TrackingMethod.ANNOTATION
    assert parse_tracking_method("label") is TrackingMethod.LABEL
    assert parse_tracking_method("bogus") is TrackingMethod.ANNOTATION


def test_tracking_migration_copies_annotation_and_drops_label() -> None:
    live = set_tracking(service(), app="guestbook", method=TrackingMethod.LABEL)
    target = set_tracking(service(), app="guestbook")
    migrated = normalize_tracking_migration(live, target)
    assert migrated["metadata"]["annotations"][ANNOTATION_TRACKING_ID] == "guestbook:/Service:default/guestbook-ui"
    assert "labels" not in migrated["metadata"]
    assert live["metadata"]["labels"]
