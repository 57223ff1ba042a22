"""Fixtures: one simulator per test session (pace 0) plus helpers for fresh namespaces."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client
from kubernetes.dynamic import DynamicClient

from kubesim import KubeSim
from kubesim.testing import running_kubesim


@pytest.fixture(scope="session")
def sim() -> Iterator[KubeSim]:
    with running_kubesim(pace=0.0, bookmark_interval=0.2, log_follow_interval=0.05) as running:
        yield running


@pytest.fixture(scope="session")
def api_client(sim: KubeSim) -> Iterator[client.ApiClient]:
    api = sim.api_client()
    yield api
    api.close()


@pytest.fixture(scope="session")
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="session")
def apps(api_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


@pytest.fixture(scope="session")
def batch(api_client: client.ApiClient) -> client.BatchV1Api:
    return client.BatchV1Api(api_client)


@pytest.fixture(scope="session")
def custom(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


@pytest.fixture(scope="session")
def dynamic(api_client: client.ApiClient) -> DynamicClient:
    return DynamicClient(api_client)


@pytest.fixture
def ns(core: client.CoreV1Api) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    return name
