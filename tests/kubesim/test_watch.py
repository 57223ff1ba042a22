"""Watch streams: list+watch with the official client, selectors, bookmarks and 410 Gone."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from kubesim import KubeSim
from kubesim.testing import running_kubesim


def _collect(stream: Any, count: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for event in stream:
        out.append((event["type"], event["object"].metadata.name))
        if len(out) >= count:
            break
    return out


def test_list_then_watch(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "before"}})
    listed = core.list_namespaced_config_map(ns)
    rv = listed.metadata.resource_version

    def writer() -> None:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "w1"}, "data": {"a": "1"}})
        core.patch_namespaced_config_map("w1", ns, {"data": {"a": "2"}})
        core.delete_namespaced_config_map("w1", ns)

    w = watch.Watch()
    stream = w.stream(core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=10)
    thread = threading.Thread(target=writer)
    thread.start()
    events = _collect(stream, 3)
    w.stop()
    thread.join()
    assert events == [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]


def test_watch_without_resource_version_sends_initial_state(core: client.CoreV1Api, ns: str) -> None:
    for name in ("a", "b"):
        core.create_namespaced_config_map(ns, {"metadata": {"name": name}})
    w = watch.Watch()
    events = _collect(w.stream(core.list_namespaced_config_map, ns, timeout_seconds=5), 2)
    w.stop()
    assert events == [("ADDED", "a"), ("ADDED", "b")]


def test_watch_all_namespaces_with_label_selector(core: client.CoreV1Api, ns: str) -> None:
    rv = core.list_config_map_for_all_namespaces().metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "plain"}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "tagged", "labels": {"w": "1"}}})
    core.patch_namespaced_config_map("plain", ns, {"metadata": {"labels": {"w": "1"}}})
    core.patch_namespaced_config_map("tagged", ns, {"metadata": {"labels": {"w": "2"}}})
    w = watch.Watch()
    stream = w.stream(
        core.list_config_map_for_all_namespaces, label_selector="w=1", resource_version=rv, timeout_seconds=5
    )
    events = _collect(stream, 3)
    w.stop()
    # entering the selector reads as ADDED, leaving it as DELETED
    assert events == [("ADDED", "tagged"), ("ADDED", "plain"), ("DELETED", "tagged")]


def test_watch_field_selector_on_name(core: client.CoreV1Api, ns: str) -> None:
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "x"}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "y"}})
    w = watch.Watch()
    stream = w.stream(
        core.list_namespaced_config_map, ns, field_selector="metadata.name=y", resource_version=rv, timeout_seconds=5
    )
    assert _collect(stream, 1) == [("ADDED", "y")]
    w.stop()


def test_watch_timeout_ends_stream(core: client.CoreV1Api, ns: str) -> None:
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    w = watch.Watch()
    events = list(w.stream(core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=1))
    assert events == []


def test_bookmarks(*, core: client.CoreV1Api, ns: str, api_client: client.ApiClient) -> None:
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    response = core.list_namespaced_config_map(
        ns,
        watch=True,
        resource_version=rv,
        allow_watch_bookmarks=True,
        timeout_seconds=1,
        _preload_content=False,
    )
    lines = [json.loads(line) for line in response.read().decode().splitlines() if line]
    assert lines
    assert {line["type"] for line in lines} == {"BOOKMARK"}
    assert lines[0]["object"]["kind"] == "ConfigMap"
    assert int(lines[0]["object"]["metadata"]["resourceVersion"]) >= int(rv)


def test_expired_resource_version_is_410() -> None:
    with running_kubesim(event_window=5, controllers=False) as small:
        api = client.CoreV1Api(small.api_client())
        start = api.list_namespaced_config_map("default").metadata.resource_version
        for i in range(10):
            api.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"}})
        w = watch.Watch()
        with pytest.raises(ApiException) as err:
            list(w.stream(api.list_namespaced_config_map, "default", resource_version=start, timeout_seconds=2))
        assert err.value.status == 410
        # a recent revision inside the window still works
        recent = api.list_namespaced_config_map("default").metadata.resource_version
        api.create_namespaced_config_map("default", {"metadata": {"name": "late"}})
        w = watch.Watch()
        got = _collect(
            w.stream(api.list_namespaced_config_map, "default", resource_version=recent, timeout_seconds=3), 1
        )
        assert got == [("ADDED", "late")]
        w.stop()


def test_compaction_via_python_api_and_raw_error_event(*, sim: KubeSim, core: client.CoreV1Api, ns: str) -> None:
    old = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "x"}})
    sim.compact()
    response = core.list_namespaced_config_map(
        ns, watch=True, resource_version=old, timeout_seconds=1, _preload_content=False
    )
    [line] = response.read().decode().splitlines()
    event = json.loads(line)
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410
    assert event["object"]["reason"] == "Expired"
