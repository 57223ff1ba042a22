"""The controller's repository credential lookup is remembered, and forgotten the moment credentials change."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from argocd_server.auth.rbac import Enforcer, RbacConfig
from argocd_server.auth.secretbox import SecretBox
from argocd_server.db.engine import make_sessionmaker
from argocd_server.services.access import Access
from argocd_server.services.app_operations import RepoCredentialsCache
from argocd_server.services.repocreds import RepoCredsService
from argocd_server.services.repositories import RepositoryService

URL = "https://git.example.com/team/app.git"
BOX = SecretBox(b"k" * 32)
ACCESS = Access(
    principal=None, enforcer=Enforcer(config=RbacConfig(), project_lookup=lambda _: None), auth_disabled=True
)


@pytest.fixture
def cache(migrated_engine: Engine) -> RepoCredentialsCache:
    return RepoCredentialsCache(make_sessionmaker(migrated_engine), BOX, ttl=3600)


def _repositories(cache: RepoCredentialsCache) -> RepositoryService:
    return RepositoryService(session=cache._sessions(), access=ACCESS, box=BOX)


def test_answers_are_reused_until_a_repository_changes(cache: RepoCredentialsCache) -> None:
    assert cache(URL, "default") is None

    _repositories(cache).create({"repo": URL, "username": "bot", "password": "first-secret"}, upsert=False)
    found = cache(URL, "default")
    assert found is not None
    assert (found.username, found.password) == ("bot", "first-secret")
    assert cache(URL, "default") is found  # remembered

    _repositories(cache).update(URL, {"repo": URL, "username": "bot", "password": "second-secret"})
    changed = cache(URL, "default")
    assert changed is not None
    assert changed.password == "second-secret"

    _repositories(cache).delete(URL)
    assert cache(URL, "default") is None


def test_a_new_credential_template_applies_at_once(cache: RepoCredentialsCache) -> None:
    assert cache(URL, "default") is None
    templates = RepoCredsService(session=cache._sessions(), access=ACCESS, box=BOX)
    templates.create({"url": "https://git.example.com/team", "password": "template-secret"}, upsert=False)
    found = cache(URL, "default")
    assert found is not None
    assert found.password == "template-secret"


def test_changes_made_elsewhere_are_seen_after_the_ttl(migrated_engine: Engine) -> None:
    # Another process (a separate controller, a replica) writes through its own sessions: nothing tells this
    # cache, its TTL bounds how long the old answer lives.
    now = [1000.0]
    cache = RepoCredentialsCache(make_sessionmaker(migrated_engine), BOX, ttl=5.0, clock=lambda: now[0])
    assert cache(URL, "default") is None
    elsewhere = make_sessionmaker(migrated_engine)
    RepositoryService(session=elsewhere(), access=ACCESS, box=BOX).create(
        {"repo": URL, "password": "elsewhere"}, upsert=False
    )
    now[0] += 4.9
    assert cache(URL, "default") is None
    now[0] += 0.2
    found = cache(URL, "default")
    assert found is not None
    assert found.password == "elsewhere"
