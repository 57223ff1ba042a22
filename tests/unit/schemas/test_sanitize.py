"""Secrets never leave: every credential member of Repository, RepoCreds and Cluster gets a marker,
and the marker must be absent from the sanitised wire form."""

from __future__ import annotations

import base64

from argocd_server.schemas import (
    REPOCREDS_SECRET_FIELDS,
    REPOSITORY_SECRET_FIELDS,
    Cluster,
    ConnectionState,
    RepoCreds,
    Repository,
    to_wire,
    to_wire_json,
)

from ._docs import load_fixture

MARKER = "SECRET-MARKER"


def _assert_no_marker(raw: bytes) -> None:
    assert MARKER.encode() not in raw
    assert base64.b64encode(MARKER.encode())[:8] not in raw


def test_secret_lists_cover_every_secret_looking_member() -> None:
    words = ("password", "key", "token", "secret", "cert")
    for model, secrets in ((Repository, REPOSITORY_SECRET_FIELDS), (RepoCreds, REPOCREDS_SECRET_FIELDS)):
        suspicious = {
            name
            for name in model.model_fields
            if any(word in name for word in words) and name != "insecure_ignore_host_key"
        }
        assert suspicious == secrets


def test_repository_sanitized_drops_every_secret() -> None:
    secrets = {name: f"{MARKER}-{name}" for name in REPOSITORY_SECRET_FIELDS}
    repo = Repository(
        repo="https://github.com/example/private.git",
        username="git",
        insecure_ignore_host_key=True,
        insecure_oci_force_http=True,
        webhook_manifest_cache_warm_disabled=True,
        github_app_id=12,
        github_app_installation_id=34,
        depth=1,
        project="web",
        connection_state=ConnectionState(status="Successful"),
        **secrets,
    )
    assert MARKER.encode() in to_wire_json(repo)
    sanitized = repo.sanitized()
    _assert_no_marker(to_wire_json(sanitized))
    assert to_wire(sanitized) == {
        "repo": "https://github.com/example/private.git",
        "username": "git",
        "connectionState": {"status": "Successful", "message": "", "attemptedAt": None},
        "insecure": True,
        "type": "git",
        "githubAppID": 12,
        "githubAppInstallationID": 34,
        "project": "web",
        "depth": 1,
    }


def test_repository_type_default_on_read() -> None:
    assert Repository(repo="oci://ghcr.io/example/charts").sanitized().type == "oci"
    assert Repository(repo="https://charts.example.com", type="helm").sanitized().type == "helm"


def test_repocreds_sanitized_keeps_only_public_members() -> None:
    secrets = {name: f"{MARKER}-{name}" for name in REPOCREDS_SECRET_FIELDS}
    creds = RepoCreds(
        url="https://github.com/example",
        username="git",
        type="git",
        enable_oci=True,
        github_app_id=1,
        proxy="http://proxy",
        **secrets,
    )
    assert MARKER.encode() in to_wire_json(creds)
    sanitized = creds.sanitized()
    _assert_no_marker(to_wire_json(sanitized))
    assert to_wire(sanitized) == {
        "url": "https://github.com/example",
        "username": "git",
        "type": "git",
        "enableOCI": True,
    }


def test_cluster_stored_form_round_trips_with_base64() -> None:
    doc = load_fixture("cluster_stored")
    cluster = Cluster.from_wire(doc)
    assert cluster.config.tls_client_config.ca_data == b"SECRET-MARKER-ca"
    assert to_wire(cluster) == doc


def test_cluster_sanitized_drops_every_secret() -> None:
    cluster = Cluster.from_wire(load_fixture("cluster_stored"))
    sanitized = cluster.sanitized()
    _assert_no_marker(to_wire_json(sanitized))
    assert to_wire(sanitized) == load_fixture("cluster_sanitized")
    # the stored object is untouched
    assert cluster.config.bearer_token == "SECRET-MARKER-bearer"
