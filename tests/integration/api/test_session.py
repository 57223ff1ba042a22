"""Sessions against a real database: login, lockout, expiry, revocation, cookies, renewal, password changes."""

from __future__ import annotations

import jwt as pyjwt
import pytest
from fastapi.testclient import TestClient

from argocd_server.api.cookies import token_cookie_lines
from argocd_server.main import create_app
from tests.conftest import ADMIN_PASSWORD, SettingsFactory, bearer, login


def _error(response: object) -> dict[str, object]:
    data: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert set(data) == {"error", "code", "message"}
    assert data["error"] == data["message"]
    return data


def test_login_returns_token_with_upstream_claims_and_cookie(client: TestClient) -> None:
    response = client.post("/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    claims = pyjwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == "argocd"
    assert claims["sub"] == "admin:login"
    assert claims["iat"] == claims["nbf"]
    assert claims["exp"] - claims["iat"] == 24 * 3600
    assert claims["jti"]
    assert list(claims) == ["iss", "sub", "exp", "nbf", "iat", "jti"]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"argocd.token={token}; path=/; SameSite=lax; httpOnly")
    assert "Secure" not in cookie

    info = client.get("/api/v1/session/userinfo", headers=bearer(token))
    assert info.json() == {"loggedIn": True, "username": "admin", "iss": "argocd"}


def test_userinfo_without_token_is_empty(client: TestClient) -> None:
    response = client.get("/api/v1/session/userinfo")
    assert response.status_code == 200
    assert response.json() == {}


@pytest.mark.parametrize(("username", "password"), [("admin", "wrong-password"), ("nobody", "whatever-password")])
def test_wrong_password_and_unknown_user_answer_alike(client: TestClient, username: str, password: str) -> None:
    response = client.post("/api/v1/session", json={"username": username, "password": password})
    assert response.status_code == 401
    assert _error(response) == {
        "error": "Invalid username or password",
        "code": 16,
        "message": "Invalid username or password",
    }
    assert "set-cookie" not in response.headers


def test_empty_credentials(client: TestClient) -> None:
    response = client.post("/api/v1/session", json={"username": "admin"})
    assert response.status_code == 401
    assert _error(response)["message"] == "no credentials supplied"


def test_username_over_32_bytes_is_rejected(client: TestClient) -> None:
    response = client.post("/api/v1/session", json={"username": "é" * 17, "password": "x"})
    assert response.status_code == 400
    assert _error(response) == {
        "error": "Username is too long (32 bytes max)",
        "code": 3,
        "message": "Username is too long (32 bytes max)",
    }


def test_legacy_token_login_is_refused(client: TestClient) -> None:
    response = client.post("/api/v1/session", json={"token": "abc"})
    assert response.status_code == 401
    assert "token-based session creation no longer supported" in str(_error(response)["message"])


