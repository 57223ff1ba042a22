"""Server-side ``Table`` rendering for ``kubectl get`` (a few kinds get their usual columns)."""

from __future__ import annotations

from typing import Any

from kubesim.resources import ResourceType


def _col(name: str, kind: str = "string", *, fmt: str = "", priority: int = 0) -> dict[str, Any]:
    return {"name": name, "type": kind, "format": fmt, "description": name, "priority": priority}


_NAME = _col("Name", fmt="name")
_AGE = _col("Age", "date")


def columns(rt: ResourceType) -> list[dict[str, Any]]:
    key = rt.key
    if key == ("", "pods"):
        return [_NAME, _col("Ready"), _col("Status"), _col("Restarts", "string"), _AGE]
    if key == ("apps", "deployments"):
        return [_NAME, _col("Ready"), _col("Up-to-date", "integer"), _col("Available", "integer"), _AGE]
    if key == ("", "namespaces"):
        return [_NAME, _col("Status"), _AGE]
    if key == ("", "services"):
        return [_NAME, _col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"), _AGE]
    if key == ("", "configmaps"):
        return [_NAME, _col("Data", "integer"), _AGE]
    return [_NAME, _AGE]


def row_cells(rt: ResourceType, obj: dict[str, Any], *, age: str) -> list[Any]:
    name = obj["metadata"]["name"]
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    key = rt.key
    if key == ("", "pods"):
        statuses = status.get("containerStatuses") or []
        ready = sum(1 for s in statuses if s.get("ready"))
        restarts = sum(int(s.get("restartCount") or 0) for s in statuses)
        phase = status.get("phase", "Pending")
        for s in statuses:
            waiting = (s.get("state") or {}).get("waiting")
            if waiting:
                phase = waiting.get("reason", phase)
        if obj["metadata"].get("deletionTimestamp"):
            phase = "Terminating"
        total = len(spec.get("containers") or [])
        return [name, f"{ready}/{total}", phase, str(restarts), age]
    if key == ("apps", "deployments"):
        want = spec.get("replicas", 1)
        return [
            name,
            f"{status.get('readyReplicas', 0)}/{want}",
            status.get("updatedReplicas", 0),
            status.get("availableReplicas", 0),
            age,
        ]
    if key == ("", "namespaces"):
        return [name, status.get("phase", "Active"), age]
    if key == ("", "services"):
        ingress = (status.get("loadBalancer") or {}).get("ingress") or []
        external = ",".join(i.get("ip", "") for i in ingress) or (
            "<pending>" if spec.get("type") == "LoadBalancer" else "<none>"
        )
        ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or [])
        return [name, spec.get("type", "ClusterIP"), spec.get("clusterIP", ""), external, ports or "<none>", age]
    if key == ("", "configmaps"):
        return [name, len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), age]
    return [name, age]
