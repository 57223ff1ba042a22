"""``KubeSim``: the store, controllers and HTTP server wired together and run in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import uvicorn
import yaml

from kubesim.app import AppOptions, KubeApp, shutdown_streams
from kubesim.auth import Authenticator, TokenSpec
from kubesim.controllers import Controllers
from kubesim.errors import ApiError
from kubesim.patch import clone
from kubesim.resources import Registry, ResourceType
from kubesim.snapshot import Snapshotter
from kubesim.store import Store, WriteContext

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class KubeSim:
    """A simulated Kubernetes API server.

    ``pace`` is the duration of one simulated controller step in seconds (0: immediate).
    ``tokens`` maps bearer tokens to grants (None: full access; an iterable of namespace
    names: only those namespaces; or a :class:`kubesim.auth.TokenGrant`). With no tokens the
    server accepts every request as the admin user.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tokens: Mapping[str, TokenSpec] | None = None,
        snapshot: str | os.PathLike[str] | None = None,
        pace: float = 1.0,
        controllers: bool = True,
        nodes: int = 3,
        event_window: int = 10_000,
        bookmark_interval: float = 1.0,
        log_follow_interval: float = 1.0,
        log_internal_writes: bool = False,
        snapshot_debounce: float = 0.3,
    ) -> None:
        self.host = host
        self.port = port
        self.registry = Registry()
        self.store = Store(
            registry=self.registry,
            event_window=event_window,
            log_internal_writes=log_internal_writes,
        )
        self.auth = Authenticator(tokens)
        self.options = AppOptions(bookmark_interval=bookmark_interval, log_follow_interval=log_follow_interval)
        self.app = KubeApp(store=self.store, auth=self.auth, options=self.options)
        self.node_names = [f"node-{i + 1}" for i in range(nodes)]
        self.controllers = Controllers(self.store, pace=pace, nodes=self.node_names) if controllers else None
        self.snapshotter = Snapshotter(self.store, snapshot, debounce=snapshot_debounce) if snapshot else None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._seeded = False

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def seed(self) -> None:
        """Load the snapshot, or create the objects a fresh cluster has."""
        if self._seeded:
            return
        self._seeded = True
        loaded = self.snapshotter.load() if self.snapshotter else 0
        if loaded:
            return
        ctx = WriteContext(user="system:apiserver", field_manager="kube-apiserver", internal=True)
        for ns in DEFAULT_NAMESPACES:
            self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, ctx=ctx)
        for name in self.node_names:
            node = {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": name,
                    "labels": {
                        "kubernetes.io/hostname": name,
                        "kubernetes.io/os": "linux",
                        "kubernetes.io/arch": "amd64",
                    },
                },
                "spec": {"podCIDR": f"10.244.{self.node_names.index(name)}.0/24"},
                "status": {
                    "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                    "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "True",
                            "reason": "KubeletReady",
                            "message": "kubelet is posting ready status",
                        }
                    ],
                    "addresses": [
                        {"type": "InternalIP", "address": f"172.18.0.{2 + self.node_names.index(name)}"},
                        {"type": "Hostname", "address": name},
                    ],
                    "nodeInfo": {
                        "machineID": f"{self.node_names.index(name):032x}",
                        "systemUUID": f"00000000-0000-0000-0000-{self.node_names.index(name):012x}",
                        "bootID": f"10000000-0000-0000-0000-{self.node_names.index(name):012x}",
                        "kernelVersion": "6.8.0",
                        "osImage": "kubesim",
                        "containerRuntimeVersion": "containerd://1.7.0",
                        "kubeletVersion": "v1.33.0",
                        "kubeProxyVersion": "v1.33.0",
                        "operatingSystem": "linux",
                        "architecture": "amd64",
                    },
                },
            }
            self.create(node, ctx=ctx)
        self.create(
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {
                    "name": "standard",
                    "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                },
                "provisioner": "kubesim.io/hostpath",
                "reclaimPolicy": "Delete",
                "volumeBindingMode": "Immediate",
            },
            ctx=ctx,
        )
        self.store.clear_oplog()

    def start(self, *, timeout: float = 10.0) -> KubeSim:
        """Serve in a background thread; returns once the port accepts connections."""
        self.seed()
        # proto must be IPPROTO_TCP for asyncio to set TCP_NODELAY on accepted connections;
        # without it each response pays a delayed-ACK stall (~40 ms).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self.options.server_address = f"{self.host}:{self.port}"
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
            ws="none",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, args=(sock,), name=f"kubesim-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if self._error is not None:
                raise RuntimeError("kubesim failed to start") from self._error
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("kubesim did not start in time")
            time.sleep(0.01)
        if self.snapshotter:
            self.snapshotter.attach()
        return self

    def _serve(self, sock: socket.socket) -> None:
        try:
            asyncio.run(self._main(sock))
        except BaseException as exc:
            self._error = exc

    async def _main(self, sock: socket.socket) -> None:
        self._loop = asyncio.get_running_loop()
        if self.controllers is not None:
            self.controllers.start(self._loop)
        assert self._server is not None
        try:
            await self._server.serve(sockets=[sock])
        finally:
            if self.controllers is not None:
                self.controllers.stop()

    def stop(self) -> None:
        """Close streams, stop serving and flush the snapshot."""
        if self._server is None or self._thread is None:
            return
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                asyncio.run_coroutine_threadsafe(shutdown_streams(self.app), loop).result(5)
        self._server.should_exit = True
        self._thread.join(15)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(5)
        self._server = None
        self._thread = None
        if self.snapshotter:
            self.snapshotter.close()

    def __enter__(self) -> KubeSim:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Run in the foreground (the CLI) until interrupted; starts the server if needed."""
        if self._thread is None:
            self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    # --- configuration --------------------------------------------------------------------

    def set_tokens(self, tokens: Mapping[str, TokenSpec] | None) -> None:
        """Rotate bearer tokens at runtime; None or {} disables authentication."""
        self.auth.set_tokens(tokens)

    @property
    def oplog(self) -> list[dict[str, Any]]:
        """A copy of the write log, oldest first."""
        with self.store.lock:
            return [dict(e) for e in self.store.oplog]

    def clear_oplog(self) -> None:
        self.store.clear_oplog()

    def compact(self) -> int:
        """Drop all watch history: watches from older resourceVersions get 410 Gone."""
        return self.store.compact()

    # --- clients --------------------------------------------------------------------------

    def api_client(self, token: str | None = None) -> Any:
        """A ``kubernetes.client.ApiClient`` pointed at this simulator."""
        from kubernetes import client

        config = client.Configuration()
        config.host = self.url
        if token:
            config.api_key = {"authorization": token}
            config.api_key_prefix = {"authorization": "Bearer"}
        return client.ApiClient(config)

    def kubeconfig(self, *, token: str | None = None, namespace: str = "default") -> dict[str, Any]:
        user: dict[str, Any] = {"token": token} if token else {}
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "kubesim", "cluster": {"server": self.url}}],
            "users": [{"name": "kubesim", "user": user}],
            "contexts": [
                {
                    "name": "kubesim",
                    "context": {"cluster": "kubesim", "user": "kubesim", "namespace": namespace},
                }
            ],
            "current-context": "kubesim",
        }

    def write_kubeconfig(
        self, path: str | os.PathLike[str], *, token: str | None = None, namespace: str = "default"
    ) -> Path:
        """Write a kubeconfig for kubectl and return its path."""
        target = Path(path)
        target.write_text(yaml.safe_dump(self.kubeconfig(token=token, namespace=namespace)))
        return target

    # --- direct object access (no HTTP) -----------------------------------------------------

    def _type(self, api_version: str, kind: str) -> ResourceType:
        rt = self.registry.by_kind(api_version, kind)
        if rt is None:
            raise ApiError(404, f'no matches for kind "{kind}" in version "{api_version}"')
        return rt

    def create(self, obj: Mapping[str, Any], *, ctx: WriteContext | None = None) -> dict[str, Any]:
        """Create an object directly in the store (fast seeding for tests and benchmarks)."""
        body = clone(dict(obj))
        rt = self._type(body.get("apiVersion", ""), body.get("kind", ""))
        ns = (body.get("metadata") or {}).get("namespace") or ("default" if rt.namespaced else "")
        version = body["apiVersion"].rpartition("/")[2]
        context = ctx or WriteContext(user="system:admin", field_manager="kubesim", version=version)
        context.version = version
        return clone(self.store.create(rt, ns, body=body, ctx=context).obj)  # type: ignore[no-any-return]

    def get(self, api_version: str, kind: str, *, name: str, namespace: str = "") -> dict[str, Any] | None:
        """An object from the store, or None."""
        rt = self._type(api_version, kind)
        entry = self.store.lookup(rt, namespace if rt.namespaced else "", name=name)
        return clone(entry.obj) if entry is not None else None

    def list_objects(self, api_version: str, kind: str, *, namespace: str | None = None) -> list[dict[str, Any]]:
        rt = self._type(api_version, kind)
        return [clone(e.obj) for e in self.store.list_entries(rt, namespace).entries]
