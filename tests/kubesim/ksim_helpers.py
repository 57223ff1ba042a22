"""Shared manifests for the kubesim tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any


def deployment(
    name: str, *, replicas: int = 2, image: str = "nginx:1.25", annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image, "ports": [{"containerPort": 80}]}]},
            },
        },
    }


def application_crd() -> dict[str, Any]:
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "applications.argoproj.io"},
        "spec": {
            "group": "argoproj.io",
            "scope": "Namespaced",
            "names": {
                "kind": "Application",
                "listKind": "ApplicationList",
                "plural": "applications",
                "singular": "application",
                "shortNames": ["app", "apps"],
            },
            "versions": [
                {"name": "v1alpha1", "served": True, "storage": True, "schema": schema, "subresources": {"status": {}}},
            ],
        },
    }


def eventually(check: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``check`` until it returns a truthy value (then return it) or the deadline passes."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met before the deadline; last value: {last!r}")


def raw_request(
    api: Any,
    method: str,
    *,
    path: str,
    body: Any = None,
    content_type: str = "application/json",
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """A request through the official client's transport; errors raise ``ApiException``."""
    from urllib.parse import urlencode

    from kubernetes.client.rest import ApiException

    url = api.configuration.host + path + ("?" + urlencode(query) if query else "")
    header_params = {"Content-Type": content_type, "Accept": "application/json", **(headers or {})}
    token = (api.configuration.api_key or {}).get("authorization")
    if token:
        header_params["Authorization"] = f"Bearer {token}"
    response = api.call_api(method, url, header_params=header_params, body=body)
    data = response.read() if hasattr(response, "read") else response.data
    text = data.decode() if isinstance(data, bytes) else data
    if response.status >= 400:
        raise ApiException(status=response.status, reason=response.reason, body=text)
    return json.loads(text) if text else None


def ensure_crd(api: Any, crd: dict[str, Any]) -> None:
    """Create a CRD unless an earlier test already did."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    try:
        client.ApiextensionsV1Api(api).create_custom_resource_definition(crd)
    except ApiException as exc:
        if exc.status != 409:
            raise
