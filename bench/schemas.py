"""Micro-benchmark of the wire models: µs per Application parse, serialise and round trip.

Run: `python bench/schemas.py [N]`. The document is a realistic controller-reconciled application
(5 managed resources, 3 history entries, a finished sync operation).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from argocd_server.schemas import Application, ApplicationList, to_wire, to_wire_json


def sample_application(index: int = 0) -> dict[str, Any]:
    """A reconciled, synced application document as upstream would return it."""
    source = {
        "repoURL": "https://github.com/argoproj/argocd-example-apps.git",
        "path": "guestbook",
        "targetRevision": "HEAD",
    }
    resources = [
        {
            "version": "v1",
            "kind": kind,
            "namespace": "default",
            "name": f"guestbook-ui-{n}",
            "status": "Synced",
            "health": {"status": "Healthy"},
        }
        for n, kind in enumerate(["Service", "ConfigMap", "Secret", "Deployment", "Ingress"])
    ]
    results = [
        {
            "group": "",
            "version": "v1",
            "kind": r["kind"],
            "namespace": "default",
            "name": r["name"],
            "status": "Synced",
            "message": "configured",
            "syncPhase": "Sync",
        }
        for r in resources
    ]
    return {
        "metadata": {
            "name": f"guestbook-{index}",
            "namespace": "argocd",
            "uid": "0b6c1c3e-8a55-4d0b-a4b1-6f1c8e4b1c2d",
            "resourceVersion": "104211",
            "generation": 12,
            "creationTimestamp": "2026-01-02T03:04:05Z",
            "labels": {"team": "web", "env": "prod"},
        },
        "spec": {
            "source": source,
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"},
            "project": "default",
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["CreateNamespace=true"],
            },
        },
        "status": {
            "resources": resources,
            "sync": {
                "status": "Synced",
                "comparedTo": {
                    "source": source,
                    "destination": {
                        "server": "https://kubernetes.default.svc",
                        "namespace": "default",
                    },
                },
                "revision": "53e28ff20cc530b9ada2173fbbd64d48338583ba",
            },
            "health": {"status": "Healthy", "lastTransitionTime": "2026-01-02T03:05:00Z"},
            "history": [
                {
                    "revision": "53e28ff20cc530b9ada2173fbbd64d48338583ba",
                    "deployedAt": "2026-01-02T03:05:00Z",
                    "id": i,
                    "source": source,
                    "deployStartedAt": "2026-01-02T03:04:58Z",
                    "initiatedBy": {"automated": True},
                }
                for i in range(3)
            ],
            "reconciledAt": "2026-01-02T04:00:00Z",
            "operationState": {
                "operation": {
                    "sync": {"revision": "53e28ff20cc530b9ada2173fbbd64d48338583ba", "prune": True},
                    "initiatedBy": {"automated": True},
                    "retry": {"limit": 5},
                },
                "phase": "Succeeded",
                "message": "successfully synced (all tasks run)",
                "syncResult": {
                    "resources": results,
                    "revision": "53e28ff20cc530b9ada2173fbbd64d48338583ba",
                    "source": source,
                },
                "startedAt": "2026-01-02T03:04:58Z",
                "finishedAt": "2026-01-02T03:05:00Z",
            },
            "sourceType": "Directory",
            "summary": {"images": ["gcr.io/heptio-images/ks-guestbook-demo:0.2"]},
            "controllerNamespace": "argocd",
            "sourceHydrator": {},
        },
    }


def _per_call_us(fn: Any, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    doc = sample_application()
    raw = json.dumps(doc).encode()
    app = Application.model_validate(doc)
    assert json.loads(to_wire_json(app)) == doc, "sample must round-trip exactly"

    parse_dict = _per_call_us(lambda: Application.model_validate(doc), n)
    parse_json = _per_call_us(lambda: Application.model_validate_json(raw), n)
    dump_json = _per_call_us(lambda: to_wire_json(app), n)
    dump_dict = _per_call_us(lambda: to_wire(app), n)
    round_trip = _per_call_us(lambda: to_wire_json(Application.model_validate_json(raw)), n)

    listing = ApplicationList(items=[Application.model_validate(sample_application(i)) for i in range(10_000)])
    start = time.perf_counter()
    body = to_wire_json(listing)
    list_ms = (time.perf_counter() - start) * 1e3

    print(f"Application parse dict      {parse_dict:8.1f} us")
    print(f"Application parse JSON      {parse_json:8.1f} us")
    print(f"Application to_wire_json    {dump_json:8.1f} us")
    print(f"Application to_wire (dict)  {dump_dict:8.1f} us")
    print(f"Application round trip      {round_trip:8.1f} us  (JSON bytes -> model -> JSON bytes)")
    print(f"ApplicationList of 10,000   {list_ms:8.1f} ms  ({len(body) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
