"""First start: the generated admin password, the server key and secrets at rest."""

from __future__ import annotations

import stat

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from argocd_server.db.models import AccountSecretRow, ServerSecretRow
from argocd_server.main import create_app
from tests.conftest import SettingsFactory, bearer, login


def test_initial_admin_password_file(make_settings: SettingsFactory, database_url: str) -> None:
    settings = make_settings(admin_password=None)
    with TestClient(create_app(settings)) as client:
        path = settings.data_dir / "initial-admin-password"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        password = path.read_text().strip()
        assert len(password) == 16
        token = login(client, "admin", password)
        info = client.get("/api/v1/session/userinfo", headers=bearer(token)).json()
        assert info == {"loggedIn": True, "username": "admin", "iss": "argocd"}
    key = settings.data_dir / "server.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600

    engine = create_engine(database_url)
    with Session(engine) as session:
        admin = session.scalars(select(AccountSecretRow).where(AccountSecretRow.name == "admin")).one()
        assert admin.password_hash is not None
        assert admin.password_hash.startswith("$2b$10$")
        assert password not in admin.password_hash
        jwt_key = session.scalars(select(ServerSecretRow)).one()
        assert jwt_key.key == "server.secretkey"
        assert len(jwt_key.value) == 1 + 12 + 32 + 16  # sealed: version, nonce, key, tag
    engine.dispose()

    # A restart keeps the password and the signing key: the old token still works.
    with TestClient(create_app(settings)) as client:
        assert path.read_text().strip() == password
        assert client.get("/api/v1/account", headers=bearer(token)).status_code == 200


def test_explicit_admin_password_from_settings(make_settings: SettingsFactory) -> None:
    settings = make_settings(admin_password="pipeline-pass-1")
    with TestClient(create_app(settings)) as client:
        assert login(client, "admin", "pipeline-pass-1")
        assert not (settings.data_dir / "initial-admin-password").exists()
