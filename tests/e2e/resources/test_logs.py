"""Pod logs end to end: tail, container choice, filters, pods selected through the tree, the pod limit, RBAC, and
a follow stream read by a real HTTP client for a few lines before it disconnects."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from tests.e2e.resources.conftest import APP, World, pods_of

LOGS = f"/api/v1/applications/{APP}/logs"


def entries(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return [orjson.loads(line)["result"] for line in response.text.splitlines() if line]


def test_pod_logs_tail_and_last_marker(world: World) -> None:
    pod = pods_of(world, "web")[0]["name"]
    response = world.get(
        f"/api/v1/applications/{APP}/pods/{pod}/logs", namespace="default", container="main", tailLines=5
    )
    found = entries(response)
    assert len(found) == 6
    assert all(e["podName"] == pod and e["last"] is False for e in found[:-1])
    assert all(e["content"].startswith("main [") for e in found[:-1])
    assert found[-1]["last"] is True
    assert found[-1]["content"] == ""
    stamps = [e["timeStampStr"] for e in found[:-1]]
    assert stamps == sorted(stamps)
    assert set(found[0]) == {"content", "timeStamp", "last", "timeStampStr", "podName"}


def test_logs_of_a_deployment_merge_its_pods(world: World) -> None:
    pods = {p["name"] for p in pods_of(world, "web")}
    response = world.get(
        LOGS,
        kind="Deployment",
        group="apps",
        resourceName="web",
        namespace="default",
        container="sidecar",
        tailLines=3,
    )
    found = entries(response)[:-1]
    assert {e["podName"] for e in found} == pods
    assert len(found) == 3 * len(pods)
    assert all(e["content"].startswith("sidecar [") for e in found)


def test_filter_negation_and_case(world: World) -> None:
    pod = pods_of(world, "web")[0]["name"]
    base = {"podName": pod, "namespace": "default", "container": "main", "tailLines": 40}
    everything = entries(world.get(LOGS, **base))[:-1]
    word = everything[0]["content"].split("] ", 1)[1].split(" id=")[0]
    matching = entries(world.get(LOGS, **base, filter=word.upper()))[:-1]
    assert matching
    assert all(word in e["content"] for e in matching)
    assert entries(world.get(LOGS, **base, filter=word.upper(), matchCase="true"))[:-1] == []
    excluded = entries(world.get(LOGS, **base, filter=f"!{word}"))[:-1]
    assert all(word not in e["content"] for e in excluded)
    # The pod goes on logging between the queries: judge the lines of the first answer only (each is unique).
    seen = {e["content"] for e in everything}
    kept = {e["content"] for e in matching} & seen
    dropped = {e["content"] for e in excluded} & seen
    assert kept | dropped == seen
    assert not kept & dropped


def test_too_many_pods(world: World) -> None:
    pods_of(world, "many")
    response = world.get(LOGS, container="main", tailLines=1)
    assert response.status_code == 400
    message = "max pods to view logs are reached. Please provide more granular query"
    assert response.json() == {
        "error": {"grpc_code": 3, "http_code": 400, "message": message, "http_status": "Bad Request"}
    }


def test_logs_need_logs_permission(world: World) -> None:
    pod = pods_of(world, "web")[0]["name"]
    denied = world.get(LOGS, user="alice", podName=pod, container="main", tailLines=1)
    assert denied.status_code == 403
    assert denied.json()["error"]["message"] == "permission denied"
    allowed = world.get(LOGS, user="bob", podName=pod, container="main", tailLines=1)
    assert len(entries(allowed)) == 2


def test_follow_streams_until_the_client_leaves(world: World) -> None:
    pod = pods_of(world, "web")[0]["name"]
    params = {"podName": pod, "namespace": "default", "container": "main", "tailLines": "1", "follow": "true"}
    with (
        httpx.Client(base_url=world.base_url, timeout=30.0) as client,
        client.stream("GET", LOGS, params=params, headers=world.headers()) as response,
    ):
        assert response.status_code == 200
        seen: list[dict[str, Any]] = []
        for line in response.iter_lines():
            if line:
                seen.append(orjson.loads(line)["result"])
            if len(seen) >= 4:
                break
    assert all(e["last"] is False and e["podName"] == pod for e in seen)
    indexes = [int(e["content"].split("[", 1)[1].split("]", 1)[0]) for e in seen]
    assert indexes == sorted(indexes)
    assert len(set(indexes)) == 4
    # The server keeps answering after the client went away mid-stream.
    assert world.get(f"/api/v1/applications/{APP}").status_code == 200


def test_server_sent_events_framing(world: World) -> None:
    pod = pods_of(world, "web")[0]["name"]
    response = world.http.get(
        LOGS,
        params={"podName": pod, "container": "main", "tailLines": 2},
        headers={**world.headers(), "Accept": "text/event-stream"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [f for f in response.text.split("\n\n\n") if f]
    assert len(frames) == 3
    assert all(f.startswith("data: {") and f.endswith(" ") for f in frames)


def test_download_is_a_raw_attachment(world: World) -> None:
    pod = pods_of(world, "web")[0]["name"]
    response = world.get(LOGS, podName=pod, container="main", tailLines=3, download="true")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"] == f'attachment; filename="{pod}.log"'
    lines = response.text.splitlines()
    assert len(lines) == 3
    assert all(line.startswith("main [") for line in lines)
