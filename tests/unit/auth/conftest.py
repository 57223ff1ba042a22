"""Helpers for the RBAC unit tests: an enforcer over an in-memory project table."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from argocd_server.auth.rbac import Enforcer, ProjectRbac, RbacConfig

MakeEnforcer = Callable[..., Enforcer]


@pytest.fixture
def projects() -> dict[str, ProjectRbac]:
    """The project table the enforcer reads; tests mutate it to model project changes."""
    return {}


@pytest.fixture
def make_enforcer(projects: dict[str, ProjectRbac]) -> MakeEnforcer:
    def make(
        policy_csv: str = "",
        *,
        default: str = "",
        match_mode: str = "glob",
        scopes: tuple[str, ...] = ("groups",),
    ) -> Enforcer:
        config = RbacConfig(policy_csv=policy_csv, policy_default=default, match_mode=match_mode, scopes=scopes)
        return Enforcer(config=config, project_lookup=projects.get)

    return make
