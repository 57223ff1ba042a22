"""``Enforcer.allowed_many`` against one ``enforce`` per object, on random policies and requests.

The scenarios are the fast-path suite's random policies (denies, globs, regex mode with invalid patterns,
nested roles, groups, ``policy.default``, project roles). For every batch of objects under one
(claims, resource, action), the bulk answer must equal the single-check answers of a separate enforcer,
object by object, and also Casbin's own answers.
"""

from __future__ import annotations

import random

import pytest

from argocd_server.auth.rbac import Claims, Enforcer, ProjectRbac, ProjectRole, RbacConfig
from tests.unit.auth.test_rbac_fastpath import (
    CasbinEnforcer,
    Scenario,
    p_lines,
    random_case,
    random_request,
    random_scenario,
)


def _enforcer(cls: type[Enforcer], scenario: Scenario) -> Enforcer:
    return cls(config=scenario.config, project_lookup=scenario.projects.get)


def _batch(rng: random.Random, scenario: Scenario) -> tuple[Claims | None, str, str, list[str]]:
    lines = p_lines(scenario)
    claims, (resource, action, obj) = random_case(rng, lines)
    objects = [obj]
    # Many objects for the same check, across projects (and non-project objects), with repeats.
    for _ in range(rng.randrange(1, 40)):
        objects.append(random_case(rng, lines)[1][2] if rng.random() < 0.5 else random_request(rng)[2])
    objects += rng.sample(objects, min(3, len(objects)))
    return claims, resource, action, objects


@pytest.mark.parametrize("seed", range(150))
def test_bulk_matches_single_checks(seed: int) -> None:
    scenario = random_scenario(seed)
    rng = random.Random(seed * 7919)
    bulk = _enforcer(Enforcer, scenario)
    single = _enforcer(Enforcer, scenario)
    casbin = _enforcer(CasbinEnforcer, scenario)
    for _ in range(12):
        claims, resource, action, objects = _batch(rng, scenario)
        expected = [single.enforce(claims, resource, action, obj) for obj in objects]
        assert bulk.allowed_many(claims, resource, action, objects) == expected, (claims, resource, action, objects)
        assert casbin.allowed_many(claims, resource, action, objects) == expected


def test_bulk_follows_project_version_changes() -> None:
    projects: dict[str, ProjectRbac] = {"team": ProjectRbac(name="team", version="1")}
    enforcer = Enforcer(config=RbacConfig(), project_lookup=projects.get)
    claims = Claims(subject="proj:team:deployer")
    objects = ["team/web", "team/api", "other/web"]
    assert enforcer.allowed_many(claims, "applications", "get", objects) == [False, False, False]
    projects["team"] = ProjectRbac(
        name="team",
        roles=(ProjectRole(name="deployer", policies=("p, proj:team:deployer, applications, get, team/web, allow",)),),
        version="2",
    )
    assert enforcer.allowed_many(claims, "applications", "get", objects) == [True, False, False]
    assert [enforcer.enforce(claims, "applications", "get", obj) for obj in objects] == [True, False, False]


def test_bulk_of_nothing_is_empty() -> None:
    enforcer = Enforcer(config=RbacConfig(), project_lookup=lambda _: None)
    assert enforcer.allowed_many(None, "applications", "get", []) == []
