"""Scale: 50,000 objects over 200 namespaces, listed and watched through the official client."""

from __future__ import annotations

import json
import threading

from kubernetes import client, watch

from kubesim.testing import running_kubesim


def test_fifty_thousand_objects_list_and_watch() -> None:
    with running_kubesim(controllers=False) as sim:
        for n in range(200):
            sim.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"ns-{n}"}})
        for i in range(50_000):
            meta = {"name": f"cm-{i}", "namespace": f"ns-{i % 200}", "labels": {"i": str(i % 10)}}
            sim.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}})
        api = client.CoreV1Api(sim.api_client())
        listed = json.loads(api.list_config_map_for_all_namespaces(_preload_content=False).data)
        assert len(listed["items"]) == 50_000
        one_ns = api.list_namespaced_config_map("ns-7", label_selector="i=7")
        assert len(one_ns.items) == 250
        page = api.list_config_map_for_all_namespaces(limit=500)
        assert len(page.items) == 500
        assert page.metadata.remaining_item_count == 49_500

        def writer() -> None:
            for i in range(100):
                api.patch_namespaced_config_map(f"cm-{i}", f"ns-{i % 200}", {"data": {"k": "w"}})

        w = watch.Watch()
        stream = w.stream(
            api.list_config_map_for_all_namespaces,
            resource_version=listed["metadata"]["resourceVersion"],
            timeout_seconds=30,
        )
        thread = threading.Thread(target=writer)
        thread.start()
        seen = []
        for event in stream:
            seen.append((event["type"], event["object"].metadata.name))
            if len(seen) == 100:
                break
        w.stop()
        thread.join()
        assert seen == [("MODIFIED", f"cm-{i}") for i in range(100)]