def test_lockout_after_five_failures_and_its_expiry(client: TestClient) -> None:
    limiter = client.app.state.argo.authenticator.limiter  # type: ignore[attr-defined]
    now = [1000.0]
    limiter.clock = lambda: now[0]
    for _ in range(5):
        bad = client.post("/api/v1/session", json={"username": "admin", "password": "nope-nope"})
        assert bad.status_code == 401
    locked = client.post("/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert locked.status_code == 401
    assert _error(locked)["message"] == "Invalid username or password"
    now[0] += 299
    assert client.post("/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD}).status_code == 401
    now[0] += 2
    ok = client.post("/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert ok.status_code == 200


def test_lockout_counts_unknown_users_separately(client: TestClient) -> None:
    for _ in range(5):
        client.post("/api/v1/session", json={"username": "ghost", "password": "nope-nope"})
    assert login(client)  # admin unaffected


def test_expired_token_is_rejected(client: TestClient) -> None:
    token = login(client)
    auth = client.app.state.argo.authenticator  # type: ignore[attr-defined]
    real = auth.clock
    auth.clock = lambda: real() + 24 * 3600 + 5
    response = client.get("/api/v1/account", headers=bearer(token))
    assert response.status_code == 401
    assert _error(response)["message"] == "invalid session: token has invalid claims: token is expired"


def test_missing_token_and_garbage_token(client: TestClient) -> None:
    response = client.get("/api/v1/account")
    assert response.status_code == 401
    assert _error(response) == {
        "error": "no session information",
        "code": 16,
        "message": "no session information",
    }
    forged = pyjwt.encode({"iss": "argocd", "sub": "admin:login", "iat": 1, "jti": "x"}, "not-the-key" * 4)
    response = client.get("/api/v1/account", headers=bearer(forged))
    assert response.status_code == 401
    assert _error(response)["message"] == "invalid session: token signature is invalid"


def test_logout_revokes_the_token(client: TestClient) -> None:
    token = login(client)
    other = login(client)
    response = client.request(
        "DELETE", "/api/v1/session", headers={**bearer(token), "Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json() == {}
    denied = client.get("/api/v1/account", headers=bearer(token))
    assert denied.status_code == 401
    assert _error(denied)["message"] == "invalid session: token is revoked, please re-login"
    assert client.get("/api/v1/session/userinfo", headers=bearer(token)).json() == {}
    assert client.get("/api/v1/account", headers=bearer(other)).status_code == 200


def test_revocation_is_shared_through_the_database(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        token = login(first)
        assert second.get("/api/v1/account", headers=bearer(token)).status_code == 200
        first.request(
            "DELETE",
            "/api/v1/session",
            headers={**bearer(token), "Content-Type": "application/json"},
        )
        assert second.get("/api/v1/account", headers=bearer(token)).status_code == 401


def test_token_sources_header_and_cookie(client: TestClient) -> None:
    token = login(client)
    assert client.get("/api/v1/account", headers={"Grpc-Metadata-Token": token}).status_code == 200
    client.cookies.set("argocd.token", token)
    assert client.get("/api/v1/account").status_code == 200
    client.cookies.clear()
    # A bearer value that is not a JWT is ignored, so the request has no session.
    assert client.get("/api/v1/account", headers={"Authorization": "Bearer abc"}).status_code == 401


def test_chunked_cookie_is_reassembled(client: TestClient) -> None:
    token = login(client)
    settings = client.app.state.argo.settings  # type: ignore[attr-defined]
    # Force chunking by pretending the limit is tiny: split the real token as the server would for a long one.
    lines = token_cookie_lines(token + "", settings=settings)
    assert len(lines) == 1
    half = len(token) // 2
    client.cookies.set("argocd.token", f"2:{token[:half]}")
    client.cookies.set("argocd.token-1", token[half:])
    assert client.get("/api/v1/account").status_code == 200
    client.cookies.set("argocd.token-1", "tampered")
    assert client.get("/api/v1/account").status_code == 401


def test_long_tokens_are_split_into_cookie_chunks(settings: object) -> None:
    from argocd_server.api.cookies import read_token_cookie

    token = "a" * 9000
    lines = token_cookie_lines(token, settings=settings)  # type: ignore[arg-type]
    assert len(lines) == 3
    assert all(len(line) <= 4093 for line in lines)
    assert lines[0].startswith("argocd.token=3:")
    assert lines[1].startswith("argocd.token-1=")
    jar = {line.split("=", 1)[0]: line.split("=", 1)[1].split(";", 1)[0] for line in lines}
    assert read_token_cookie(jar) == token


def test_password_change_revokes_older_tokens(client: TestClient) -> None:
    auth = client.app.state.argo.authenticator  # type: ignore[attr-defined]
    old = login(client)
    real = auth.clock
    auth.clock = lambda: real() + 10
    response = client.put(
        "/api/v1/account/password",
        json={"currentPassword": ADMIN_PASSWORD, "newPassword": "new-password-2"},
        headers=bearer(old),
    )
    assert response.status_code == 200, response.text
    denied = client.get("/api/v1/account", headers=bearer(old))
    assert denied.status_code == 401
    assert _error(denied)["message"] == "invalid session: account password has changed since token issued"
    fresh = login(client, password="new-password-2")
    fresh_response = client.get("/api/v1/account", headers=bearer(fresh))
    assert fresh_response.status_code == 200, fresh_response.text


def test_token_close_to_expiry_is_renewed(client: TestClient) -> None:
    token = login(client)
    auth = client.app.state.argo.authenticator  # type: ignore[attr-defined]
    real = auth.clock
    auth.clock = lambda: real() + 24 * 3600 - 120
    response = client.get("/api/v1/account", headers=bearer(token))
    assert response.status_code == 200
    renewed = response.headers["Grpc-Metadata-Renew-Token"]
    assert renewed != token
    assert "argocd.token=" in response.headers["set-cookie"]
    claims = pyjwt.decode(renewed, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 24 * 3600


def test_login_failure_logs_no_secret(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    for _ in range(6):
        client.post("/api/v1/session", json={"username": "admin", "password": "Sup3rSecretAttempt"})
    assert "Sup3rSecretAttempt" not in caplog.text
    assert ADMIN_PASSWORD not in caplog.text
