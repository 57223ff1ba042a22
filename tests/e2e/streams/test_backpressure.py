"""A client that stops reading is dropped without blocking the producer or the other watchers."""

from __future__ import annotations

import socket
import uuid
from urllib.parse import urlparse

from tests.e2e.streams.conftest import Server, StreamReader, create_app_via_api, patch_app, wait_for

WATCH = "/api/v1/stream/applications"


def test_stalled_client_is_dropped_and_others_keep_receiving(server: Server) -> None:
    tag = f"slow-{uuid.uuid4().hex[:8]}"
    wait_for(lambda: server.hub.apps.subscriber_count == 0, what="earlier subscriptions to go away")
    original = server.hub.apps.queue_size
    server.hub.apps.queue_size = 4
    address = urlparse(server.url)
    stalled = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A tiny receive window so the server's socket fills quickly; this client then never reads.
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        stalled.connect((address.hostname or "127.0.0.1", address.port or 80))
        request = (
            f"GET {WATCH}?selector=suite%3D{tag} HTTP/1.1\r\nHost: {address.netloc}\r\n"
            f"Authorization: Bearer {server.tokens['admin']}\r\nAccept-Encoding: identity\r\n\r\n"
        )
        stalled.sendall(request.encode())
        wait_for(lambda: server.hub.apps.subscriber_count == 1, what="the stalled subscription")
        with StreamReader(server.url + WATCH, headers=server.headers(), params={"selector": f"suite={tag}"}) as fast:
            wait_for(lambda: server.hub.apps.subscriber_count == 2, what="the reading subscription")
            create_app_via_api(server, tag, labels={"suite": tag})
            fast.wait_until(lambda r: len(r.messages) >= 1, what="the ADDED event")
            # Large documents fill the stalled connection's buffers; its queue then overflows and it is dropped.
            filler = "x" * 200_000
            rounds = 0
            while server.hub.apps.subscriber_count > 1:
                rounds += 1
                assert rounds < 200, "the stalled client was never dropped"
                patch_app(server, tag, {"metadata": {"annotations": {"filler": filler + str(rounds)}}})

                def arrived(marker: str = filler + str(rounds)) -> bool:
                    return any(
                        m["result"]["application"]["metadata"].get("annotations", {}).get("filler") == marker
                        for m in fast.snapshot()[-3:]
                    )

                wait_for(arrived, what=f"round {rounds} at the reading client")
            # The producer and the reading client carry on.
            patch_app(server, tag, {"metadata": {"annotations": {"filler": "done"}}})
            fast.wait_until(
                lambda r: r.snapshot()[-1]["result"]["application"]["metadata"]["annotations"]["filler"] == "done",
                what="the last event at the reading client",
            )
            assert server.hub.apps.subscriber_count == 1
    finally:
        stalled.close()
        server.hub.apps.queue_size = original
