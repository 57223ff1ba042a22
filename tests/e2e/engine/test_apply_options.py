"""How the sync applies objects, end to end against kubesim: strict server-side field validation with
``Validate=false`` switching it off, and the client-side to server-side apply migration of managedFields (with
``ClientSideApplyMigration=false`` and the Application's migration-manager annotation)."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from tests.e2e.engine.conftest import IN_CLUSTER, Env

CSA_MANAGER = "kubectl-client-side-apply"
STRICT_CREATE = (
    'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "extra"'
)


def configmap(name: str, data: dict[str, str], *, extra: bool = False, sync_options: str = "") -> str:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", f"  name: {name}"]
    if sync_options:
        lines += ["  annotations:", f"    argocd.argoproj.io/sync-options: {sync_options}"]
    lines.append("data:" if data else "data: {}")
    lines += [f'  {key}: "{value}"' for key, value in data.items()]
    if extra:
        lines.append("extra: not-a-configmap-field")
    return "\n".join(lines) + "\n"


def sync(env: Env, name: str, *options: str, dry_run: bool = False) -> dict[str, Any]:
    """Sync the repository's head (refreshed first, so a new commit is seen) and wait for the outcome."""
    env.get(name, refresh="normal")
    body: dict[str, Any] = {"syncOptions": {"items": list(options)}} if options else {}
    if dry_run:
        body["dryRun"] = True
    response = env.sync(name, **body)
    assert response.status_code == 200, response.text
    state: dict[str, Any] = env.wait_operation(name)["status"]["operationState"]
    assert state["syncResult"]["revision"] == env.repo.head()
    return state


def results(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in state["syncResult"]["resources"]}


def managers(obj: dict[str, Any] | None) -> set[tuple[str, str]]:
    assert obj is not None
    return {(m["manager"], m["operation"]) for m in obj["metadata"].get("managedFields") or []}


def test_unknown_fields_fail_strict_validation_unless_validate_false(env: Env) -> None:
    env.repo.commit(
        "unknown fields",
        {
            "strict/strict.yaml": configmap("strict", {"a": "1"}, extra=True),
            "strict/lax.yaml": configmap("lax", {"a": "1"}, extra=True, sync_options="Validate=false"),
        },
    )
    env.create("strict", path="strict")

    # The server-side dry run validates too: nothing is written, the strict error is reported.
    dry = sync(env, "strict", dry_run=True)
    assert dry["phase"] == "Failed", dry
    assert results(dry)["strict"]["message"] == STRICT_CREATE
    assert env.live("v1", "ConfigMap", "strict") is None

    state = sync(env, "strict")
    assert state["phase"] == "Failed", state
    by_name = results(state)
    assert (by_name["strict"]["status"], by_name["strict"]["message"]) == ("SyncFailed", STRICT_CREATE)
    assert STRICT_CREATE in state["message"]
    assert env.live("v1", "ConfigMap", "strict") is None
    # The resource's own Validate=false: created, the unknown field dropped by the API server.
    assert by_name["lax"]["status"] == "Synced"
    lax = env.live("v1", "ConfigMap", "lax")
    assert lax is not None
    assert "extra" not in lax
    assert lax["data"] == {"a": "1"}

    # Validate=false for the whole operation.
    state = sync(env, "strict", "Validate=false")
    assert state["phase"] == "Succeeded", state
    live = env.live("v1", "ConfigMap", "strict")
    assert live is not None
    assert "extra" not in live
    assert live["data"] == {"a": "1"}

    # Strict again on an existing object: the client-side apply patch carries the unknown field and is refused.
    state = sync(env, "strict")
    assert state["phase"] == "Failed", state
    assert 'strict decoding error: unknown field "extra"' in results(state)["strict"]["message"]


def writes(env: Env) -> list[tuple[str, str, str, bool]]:
    """(verb, name, fieldValidation, dryRun) of the ConfigMap writes kubesim received, in order."""
    return [
        (e["verb"], e["name"], e["fieldValidation"], e["dryRun"])
        for e in env.sim.oplog
        if e["kind"] == "ConfigMap" and e["namespace"] == "default"
    ]


