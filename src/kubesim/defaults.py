"""Defaulting and light validation for built-in kinds, mimicking the fields a real server fills."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from kubesim.errors import invalid
from kubesim.resources import ResourceType

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAMES = frozenset({"namespaces", "services"})


class ClusterIPs:
    """Hands out service addresses from 10.96.0.0/12, as a default cluster does."""

    def __init__(self) -> None:
        self._next = int(ipaddress.IPv4Address("10.96.0.10"))
        self._port = 30000

    def allocate(self) -> str:
        self._next += 1
        return str(ipaddress.IPv4Address(self._next))

    def node_port(self) -> int:
        self._port = 30000 + (self._port - 30000 + 1) % 2767
        return self._port


def validate_name(rt: ResourceType, name: str) -> None:
    """Reject names the real server would (422 with its wording)."""
    if rt.plural in _LABEL_NAMES:
        ok = bool(_DNS_LABEL.match(name)) and len(name) <= 63
        rule = (
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
            "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
            "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        )
    elif rt.group == "rbac.authorization.k8s.io":
        ok = "/" not in name and "%" not in name and name not in (".", "..")
        rule = 'may not contain "/"'
    else:
        ok = bool(_DNS_SUBDOMAIN.match(name)) and len(name) <= 253
        rule = (
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
            "'-' or '.', and must start and end with an alphanumeric character (e.g. "
            "'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        )
    if not ok:
        raise invalid(
            group=rt.group,
            kind=rt.kind,
            name=name,
            causes=[("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {rule}')],
        )


def validate(rt: ResourceType, obj: dict[str, Any]) -> None:
    """The few structural checks GitOps tests lean on (missing selector, mismatched labels)."""
    name = obj["metadata"].get("name", "")
    causes: list[tuple[str, str, str]] = []
    spec = obj.get("spec")
    if rt.group == "apps" and rt.kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        spec = spec if isinstance(spec, dict) else {}
        selector = spec.get("selector")
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not isinstance(selector, dict) or not selector:
            causes.append(("spec.selector", "FieldValueRequired", "Required value"))
        else:
            for key, value in (selector.get("matchLabels") or {}).items():
                if labels.get(key) != value:
                    causes.append(
                        (
                            "spec.template.metadata.labels",
                            "FieldValueInvalid",
                            f"Invalid value: {_go_map(labels)}: `selector` does not match template `labels`",
                        )
                    )
                    break
        containers = ((spec.get("template") or {}).get("spec") or {}).get("containers")
        if not containers:
            causes.append(("spec.template.spec.containers", "FieldValueRequired", "Required value"))
    elif rt.key == ("", "pods"):
        if not ((spec or {}).get("containers")):
            causes.append(("spec.containers", "FieldValueRequired", "Required value"))
    elif rt.key in (("", "configmaps"), ("", "secrets")):
        for field in ("data", "stringData") if rt.plural == "secrets" else ("data",):
            data = obj.get(field)
            if data is not None and not (isinstance(data, dict) and all(isinstance(v, str) for v in data.values())):
                causes.append((field, "FieldValueInvalid", "Invalid value: must be strings"))
    if causes:
        raise invalid(group=rt.group, kind=rt.kind, name=name, causes=causes)


def _go_map(labels: dict[str, Any]) -> str:
    return "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in labels.items()) + "}"


def _pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            if not isinstance(c, dict):
                continue
            image = str(c.get("image", ""))
            tag = image.rsplit("/", 1)[-1]
            latest = ":" not in tag or tag.endswith(":latest")
            c.setdefault("imagePullPolicy", "Always" if latest and "@" not in tag else "IfNotPresent")
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            c.setdefault("resources", {})
            for port in c.get("ports") or []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")


def _template(spec: dict[str, Any]) -> None:
    template = spec.get("template")
    if isinstance(template, dict):
        template.setdefault("metadata", {})
        pod_spec = template.get("spec")
        if isinstance(pod_spec, dict):
            _pod_spec(pod_spec)


def apply_defaults(rt: ResourceType, obj: dict[str, Any], *, ips: ClusterIPs) -> None:
    """Fill defaulted fields in place, the way the real API server's defaulters do."""
    if rt.custom:
        return
    spec = obj.get("spec")
    if rt.key == ("", "secrets"):
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict):
            import base64

            data = obj.setdefault("data", {})
            for k, v in string_data.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
    if not isinstance(spec, dict):
        if rt.key == ("", "namespaces"):
            obj["spec"] = {"finalizers": ["kubernetes"]}
        return
    key = rt.key
    if key == ("apps", "deployments"):
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            strategy.setdefault("type", "RollingUpdate")
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", "25%")
            rolling.setdefault("maxSurge", "25%")
        _template(spec)
    elif key == ("apps", "replicasets"):
        spec.setdefault("replicas", 1)
        _template(spec)
    elif key == ("apps", "statefulsets"):
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        _template(spec)
    elif key == ("apps", "daemonsets"):
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault(
            "updateStrategy",
            {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
        )
        _template(spec)
    elif key == ("batch", "jobs"):
        spec.setdefault("parallelism", 1)
        spec.setdefault("completions", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        _template(spec)
    elif key == ("batch", "cronjobs"):
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        job_spec = (spec.get("jobTemplate") or {}).get("spec")
        if isinstance(job_spec, dict):
            _template(job_spec)
    elif key == ("", "pods"):
        _pod_spec(spec)
    elif key == ("", "services"):
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec["type"] != "ExternalName":
            if "clusterIP" not in spec:
                spec["clusterIP"] = ips.allocate()
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port.get("port"))
                if spec["type"] in ("NodePort", "LoadBalancer"):
                    port.setdefault("nodePort", ips.node_port())
    elif key == ("", "persistentvolumeclaims"):
        spec.setdefault("volumeMode", "Filesystem")
    elif key == ("", "namespaces"):
        spec.setdefault("finalizers", ["kubernetes"])
