"""Application wire shapes: full round trip, the freshly created shape, pointer members, and the
sync request -> stored operation rename."""

from __future__ import annotations

import json

from argocd_server.schemas import (
    Application,
    ApplicationList,
    ApplicationSource,
    ApplicationSourceDirectory,
    ApplicationSourcePluginParameter,
    ApplicationSpec,
    ApplicationSyncRequest,
    KustomizeReplica,
    SyncPolicy,
    SyncPolicyAutomated,
    to_wire,
    to_wire_json,
)

from ._docs import load_fixture


def test_full_application_round_trips_exactly() -> None:
    doc = load_fixture("application_full")
    app = Application.from_wire(doc)
    assert to_wire(app) == doc
    assert json.loads(to_wire_json(app)) == doc
    # and once more from our own output, as a stored document would be re-read
    assert to_wire(Application.from_wire_json(to_wire_json(app))) == doc


def test_full_application_parses_into_typed_members() -> None:
    app = Application.from_wire(load_fixture("application_full"))
    spec = app.spec
    assert spec.source is None
    assert spec.has_multiple_sources()
    assert spec.revision_history_limit == 0
    assert spec.sync_policy is not None
    assert spec.sync_policy.automated is not None
    assert spec.sync_policy.automated.enabled is False
    assert spec.sync_policy.retry is not None
    assert spec.sync_policy.retry.backoff is not None
    assert spec.sync_policy.retry.backoff.factor == 0
    helm = spec.sources[0].helm
    assert helm is not None
    assert helm.values_object == {
        "ingress": {"enabled": True, "hosts": ["gb.example.com"]},
        "replicaCount": 2,
    }
    kustomize = spec.sources[2].kustomize
    assert kustomize is not None
    assert [r.count for r in kustomize.replicas] == [3, "5"]
    assert kustomize.patches[0].target is not None
    assert kustomize.patches[0].target.label_selector == "tier=web"
    assert app.status.history[1].deployed_at is None
    assert app.status.operation_state is not None
    assert app.status.operation_state.retry_count == 3
    assert app.operation is not None
    assert app.operation.retry.backoff is not None
    assert app.operation.retry.backoff.factor == 2


def test_created_application_shape() -> None:
    doc = load_fixture("application_created")
    assert to_wire(Application.from_wire(doc)) == doc
    # a create body without status serialises the same way: the status members are structs
    body = {"metadata": doc["metadata"], "spec": doc["spec"]}
    assert to_wire(Application.from_wire(body)) == doc


def test_directory_always_has_jsonnet_and_plugin_pointers_keep_empty_values() -> None:
    assert to_wire(ApplicationSourceDirectory()) == {"jsonnet": {}}
    assert to_wire(ApplicationSourcePluginParameter(name="m", map={})) == {"name": "m", "map": {}}
    assert to_wire(ApplicationSourcePluginParameter(name="s", string="")) == {
        "name": "s",
        "string": "",
    }
    assert to_wire(ApplicationSourcePluginParameter(name="n")) == {"name": "n"}


def test_kustomize_replica_count_keeps_int_or_string() -> None:
    assert to_wire(KustomizeReplica(name="a", count=0)) == {"name": "a", "count": 0}
    assert to_wire(KustomizeReplica.from_wire({"name": "a", "count": "2"})) == {
        "name": "a",
        "count": "2",
    }


def test_source_writes_repo_url_even_when_empty() -> None:
    assert to_wire(ApplicationSource()) == {"repoURL": ""}
    assert to_wire(ApplicationSource(repo_url="https://x", target_revision="HEAD")) == {
        "repoURL": "https://x",
        "targetRevision": "HEAD",
    }


def test_automated_enabled_false_is_kept() -> None:
    policy = SyncPolicy(automated=SyncPolicyAutomated(enabled=False))
    assert to_wire(policy) == {"automated": {"enabled": False}}
    assert to_wire(SyncPolicy(automated=SyncPolicyAutomated())) == {"automated": {}}
    assert SyncPolicy().is_empty()
    assert not policy.is_empty()


def test_spec_project_always_written() -> None:
    assert to_wire(ApplicationSpec()) == {"destination": {}, "project": ""}


def test_application_list_items() -> None:
    assert to_wire(ApplicationList()) == {"metadata": {}, "items": None}
    assert to_wire(ApplicationList(items=[])) == {"metadata": {}, "items": []}
    listing = ApplicationList.from_wire(
        {"metadata": {"resourceVersion": "9"}, "items": [load_fixture("application_created")]}
    )
    assert to_wire(listing)["items"] == [load_fixture("application_created")]


SYNC_REQUEST = {
    "name": "guestbook",
    "revision": "v1.2.0",
    "dryRun": True,
    "prune": True,
    "strategy": {"hook": {"force": True}},
    "resources": [{"group": "apps", "kind": "Deployment", "name": "web", "namespace": "web"}],
    "manifests": ["apiVersion: v1\nkind: ConfigMap\n"],
    "infos": [{"name": "reason", "value": "hotfix"}],
    "retryStrategy": {"limit": 3, "backoff": {"duration": "10s", "factor": 2}},
    "syncOptions": {"items": ["Validate=false", "PruneLast=true"]},
    "appNamespace": "argocd",
    "project": "web",
    "sourcePositions": ["1", 2],
    "revisions": ["a", "b"],
    "unknownField": 1,
}


def test_sync_request_uses_request_side_names() -> None:
    request = ApplicationSyncRequest.from_wire(SYNC_REQUEST)
    assert request.source_positions == [1, 2]
    wire = to_wire(request)
    expected = {k: v for k, v in SYNC_REQUEST.items() if k != "unknownField"}
    expected["sourcePositions"] = [1, 2]
    assert wire == expected


def test_sync_request_becomes_stored_operation() -> None:
    request = ApplicationSyncRequest.from_wire(SYNC_REQUEST)
    operation = request.to_operation(username="admin")
    assert to_wire(operation) == {
        "sync": {
            "revision": "v1.2.0",
            "prune": True,
            "dryRun": True,
            "syncStrategy": {"hook": {"force": True}},
            "resources": [{"group": "apps", "kind": "Deployment", "name": "web", "namespace": "web"}],
            "manifests": ["apiVersion: v1\nkind: ConfigMap\n"],
            "syncOptions": ["Validate=false", "PruneLast=true"],
            "revisions": ["a", "b"],
        },
        "initiatedBy": {"username": "admin"},
        "info": [{"name": "reason", "value": "hotfix"}],
        "retry": {"limit": 3, "backoff": {"duration": "10s", "factor": 2}},
    }
    # the operation owns copies: editing the request afterwards changes nothing stored
    assert request.strategy is not None
    assert request.strategy.hook is not None
    request.strategy.hook.force = False
    assert operation.sync is not None
    assert operation.sync.sync_strategy is not None
    assert operation.sync.sync_strategy.hook is not None
    assert operation.sync.sync_strategy.hook.force is True


def test_minimal_sync_request_gives_minimal_operation() -> None:
    operation = ApplicationSyncRequest.from_wire({"name": "guestbook"}).to_operation()
    assert to_wire(operation) == {"sync": {}, "initiatedBy": {}, "retry": {}}
    source = ApplicationSource(repo_url="https://x", path="p")
    operation = ApplicationSyncRequest().to_operation(username="u", source=source)
    assert to_wire(operation)["sync"] == {"source": {"repoURL": "https://x", "path": "p"}}
