"""Simulated controllers and kubelet: workloads roll out, pods start, jobs finish, LBs get IPs.

Timing is driven by ``pace`` (seconds per simulated step; 0 = as fast as the event loop runs).
Per-object behaviour comes from the ``kubesim.io/behavior`` annotation, read from the workload,
its pod template, or the pod itself:

- ``fail``: containers never start (``ImagePullBackOff``); Job pods exit non-zero until the
  backoff limit fails the Job; Deployments report ``ProgressDeadlineExceeded``.
- ``crash-loop``: containers keep crashing (``CrashLoopBackOff``, growing ``restartCount``);
  Deployments report ``ProgressDeadlineExceeded`` once the (paced) deadline passes.
- ``never-ready``: pods run but readiness never passes; Deployments stay progressing.
- ``slow``: every step takes ten times the pace (at least two seconds).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kubesim.errors import ApiError
from kubesim.patch import clone
from kubesim.resources import ResourceType, TypeKey
from kubesim.store import Entry, Event, Store, WriteContext, now_iso

log = logging.getLogger("kubesim.controllers")

BEHAVIOR = "kubesim.io/behavior"
BEHAVIORS = ("fail", "crash-loop", "never-ready", "slow")

PODS: TypeKey = ("", "pods")
DEPLOYMENTS: TypeKey = ("apps", "deployments")
REPLICASETS: TypeKey = ("apps", "replicasets")
STATEFULSETS: TypeKey = ("apps", "statefulsets")
DAEMONSETS: TypeKey = ("apps", "daemonsets")
JOBS: TypeKey = ("batch", "jobs")
CRONJOBS: TypeKey = ("batch", "cronjobs")
SERVICES: TypeKey = ("", "services")
PVCS: TypeKey = ("", "persistentvolumeclaims")
PVS: TypeKey = ("", "persistentvolumes")
INGRESSES: TypeKey = ("networking.k8s.io", "ingresses")
NODES: TypeKey = ("", "nodes")
EVENTS: TypeKey = ("", "events")

_OWNED_BY = {
    "ReplicaSet": REPLICASETS,
    "StatefulSet": STATEFULSETS,
    "DaemonSet": DAEMONSETS,
    "Job": JOBS,
    "Deployment": DEPLOYMENTS,
    "CronJob": CRONJOBS,
}
_SELF = frozenset({DEPLOYMENTS, REPLICASETS, STATEFULSETS, DAEMONSETS, JOBS, CRONJOBS, SERVICES, PVCS, INGRESSES, PODS})
_SUFFIX = "bcdfghjklmnpqrstvwxz2456789"

Key = tuple[TypeKey, str, str]


def _ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str | None) -> float:
    if not text:
        return 0.0
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def _hash(value: Any) -> str:
    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
    alphabet = _SUFFIX
    return "".join(alphabet[int(digest[i : i + 2], 16) % len(alphabet)] for i in range(0, 20, 2))


def _behavior(*objs: dict[str, Any] | None) -> str:
    for obj in objs:
        if not obj:
            continue
        value = ((obj.get("metadata") or {}).get("annotations") or {}).get(BEHAVIOR)
        if value:
            return str(value)
    return ""


def _controller_ref(obj: dict[str, Any]) -> dict[str, Any] | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def _owner_ref(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _pod_ready(pod: dict[str, Any]) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def _condition(
    old: list[dict[str, Any]], ctype: str, *, status: str, reason: str, message: str, now: str
) -> dict[str, Any]:
    prev = next((c for c in old if c.get("type") == ctype), None)
    cond = {"type": ctype, "status": status, "reason": reason, "message": message}
    changed = prev is None or prev.get("status") != status
    same = prev is not None and all(prev.get(k) == v for k, v in cond.items())
    cond["lastUpdateTime"] = prev.get("lastUpdateTime", now) if same and prev else now
    cond["lastTransitionTime"] = now if changed or prev is None else prev.get("lastTransitionTime", now)
    return cond


def _percent(value: Any, total: int, *, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        share = total * int(value[:-1]) / 100
        return int(-(-share // 1)) if round_up else int(share)
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class Controllers:
    """Runs reconcilers on the server's event loop, fed by store change events."""

    def __init__(self, store: Store, *, pace: float, nodes: list[str]) -> None:
        self.store = store
        self.pace = max(0.0, pace)
        self.nodes = nodes
        self.loop: asyncio.AbstractEventLoop | None = None
        self.queue: asyncio.Queue[Key] = asyncio.Queue()
        self.pending: set[Key] = set()
        self.thread_id = 0
        self.task: asyncio.Task[None] | None = None
        self._due: dict[str, float] = {}
        self._ip = 0
        self._lb = 0
        self._handles: list[asyncio.TimerHandle] = []
        self.ctx = WriteContext(
            user="system:kube-controller-manager",
            field_manager="kube-controller-manager",
            internal=True,
        )
        self.kubelet = WriteContext(user="system:node", field_manager="kubelet", internal=True)
        self._handlers: dict[TypeKey, Callable[[str, str], None]] = {
            DEPLOYMENTS: self._deployment,
            REPLICASETS: self._replicaset,
            STATEFULSETS: self._statefulset,
            DAEMONSETS: self._daemonset,
            JOBS: self._job,
            CRONJOBS: self._cronjob,
            PODS: self._pod,
            SERVICES: self._service,
            PVCS: self._pvc,
            INGRESSES: self._ingress,
        }

    # --- plumbing -------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        import threading

        self.loop = loop
        self.thread_id = threading.get_ident()
        self.task = loop.create_task(self._run())
        self.store.subscribe(self._on_event)
        with self.store.lock:
            for key in _SELF:
                for entry in self.store.iter_objects(key):
                    meta = entry.obj["metadata"]
                    self._enqueue((key, meta.get("namespace", ""), meta["name"]))

    def stop(self) -> None:
        self.store.unsubscribe(self._on_event)
        for handle in self._handles:
            handle.cancel()
        if self.task is not None:
            self.task.cancel()

    def _on_event(self, ev: Event) -> None:
        if ev.key == EVENTS:
            return
        meta = ev.entry.obj["metadata"]
        ns = meta.get("namespace", "")
        keys: list[Key] = []
        if ev.key in _SELF and ev.type != "DELETED":
            keys.append((ev.key, ns, meta["name"]))
        ref = _controller_ref(ev.entry.obj)
        if ref is not None and ref.get("kind") in _OWNED_BY:
            keys.append((_OWNED_BY[ref["kind"]], ns, ref["name"]))
        if ev.key == NODES:
            keys.extend(
                (DAEMONSETS, e.obj["metadata"]["namespace"], e.obj["metadata"]["name"])
                for e in self.store.iter_objects(DAEMONSETS)
            )
        if not keys or self.loop is None:
            return
        import threading

        if threading.get_ident() == self.thread_id:
            for key in keys:
                self._enqueue(key)
        else:
            for key in keys:
                self.loop.call_soon_threadsafe(self._enqueue, key)

    def _enqueue(self, key: Key) -> None:
        if key not in self.pending:
            self.pending.add(key)
            self.queue.put_nowait(key)

    def later(self, delay: float, key: Key) -> None:
        if self.loop is None:
            return
        if delay <= 0:
            self._enqueue(key)
            return
        self._handles = [h for h in self._handles if not h.cancelled() and h.when() > self.loop.time()]
        self._handles.append(self.loop.call_later(delay, self._enqueue, key))

    async def _run(self) -> None:
        while True:
            key = await self.queue.get()
            self.pending.discard(key)
            handler = self._handlers.get(key[0])
            if handler is None:
                continue
            try:
                with self.store.lock:
                    handler(key[1], key[2])
            except ApiError as err:
                log.debug("reconcile %s failed: %s", key, err.message)
            except Exception:
                log.exception("reconcile %s crashed", key)
            if self.queue.empty():
                await asyncio.sleep(0)

    def step(self, behavior: str) -> float:
        """Seconds a simulated step takes for an object with ``behavior``."""
        if behavior == "slow":
            return max(10 * self.pace, 2.0)
        return self.pace

    def _rt(self, key: TypeKey) -> ResourceType:
        rt = self.store.registry.by_key(key)
        assert rt is not None
        return rt

    def _get(self, key: TypeKey, ns: str, *, name: str) -> Entry | None:
        return self.store.lookup(self._rt(key), ns, name=name)

    def _owned(self, key: TypeKey, owner: dict[str, Any]) -> list[dict[str, Any]]:
        uid = owner["metadata"]["uid"]
        ns = owner["metadata"].get("namespace", "")
        out = []
        for entry in self.store.list_entries(self._rt(key), ns).entries:
            ref = _controller_ref(entry.obj)
            if ref is not None and ref.get("uid") == uid:
                out.append(entry.obj)
        return out

    def _set_status(
        self, key: TypeKey, obj: dict[str, Any], *, status: dict[str, Any], ctx: WriteContext | None = None
    ) -> dict[str, Any]:
        if obj.get("status") == status:
            return obj
        new = clone(obj)
        new["status"] = status
        new["metadata"].pop("resourceVersion", None)
        meta = obj["metadata"]
        entry = self.store.update(
            self._rt(key),
            meta.get("namespace", ""),
            name=meta["name"],
            body=new,
            ctx=ctx or self.ctx,
            subresource="status",
        )
        return entry.obj

    def _create(self, key: TypeKey, ns: str, *, obj: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return self.store.create(self._rt(key), ns, body=obj, ctx=self.ctx).obj
        except ApiError as err:
            if err.code in (404, 403, 409):
                return None
            raise

    def _delete(self, key: TypeKey, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        try:
            self.store.delete(self._rt(key), meta.get("namespace", ""), name=meta["name"], ctx=self.ctx)
        except ApiError as err:
            if err.code != 404:
                raise

    def event(
        self,
        obj: dict[str, Any],
        *,
        reason: str,
        message: str,
        warning: bool = False,
        component: str = "kube-controller-manager",
    ) -> None:
        """Record a core/v1 Event about ``obj``, as the controllers and kubelet do."""
        meta = obj["metadata"]
        ns = meta.get("namespace") or "default"
        now = now_iso()
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{meta['name']}.{random.getrandbits(64):016x}",
                "namespace": ns,
            },
            "involvedObject": {
                "apiVersion": obj.get("apiVersion"),
                "kind": obj.get("kind"),
                "name": meta["name"],
                "namespace": meta.get("namespace", ""),
                "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "reason": reason,
            "message": message,
            "type": "Warning" if warning else "Normal",
            "source": {"component": component},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "reportingComponent": component,
            "reportingInstance": "",
        }
        self._create(EVENTS, ns, obj=body)

    def _pod_from_template(
        self, owner: dict[str, Any], template: dict[str, Any], *, name: str, extra_labels: dict[str, str]
    ) -> dict[str, Any]:
        tmeta = template.get("metadata") or {}
        meta: dict[str, Any] = {
            "name": name,
            "namespace": owner["metadata"]["namespace"],
            "labels": {**(tmeta.get("labels") or {}), **extra_labels},
            "ownerReferences": [_owner_ref(owner)],
        }
        annotations = dict(tmeta.get("annotations") or {})
        behavior = _behavior(owner)
        if behavior and BEHAVIOR not in annotations:
            annotations[BEHAVIOR] = behavior
        if annotations:
            meta["annotations"] = annotations
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": clone(template.get("spec") or {})}

    # --- kubelet --------------------------------------------------------------------------

    def _pod(self, ns: str, name: str) -> None:
        entry = self._get(PODS, ns, name=name)
        if entry is None or entry.obj["metadata"].get("deletionTimestamp"):
            return
        pod = entry.obj
        uid = pod["metadata"]["uid"]
        spec = pod.get("spec") or {}
        status = pod.get("status") or {}
        behavior = _behavior(pod)
        phase = status.get("phase", "Pending")
        if phase in ("Succeeded", "Failed"):
            return
        now = time.time()
        containers = [c.get("name", "") for c in spec.get("containers") or []]
        if not spec.get("nodeName"):
            node = self.nodes[zlib.crc32(uid.encode()) % len(self.nodes)] if self.nodes else "node-1"
            new = clone(pod)
            new["spec"]["nodeName"] = node
            new["metadata"].pop("resourceVersion", None)
            pod = self.store.update(self._rt(PODS), ns, name=name, body=new, ctx=self.ctx).obj
            self.event(
                pod,
                reason="Scheduled",
                message=f"Successfully assigned {ns}/{name} to {node}",
                component="default-scheduler",
            )
        if not status.get("containerStatuses"):
            started = now_iso()
            self._ip += 1
            status = {
                "phase": "Pending",
                "conditions": [
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": started},
                ],
                "hostIP": "172.18.0.2",
                "podIP": f"10.244.{(self._ip // 250) % 250}.{self._ip % 250 + 1}",
                "startTime": started,
                "qosClass": "BestEffort",
                "containerStatuses": [
                    {
                        "name": c.get("name", ""),
                        "image": c.get("image", ""),
                        "imageID": "",
                        "ready": False,
                        "started": False,
                        "restartCount": 0,
                        "state": {"waiting": {"reason": "ContainerCreating"}},
                        "lastState": {},
                    }
                    for c in spec.get("containers") or []
                ],
            }
            pod = self._set_status(PODS, pod, status=status, ctx=self.kubelet)
            self._due[uid] = now + self.step(behavior)
        due = self._due.get(uid, 0.0)
        if now < due:
            self.later(due - now, (PODS, ns, name))
            return
        self._due.pop(uid, None)
        self._pod_progress(pod, behavior, containers=containers, now=now)

    def _pod_progress(self, pod: dict[str, Any], behavior: str, *, containers: list[str], now: float) -> None:
        meta = pod["metadata"]
        ns, name, uid = meta["namespace"], meta["name"], meta["uid"]
        status = clone(pod.get("status") or {})
        owner = _controller_ref(pod)
        is_job = owner is not None and owner.get("kind") == "Job"
        stamp = now_iso()
        statuses = status.get("containerStatuses") or []
        running = all("running" in (s.get("state") or {}) for s in statuses)
        if behavior == "fail" and not is_job:
            if not any((s.get("state") or {}).get("waiting", {}).get("reason") == "ImagePullBackOff" for s in statuses):
                for s in statuses:
                    s["state"] = {
                        "waiting": {
                            "reason": "ImagePullBackOff",
                            "message": f'Back-off pulling image "{s.get("image")}"',
                        }
                    }
                status["conditions"] = self._pod_conditions(status, ready=False, stamp=stamp)
                self._set_status(PODS, pod, status=status, ctx=self.kubelet)
                self.event(pod, reason="Failed", message="Error: ImagePullBackOff", warning=True, component="kubelet")
            return
        if behavior == "crash-loop":
            restarts = int(statuses[0].get("restartCount", 0)) if statuses else 0
            for s in statuses:
                s["restartCount"] = restarts + 1
                s["ready"] = False
                s["started"] = False
                s["state"] = {
                    "waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting failed container"}
                }
                s["lastState"] = {
                    "terminated": {"exitCode": 1, "reason": "Error", "startedAt": stamp, "finishedAt": stamp}
                }
            status["phase"] = "Running"
            status["conditions"] = self._pod_conditions(status, ready=False, stamp=stamp)
            self._set_status(PODS, pod, status=status, ctx=self.kubelet)
            if restarts == 0:
                self.event(
                    pod,
                    reason="BackOff",
                    message="Back-off restarting failed container",
                    warning=True,
                    component="kubelet",
                )
            delay = min(300.0, max(1.0, self.pace) * 2 ** min(restarts, 8))
            self._due[uid] = now + delay
            self.later(delay, (PODS, ns, name))
            return
        if not running:
            for s in statuses:
                s["state"] = {"running": {"startedAt": stamp}}
                s["started"] = True
                s["ready"] = behavior != "never-ready"
                s["imageID"] = (
                    "docker.io/library/"
                    + str(s.get("image", ""))
                    + "@sha256:"
                    + hashlib.sha256(str(s.get("image")).encode()).hexdigest()
                )
                s["containerID"] = "containerd://" + hashlib.sha256((uid + str(s.get("name"))).encode()).hexdigest()
            status["phase"] = "Running"
            status["conditions"] = self._pod_conditions(status, ready=behavior != "never-ready", stamp=stamp)
            pod = self._set_status(PODS, pod, status=status, ctx=self.kubelet)
            for c in containers:
                self.event(pod, reason="Started", message=f"Started container {c}", component="kubelet")
            if is_job:
                self._due[uid] = now + self.step(behavior)
                self.later(self.step(behavior), (PODS, ns, name))
            return
        if is_job:
            failed = behavior == "fail"
            for s in statuses:
                s["ready"] = False
                s["started"] = False
                s["state"] = {
                    "terminated": {
                        "exitCode": 1 if failed else 0,
                        "reason": "Error" if failed else "Completed",
                        "startedAt": (s.get("state") or {}).get("running", {}).get("startedAt", stamp),
                        "finishedAt": stamp,
                    }
                }
            status["phase"] = "Failed" if failed else "Succeeded"
            status["conditions"] = self._pod_conditions(status, ready=False, stamp=stamp)
            self._set_status(PODS, pod, status=status, ctx=self.kubelet)

    @staticmethod
    def _pod_conditions(status: dict[str, Any], *, ready: bool, stamp: str) -> list[dict[str, Any]]:
        value = "True" if ready else "False"
        old = {c.get("type"): c for c in status.get("conditions") or []}

        def cond(ctype: str, val: str) -> dict[str, Any]:
            prev = old.get(ctype)
            when = prev.get("lastTransitionTime", stamp) if prev and prev.get("status") == val else stamp
            return {"type": ctype, "status": val, "lastProbeTime": None, "lastTransitionTime": when}

        return [
            cond("PodReadyToStartContainers", "True"),
            cond("Initialized", "True"),
            cond("Ready", value),
            cond("ContainersReady", value),
            cond("PodScheduled", "True"),
        ]

    # --- workloads ------------------------------------------------------------------------

    def _replicaset(self, ns: str, name: str) -> None:
        entry = self._get(REPLICASETS, ns, name=name)
        if entry is None or entry.obj["metadata"].get("deletionTimestamp"):
            return
        rs = entry.obj
        spec = rs.get("spec") or {}
        want = int(spec.get("replicas", 1))
        pods = [p for p in self._owned(PODS, rs) if not p["metadata"].get("deletionTimestamp")]
        pods = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Failed", "Succeeded")]
        template = spec.get("template") or {}
        if len(pods) < want:
            for _ in range(want - len(pods)):
                pod_name = f"{name}-{''.join(random.choices(_SUFFIX, k=5))}"  # noqa: S311
                created = self._create(
                    PODS, ns, obj=self._pod_from_template(rs, template, name=pod_name, extra_labels={})
                )
                if created is not None:
                    pods.append(created)
                    self.event(rs, reason="SuccessfulCreate", message=f"Created pod: {pod_name}")
        elif len(pods) > want:
            extra = sorted(pods, key=lambda p: (_pod_ready(p), p["metadata"]["creationTimestamp"]))[: len(pods) - want]
            for pod in extra:
                self._delete(PODS, pod)
                self.event(rs, reason="SuccessfulDelete", message=f"Deleted pod: {pod['metadata']['name']}")
            names = {p["metadata"]["name"] for p in extra}
            pods = [p for p in pods if p["metadata"]["name"] not in names]
        ready = sum(1 for p in pods if _pod_ready(p))
        status: dict[str, Any] = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        if ready:
            status["readyReplicas"] = ready
            status["availableReplicas"] = ready
        self._set_status(REPLICASETS, rs, status=status)

    def _deployment(self, ns: str, name: str) -> None:
        entry = self._get(DEPLOYMENTS, ns, name=name)
        if entry is None or entry.obj["metadata"].get("deletionTimestamp"):
            return
        dep = entry.obj
        spec = dep.get("spec") or {}
        want = int(spec.get("replicas", 1))
        template = clone(spec.get("template") or {})
        pth = _hash(template)[:10]
        owned = self._owned(REPLICASETS, dep)
        new_rs = next((r for r in owned if (r["metadata"].get("labels") or {}).get("pod-template-hash") == pth), None)
        old_rs = [r for r in owned if r is not new_rs]
        revisions = [
            int((r["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "0")) for r in owned
        ]
        now = time.time()
        behavior = _behavior(dep, template)
        uid = dep["metadata"]["uid"]
        if new_rs is None:
            labels = {**((template.get("metadata") or {}).get("labels") or {}), "pod-template-hash": pth}
            template.setdefault("metadata", {})["labels"] = labels
            selector = clone(spec.get("selector") or {})
            selector.setdefault("matchLabels", {})["pod-template-hash"] = pth
            revision = max(revisions, default=0) + 1
            rs_name = f"{name}-{pth}"
            body = {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": rs_name,
                    "namespace": ns,
                    "labels": labels,
                    "annotations": {
                        **({BEHAVIOR: behavior} if behavior else {}),
                        "deployment.kubernetes.io/desired-replicas": str(want),
                        "deployment.kubernetes.io/max-replicas": str(want + 1),
                        "deployment.kubernetes.io/revision": str(revision),
                    },
                    "ownerReferences": [_owner_ref(dep)],
                },
                "spec": {
                    "replicas": want,
                    "selector": selector,
                    "template": template,
                    "minReadySeconds": spec.get("minReadySeconds", 0),
                },
            }
            new_rs = self._create(REPLICASETS, ns, obj=body)
            if new_rs is None:
                return
            self._due[uid] = now
            self.event(dep, reason="ScalingReplicaSet", message=f"Scaled up replica set {rs_name} from 0 to {want}")
        elif int((new_rs.get("spec") or {}).get("replicas", 0)) != want:
            scaled = clone(new_rs)
            scaled["spec"]["replicas"] = want
            scaled["metadata"].pop("resourceVersion", None)
            old_count = new_rs["spec"].get("replicas", 0)
            new_rs = self.store.update(
                self._rt(REPLICASETS), ns, name=new_rs["metadata"]["name"], body=scaled, ctx=self.ctx
            ).obj
            verb = "up" if want > old_count else "down"
            self.event(
                dep,
                reason="ScalingReplicaSet",
                message=f"Scaled {verb} replica set {new_rs['metadata']['name']} from {old_count} to {want}",
            )
        new_status = new_rs.get("status") or {}
        new_available = int(new_status.get("availableReplicas", 0))
        if new_available >= want or spec.get("strategy", {}).get("type") == "Recreate":
            for rs in old_rs:
                if int((rs.get("spec") or {}).get("replicas", 0)) != 0:
                    scaled = clone(rs)
                    scaled["spec"]["replicas"] = 0
                    scaled["metadata"].pop("resourceVersion", None)
                    self.store.update(self._rt(REPLICASETS), ns, name=rs["metadata"]["name"], body=scaled, ctx=self.ctx)
                    self.event(
                        dep,
                        reason="ScalingReplicaSet",
                        message=(
                            f"Scaled down replica set {rs['metadata']['name']} from {rs['spec'].get('replicas')} to 0"
                        ),
                    )
        all_rs = [new_rs, *old_rs]
        total = sum(int((r.get("status") or {}).get("replicas", 0)) for r in all_rs)
        ready = sum(int((r.get("status") or {}).get("readyReplicas", 0)) for r in all_rs)
        available = sum(int((r.get("status") or {}).get("availableReplicas", 0)) for r in all_rs)
        updated = int(new_status.get("replicas", 0))
        rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        max_unavailable = 0
        if (spec.get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
            max_unavailable = _percent(rolling.get("maxUnavailable", "25%"), want, round_up=False)
        stamp = now_iso()
        old_conditions = (dep.get("status") or {}).get("conditions") or []
        rs_name = new_rs["metadata"]["name"]
        if available >= want - max_unavailable:
            avail = _condition(
                old_conditions,
                "Available",
                status="True",
                reason="MinimumReplicasAvailable",
                message="Deployment has minimum availability.",
                now=stamp,
            )
        else:
            avail = _condition(
                old_conditions,
                "Available",
                status="False",
                reason="MinimumReplicasUnavailable",
                message="Deployment does not have minimum availability.",
                now=stamp,
            )
        complete = (
            updated == want and available >= want and total == want and int(new_status.get("replicas", 0)) == want
        )
        prev_progress = next((c for c in old_conditions if c.get("type") == "Progressing"), None)
        deadline = float(spec.get("progressDeadlineSeconds", 600))
        if behavior in ("fail", "crash-loop"):
            deadline = min(deadline, 5 * self.pace)
        started = self._due.setdefault(uid, now)
        if complete:
            self._due.pop(uid, None)
            progress = _condition(
                old_conditions,
                "Progressing",
                status="True",
                reason="NewReplicaSetAvailable",
                message=f'ReplicaSet "{rs_name}" has successfully progressed.',
                now=stamp,
            )
        elif prev_progress is not None and prev_progress.get("reason") == "ProgressDeadlineExceeded" and old_conditions:
            progress = prev_progress
        elif behavior in ("fail", "crash-loop") and now - started >= deadline and self._pods_started(new_rs):
            progress = _condition(
                old_conditions,
                "Progressing",
                status="False",
                reason="ProgressDeadlineExceeded",
                message=f'ReplicaSet "{rs_name}" has timed out progressing.',
                now=stamp,
            )
        else:
            progress = _condition(
                old_conditions,
                "Progressing",
                status="True",
                reason="ReplicaSetUpdated",
                message=f'ReplicaSet "{rs_name}" is progressing.',
                now=stamp,
            )
            if behavior in ("fail", "crash-loop"):
                self.later(max(0.05, started + deadline - now), (DEPLOYMENTS, ns, name))
        status: dict[str, Any] = {
            "observedGeneration": dep["metadata"].get("generation", 1),
            "replicas": total,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "conditions": [avail, progress],
        }
        if want - available > 0:
            status["unavailableReplicas"] = want - available
        for key in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"):
            if not status[key]:
                del status[key]
        self._set_status(DEPLOYMENTS, dep, status=status)

    def _pods_started(self, rs: dict[str, Any]) -> bool:
        pods = self._owned(PODS, rs)
        return bool(pods) and all(
            any(
                "waiting" in (s.get("state") or {}) and (s["state"]["waiting"].get("reason") != "ContainerCreating")
                for s in (p.get("status") or {}).get("containerStatuses") or []
            )
            for p in pods
        )

    def _statefulset(self, ns: str, name: str) -> None:
        entry = self._get(STATEFULSETS, ns, name=name)
        if entry is None or entry.obj["metadata"].get("deletionTimestamp"):
            return
        sts = entry.obj
        spec = sts.get("spec") or {}
        want = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        revision = f"{name}-{_hash(template)[:10]}"
        pods = {p["metadata"]["name"]: p for p in self._owned(PODS, sts)}
        ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        for i in range(want):
            pod_name = f"{name}-{i}"
            pod = pods.get(pod_name)
            if pod is not None and (pod["metadata"].get("labels") or {}).get("controller-revision-hash") != revision:
                if not pod["metadata"].get("deletionTimestamp"):
                    self._delete(PODS, pod)
                pods.pop(pod_name)
                pod = None
            if pod is None:
                for claim in spec.get("volumeClaimTemplates") or []:
                    claim_name = f"{claim.get('metadata', {}).get('name', 'data')}-{pod_name}"
                    if self._get(PVCS, ns, name=claim_name) is None:
                        self._create(
                            PVCS,
                            ns,
                            obj={
                                "apiVersion": "v1",
                                "kind": "PersistentVolumeClaim",
                                "metadata": {
                                    "name": claim_name,
                                    "namespace": ns,
                                    "labels": dict((template.get("metadata") or {}).get("labels") or {}),
                                },
                                "spec": clone(claim.get("spec") or {}),
                            },
                        )
                body = self._pod_from_template(
                    sts,
                    template,
                    name=pod_name,
                    extra_labels={
                        "controller-revision-hash": revision,
                        "statefulset.kubernetes.io/pod-name": pod_name,
                        "apps.kubernetes.io/pod-index": str(i),
                    },
                )
                body["spec"]["hostname"] = pod_name
                if spec.get("serviceName"):
                    body["spec"]["subdomain"] = spec["serviceName"]
                created = self._create(PODS, ns, obj=body)
                if created is not None:
                    pods[pod_name] = created
                    self.event(
                        sts,
                        reason="SuccessfulCreate",
                        message=f"create Pod {pod_name} in StatefulSet {name} successful",
                    )
                if ordered:
                    break
            elif ordered and not _pod_ready(pod):
                break
        for pod_name, pod in list(pods.items()):
            index = pod_name.rsplit("-", 1)[-1]
            if not index.isdigit() or int(index) >= want:
                self._delete(PODS, pod)
                pods.pop(pod_name)
        live = list(pods.values())
        ready = sum(1 for p in live if _pod_ready(p))
        updated = sum(
            1 for p in live if (p["metadata"].get("labels") or {}).get("controller-revision-hash") == revision
        )
        status: dict[str, Any] = {
            "observedGeneration": sts["metadata"].get("generation", 1),
            "replicas": len(live),
            "currentReplicas": updated,
            "updatedReplicas": updated,
            "currentRevision": revision,
            "updateRevision": revision,
            "collisionCount": 0,
            "availableReplicas": ready,
        }
        if ready:
            status["readyReplicas"] = ready
        self._set_status(STATEFULSETS, sts, status=status)

    def _daemonset(self, ns: str, name: str) -> None:
        entry = self._get(DAEMONSETS, ns, name=name)
        if entry is None or entry.obj["metadata"].get("deletionTimestamp"):
            return
        ds = entry.obj
        spec = ds.get("spec") or {}
        template = spec.get("template") or {}
        revision = _hash(template)[:10]
        nodes = [e.obj["metadata"]["name"] for e in self.store.iter_objects(NODES)] or self.nodes
        pods = self._owned(PODS, ds)
        by_node: dict[str, dict[str, Any]] = {}
        for pod in pods:
            node = (pod.get("spec") or {}).get("nodeName", "")
            stale = (pod["metadata"].get("labels") or {}).get("controller-revision-hash") != revision
            if node not in nodes or node in by_node or stale:
                if not pod["metadata"].get("deletionTimestamp"):
                    self._delete(PODS, pod)
                continue
            by_node[node] = pod
        for node in nodes:
            if node in by_node:
                continue
            pod_name = f"{name}-{''.join(random.choices(_SUFFIX, k=5))}"  # noqa: S311
            body = self._pod_from_template(
                ds,
                template,
                name=pod_name,
                extra_labels={
                    "controller-revision-hash": revision,
                    "pod-template-generation": str(ds["metadata"].get("generation", 1)),
                },
            )
            body["spec"]["nodeName"] = node
            created = self._create(PODS, ns, obj=body)
            if created is not None:
                by_node[node] = created
                self.event(ds, reason="SuccessfulCreate", message=f"Created pod: {pod_name}")
        ready = sum(1 for p in by_node.values() if _pod_ready(p))
        status = {
            "observedGeneration": ds["metadata"].get("generation", 1),
            "desiredNumberScheduled": len(nodes),
            "currentNumberScheduled": len(by_node),
            "updatedNumberScheduled": len(by_node),
            "numberMisscheduled": 0,
            "numberReady": ready,
            "numberAvailable": ready,
        }
        if len(nodes) - ready:
            status["numberUnavailable"] = len(nodes) - ready
        self._set_status(DAEMONSETS, ds, status=status)

    def _job(self, ns: str, name: str) -> None:
        entry = self._get(JOBS, ns, name=name)
        if entry is None or entry.obj["metadata"].get("deletionTimestamp"):
            return
        job = entry.obj
        spec = job.get("spec") or {}
        status = clone(job.get("status") or {})
        if any(
            c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
            for c in status.get("conditions") or []
        ):
            return
        stamp = now_iso()
        status.setdefault("startTime", stamp)
        pods = self._owned(PODS, job)
        phases = [(p.get("status") or {}).get("phase", "Pending") for p in pods]
        succeeded = phases.count("Succeeded")
        failed = phases.count("Failed")
        active = len(pods) - succeeded - failed
        completions = int(spec.get("completions", 1) or 1)
        parallelism = int(spec.get("parallelism", 1))
        backoff = int(spec.get("backoffLimit", 6))
        conditions = list(status.get("conditions") or [])
        if failed > backoff:
            conditions = [
                {
                    "type": "FailureTarget",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                    "lastProbeTime": stamp,
                    "lastTransitionTime": stamp,
                },
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                    "lastProbeTime": stamp,
                    "lastTransitionTime": stamp,
                },
            ]
            self.event(
                job,
                reason="BackoffLimitExceeded",
                message="Job has reached the specified backoff limit",
                warning=True,
                component="job-controller",
            )
            active = 0
        elif succeeded >= completions:
            conditions = [
                {
                    "type": "SuccessCriteriaMet",
                    "status": "True",
                    "reason": "CompletionsReached",
                    "message": "Reached expected number of succeeded pods",
                    "lastProbeTime": stamp,
                    "lastTransitionTime": stamp,
                },
                {
                    "type": "Complete",
                    "status": "True",
                    "reason": "CompletionsReached",
                    "message": "Reached expected number of succeeded pods",
                    "lastProbeTime": stamp,
                    "lastTransitionTime": stamp,
                },
            ]
            status["completionTime"] = stamp
            self.event(job, reason="Completed", message="Job completed", component="job-controller")
            active = 0
        elif not spec.get("suspend"):
            template = spec.get("template") or {}
            while active < parallelism and succeeded + active < completions:
                pod_name = f"{name}-{''.join(random.choices(_SUFFIX, k=5))}"  # noqa: S311
                body = self._pod_from_template(
                    job,
                    template,
                    name=pod_name,
                    extra_labels={
                        "batch.kubernetes.io/job-name": name,
                        "job-name": name,
                        "batch.kubernetes.io/controller-uid": job["metadata"]["uid"],
                        "controller-uid": job["metadata"]["uid"],
                    },
                )
                if self._create(PODS, ns, obj=body) is None:
                    break
                self.event(
                    job, reason="SuccessfulCreate", message=f"Created pod: {pod_name}", component="job-controller"
                )
                active += 1
        status["conditions"] = conditions
        if not conditions:
            del status["conditions"]
        status["active"] = active
        status["succeeded"] = succeeded
        status["failed"] = failed
        status["ready"] = sum(1 for p in pods if _pod_ready(p))
        status["terminating"] = 0
        status["uncountedTerminatedPods"] = {}
        for key in ("active", "succeeded", "failed"):
            if not status[key]:
                del status[key]
        self._set_status(JOBS, job, status=status)

    def _cronjob(self, ns: str, name: str) -> None:
        from croniter import croniter

        entry = self._get(CRONJOBS, ns, name=name)
        if entry is None or entry.obj["metadata"].get("deletionTimestamp"):
            return
        cj = entry.obj
        spec = cj.get("spec") or {}
        status = clone(cj.get("status") or {})
        jobs = self._owned(JOBS, cj)
        now = time.time()
        active = [
            j
            for j in jobs
            if not any(
                c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
                for c in (j.get("status") or {}).get("conditions") or []
            )
        ]
        done = sorted((j for j in jobs if j not in active), key=lambda j: j["metadata"]["creationTimestamp"])
        succeeded = [
            j for j in done if any(c.get("type") == "Complete" for c in (j.get("status") or {}).get("conditions") or [])
        ]
        if succeeded:
            status["lastSuccessfulTime"] = (succeeded[-1].get("status") or {}).get("completionTime", now_iso())
        keep = int(spec.get("successfulJobsHistoryLimit", 3))
        for old in succeeded[: max(0, len(succeeded) - keep)]:
            self._delete(JOBS, old)
        status["active"] = [
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "name": j["metadata"]["name"],
                "namespace": ns,
                "uid": j["metadata"]["uid"],
            }
            for j in active
        ]
        if not status["active"]:
            del status["active"]
        last = _parse(status.get("lastScheduleTime")) or _parse(cj["metadata"].get("creationTimestamp"))
        try:
            schedule = croniter(str(spec.get("schedule", "")), datetime.fromtimestamp(last, UTC))
            due = float(schedule.get_next(float))
        except (ValueError, KeyError):
            self._set_status(CRONJOBS, cj, status=status)
            return
        if now >= due and not spec.get("suspend"):
            if not (spec.get("concurrencyPolicy") == "Forbid" and active):
                job_name = f"{name}-{int(due // 60)}"
                template = spec.get("jobTemplate") or {}
                body = {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "metadata": {
                        "name": job_name,
                        "namespace": ns,
                        "labels": dict((template.get("metadata") or {}).get("labels") or {}),
                        "annotations": {"batch.kubernetes.io/cronjob-scheduled-timestamp": _ts(due)},
                        "ownerReferences": [_owner_ref(cj)],
                    },
                    "spec": clone(template.get("spec") or {}),
                }
                if self._create(JOBS, ns, obj=body) is not None:
                    self.event(
                        cj, reason="SuccessfulCreate", message=f"Created job {job_name}", component="cronjob-controller"
                    )
            status["lastScheduleTime"] = _ts(due)
            schedule = croniter(str(spec.get("schedule", "")), datetime.fromtimestamp(due, UTC))
            due = float(schedule.get_next(float))
        self._set_status(CRONJOBS, cj, status=status)
        self.later(max(0.5, due - time.time()), (CRONJOBS, ns, name))

    # --- networking and storage -----------------------------------------------------------

    def _service(self, ns: str, name: str) -> None:
        entry = self._get(SERVICES, ns, name=name)
        if entry is None:
            return
        svc = entry.obj
        if (svc.get("spec") or {}).get("type") != "LoadBalancer":
            return
        if ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            return
        behavior = _behavior(svc)
        if behavior == "fail" or behavior == "never-ready":
            return
        uid = svc["metadata"]["uid"]
        due = self._due.setdefault(uid, time.time() + self.step(behavior))
        if time.time() < due:
            self.later(due - time.time(), (SERVICES, ns, name))
            return
        self._due.pop(uid, None)
        self._lb += 1
        ip = f"172.18.255.{(self._lb % 250) + 1}"
        self._set_status(SERVICES, svc, status={"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}})
        self.event(svc, reason="EnsuredLoadBalancer", message="Ensured load balancer", component="service-controller")

    def _ingress(self, ns: str, name: str) -> None:
        entry = self._get(INGRESSES, ns, name=name)
        if entry is None:
            return
        ing = entry.obj
        if ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            return
        behavior = _behavior(ing)
        if behavior in ("fail", "never-ready"):
            return
        uid = ing["metadata"]["uid"]
        due = self._due.setdefault(uid, time.time() + self.step(behavior))
        if time.time() < due:
            self.later(due - time.time(), (INGRESSES, ns, name))
            return
        self._due.pop(uid, None)
        self._set_status(INGRESSES, ing, status={"loadBalancer": {"ingress": [{"ip": "172.18.0.100"}]}})
        self.event(ing, reason="Sync", message="Scheduled for sync", component="ingress-controller")

    def _pvc(self, ns: str, name: str) -> None:
        entry = self._get(PVCS, ns, name=name)
        if entry is None or entry.obj["metadata"].get("deletionTimestamp"):
            return
        pvc = entry.obj
        if (pvc.get("status") or {}).get("phase") == "Bound":
            return
        behavior = _behavior(pvc)
        if behavior in ("fail", "never-ready"):
            return
        uid = pvc["metadata"]["uid"]
        due = self._due.setdefault(uid, time.time() + self.step(behavior))
        if time.time() < due:
            self.later(due - time.time(), (PVCS, ns, name))
            return
        self._due.pop(uid, None)
        spec = pvc.get("spec") or {}
        storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        modes = spec.get("accessModes") or ["ReadWriteOnce"]
        pv_name = f"pvc-{uid}"
        self._create(
            PVS,
            "",
            obj={
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {
                    "name": pv_name,
                    "annotations": {"pv.kubernetes.io/provisioned-by": "kubesim.io/hostpath"},
                },
                "spec": {
                    "capacity": {"storage": storage},
                    "accessModes": modes,
                    "persistentVolumeReclaimPolicy": "Delete",
                    "storageClassName": spec.get("storageClassName", "standard"),
                    "hostPath": {"path": f"/var/local-path-provisioner/{pv_name}"},
                    "claimRef": {
                        "apiVersion": "v1",
                        "kind": "PersistentVolumeClaim",
                        "name": name,
                        "namespace": ns,
                        "uid": uid,
                    },
                },
            },
        )
        new = clone(pvc)
        new["spec"]["volumeName"] = pv_name
        new["metadata"].pop("resourceVersion", None)
        pvc = self.store.update(self._rt(PVCS), ns, name=name, body=new, ctx=self.ctx).obj
        self._set_status(PVCS, pvc, status={"phase": "Bound", "accessModes": modes, "capacity": {"storage": storage}})
        pv = self._get(PVS, "", name=pv_name)
        if pv is not None:
            self._set_status(PVS, pv.obj, status={"phase": "Bound"})
        self.event(
            pvc,
            reason="ProvisioningSucceeded",
            message=f"Successfully provisioned volume {pv_name}",
            component="persistentvolume-controller",
        )
