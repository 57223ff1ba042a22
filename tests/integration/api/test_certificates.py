"""Repository certificates over the REST API: SSH known hosts and TLS certificates, filters, upsert, RBAC."""

from __future__ import annotations

import base64
import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from argocd_server.main import create_app
from tests.conftest import ADMIN_PASSWORD, SettingsFactory, bearer, login
from tests.support.configmaps import write_configmaps

VIEWER_PASSWORD = "viewer-password-1"
GITHUB_ED25519 = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
GITHUB_ED25519_FP = "+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU"


def headers(token: str) -> dict[str, str]:
    return {**bearer(token), "Content-Type": "application/json"}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def pem_cert(common_name: str, *, organization: str = "Example") -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def ssh_key(kind: str) -> str:
    private: Any
    if kind == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
    elif kind == "rsa":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        private = ec.generate_private_key(ec.SECP256R1())
    text = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return str(text.decode().split()[1])


def create(client: TestClient, token: str, items: list[dict[str, Any]], query: str = "") -> Any:
    return client.post(f"/api/v1/certificates{query}", json={"items": items}, headers=headers(token))


@pytest.fixture
def rbac_client(make_settings: SettingsFactory, tmp_path: Path) -> Iterator[TestClient]:
    maps = write_configmaps(
        tmp_path / "cm",
        argocd_cm={"accounts.viewer": "login"},
        argocd_rbac_cm={"policy.csv": "g, viewer, role:readonly"},
    )
    with TestClient(create_app(make_settings(configmaps=maps))) as client:
        admin = login(client)
        response = client.put(
            "/api/v1/account/password",
            json={"name": "viewer", "currentPassword": ADMIN_PASSWORD, "newPassword": VIEWER_PASSWORD},
            headers=bearer(admin),
        )
        assert response.status_code == 200, response.text
        yield client


def test_ssh_create_list_and_shapes(client: TestClient) -> None:
    admin = login(client)
    rsa_data = ssh_key("rsa")
    ecdsa_data = ssh_key("ecdsa")
    response = create(
        client,
        admin,
        [
            {
                "serverName": "github.com",
                "certType": "ssh",
                "certSubType": "ssh-ed25519",
                "certData": b64(GITHUB_ED25519),
            },
            {"serverName": "github.com", "certType": "ssh", "certSubType": "ssh-rsa", "certData": b64(rsa_data)},
            {"serverName": "[git.example.com]:2222", "certType": "ssh", "certData": b64(ecdsa_data)},
        ],
    )
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["metadata"] == {}
    # Upstream answers each new entry with the request data and the bare fingerprint as certInfo.
    assert created["items"][0] == {
        "serverName": "github.com",
        "certType": "ssh",
        "certSubType": "ssh-ed25519",
        "certData": b64(GITHUB_ED25519),
        "certInfo": GITHUB_ED25519_FP,
    }
    assert created["items"][2]["certSubType"] == "ecdsa-sha2-nistp256"

    listed = client.get("/api/v1/certificates", headers=bearer(admin)).json()
    assert listed["items"][0] == {
        "serverName": "github.com",
        "certType": "ssh",
        "certSubType": "ssh-ed25519",
        "certData": None,
        "certInfo": f"SHA256:{GITHUB_ED25519_FP}",
    }
    assert [(i["serverName"], i["certSubType"]) for i in listed["items"]] == [
        ("github.com", "ssh-ed25519"),
        ("github.com", "ssh-rsa"),
        ("[git.example.com]:2222", "ecdsa-sha2-nistp256"),
    ]

    def names(query: str) -> list[str]:
        items = client.get(f"/api/v1/certificates{query}", headers=bearer(admin)).json()["items"]
        return [f"{i['serverName']}/{i['certSubType']}" for i in items]

    assert names("?certSubType=ssh-rsa") == ["github.com/ssh-rsa"]
    assert names("?hostNamePattern=git*.com") == ["github.com/ssh-ed25519", "github.com/ssh-rsa"]
    assert names("?hostNamePattern=[git.example.com]:2222") == ["[git.example.com]:2222/ecdsa-sha2-nistp256"]
    assert names("?certType=https") == []
    assert names("?certType=other") == []


def test_ssh_idempotent_conflict_upsert(client: TestClient) -> None:
    admin = login(client)
    entry = {
        "serverName": "github.com",
        "certType": "ssh",
        "certSubType": "ssh-ed25519",
        "certData": b64(GITHUB_ED25519),
    }
    assert create(client, admin, [entry]).status_code == 200
    again = create(client, admin, [entry])
    assert again.status_code == 200
    assert again.json()["items"] == []
    other = {**entry, "certData": b64(ssh_key("ed25519"))}
    conflict = create(client, admin, [other])
    assert conflict.status_code == 500
    assert conflict.json()["message"] == (
        "key for 'github.com' (subtype: 'ssh-ed25519') already exists, and upsert was not specified"
    )
    upserted = create(client, admin, [other], "?upsert=true")
    assert upserted.status_code == 200
    assert len(upserted.json()["items"]) == 1
    listed = client.get("/api/v1/certificates", headers=bearer(admin)).json()["items"]
    assert len(listed) == 1
    assert listed[0]["certInfo"] != f"SHA256:{GITHUB_ED25519_FP}"


