"""Bearer-token authentication (401/403, rotation) and snapshot persistence across restarts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ksim_helpers import eventually
from kubernetes import client
from kubernetes.client.rest import ApiException

from kubesim import TokenGrant
from kubesim.testing import running_kubesim


def test_tokens_401_403_and_rotation() -> None:
    tokens = {"admin-token": None, "team-token": TokenGrant(user="team", namespaces=frozenset({"team"}))}
    with running_kubesim(tokens=tokens, controllers=False) as sim:
        anonymous = client.CoreV1Api(sim.api_client())
        with pytest.raises(ApiException) as err:
            anonymous.list_namespace()
        assert err.value.status == 401
        assert json.loads(err.value.body)["reason"] == "Unauthorized"
        wrong = client.CoreV1Api(sim.api_client(token="nope"))
        with pytest.raises(ApiException) as err:
            wrong.list_namespace()
        assert err.value.status == 401

        admin = client.CoreV1Api(sim.api_client(token="admin-token"))
        admin.create_namespace({"metadata": {"name": "team"}})
        admin.create_namespace({"metadata": {"name": "other"}})
        team = client.CoreV1Api(sim.api_client(token="team-token"))
        team.create_namespaced_config_map("team", {"metadata": {"name": "ok"}})
        assert [c.metadata.name for c in team.list_namespaced_config_map("team").items] == ["ok"]
        with pytest.raises(ApiException) as err:
            team.list_namespaced_config_map("other")
        assert err.value.status == 403
        assert json.loads(err.value.body)["message"] == (
            'configmaps is forbidden: User "team" cannot list resource "configmaps" in API group "" '
            'in the namespace "other"'
        )
        with pytest.raises(ApiException) as err:
            team.list_config_map_for_all_namespaces()
        assert err.value.status == 403
        with pytest.raises(ApiException) as err:
            team.list_node()
        assert err.value.status == 403
        # discovery stays available to any authenticated token
        assert client.VersionApi(sim.api_client(token="team-token")).get_code().major == "1"
        assert [e["user"] for e in sim.oplog if e["name"] == "ok"] == ["team"]

        sim.set_tokens({"rotated": None})
        with pytest.raises(ApiException) as err:
            admin.list_namespace()
        assert err.value.status == 401
        assert client.CoreV1Api(sim.api_client(token="rotated")).list_namespace().items


def test_snapshot_survives_restart(tmp_path: Path) -> None:
    snapshot = tmp_path / "state.json"
    with running_kubesim(snapshot=snapshot, snapshot_debounce=0.05) as sim:
        api = client.CoreV1Api(sim.api_client())
        api.create_namespace({"metadata": {"name": "keep"}})
        api.create_namespaced_config_map("keep", {"metadata": {"name": "cm"}, "data": {"k": "v"}})
        uid = api.read_namespaced_config_map("cm", "keep").metadata.uid
        eventually(lambda: snapshot.exists() and b'"cm"' in snapshot.read_bytes())
        last_rv = int(api.list_namespaced_config_map("keep").metadata.resource_version)
    with running_kubesim(snapshot=snapshot) as again:
        api = client.CoreV1Api(again.api_client())
        cm = api.read_namespaced_config_map("cm", "keep")
        assert cm.data == {"k": "v"}
        assert cm.metadata.uid == uid
        assert {n.metadata.name for n in api.list_node().items} == {"node-1", "node-2", "node-3"}
        created = api.create_namespaced_config_map("keep", {"metadata": {"name": "new"}})
        assert int(created.metadata.resource_version) > last_rv


def test_command_line_server(tmp_path: Path) -> None:
    import subprocess
    import sys

    snapshot = tmp_path / "cli.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubesim", "--port", "0", "--token", "cli-token", "--snapshot", str(snapshot)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("kubesim listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1].strip()
        config = client.Configuration()
        config.host = url
        config.api_key = {"authorization": "cli-token"}
        config.api_key_prefix = {"authorization": "Bearer"}
        with client.ApiClient(config) as api:
            names = {n.metadata.name for n in client.CoreV1Api(api).list_namespace().items}
        assert "default" in names
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert snapshot.exists()
