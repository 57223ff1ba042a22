"""GET /api/v1/stream/applicationsets: initial events only with a name, changes, RBAC."""

from __future__ import annotations

import uuid
from typing import Any

from tests.e2e.streams.conftest import IN_CLUSTER, Server, StreamReader, current, wait_for

WATCH = "/api/v1/stream/applicationsets"


def appset_body(name: str, *, tag: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"suite": tag}},
        "spec": {
            "generators": [{"list": {"elements": [{"cluster": "in-cluster"}]}}],
            "template": {
                "metadata": {"name": "{{cluster}}-guestbook"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": "https://git.example.com/apps.git", "path": "guestbook"},
                    "destination": {"server": IN_CLUSTER, "namespace": "guestbook"},
                },
            },
        },
    }


def create_appset(server: Server, name: str, *, tag: str) -> None:
    response = server.request("POST", "/api/v1/applicationsets", json=appset_body(name, tag=tag))
    assert response.status_code == 200, response.text


def test_applicationset_watch(server: Server) -> None:
    tag = uuid.uuid4().hex[:8]
    create_appset(server, f"seen-{tag}", tag=tag)
    wait_for(
        lambda: current(server.hub).appsets.get(("argocd", f"seen-{tag}")) is not None, what="the hub to see the set"
    )
    with (
        StreamReader(server.url + WATCH, headers=server.headers(), params={"selector": f"suite={tag}"}) as admin,
        StreamReader(server.url + WATCH, headers=server.headers("alice"), params={"selector": f"suite={tag}"}) as alice,
        StreamReader(server.url + WATCH, headers=server.headers(), params={"name": f"seen-{tag}"}) as named,
    ):
        # Only the named watch gets the current set first.
        named.wait_until(lambda r: len(r.messages) >= 1, what="the named snapshot")
        assert named.events() == [("ADDED", f"seen-{tag}")]
        create_appset(server, f"other-{tag}", tag=tag)
        admin.wait_until(lambda r: len(r.messages) >= 1, what="the ADDED event")
        response = server.request("DELETE", f"/api/v1/applicationsets/seen-{tag}")
        assert response.status_code == 200, response.text
        admin.wait_until(lambda r: len(r.messages) >= 2, what="the DELETED event")
        alice.wait_until(lambda r: len(r.messages) >= 1, what="alice's event")
        named.wait_until(lambda r: len(r.messages) >= 2, what="the named DELETED event")
        assert admin.events() == [("ADDED", f"other-{tag}"), ("DELETED", f"seen-{tag}")]
        assert alice.events() == [("DELETED", f"seen-{tag}")]
        assert named.events() == [("ADDED", f"seen-{tag}"), ("DELETED", f"seen-{tag}")]
        message = admin.snapshot()[0]["result"]
        assert set(message) == {"type", "applicationSet"}
        assert message["applicationSet"]["spec"]["template"]["spec"]["project"] == "default"