def test_tls_create_list_upsert_delete(client: TestClient) -> None:
    admin = login(client)
    first, second = pem_cert("repo.example.com"), pem_cert("ca.example.com", organization="CA, Inc.")
    bundle = first + second
    response = create(client, admin, [{"serverName": "repo.example.com", "certType": "https", "certData": b64(bundle)}])
    assert response.status_code == 200, response.text
    assert response.json()["items"] == [
        {
            "serverName": "repo.example.com",
            "certType": "https",
            "certSubType": "",
            "certData": b64(first),
            "certInfo": "",
        },
        {
            "serverName": "repo.example.com",
            "certType": "https",
            "certSubType": "",
            "certData": b64(second),
            "certInfo": "",
        },
    ]
    listed = client.get("/api/v1/certificates?certType=https", headers=bearer(admin)).json()["items"]
    assert [(i["certSubType"], i["certInfo"]) for i in listed] == [
        ("rsa", "CN=repo.example.com,O=Example,C=DE"),
        ("rsa", "CN=ca.example.com,O=CA\\, Inc.,C=DE"),
    ]
    assert client.get("/api/v1/certificates?certType=tls", headers=bearer(admin)).json()["items"] == listed

    assert (
        create(
            client, admin, [{"serverName": "repo.example.com", "certType": "https", "certData": b64(bundle)}]
        ).json()["items"]
        == []
    )
    replacement = pem_cert("repo.example.com", organization="New")
    conflict = create(
        client, admin, [{"serverName": "repo.example.com", "certType": "https", "certData": b64(replacement)}]
    )
    assert conflict.status_code == 500
    assert conflict.json()["message"] == (
        "TLS certificate for server 'repo.example.com' already exists, and upsert was not specified"
    )
    upserted = create(
        client,
        admin,
        [{"serverName": "repo.example.com", "certType": "https", "certData": b64(replacement)}],
        "?upsert=true",
    )
    assert upserted.status_code == 200
    listed = client.get("/api/v1/certificates", headers=bearer(admin)).json()["items"]
    assert [i["certInfo"] for i in listed] == ["CN=repo.example.com,O=New,C=DE"]

    assert (
        create(
            client,
            admin,
            [
                {
                    "serverName": "github.com",
                    "certType": "ssh",
                    "certSubType": "ssh-ed25519",
                    "certData": b64(GITHUB_ED25519),
                }
            ],
        ).status_code
        == 200
    )
    removed = client.request("DELETE", "/api/v1/certificates?certType=https", headers=headers(admin))
    assert removed.status_code == 200
    assert removed.json()["items"] == [
        {
            "serverName": "repo.example.com",
            "certType": "https",
            "certSubType": "",
            "certData": b64(replacement),
            "certInfo": "",
        }
    ]
    removed = client.request("DELETE", "/api/v1/certificates?hostNamePattern=*hub.com", headers=headers(admin))
    assert removed.json()["items"] == [
        {
            "serverName": "github.com",
            "certType": "ssh",
            "certSubType": "ssh-ed25519",
            "certData": b64(GITHUB_ED25519),
            "certInfo": "",
        }
    ]
    assert client.get("/api/v1/certificates", headers=bearer(admin)).json() == {"metadata": {}, "items": []}


def test_bad_input(client: TestClient) -> None:
    admin = login(client)
    cert = pem_cert("ok.example.com")
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"serverName": "x.example.com", "certType": "https", "certData": b64("garbage")},
            "no valid PEM data received",
        ),
        (
            {
                "serverName": "x.example.com",
                "certType": "https",
                "certData": b64("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            },
            "could not parse X509 data from input",
        ),
        (
            {"serverName": "bad host", "certType": "https", "certData": b64(cert)},
            "invalid hostname in request: bad host",
        ),
        ({"serverName": "[bad host]:22", "certType": "ssh", "certData": b64(GITHUB_ED25519)}, "invalid hostname"),
        ({"serverName": "h.example.com", "certType": "ssh", "certData": b64("AAAA")}, "ssh:"),
        ({"serverName": "h.example.com", "certType": "ssh", "certData": b64("###")}, "illegal base64"),
        (
            {
                "serverName": "h.example.com",
                "certType": "ssh",
                "certSubType": "ssh-rsa",
                "certData": b64(GITHUB_ED25519),
            },
            "does not match the key type",
        ),
        ({"serverName": "h.example.com", "certType": "x509", "certData": b64(cert)}, "unknown certificate type: x509"),
        ({"serverName": "h.example.com", "certType": "https", "certData": "%%%"}, "certData"),
        ({"serverName": 5, "certType": "https"}, "serverName"),
    ]
    for item, message in cases:
        response = create(client, admin, [item])
        assert response.status_code == 400, item
        assert response.json()["code"] == 3
        assert message in response.json()["message"], response.json()
    # A failing item rolls back the items before it.
    mixed = create(
        client,
        admin,
        [
            {"serverName": "good.example.com", "certType": "https", "certData": b64(cert)},
            {"serverName": "h.example.com", "certType": "nope"},
        ],
    )
    assert mixed.status_code == 400
    assert client.get("/api/v1/certificates", headers=bearer(admin)).json()["items"] == []
    empty = client.post("/api/v1/certificates", content=b"", headers=headers(admin))
    assert empty.status_code == 200
    assert empty.json() == {"metadata": {}, "items": []}


def test_rbac(rbac_client: TestClient) -> None:
    viewer = login(rbac_client, "viewer", VIEWER_PASSWORD)
    assert rbac_client.get("/api/v1/certificates", headers=bearer(viewer)).status_code == 200
    entry = {"serverName": "github.com", "certType": "ssh", "certData": b64(GITHUB_ED25519)}
    denied = create(rbac_client, viewer, [entry])
    assert denied.status_code == 403
    assert denied.json()["message"].startswith("permission denied: certificates, create, , sub: viewer, iat: ")
    delete = rbac_client.request("DELETE", "/api/v1/certificates", headers=headers(viewer))
    assert delete.status_code == 403
    assert delete.json()["message"].startswith("permission denied: certificates, delete, , sub: viewer")
    assert rbac_client.get("/api/v1/certificates").status_code == 401
