"""Server-side field validation (``fieldValidation=Strict|Warn|Ignore``) on create, update, every patch type and
server-side apply, for a typed built-in kind and for custom resources with and without a structural schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from ksim_helpers import deployment, ensure_crd
from kubernetes import client

from kubesim import KubeSim

# The typed decoder reports unknown fields in document order (``spec.foo`` comes after ``spec.template`` here).
STRICT_DEPLOYMENT = (
    'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
    'unknown field "metadata.foo", unknown field "spec.template.spec.containers[0].bogus", unknown field "spec.foo"'
)
DEPLOYMENT_WARNINGS = [
    '299 - "unknown field \\"metadata.foo\\""',
    '299 - "unknown field \\"spec.template.spec.containers[0].bogus\\""',
    '299 - "unknown field \\"spec.foo\\""',
]
WIDGET_SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "size": {"type": "integer"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "parts": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "port": {"x-kubernetes-int-or-string": True},
            },
        },
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
    },
}


def _crd(kind: str, plural: str, schema: dict[str, Any] | None) -> dict[str, Any]:
    version: dict[str, Any] = {"name": "v1", "served": True, "storage": True, "subresources": {"status": {}}}
    if schema is not None:
        version["schema"] = {"openAPIV3Schema": schema}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.fv.example.com"},
        "spec": {
            "group": "fv.example.com",
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "versions": [version],
        },
    }


@pytest.fixture(scope="module")
def http(sim: KubeSim) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, timeout=10.0) as session:
        yield session


@pytest.fixture(scope="module")
def crds(api_client: client.ApiClient) -> None:
    ensure_crd(api_client, _crd("Widget", "widgets", WIDGET_SCHEMA))
    ensure_crd(api_client, _crd("Blob", "blobs", {"type": "object", "x-kubernetes-preserve-unknown-fields": True}))
    ensure_crd(api_client, _crd("Note", "notes", None))
    legacy = _crd("Relic", "relics", {"type": "object", "properties": {"spec": {"type": "object"}}})
    legacy["spec"]["preserveUnknownFields"] = True
    ensure_crd(api_client, legacy)


def _write(
    http: httpx.Client,
    method: str,
    path: str,
    body: Any,
    *,
    validation: str | None,
    content_type: str = "application/json",
    **query: str,
) -> httpx.Response:
    params = dict(query)
    if validation is not None:
        params["fieldValidation"] = validation
    data = yaml.safe_dump(body) if "yaml" in content_type else json.dumps(body)
    return http.request(method, path, content=data, params=params, headers={"Content-Type": content_type})


def _bad_deployment(name: str) -> dict[str, Any]:
    obj: dict[str, Any] = deployment(name, replicas=1)
    obj["metadata"]["foo"] = "x"
    obj["spec"]["foo"] = "x"
    obj["spec"]["template"]["spec"]["containers"][0]["bogus"] = True
    return obj


def _deployments(ns: str) -> str:
    return f"/apis/apps/v1/namespaces/{ns}/deployments"


def _widgets(ns: str) -> str:
    return f"/apis/fv.example.com/v1/namespaces/{ns}/widgets"


def _widget(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "fv.example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


def _clean(obj: dict[str, Any]) -> None:
    assert "foo" not in obj["metadata"]
    assert "foo" not in obj["spec"]
    assert "bogus" not in obj["spec"]["template"]["spec"]["containers"][0]


# --- built-in kinds ---------------------------------------------------------------------------------------------


def test_strict_create_and_update_fail_naming_every_unknown_field(*, http: httpx.Client, ns: str) -> None:
    r = _write(http, "POST", _deployments(ns), _bad_deployment("strict"), validation="Strict")
    assert r.status_code == 400
    status = r.json()
    assert (status["reason"], status["code"], status["message"]) == ("BadRequest", 400, STRICT_DEPLOYMENT)
    assert http.get(f"{_deployments(ns)}/strict").status_code == 404

    assert _write(http, "POST", _deployments(ns), deployment("strict", replicas=1), validation="Strict").is_success
    r = _write(http, "PUT", f"{_deployments(ns)}/strict", _bad_deployment("strict"), validation="Strict")
    assert (r.status_code, r.json()["message"]) == (400, STRICT_DEPLOYMENT)


@pytest.mark.parametrize(
    ("content_type", "patch", "quoted"),
    [
        ("application/merge-patch+json", {"spec": {"foo": 1}}, None),
        ("application/json-patch+json", [{"op": "add", "path": "/spec/foo", "value": 1}], None),
        (
            "application/strategic-merge-patch+json",
            {"spec": {"foo": 1, "replicas": 2}},
            "map[spec:map[foo:1 replicas:2]]",
        ),
    ],
)
def test_strict_patch_is_invalid_and_quotes_what_it_decoded(
    *, http: httpx.Client, ns: str, content_type: str, patch: Any, quoted: str | None
) -> None:
    name = "patched-" + content_type.split("/")[1].split("-")[0]
    assert _write(http, "POST", _deployments(ns), deployment(name, replicas=1), validation=None).is_success
    r = _write(http, "PATCH", f"{_deployments(ns)}/{name}", patch, validation="Strict", content_type=content_type)
    assert r.status_code == 422
    status = r.json()
    assert status["reason"] == "Invalid"
    message = status["message"]
    assert message.startswith(' "" is invalid: patch: Invalid value: "')
    assert message.endswith('": strict decoding error: unknown field "spec.foo"')
    if quoted is not None:
        assert f'Invalid value: "{quoted}"' in message
    else:
        # JSON and merge patches quote the whole patched object.
        assert '\\"kind\\":\\"Deployment\\"' in message
    assert [c["field"] for c in status["details"]["causes"]] == ["patch"]
    assert http.get(f"{_deployments(ns)}/{name}").json()["spec"]["replicas"] == 1


@pytest.mark.parametrize("validation", [None, "Warn", "Ignore"])
def test_warn_and_ignore_store_the_object_without_unknown_fields(
    *, http: httpx.Client, ns: str, validation: str | None
) -> None:
    expected = [] if validation == "Ignore" else DEPLOYMENT_WARNINGS
    name = f"lax-{(validation or 'default').lower()}"
    r = _write(http, "POST", _deployments(ns), _bad_deployment(name), validation=validation)
    assert r.status_code == 201
    assert r.headers.get_list("warning") == expected
    _clean(r.json())
    _clean(http.get(f"{_deployments(ns)}/{name}").json())

    r = _write(http, "PUT", f"{_deployments(ns)}/{name}", _bad_deployment(name), validation=validation)
    assert r.status_code == 200
    assert r.headers.get_list("warning") == expected
    _clean(r.json())

    warning = [] if validation == "Ignore" else ['299 - "unknown field \\"spec.foo\\""']
    for content_type, patch in [
        ("application/merge-patch+json", {"spec": {"foo": 1}}),
        ("application/strategic-merge-patch+json", {"spec": {"foo": 1}}),
        ("application/json-patch+json", [{"op": "add", "path": "/spec/foo", "value": 1}]),
    ]:
        r = _write(http, "PATCH", f"{_deployments(ns)}/{name}", patch, validation=validation, content_type=content_type)
        assert r.status_code == 200, r.text
        assert r.headers.get_list("warning") == warning
        assert "foo" not in r.json()["spec"]
    _clean(http.get(f"{_deployments(ns)}/{name}").json())


@pytest.mark.parametrize(
    ("method", "options"), [("POST", "CreateOptions"), ("PUT", "UpdateOptions"), ("PATCH", "PatchOptions")]
)
def test_an_unknown_directive_is_invalid(*, http: httpx.Client, ns: str, method: str, options: str) -> None:
    path = _deployments(ns) + ("" if method == "POST" else "/whatever")
    content_type = "application/merge-patch+json" if method == "PATCH" else "application/json"
    r = _write(http, method, path, deployment("whatever"), validation="strict", content_type=content_type)
    assert r.status_code == 422
    assert r.json()["message"] == (
        f'{options}.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "strict": '
        'supported values: "", "Ignore", "Strict", "Warn"'
    )


def test_a_live_object_written_back_is_clean_and_status_is_decoded_too(*, http: httpx.Client, ns: str) -> None:
    assert _write(http, "POST", _deployments(ns), deployment("roundtrip", replicas=1), validation="Strict").is_success
    live = http.get(f"{_deployments(ns)}/roundtrip").json()
    assert live["metadata"]["managedFields"]
    # managedFields (fieldsV1 is free-form), status, uid, resourceVersion...: all known to the typed decoder.
    r = _write(http, "PUT", f"{_deployments(ns)}/roundtrip", live, validation="Strict")
    assert r.status_code == 200, r.text
    assert r.headers.get_list("warning") == []

    live = http.get(f"{_deployments(ns)}/roundtrip").json()
    live["status"]["bogus"] = 1
    r = _write(http, "PUT", f"{_deployments(ns)}/roundtrip/status", live, validation="Strict")
    assert r.status_code == 400
    assert r.json()["message"].endswith('strict decoding error: unknown field "status.bogus"')


# --- custom resources -------------------------------------------------------------------------------------------

STRICT_WIDGET = (
    'Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field "metadata.foo", '
    'unknown field "spec.parts[0].bogus", unknown field "spec.zzz"'
)


def _bad_widget(name: str) -> dict[str, Any]:
    obj = _widget(
        name,
        zzz=1,
        size=2,
        parts=[{"name": "a", "bogus": True}],
        free={"any": {"thing": 1}},
        labels={"any": "x"},
        port="http",
    )
    obj["metadata"]["foo"] = "x"
    return obj


def _pruned_widget(obj: dict[str, Any]) -> None:
    assert "foo" not in obj["metadata"]
    assert obj["spec"] == {
        "size": 2,
        "parts": [{"name": "a"}],
        "free": {"any": {"thing": 1}},
        "labels": {"any": "x"},
        "port": "http",
    }


@pytest.mark.usefixtures("crds")
def test_custom_resource_strict_fails_with_sorted_pruning_paths(*, http: httpx.Client, ns: str) -> None:
    r = _write(http, "POST", _widgets(ns), _bad_widget("w"), validation="Strict")
    assert (r.status_code, r.json()["reason"], r.json()["message"]) == (400, "BadRequest", STRICT_WIDGET)

    assert _write(http, "POST", _widgets(ns), _widget("w", size=1), validation="Strict").is_success
    r = _write(http, "PUT", f"{_widgets(ns)}/w", _bad_widget("w"), validation="Strict")
    assert (r.status_code, r.json()["message"]) == (400, STRICT_WIDGET)
    r = _write(
        http,
        "PATCH",
        f"{_widgets(ns)}/w",
        {"spec": {"zzz": 1}},
        validation="Strict",
        content_type="application/merge-patch+json",
    )
    assert r.status_code == 422
    assert r.json()["message"].endswith('strict decoding error: unknown field "spec.zzz"')
    assert http.get(f"{_widgets(ns)}/w").json()["spec"] == {"size": 1}


@pytest.mark.usefixtures("crds")
@pytest.mark.parametrize("validation", [None, "Warn", "Ignore"])
def test_custom_resource_unknown_fields_are_pruned(*, http: httpx.Client, ns: str, validation: str | None) -> None:
    expected = (
        []
        if validation == "Ignore"
        else [
            '299 - "unknown field \\"metadata.foo\\""',
            '299 - "unknown field \\"spec.parts[0].bogus\\""',
            '299 - "unknown field \\"spec.zzz\\""',
        ]
    )
    name = f"w-{(validation or 'default').lower()}"
    r = _write(http, "POST", _widgets(ns), _bad_widget(name), validation=validation)
    assert r.status_code == 201
    assert r.headers.get_list("warning") == expected
    _pruned_widget(http.get(f"{_widgets(ns)}/{name}").json())

    r = _write(http, "PUT", f"{_widgets(ns)}/{name}", _bad_widget(name), validation=validation)
    assert (r.status_code, r.headers.get_list("warning")) == (200, expected)
    _pruned_widget(r.json())

    r = _write(
        http,
        "PATCH",
        f"{_widgets(ns)}/{name}",
        {"spec": {"zzz": 1}},
        validation=validation,
        content_type="application/merge-patch+json",
    )
    assert r.status_code == 200
    assert r.headers.get_list("warning") == ([] if validation == "Ignore" else ['299 - "unknown field \\"spec.zzz\\""'])
    _pruned_widget(r.json())


@pytest.mark.usefixtures("crds")
@pytest.mark.parametrize(("plural", "kind"), [("blobs", "Blob"), ("notes", "Note"), ("relics", "Relic")])
def test_custom_resources_without_a_closed_schema_stay_open(
    *, http: httpx.Client, ns: str, plural: str, kind: str
) -> None:
    obj = {"apiVersion": "fv.example.com/v1", "kind": kind, "metadata": {"name": "open"}, "anything": {"goes": 1}}
    r = _write(http, "POST", f"/apis/fv.example.com/v1/namespaces/{ns}/{plural}", obj, validation="Strict")
    assert r.status_code == 201, r.text
    assert r.json()["anything"] == {"goes": 1}


# --- server-side apply ------------------------------------------------------------------------------------------


def _apply(http: httpx.Client, path: str, obj: dict[str, Any], *, validation: str | None) -> httpx.Response:
    return _write(
        http,
        "PATCH",
        path,
        obj,
        validation=validation,
        content_type="application/apply-patch+yaml",
        fieldManager="tester",
    )


@pytest.mark.usefixtures("crds")
@pytest.mark.parametrize("validation", [None, "Strict", "Warn", "Ignore"])
def test_apply_always_refuses_undeclared_fields(*, http: httpx.Client, ns: str, validation: str | None) -> None:
    # The typed conversion of an apply configuration is not optional: every directive fails, as a 500 without
    # a reason (the API server does not classify the error).
    obj = deployment("applied", replicas=1)
    obj["metadata"]["namespace"] = ns
    obj["spec"]["foo"] = "x"
    r = _apply(http, f"{_deployments(ns)}/applied", obj, validation=validation)
    assert r.status_code == 500
    status = r.json()
    assert "reason" not in status
    assert status["message"] == (
        f"failed to create typed patch object ({ns}/applied; apps/v1, Kind=Deployment): "
        ".spec.foo: field not declared in schema"
    )

    # One error per map at most (the first undeclared key stops its map), list elements named by their keys.
    del obj["spec"]["foo"]
    obj["spec"]["zzz"] = "x"
    obj["spec"]["template"]["spec"]["containers"][0]["bogus"] = True
    r = _apply(http, f"{_deployments(ns)}/applied", obj, validation=validation)
    assert r.json()["message"] == (
        f"failed to create typed patch object ({ns}/applied; apps/v1, Kind=Deployment): errors:\n"
        '  .spec.template.spec.containers[name="main"].bogus: field not declared in schema\n'
        "  .spec.zzz: field not declared in schema"
    )
    assert http.get(f"{_deployments(ns)}/applied").status_code == 404

    widget = _widget("applied", size=1, zzz=2)
    widget["metadata"]["namespace"] = ns
    r = _apply(http, f"{_widgets(ns)}/applied", widget, validation=validation)
    assert (r.status_code, r.json()["message"]) == (
        500,
        f"failed to create typed patch object ({ns}/applied; fv.example.com/v1, Kind=Widget): "
        ".spec.zzz: field not declared in schema",
    )


@pytest.mark.usefixtures("crds")
def test_apply_accepts_preserved_and_open_fields(*, http: httpx.Client, ns: str) -> None:
    widget = _widget("kept", size=1, free={"anything": ["goes"]}, labels={"k": "v"}, port=80)
    r = _apply(http, f"{_widgets(ns)}/kept", widget, validation="Strict")
    assert r.is_success, r.text
    assert r.json()["spec"]["free"] == {"anything": ["goes"]}
    blob = {"apiVersion": "fv.example.com/v1", "kind": "Blob", "metadata": {"name": "kept"}, "data": {"x": 1}}
    r = _apply(http, f"/apis/fv.example.com/v1/namespaces/{ns}/blobs/kept", blob, validation="Strict")
    assert r.is_success, r.text
    assert r.json()["data"] == {"x": 1}
