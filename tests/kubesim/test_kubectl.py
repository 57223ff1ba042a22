"""kubectl as an outside client: discovery, get -A, server-side apply, client-side apply, delete."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from ksim_helpers import eventually

from kubesim import KubeSim
from kubesim.testing import running_kubesim

KUBECTL = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "kubectl"

MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata:
  name: kc-demo
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: kc-demo
data:
  mode: "fast"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: kc-demo
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
"""


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KubeSim, Path]]:
    if not KUBECTL.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"kubectl is required in CI but missing at {KUBECTL}")
        pytest.skip("kubectl is not installed")
    with running_kubesim() as sim:
        yield sim, sim.write_kubeconfig(tmp_path_factory.mktemp("kubectl") / "kubeconfig")


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    home = kubeconfig.parent / f"home-{kubeconfig.stem}"
    env = {**os.environ, "HOME": str(home), "KUBECACHEDIR": str(home / "cache")}
    return subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_server_side_apply_get_and_delete(kube: tuple[KubeSim, Path]) -> None:
    sim, kc = kube
    applied = kubectl(kc, "apply", "--server-side", "-f", "-", stdin=MANIFEST)
    assert applied.returncode == 0, applied.stderr
    assert "deployment.apps/web serverside-applied" in applied.stdout
    assert [e["fieldManager"] for e in sim.oplog if e["verb"] == "apply"] == ["kubectl"] * 3

    listed = kubectl(kc, "get", "-A", "configmaps")
    assert listed.returncode == 0, listed.stderr
    assert "kc-demo" in listed.stdout
    assert "settings" in listed.stdout

    def rolled_out() -> bool:
        out = kubectl(kc, "get", "deploy", "web", "-n", "kc-demo", "-o", "json")
        status = json.loads(out.stdout).get("status", {}) if out.returncode == 0 else {}
        return status.get("availableReplicas") == 2

    eventually(rolled_out, timeout=15)
    pods = kubectl(kc, "get", "pods", "-n", "kc-demo")
    assert pods.stdout.count("Running") == 2

    changed = MANIFEST.replace('mode: "fast"', 'mode: "slow"')
    conflict = kubectl(kc, "apply", "--server-side", "--field-manager", "other", "-f", "-", stdin=changed)
    assert conflict.returncode != 0
    assert "conflict" in conflict.stderr.lower()
    forced = kubectl(
        kc, "apply", "--server-side", "--field-manager", "other", "--force-conflicts", "-f", "-", stdin=changed
    )
    assert forced.returncode == 0, forced.stderr

    deleted = kubectl(kc, "delete", "-n", "kc-demo", "configmap", "settings")
    assert deleted.returncode == 0, deleted.stderr
    assert 'configmap "settings" deleted' in deleted.stdout
    missing = kubectl(kc, "get", "-n", "kc-demo", "configmap", "settings")
    assert missing.returncode != 0
    assert 'configmaps "settings" not found' in missing.stderr


def test_client_side_apply_and_api_resources(kube: tuple[KubeSim, Path]) -> None:
    _sim, kc = kube
    manifest = MANIFEST.replace("kc-demo", "kc-csa")
    first = kubectl(kc, "apply", "-f", "-", stdin=manifest)
    assert first.returncode == 0, first.stderr
    second = kubectl(kc, "apply", "-f", "-", stdin=manifest.replace("replicas: 2", "replicas: 1"))
    assert second.returncode == 0, second.stderr
    assert "deployment.apps/web configured" in second.stdout
    out = kubectl(kc, "get", "deploy", "web", "-n", "kc-csa", "-o", "jsonpath={.spec.replicas}")
    assert out.stdout == "1"
    resources = kubectl(kc, "api-resources")
    assert resources.returncode == 0, resources.stderr
    assert "deployments" in resources.stdout
    assert "customresourcedefinitions" in resources.stdout
    gone = kubectl(kc, "delete", "namespace", "kc-csa")
    assert gone.returncode == 0, gone.stderr
