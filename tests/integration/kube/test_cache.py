"""The live-state cache against kubesim: readiness, indexes, churn, dropped and expired watches, CRDs, callbacks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from argocd_server.kube.cache import CacheEvent, ClusterCache, ObjectKey
from argocd_server.kube.client import ClusterClient, ClusterCredentials
from argocd_server.kube.resources import GroupVersionKind, ResourceClient
from kubesim import KubeSim
from kubesim.store import WriteContext
from kubesim.testing import running_kubesim

from .polling import eventually

CONFIGMAP = GroupVersionKind("", "v1", "ConfigMap")


def cm(name: str, namespace: str, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace, **meta}}


def live_state(sim: KubeSim, namespace: str) -> dict[str, str]:
    return {
        o["metadata"]["name"]: o["metadata"]["resourceVersion"]
        for o in sim.list_objects("v1", "ConfigMap", namespace=namespace)
    }


def cached_state(cache: ClusterCache, namespace: str) -> dict[str, str]:
    return {
        o["metadata"]["name"]: o["metadata"]["resourceVersion"]
        for o in cache.objects(group="", kind="ConfigMap", namespace=namespace)
    }


@pytest.fixture
def cache(cluster: ClusterClient) -> Iterator[ClusterCache]:
    c = ClusterCache(cluster, min_backoff=0.05, max_backoff=0.5)
    yield c
    c.stop()


def test_ready_only_after_initial_lists(sim: KubeSim, cluster: ClusterClient, namespace: str) -> None:
    for i in range(300):
        sim.create(cm(f"seed-{i}", namespace))
    cache = ClusterCache(cluster)
    assert not cache.ready
    assert not cache.wait_ready(0)
    try:
        cache.start()
        assert cache.wait_ready(30)
        # Nothing to poll for: readiness promises every initial LIST is already in.
        assert len(cached_state(cache, namespace)) == 300
        assert cached_state(cache, namespace) == live_state(sim, namespace)
        stats = cache.stats()
        assert stats.ready
        assert stats.last_sync_time is not None
        assert stats.apis_count >= 20
        assert stats.resources_count >= 300
        # Events are excluded by default: they churn and no app manages them.
        assert not cache.objects(group="", kind="Event")
    finally:
        cache.stop()


def test_index_finds_app_objects_by_label_and_annotation(
    sim: KubeSim, resources: ResourceClient, cache: ClusterCache, namespace: str
) -> None:
    sim.create(cm("by-label", namespace, labels={"app.kubernetes.io/instance": "guestbook"}))
    sim.create(
        cm(
            "by-annotation",
            namespace,
            annotations={"argocd.argoproj.io/tracking-id": f"guestbook:/ConfigMap:{namespace}/by-annotation"},
        )
    )
    sim.create(cm("other", namespace, labels={"app.kubernetes.io/instance": "other-app"}))
    cache.start()
    assert cache.wait_ready(30)
    names = {o["metadata"]["name"] for o in cache.objects_for_app("guestbook")}
    assert names == {"by-label", "by-annotation"}
    assert {o["metadata"]["name"] for o in cache.objects_for_app("guestbook", by_annotation=False)} == {"by-label"}
    assert {o["metadata"]["name"] for o in cache.scan_for_app("guestbook")} == names

    # Index maintenance on relabel and delete.
    resources.patch(
        CONFIGMAP, "other", {"metadata": {"labels": {"app.kubernetes.io/instance": "guestbook"}}}, namespace=namespace
    )
    resources.delete(CONFIGMAP, "by-label", namespace=namespace)
    eventually(
        lambda: {o["metadata"]["name"] for o in cache.objects_for_app("guestbook")} == {"by-annotation", "other"},
        what="the app index to follow relabel and delete",
    )
    assert cache.objects_for_app("other-app") == []


def test_owner_index_gives_children(resources: ResourceClient, cache: ClusterCache, namespace: str) -> None:
    cache.start()
    assert cache.wait_ready(30)
    resources.create(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": namespace},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "x"}]},
                },
            },
        }
    )
    key = ObjectKey("apps", "Deployment", namespace, "web")
    eventually(lambda: cache.get(key) is not None, what="the deployment in the cache")
    uid = cache.get(key)["metadata"]["uid"]  # type: ignore[index]
    eventually(lambda: len(cache.children(uid)) == 1, what="the ReplicaSet child")
    (rs,) = cache.children(uid)
    assert rs["kind"] == "ReplicaSet"
    eventually(lambda: len(cache.children(rs["metadata"]["uid"])) == 2, what="two Pod grandchildren")
    assert cache.get_by_uid(uid) is cache.get(key)


def test_churn_converges_and_subscribers_hear_it(
    sim: KubeSim, resources: ResourceClient, cache: ClusterCache, namespace: str
) -> None:
    cache.start()
    assert cache.wait_ready(30)
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    def record(event: Any) -> None:
        if event.key.namespace == namespace:
            with lock:
                seen.append((event.type, event.key.name))

    cache.subscribe(record)

    def writer(offset: int) -> None:
        for i in range(offset, offset + 30):
            resources.create(cm(f"c{i}", namespace))
        for i in range(offset, offset + 30, 2):
            resources.patch(CONFIGMAP, f"c{i}", {"data": {"v": str(i)}}, namespace=namespace)
        for i in range(offset, offset + 30, 3):
            resources.delete(CONFIGMAP, f"c{i}", namespace=namespace)

    threads = [threading.Thread(target=writer, args=(n * 100,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = live_state(sim, namespace)
    assert len(expected) == 40
    eventually(lambda: cached_state(cache, namespace) == expected, what="the cache to converge after churn")
    eventually(lambda: sum(1 for t, _ in seen if t == "DELETED") == 20, what="every delete to be delivered")
    with lock:
        assert sum(1 for t, _ in seen if t == "ADDED") == 60
        assert ("MODIFIED", "c2") in seen


def test_blocked_subscriber_does_not_stall_watches(
    resources: ResourceClient, cache: ClusterCache, namespace: str
) -> None:
    cache.start()
    assert cache.wait_ready(30)
    gate = threading.Event()

    def blocked(_event: CacheEvent) -> None:
        gate.wait(30)

    sub = cache.subscribe(blocked)
    for i in range(5):
        resources.create(cm(f"s{i}", namespace))
    eventually(lambda: len(cached_state(cache, namespace)) == 5, what="updates despite a blocked subscriber")
    gate.set()
    sub.cancel()


def test_crd_created_at_runtime_is_cached(resources: ResourceClient, cache: ClusterCache, namespace: str) -> None:
    cache.start()
    assert cache.wait_ready(30)
    resources.create(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "sprockets.cache.example.com"},
            "spec": {
                "group": "cache.example.com",
                "scope": "Namespaced",
                "names": {
                    "plural": "sprockets",
                    "singular": "sprocket",
                    "kind": "Sprocket",
                    "listKind": "SprocketList",
                },
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                    }
                ],
            },
        }
    )
    eventually(lambda: any(a.kind == "Sprocket" for a in resources.refresh_discovery()), what="the CRD to be served")
    resources.create(
        {
            "apiVersion": "cache.example.com/v1",
            "kind": "Sprocket",
            "metadata": {
                "name": "s1",
                "namespace": namespace,
                "labels": {"app.kubernetes.io/instance": "sprocket-app"},
            },
        }
    )
    key = ObjectKey("cache.example.com", "Sprocket", namespace, "s1")
    eventually(lambda: cache.get(key) is not None, what="the custom resource in the cache")
    assert [o["metadata"]["name"] for o in cache.objects_for_app("sprocket-app")] == ["s1"]


def test_invalidate_relists(sim: KubeSim, cache: ClusterCache, namespace: str) -> None:
    cache.start()
    assert cache.wait_ready(30)
    first_sync = cache.stats().last_sync_time
    sim.create(cm("after-start", namespace))
    cache.invalidate()
    eventually(lambda: cached_state(cache, namespace) == live_state(sim, namespace), what="relist after invalidate")
    eventually(lambda: cache.stats().last_sync_time != first_sync, what="a new sync time")


def test_dropped_and_expired_watch_relists_and_converges() -> None:
    with running_kubesim() as sim:
        sim.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "churn"}})
        sim.create(cm("doomed", "churn"))
        sim.create(cm("kept", "churn"))
        with ClusterClient(ClusterCredentials(server=sim.url)) as client:
            cache = ClusterCache(client, kinds=[CONFIGMAP], min_backoff=0.05, max_backoff=0.2)
            try:
                cache.start()
                assert cache.wait_ready(30)
                events: list[tuple[str, str]] = []
                cache.subscribe(lambda e: events.append((e.type, e.key.name)))
                port = sim.port

                sim.stop()  # the watch drops; the cache keeps retrying
                eventually(lambda: bool(cache.stats().errors), what="the cache to notice the outage")
                assert cache.resynchronising
                sim.create(cm("born-offline", "churn"))
                rt = sim.registry.by_kind("v1", "ConfigMap")
                assert rt is not None
                # kubesim has no public delete besides HTTP, which is down: use its store directly.
                sim.store.delete(rt, "churn", name="doomed", ctx=WriteContext(user="test"))
                sim.compact()  # history gone: resuming from the old resourceVersion must answer 410
                sim.start()
                assert sim.port == port

                eventually(
                    lambda: cached_state(cache, "churn") == live_state(sim, "churn"),
                    what="convergence after restart + 410",
                )
                assert set(cached_state(cache, "churn")) == {"kept", "born-offline"}
                eventually(lambda: ("DELETED", "doomed") in events, what="the offline delete to be reported")
                assert ("ADDED", "born-offline") in events
                eventually(lambda: not cache.stats().errors, what="errors to clear")
                assert not cache.resynchronising

                # And the resumed watch is live again.
                ResourceClient(client).create(cm("after", "churn"))
                eventually(lambda: "after" in cached_state(cache, "churn"), what="events after the resume")
            finally:
                cache.stop()
