"""End-to-end fixtures for the resource operations: kubesim as the in-cluster destination (through a kubeconfig), a
real git repository holding a Deployment, a Service, a CronJob and more, and the real server under uvicorn in a
thread, driven over HTTP by httpx. The app is synced through the API once per module and every test polls with
deadlines. Accounts ``alice`` and ``bob`` get narrow policies for the fine-grained RBAC checks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from tests.conftest import ADMIN_PASSWORD
from tests.support.configmaps import write_configmaps
from tests.support.git_repo import make_git_repo
from tests.support.servers import running_server

from argocd_server.settings import Settings
from kubesim.server import KubeSim
from kubesim.testing import running_kubesim

IN_CLUSTER = "https://kubernetes.default.svc"
DEADLINE = 60.0
APP = "shop"
JSON = {"Content-Type": "application/json"}

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: main, image: "nginx:1.25"}
        - {name: sidecar, image: "busybox:1.36"}
"""

MANY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: many
spec:
  replicas: 9
  selector: {matchLabels: {app: many}}
  template:
    metadata: {labels: {app: many}}
    spec:
      containers:
        - {name: main, image: "nginx:1.25"}
"""

SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{port: 80}]
"""

CRONJOB = """apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "0 0 1 1 *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - {name: main, image: "busybox:1.36"}
"""

SCRATCH = """apiVersion: v1
kind: ConfigMap
metadata:
  name: scratch
data: {key: value}
"""

# A configured action next to the built-ins: scale to the replica count given as a parameter.
SCALE_ACTION = """mergeBuiltinActions: true
discovery.lua: |
  local found = {}
  found["scale"] = {displayName = "Scale", params = {{name = "replicas"}}}
  return found
definitions:
  - name: scale
    action.lua: |
      obj.spec.replicas = tonumber(actionParams["replicas"])
      return obj
"""

RBAC = """p, alice, applications, get, default/*, allow
p, alice, applications, update/apps/Deployment/default/web, default/*, allow
p, alice, applications, action/apps/Deployment/restart, default/*, allow
p, bob, applications, get, default/*, allow
p, bob, applications, update, default/*, allow
p, bob, applications, delete, default/*, allow
p, bob, logs, get, default/*, allow
"""


@dataclass
class World:
    base_url: str
    http: httpx.Client
    sim: KubeSim
    tokens: dict[str, str]

    def headers(self, user: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def get(self, path: str, *, user: str = "admin", **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers=self.headers(user))

    def send(self, method: str, path: str, body: Any = None, *, user: str = "admin", **params: Any) -> httpx.Response:
        content = b"" if body is None else orjson.dumps(body)
        return self.http.request(method, path, params=params, content=content, headers={**JSON, **self.headers(user)})

    def app(self, name: str = APP) -> dict[str, Any]:
        response = self.get(f"/api/v1/applications/{name}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def live(self, api_version: str, kind: str, name: str, namespace: str = "default") -> dict[str, Any] | None:
        return self.sim.get(api_version, kind, name=name, namespace=namespace)

    def tree(self, name: str = APP) -> dict[str, Any]:
        response = self.get(f"/api/v1/applications/{name}/resource-tree")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


def wait_for(predicate: Callable[[], Any], *, timeout: float = DEADLINE, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(0.1)


def _login(http: httpx.Client, user: str, password: str) -> str:
    response = http.post(
        "/api/v1/session", content=orjson.dumps({"username": user, "password": password}), headers=JSON
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    http.cookies.clear()
    return token


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("resources")
    repo = make_git_repo(tmp)
    repo.commit(
        "shop",
        files={
            "shop/deployment.yaml": DEPLOYMENT,
            "shop/many.yaml": MANY,
            "shop/service.yaml": SERVICE,
            "shop/cronjob.yaml": CRONJOB,
            "shop/scratch.yaml": SCRATCH,
        },
    )
    maps = write_configmaps(
        tmp / "configmaps",
        argocd_cm={
            "accounts.alice": "login",
            "accounts.bob": "login",
            "resource.customizations.actions.apps_Deployment": SCALE_ACTION,
            "application.links": (
                "- title: Dashboard\n"
                "  url: https://dash.example.com/{{.app.metadata.name}}?ns={{.app.spec.destination.namespace}}\n"
                "  description: the app dashboard\n"
                "  icon.class: fa-chart\n"
                "- title: Other project only\n"
                "  url: https://nowhere.example.com\n"
                '  if: app.spec.project == "elsewhere"\n'
            ),
            "resource.links": (
                "- title: Logs\n"
                "  url: https://logs.example.com/{{.resource.metadata.namespace}}/{{.resource.metadata.name}}\n"
                '  if: resource.kind == "Deployment"\n'
            ),
        },
        argocd_rbac_cm={"policy.csv": RBAC},
    )
    with running_kubesim(pace=0, log_follow_interval=0.1) as sim:
        settings = Settings(
            data_dir=tmp / "data",
            database_url=f"sqlite:///{tmp / 'argocd.db'}",
            admin_password=ADMIN_PASSWORD,
            login_delay_min_ms=0,
            login_delay_max_ms=0,
            auth_cache_seconds=0.0,
            threadpool_size=16,
            kubeconfig=sim.write_kubeconfig(tmp / "kubeconfig"),
            embedded_kubesim=False,
            sync_wave_delay_seconds=0.05,
            controller_poll_seconds=0.1,
            reconciliation_seconds=180.0,
            configmaps=maps,
        )
        with running_server(settings) as base_url, httpx.Client(base_url=base_url, timeout=30.0) as http:
            tokens = {"admin": _login(http, "admin", ADMIN_PASSWORD)}
            world = World(base_url=base_url, http=http, sim=sim, tokens=tokens)
            for user in ("alice", "bob"):
                response = world.send(
                    "PUT",
                    "/api/v1/account/password",
                    {"name": user, "currentPassword": ADMIN_PASSWORD, "newPassword": f"{user}-password-1"},
                )
                assert response.status_code == 200, response.text
                tokens[user] = _login(http, user, f"{user}-password-1")
            body = {
                "metadata": {"name": APP},
                "spec": {
                    "source": {"repoURL": repo.url, "path": "shop", "targetRevision": "HEAD"},
                    "destination": {"server": IN_CLUSTER, "namespace": "default"},
                    "project": "default",
                },
            }
            response = world.send("POST", "/api/v1/applications", body)
            assert response.status_code == 200, response.text
            response = world.send("POST", f"/api/v1/applications/{APP}/sync", {})
            assert response.status_code == 200, response.text

            def synced_healthy() -> bool:
                status = world.get(f"/api/v1/applications/{APP}", refresh="normal").json().get("status", {})
                return bool(
                    status.get("sync", {}).get("status") == "Synced"
                    and status.get("health", {}).get("status") == "Healthy"
                )

            wait_for(synced_healthy, what="app Synced/Healthy")
            yield world


def node(world: World, kind: str, name: str) -> dict[str, Any]:
    """A node of the app's tree (polling: children appear as the cache catches up)."""

    def find() -> dict[str, Any] | None:
        return next((n for n in world.tree().get("nodes", []) if n["kind"] == kind and n["name"] == name), None)

    found: dict[str, Any] = wait_for(find, what=f"{kind} {name} in the tree")
    return found


def pods_of(world: World, deployment: str) -> list[dict[str, Any]]:
    def find() -> list[dict[str, Any]]:
        return [
            n for n in world.tree().get("nodes", []) if n["kind"] == "Pod" and n["name"].startswith(f"{deployment}-")
        ]

    pods: list[dict[str, Any]] = wait_for(find, what=f"pods of {deployment}")
    return pods