def test_every_apply_write_carries_the_directive(env: Env) -> None:
    def manifests(value: str) -> dict[str, str]:
        return {
            "modes/csa.yaml": configmap("csa", {"v": value}),
            "modes/ssa.yaml": configmap("ssa", {"v": value}, sync_options="ServerSideApply=true"),
            "modes/replaced.yaml": configmap("replaced", {"v": value}, sync_options="Replace=true"),
        }

    env.repo.commit("v1", manifests("1"))
    env.create("modes", path="modes")
    env.sim.clear_oplog()
    assert sync(env, "modes", dry_run=True)["phase"] == "Succeeded"
    assert sorted(writes(env)) == [
        ("apply", "ssa", "Strict", True),
        ("create", "csa", "Strict", True),
        ("create", "replaced", "Strict", True),
    ]
    env.sim.clear_oplog()
    assert sync(env, "modes")["phase"] == "Succeeded"
    assert sorted(writes(env)) == [
        ("apply", "ssa", "Strict", False),
        ("create", "csa", "Strict", False),
        ("create", "replaced", "Strict", False),
    ]

    env.repo.commit("v2", manifests("2"))
    env.sim.clear_oplog()
    assert sync(env, "modes", "Validate=false")["phase"] == "Succeeded"
    assert sorted(writes(env)) == [
        ("apply", "ssa", "Ignore", False),
        ("patch", "csa", "Ignore", False),
        ("update", "replaced", "Ignore", False),
    ]


def test_server_side_apply_takes_over_client_side_apply_fields(env: Env) -> None:
    env.repo.commit("v1", {"migrate/cm.yaml": configmap("migrated", {"keep": "1", "drop": "2"})})
    env.create("migrate", path="migrate")
    assert sync(env, "migrate")["phase"] == "Succeeded"
    live = env.live("v1", "ConfigMap", "migrated")
    assert live is not None
    assert live["data"] == {"keep": "1", "drop": "2"}
    assert managers(live) == {(CSA_MANAGER, "Update")}

    env.repo.commit("v2", {"migrate/cm.yaml": configmap("migrated", {"keep": "1"})})
    state = sync(env, "migrate", "ServerSideApply=true")
    assert state["phase"] == "Succeeded", state
    assert results(state)["migrated"]["message"] == "configmap/migrated serverside-applied"
    live = env.live("v1", "ConfigMap", "migrated")
    assert live is not None
    # The ownership moved to argocd-controller first, so the apply removed the field the manifest dropped.
    assert live["data"] == {"keep": "1"}
    assert managers(live) == {("argocd-controller", "Apply")}


def test_client_side_apply_migration_false_leaves_the_fields(env: Env) -> None:
    env.repo.commit("v1", {"keep/cm.yaml": configmap("kept", {"keep": "1", "drop": "2"})})
    env.create("keep", path="keep")
    assert sync(env, "keep")["phase"] == "Succeeded"

    env.repo.commit("v2", {"keep/cm.yaml": configmap("kept", {"keep": "1"})})
    state = sync(env, "keep", "ServerSideApply=true", "ClientSideApplyMigration=false")
    assert state["phase"] == "Succeeded", state
    live = env.live("v1", "ConfigMap", "kept")
    assert live is not None
    # Still owned by the client-side apply manager, the dropped field survives the server-side apply.
    assert live["data"] == {"keep": "1", "drop": "2"}
    assert managers(live) == {(CSA_MANAGER, "Update"), ("argocd-controller", "Apply")}


def test_migration_manager_annotation_names_the_manager(env: Env) -> None:
    env.repo.commit("v1", {"legacy/cm.yaml": configmap("legacy", {"keep": "1"})})
    body = {
        "metadata": {
            "name": "legacy",
            "annotations": {"argocd.argoproj.io/client-side-apply-migration-manager": "legacy-tool"},
        },
        "spec": {
            "source": {"repoURL": env.repo.url, "path": "legacy", "targetRevision": "HEAD"},
            "destination": {"server": IN_CLUSTER, "namespace": "default"},
            "project": "default",
        },
    }
    response = env.client.post("/api/v1/applications", json=body, headers=env.headers)
    assert response.status_code == 200, response.text
    assert sync(env, "legacy")["phase"] == "Succeeded"
    # Another tool's update: a field the manifest never had, owned by that tool's manager.
    api = env.sim.api_client()
    try:
        client.CoreV1Api(api).patch_namespaced_config_map(
            "legacy", "default", {"data": {"tool": "x"}}, field_manager="legacy-tool"
        )
    finally:
        api.close()
    live = env.live("v1", "ConfigMap", "legacy")
    assert live is not None
    assert ("legacy-tool", "Update") in managers(live)

    state = sync(env, "legacy", "ServerSideApply=true")
    assert state["phase"] == "Succeeded", state
    live = env.live("v1", "ConfigMap", "legacy")
    assert live is not None
    # Only the annotated manager was migrated: its field went away, kubectl-client-side-apply's ownership stayed.
    assert live["data"] == {"keep": "1"}
    assert managers(live) == {(CSA_MANAGER, "Update"), ("argocd-controller", "Apply")}
