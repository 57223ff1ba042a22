"""Fixtures for the cluster layer: a kubesim served over HTTP, our client on it, a fresh namespace per test."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest

from argocd_server.kube.client import ClusterClient, ClusterCredentials
from argocd_server.kube.resources import ResourceClient
from kubesim import KubeSim
from kubesim.testing import running_kubesim

_names = itertools.count()


@pytest.fixture(scope="module")
def sim() -> Iterator[KubeSim]:
    with running_kubesim() as server:
        yield server


@pytest.fixture(scope="module")
def cluster(sim: KubeSim) -> Iterator[ClusterClient]:
    with ClusterClient(ClusterCredentials(server=sim.url)) as client:
        yield client


@pytest.fixture
def resources(cluster: ClusterClient) -> ResourceClient:
    return ResourceClient(cluster)


@pytest.fixture
def namespace(sim: KubeSim) -> str:
    name = f"t{next(_names)}-{int(time.time() * 1000) % 100000}"
    sim.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name
