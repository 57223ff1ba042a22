"""ApplicationSet, settings, version, account, session, certificate, GPG key and notification shapes."""

from __future__ import annotations

from argocd_server.schemas import (
    Account,
    AccountsList,
    ApplicationSet,
    ApplicationSetList,
    CanIResponse,
    CreateTokenRequest,
    EmptyResponse,
    GetUserInfoResponse,
    GnuPGPublicKey,
    GnuPGPublicKeyList,
    PluginsResponse,
    RepositoryCertificateList,
    ServiceList,
    SessionCreateRequest,
    Settings,
    Token,
    TriggerList,
    UpdatePasswordRequest,
    VersionMessage,
    to_wire,
)

from ._docs import load_fixture


def test_applicationset_keeps_open_members_verbatim() -> None:
    doc = load_fixture("applicationset")
    appset = ApplicationSet.from_wire(doc)
    assert appset.project == "web"
    assert appset.spec.template.metadata.name == "web-{{.cluster}}"
    assert to_wire(appset) == doc


def test_empty_applicationset() -> None:
    assert to_wire(ApplicationSet()) == {
        "metadata": {"creationTimestamp": None},
        "spec": {"generators": None, "template": {"metadata": {}, "spec": {"project": ""}}},
        "status": {},
    }
    assert to_wire(ApplicationSetList()) == {"metadata": {}, "items": None}


def test_settings_round_trip_and_override_keys() -> None:
    doc = load_fixture("settings")
    settings = Settings.from_wire(doc)
    override = settings.resource_overrides["apps/Deployment"]
    assert override.health_lua.startswith("return")
    assert override.use_open_libs is True
    assert to_wire(settings) == doc
    assert to_wire(Settings()) == {}
    assert to_wire(PluginsResponse()) == {}


def test_version_keys_are_capitalised() -> None:
    assert to_wire(VersionMessage(version="v3.6.0")) == {"Version": "v3.6.0"}
    full = VersionMessage.from_wire({"Version": "v3.6.0", "GoVersion": "go1.24", "Platform": "x"})
    assert to_wire(full) == {"Version": "v3.6.0", "GoVersion": "go1.24", "Platform": "x"}


def test_account_false_and_empty_members_disappear() -> None:
    account = Account(name="alice", enabled=False, capabilities=["login"])
    assert to_wire(account) == {"name": "alice", "capabilities": ["login"]}
    token = Token.from_wire({"id": "t1", "issuedAt": "1767323045", "expiresAt": 0})
    assert to_wire(token) == {"id": "t1", "issuedAt": 1767323045}
    assert to_wire(AccountsList(items=[account])) == {"items": [to_wire(account)]}
    assert to_wire(CanIResponse(value="yes")) == {"value": "yes"}
    assert to_wire(EmptyResponse()) == {}


def test_account_requests() -> None:
    body = {"newPassword": "n3w", "currentPassword": "old", "name": "alice"}
    assert to_wire(UpdatePasswordRequest.from_wire(body)) == body
    request = CreateTokenRequest.from_wire({"name": "ci", "expiresIn": "86400"})
    assert request.expires_in == 86400


def test_session_shapes() -> None:
    request = SessionCreateRequest.from_wire({"username": "admin", "password": "pw"})
    assert request.token == ""
    info = GetUserInfoResponse(logged_in=False)
    assert to_wire(info) == {}
    info = GetUserInfoResponse(logged_in=True, username="admin", iss="argocd")
    assert to_wire(info) == {"loggedIn": True, "username": "admin", "iss": "argocd"}


def test_certificate_list_round_trip() -> None:
    doc = {
        "metadata": {},
        "items": [
            {
                "serverName": "github.com",
                "certType": "ssh",
                "certSubType": "ssh-ed25519",
                "certData": "QUFBQUMzTnphQzFsWkRJMU5URTVBQUFBSU9NcXFua1Zacm03d3Z0",
                "certInfo": "SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU",
            }
        ],
    }
    assert to_wire(RepositoryCertificateList.from_wire(doc)) == doc


def test_gpg_keys() -> None:
    assert to_wire(GnuPGPublicKeyList()) == {"metadata": {}, "items": None}
    key = GnuPGPublicKey.from_wire({"keyID": "4AEE18F83AFDEB23", "trust": "ultimate"})
    assert to_wire(key) == {"keyID": "4AEE18F83AFDEB23", "trust": "ultimate"}


def test_notification_lists() -> None:
    doc = {"items": [{"name": "slack"}, {"name": "email"}]}
    assert to_wire(ServiceList.from_wire(doc)) == doc
    assert to_wire(TriggerList()) == {}
