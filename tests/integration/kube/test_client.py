"""Credentials and connections: bearer tokens, TLS, kubeconfig, exec plugins, in-cluster resolution, the factory."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from argocd_server.errors import FailedPrecondition, PermissionDenied, Unauthenticated, Unavailable
from argocd_server.kube.client import (
    KUBERNETES_DEFAULT_SVC,
    ClientOptions,
    ClusterClient,
    ClusterClientFactory,
    ClusterCredentials,
    ClusterSource,
    ExecProvider,
    InClusterResolver,
    credentials_from_kubeconfig,
)
from argocd_server.kube.resources import GroupVersionKind, ResourceClient
from kubesim import KubeSim

from .tls import make_pki, tls_front

CONFIGMAP = GroupVersionKind("", "v1", "ConfigMap")


@pytest.fixture(scope="module")
def secured() -> Iterator[KubeSim]:
    sim = KubeSim(pace=0.0, tokens={"admin-token": None, "team-token": ["team"]})
    sim.start()
    sim.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    yield sim
    sim.stop()


def test_right_token_connects(secured: KubeSim) -> None:
    with ClusterClient(ClusterCredentials(server=secured.url, bearer_token="admin-token")) as client:
        assert client.server_version().short == "1.33"
        status = client.check_connection()
        assert status.status == "Successful"
        assert status.attempted_at.tzinfo is not None


def test_wrong_token_is_unauthenticated(secured: KubeSim) -> None:
    with ClusterClient(ClusterCredentials(server=secured.url, bearer_token="nope")) as client:
        with pytest.raises(Unauthenticated):
            ResourceClient(client).list_objects(CONFIGMAP, namespace="team")
        assert client.check_connection().status == "Failed"


def test_namespace_limited_token(secured: KubeSim) -> None:
    with ClusterClient(ClusterCredentials(server=secured.url, bearer_token="team-token")) as client:
        res = ResourceClient(client)
        res.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "mine", "namespace": "team"}})
        assert [o["metadata"]["name"] for o in res.list_objects(CONFIGMAP, namespace="team")] == ["mine"]
        with pytest.raises(PermissionDenied):
            res.list_objects(CONFIGMAP)


def test_basic_auth_is_refused_by_a_token_only_server(secured: KubeSim) -> None:
    # kubesim knows bearer tokens only: the Basic header must reach it and be refused, not be dropped silently.
    creds = ClusterCredentials(server=secured.url, username="admin", password="pw")
    with ClusterClient(creds) as client, pytest.raises(Unauthenticated):
        ResourceClient(client).api_resources()


def test_kubeconfig_context(secured: KubeSim, tmp_path: Path) -> None:
    path = secured.write_kubeconfig(tmp_path / "config", token="admin-token")
    creds = credentials_from_kubeconfig(path)
    assert creds.server == secured.url
    assert creds.bearer_token == "admin-token"
    with ClusterClient(ClusterCredentials(server="kubeconfig", kubeconfig_path=str(path))) as client:
        assert client.source is ClusterSource.KUBECONFIG
        assert client.check_connection().status == "Successful"


def test_exec_plugin_runs_only_when_allowed(secured: KubeSim) -> None:
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": "admin-token", "expirationTimestamp": "2099-01-01T00:00:00Z"},
    }
    provider = ExecProvider(command=sys.executable, args=("-c", f"print({json.dumps(json.dumps(credential))})"))
    creds = ClusterCredentials(server=secured.url, exec_provider=provider)
    with pytest.raises(FailedPrecondition):
        ClusterClient(creds)
    with ClusterClient(creds, options=ClientOptions(allow_exec=True)) as client:
        assert client.check_connection().status == "Successful"
    failing = ExecProvider(command=sys.executable, args=("-c", "import sys; sys.exit('no login')"))
    with pytest.raises(Unauthenticated) as err:
        ClusterClient(
            ClusterCredentials(server=secured.url, exec_provider=failing), options=ClientOptions(allow_exec=True)
        )
    assert "no login" in err.value.message


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_with_ca_server_name_and_client_certificate(sim: KubeSim, tmp_path: Path) -> None:
    pki = make_pki("kubesim.test")
    with tls_front(sim, pki, tmp_path, require_client_cert=True) as url:
        good = ClusterCredentials(
            server=url,
            ca_data=pki.ca_pem,
            server_name="kubesim.test",
            cert_data=pki.client_cert_pem,
            key_data=pki.client_key_pem,
        )
        with ClusterClient(good) as client:
            assert client.check_connection().status == "Successful"
            files = client.temp_files
            assert len(files) == 3
            assert all(stat.S_IMODE(os.stat(f).st_mode) == 0o600 for f in files)
        assert not any(os.path.exists(f) for f in files)
        # 127.0.0.1 is not in the certificate: without the SNI override verification must fail.
        no_sni = ClusterCredentials(
            server=url, ca_data=pki.ca_pem, cert_data=pki.client_cert_pem, key_data=pki.client_key_pem
        )
        with ClusterClient(no_sni) as client, pytest.raises(Unavailable):
            client.server_version()
        other_ca = make_pki("kubesim.test").ca_pem
        wrong_ca = ClusterCredentials(
            server=url,
            ca_data=other_ca,
            server_name="kubesim.test",
            cert_data=pki.client_cert_pem,
            key_data=pki.client_key_pem,
        )
        with ClusterClient(wrong_ca) as client:
            assert client.check_connection().status == "Failed"
        insecure = ClusterCredentials(
            server=url, insecure=True, cert_data=pki.client_cert_pem, key_data=pki.client_key_pem
        )
        with ClusterClient(insecure) as client:
            assert client.check_connection().status == "Successful"


def test_in_cluster_prefers_service_account(secured: KubeSim, tmp_path: Path) -> None:
    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    (sa / "token").write_text("admin-token\n")
    resolver = InClusterResolver(service_account_dir=sa, api_server=secured.url, fallback_url="http://unused")
    factory = ClusterClientFactory(in_cluster=resolver)
    client = factory.client(ClusterCredentials(server=KUBERNETES_DEFAULT_SVC))
    assert client.source is ClusterSource.SERVICE_ACCOUNT
    assert client.server == KUBERNETES_DEFAULT_SVC
    assert client.check_connection().status == "Successful"
    factory.close()


def test_in_cluster_falls_back_to_kubeconfig_then_simulator(secured: KubeSim, sim: KubeSim, tmp_path: Path) -> None:
    absent = tmp_path / "no-such-dir"
    path = secured.write_kubeconfig(tmp_path / "config", token="admin-token")
    via_kubeconfig = InClusterResolver(service_account_dir=absent, kubeconfig_path=str(path), fallback_url=sim.url)
    creds, source = via_kubeconfig.resolve()
    assert (creds.server, source) == (secured.url, ClusterSource.KUBECONFIG)

    factory = ClusterClientFactory(in_cluster=InClusterResolver(service_account_dir=absent, fallback_url=sim.url))
    client = factory.client(ClusterCredentials(server=KUBERNETES_DEFAULT_SVC))
    assert client.simulated
    assert client.check_connection().status == "Successful"
    factory.close()

    with pytest.raises(FailedPrecondition):
        InClusterResolver(service_account_dir=absent).resolve()


def test_factory_caches_by_credentials_and_invalidates(sim: KubeSim) -> None:
    factory = ClusterClientFactory()
    first = factory.client(ClusterCredentials(server=sim.url))
    assert factory.client(ClusterCredentials(server=sim.url)) is first
    other = factory.client(ClusterCredentials(server=sim.url, bearer_token="t"))
    assert other is not first
    factory.invalidate(sim.url)
    again = factory.client(ClusterCredentials(server=sim.url))
    assert again is not first
    assert again.check_connection().status == "Successful"
    factory.close()
