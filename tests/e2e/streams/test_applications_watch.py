"""GET /api/v1/stream/applications against a real server: snapshot, events, RBAC, fields, de-duplication, framing."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.e2e.streams.conftest import (
    Server,
    StreamReader,
    create_app_via_api,
    current,
    delete_app,
    patch_app,
    wait_for,
)

WATCH = "/api/v1/stream/applications"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("sse", [False, True], ids=["ndjson", "sse"])
def test_snapshot_then_events_in_order(server: Server, sse: bool) -> None:
    tag = unique("order")
    create_app_via_api(server, f"{tag}-b", labels={"suite": tag})
    create_app_via_api(server, f"{tag}-a", labels={"suite": tag})
    # The broadcaster polls; a watch opened right after a write may see it as a later ADDED, so wait until the
    # hub knows both before checking the snapshot.
    wait_for(
        lambda: all(current(server.hub).apps.get(("argocd", f"{tag}-{x}")) is not None for x in "ab"),
        what="the hub to see the apps",
    )
    with StreamReader(
        server.url + WATCH, headers=server.headers(), params={"selector": f"suite={tag}"}, sse=sse
    ) as reader:
        reader.wait_until(lambda r: len(r.messages) >= 2, what="the initial snapshot")
        assert reader.events() == [("ADDED", f"{tag}-a"), ("ADDED", f"{tag}-b")]

        patch_app(server, f"{tag}-a", {"metadata": {"annotations": {"step": "1"}}})
        reader.wait_until(lambda r: len(r.messages) >= 3, what="the MODIFIED event")
        delete_app(server, f"{tag}-b")
        reader.wait_until(lambda r: len(r.messages) >= 4, what="the DELETED event")
        create_app_via_api(server, f"{tag}-c", labels={"suite": tag})
        reader.wait_until(lambda r: len(r.messages) >= 5, what="the ADDED event")

        assert reader.events()[2:] == [("MODIFIED", f"{tag}-a"), ("DELETED", f"{tag}-b"), ("ADDED", f"{tag}-c")]
        modified = reader.snapshot()[2]["result"]["application"]
        assert modified["metadata"]["annotations"] == {"step": "1"}
        assert modified["spec"]["source"]["path"] == "guestbook"
        headers = reader.response_headers
        assert headers is not None
        if sse:
            assert headers["content-type"] == "text/event-stream"
            assert headers["x-content-type-options"] == "nosniff"
            assert "content-encoding" not in headers  # never gzip-buffered
            assert any(line.startswith("data: {") and line.endswith(" ") for line in reader.raw)
        else:
            assert headers["content-type"] == "application/json"


def test_ndjson_is_gzipped_and_flushed_per_event(server: Server) -> None:
    tag = unique("gzip")
    with StreamReader(
        server.url + WATCH,
        headers={**server.headers(), "Accept-Encoding": "gzip"},
        params={"selector": f"suite={tag}"},
    ) as reader:
        headers = reader.response_headers
        assert headers is not None
        assert headers["content-encoding"] == "gzip"
        for step in range(3):
            create_app_via_api(server, f"{tag}-{step}", labels={"suite": tag})
            # Each event must reach the client while the stream stays open: nothing waits for more data.

            def reached(r: StreamReader, expected: int = step + 1) -> bool:
                return len(r.messages) >= expected

            reader.wait_until(reached, what=f"event {step}")
        assert [t for t, _ in reader.events()] == ["ADDED", "ADDED", "ADDED"]


def test_resource_version_and_name_rules(server: Server) -> None:
    tag = unique("rv")
    created = create_app_via_api(server, f"{tag}-x", labels={"suite": tag})
    wait_for(lambda: current(server.hub).apps.get(("argocd", f"{tag}-x")) is not None, what="the hub to see the app")
    version = created["metadata"]["resourceVersion"]
    # A resourceVersion without a name: no snapshot, only later changes.
    with StreamReader(
        server.url + WATCH,
        headers=server.headers(),
        params={"selector": f"suite={tag}", "resourceVersion": version},
    ) as reader:
        create_app_via_api(server, f"{tag}-y", labels={"suite": tag})
        reader.wait_until(lambda r: len(r.messages) >= 1, what="the ADDED event")
        assert reader.events() == [("ADDED", f"{tag}-y")]
    # With a name the snapshot is sent even with a resourceVersion, and only that app is watched.
    with StreamReader(
        server.url + WATCH,
        headers=server.headers(),
        params={"name": f"{tag}-x", "resourceVersion": version},
    ) as reader:
        reader.wait_until(lambda r: len(r.messages) >= 1, what="the snapshot")
        patch_app(server, f"{tag}-y", {"metadata": {"annotations": {"other": "app"}}})
        patch_app(server, f"{tag}-x", {"metadata": {"annotations": {"this": "app"}}})
        reader.wait_until(lambda r: len(r.messages) >= 2, what="the MODIFIED event")
        assert reader.events() == [("ADDED", f"{tag}-x"), ("MODIFIED", f"{tag}-x")]
    # Events older than the given resourceVersion are skipped.
    with StreamReader(
        server.url + WATCH,
        headers=server.headers(),
        params={"selector": f"suite={tag}", "resourceVersion": "1000"},
    ) as reader:
        patch_app(server, f"{tag}-x", {"metadata": {"annotations": {"again": "1"}}})
        create_app_via_api(server, f"{tag}-marker", labels={"suite": "other"})
        wait_for(lambda: current(server.hub).apps.get(("argocd", f"{tag}-marker")) is not None, what="the marker")
        assert reader.events() == []


def test_rbac_filters_events_silently(server: Server) -> None:
    tag = unique("rbac")
    with (
        StreamReader(server.url + WATCH, headers=server.headers("alice"), params={"selector": f"suite={tag}"}) as alice,
        StreamReader(server.url + WATCH, headers=server.headers(), params={"selector": f"suite={tag}"}) as admin,
    ):
        for name in (f"hidden-{tag}", f"seen-{tag}", f"hidden2-{tag}"):
            create_app_via_api(server, name, labels={"suite": tag})
        admin.wait_until(lambda r: len(r.messages) >= 3, what="admin's events")
        alice.wait_until(lambda r: len(r.messages) >= 1, what="alice's event")
        patch_app(server, f"seen-{tag}", {"metadata": {"annotations": {"n": "1"}}})
        alice.wait_until(lambda r: len(r.messages) >= 2, what="alice's second event")
        assert alice.events() == [("ADDED", f"seen-{tag}"), ("MODIFIED", f"seen-{tag}")]
        admin.wait_until(lambda r: len(r.messages) >= 4, what="admin's MODIFIED event")
        assert sorted(admin.events()) == sorted(
            [
                ("ADDED", f"hidden-{tag}"),
                ("ADDED", f"seen-{tag}"),
                ("ADDED", f"hidden2-{tag}"),
                ("MODIFIED", f"seen-{tag}"),
            ]
        )


def test_fields_filter_and_deduplication(server: Server) -> None:
    tag = unique("fields")
    create_app_via_api(server, f"{tag}-a", labels={"suite": tag})
    wait_for(lambda: current(server.hub).apps.get(("argocd", f"{tag}-a")) is not None, what="the hub to see the app")
    params = {"selector": f"suite={tag}", "fields": "result.type,result.application.metadata.name"}
    with StreamReader(server.url + WATCH, headers=server.headers(), params=params) as reader:
        reader.wait_until(lambda r: len(r.messages) >= 1, what="the snapshot")
        assert reader.snapshot()[0] == {"result": {"type": "ADDED", "application": {"metadata": {"name": f"{tag}-a"}}}}
        # The first update changes the type (MODIFIED); the second is invisible through the filter: its payload is
        # identical to the previous one for this name.
        patch_app(server, f"{tag}-a", {"metadata": {"annotations": {"x": "1"}}})
        wait_for(
            lambda: current(server.hub).apps.get(("argocd", f"{tag}-a")).resource_version >= 2,  # type: ignore[union-attr]
            what="the hub to see the update",
        )
        patch_app(server, f"{tag}-a", {"metadata": {"annotations": {"x": "2"}}})
        create_app_via_api(server, f"{tag}-b", labels={"suite": tag})
        reader.wait_until(lambda r: len(r.messages) >= 3, what="the marker event")
        assert reader.events() == [("ADDED", f"{tag}-a"), ("MODIFIED", f"{tag}-a"), ("ADDED", f"{tag}-b")]
        delete_app(server, f"{tag}-a")
        reader.wait_until(lambda r: len(r.messages) >= 4, what="the DELETED event")
        assert reader.snapshot()[3] == {
            "result": {"type": "DELETED", "application": {"metadata": {"name": f"{tag}-a"}}}
        }

    # A leading "-" removes just the listed paths.
    params = {"name": f"{tag}-b", "fields": "-result.application.spec,result.application.status"}
    with StreamReader(server.url + WATCH, headers=server.headers(), params=params) as reader:
        reader.wait_until(lambda r: len(r.messages) >= 1, what="the snapshot")
        app = reader.snapshot()[0]["result"]["application"]
        assert "spec" not in app
        assert "status" not in app
        assert app["metadata"]["name"] == f"{tag}-b"


def test_sse_keepalive(server: Server) -> None:
    server.hub.keepalive_seconds = 0.2
    try:
        with StreamReader(
            server.url + WATCH, headers=server.headers(), params={"selector": "suite=none"}, sse=True
        ) as reader:
            reader.wait_until(lambda r: r.keepalives >= 2, what="keep-alive comments")
            assert reader.messages == []
    finally:
        server.hub.keepalive_seconds = 15.0


def test_errors_before_the_first_message(server: Server) -> None:
    response = httpx.get(server.url + WATCH)
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "grpc_code": 16,
            "http_code": 401,
            "message": "no session information",
            "http_status": "Unauthorized",
        }
    }
    response = httpx.get(server.url + WATCH, params={"selector": "a in (b"}, headers=server.headers())
    assert response.status_code == 500
    assert response.json()["error"]["grpc_code"] == 2
    sse = httpx.get(server.url + WATCH, headers={"Accept": "text/event-stream"})
    assert sse.status_code == 401
    assert sse.headers["content-type"] == "text/event-stream"
    assert sse.text.startswith('data: {"error":{"grpc_code":16')


def test_disconnected_client_is_cleaned_up(server: Server) -> None:
    # Streams of earlier tests end asynchronously once their clients are gone.
    wait_for(lambda: server.hub.apps.subscriber_count == 0, what="earlier subscriptions to go away")
    reader = StreamReader(server.url + WATCH, headers=server.headers(), params={"selector": "suite=none"})
    with reader:
        wait_for(lambda: server.hub.apps.subscriber_count == 1, what="the subscription")
    wait_for(lambda: server.hub.apps.subscriber_count == 0, what="the subscription to go away")
