"""The compiled RBAC fast path against Casbin: the same decision for every generated request.

Each scenario is a random policy (built-in roles, custom roles with globs, denies, nested and
cyclic ``g`` roles, groups, ``policy.default``, project roles, regex mode with invalid patterns).
Two enforcers share it: the default one (compiled lines) and one whose policy sets ask Casbin alone;
they must agree on every request. Seeds are fixed, so a failure names a reproducible case.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import random
from dataclasses import dataclass

import pytest

from argocd_server.auth.rbac import (
    Claims,
    Enforcer,
    PolicyRule,
    ProjectRbac,
    ProjectRole,
    RbacConfig,
    RbacConfigError,
    builtin_policy_csv,
    parse_policy_csv,
    project_policy_lines,
)
from argocd_server.auth.rbac import _PolicySet as PolicySet

USERS = ("admin", "alice", "bob", "carol", "dave", "", "ghost")
ROLES = ("role:admin", "role:readonly", "role:dev", "role:ops", "role:a", "role:b", "role:c")
GROUPS = ("org:dev", "org:ops", "cn=x,dc=y", "team-*", "org:none")
PROJECTS = ("team", "dev", "staging", "prod")
PROJECT_ROLES = ("deployer", "viewer")
RESOURCES = (
    "applications",
    "applicationsets",
    "clusters",
    "repositories",
    "projects",
    "logs",
    "exec",
    "certificates",
    "gpgkeys",
    "accounts",
    "extensions",
)
ACTIONS = ("get", "create", "update", "delete", "sync", "override", "invoke", "update/apps/Deployment/ns/web")
ACTIONS += ("action//Pod/restart", "delete/*/Pod/ns/x")
OBJECTS = ("web", "app-7", "app-x", "app-10", "", "https://kubernetes.default.svc", "a,b}", "lit*", "x/y/z")

GLOB_RESOURCES = (*RESOURCES, "*", "app*", "{clusters,repositories}", "logs?", "[ae]xec")
GLOB_ACTIONS = (
    "get",
    "get",
    "sync",
    "sync",
    "delete",
    "*",
    "update/*",
    "action/*",
    "{get,sync}",
    "delete/*/Pod/*",
    "[gs]et",
    "?et",
)
GLOB_OBJECTS = (
    "*",
    "*/*",
    "team/*",
    "team-*",
    "*/web",
    "{dev,staging}/*",
    "{dev,st*}/web",
    "prod/app-?",
    "*/app-[0-9]",
    "*/app-[!0-9]",
    "*/app-[xyz]",
    "*/app-[a-z0-9]",
    "{dev,prod",
    "[abc",
    "trailing\\",
    "lit\\*",
    "a,b}",
    "team/web",
    "https://*.default.svc",
)
REGEX_RESOURCES = ("applications", "^app", "clusters|repos", "^(logs|exec)$", ".*", "", "app")
REGEX_ACTIONS = ("get", "^sync$", "update/.*", ".*", "", "get|sync", "action/")
REGEX_OBJECTS = ("^team/", "web$", ".*", "^(dev|staging)/.*$", "app-[0-9]+", "", "prod", "/")
INVALID_REGEXES = ("(", "*", "[", "*/*")
"""They abort Casbin's evaluation where reached, so they appear in a few lines only."""
EFFECTS = ("allow", "allow", "deny", "deny", "maybe")


def pick(rng: random.Random, options: tuple[str, ...]) -> str:
    return options[rng.randrange(len(options))]


def csv_field(value: str) -> str:
    return f'"{value}"' if "," in value or '"' in value else value


@dataclass(frozen=True)
class Scenario:
    config: RbacConfig
    projects: dict[str, ProjectRbac]


def random_lines(rng: random.Random, *, regex: bool, count: int) -> list[str]:
    """``p`` lines for users, roles and groups, and ``g`` lines forming chains, diamonds and cycles."""
    resources, actions, objects = (
        (REGEX_RESOURCES, REGEX_ACTIONS, REGEX_OBJECTS) if regex else (GLOB_RESOURCES, GLOB_ACTIONS, GLOB_OBJECTS)
    )
    # A few subjects per scenario, so that lines pile up on them and allows meet denies.
    subjects = tuple(rng.sample(USERS + ROLES + GROUPS, 5))
    lines = []
    for _ in range(count):
        obj = pick(rng, objects)
        if not regex and rng.random() < 0.3:
            obj = f"{pick(rng, PROJECTS)}/{pick(rng, ('*', 'web', 'app-?', '*/web', 'app-[0-9]'))}"
        fields = [pick(rng, subjects), pick(rng, resources), pick(rng, actions), obj, pick(rng, EFFECTS)]
        if regex and rng.random() < 0.08:
            fields[rng.randrange(1, 4)] = pick(rng, INVALID_REGEXES)
        lines.append("p, " + ", ".join(csv_field(field) for field in fields))
    # In regex mode the built-in ``*`` patterns are invalid and abort every evaluation reaching them.
    roles = ROLES[2:] if regex and rng.random() < 0.8 else ROLES
    for _ in range(rng.randrange(3, 12)):
        member = pick(rng, USERS + GROUPS + ROLES)
        role = pick(rng, roles)
        lines.append(f"g, {csv_field(member)}, {role}")
    return lines


def random_projects(rng: random.Random, *, regex: bool) -> dict[str, ProjectRbac]:
    projects = {}
    for name in PROJECTS[: rng.randrange(len(PROJECTS) + 1)]:
        roles = []
        for role_name in PROJECT_ROLES[: rng.randrange(len(PROJECT_ROLES) + 1)]:
            subject = f"proj:{name}:{role_name}"
            policies = []
            for _ in range(rng.randrange(4)):
                obj = (
                    pick(rng, REGEX_OBJECTS + INVALID_REGEXES[:1])
                    if regex
                    else f"{name}/{pick(rng, ('*', 'web', 'app-?', '*/web'))}"
                )
                action = pick(rng, ("get", "sync", "*", "update/*", "delete"))
                effect = pick(rng, EFFECTS)
                policies.append(f"p, {subject}, {pick(rng, RESOURCES[:7])}, {action}, {csv_field(obj)}, {effect}")
            groups = tuple(rng.sample(GROUPS, rng.randrange(3)))
            roles.append(ProjectRole(name=role_name, policies=tuple(policies), groups=groups))
        projects[name] = ProjectRbac(name=name, roles=tuple(roles), version="1")
    return projects


def random_scenario(seed: int) -> Scenario:
    rng = random.Random(seed)
    regex = seed % 3 == 2
    lines = random_lines(rng, regex=regex, count=rng.randrange(5, 40))
    # Deep chains: the depth limit of Casbin's role manager (10 levels) must be honoured.
    if seed % 4 == 0:
        chain = ["alice", *(f"role:level-{depth}" for depth in range(1, 13))]
        lines += [f"g, {member}, {role}" for member, role in itertools.pairwise(chain)]
        lines += [f"p, {role}, applications, sync, */*, allow" for role in chain[8:]]
        lines.append("g, role:level-12, role:level-3")
    default = pick(rng, ("", "", "role:readonly", "role:dev", "role:a", "alice"))
    mode = "regex" if regex else pick(rng, ("glob", "glob", "Regex"))
    config = RbacConfig(policy_csv="\n".join(lines), policy_default=default, match_mode=mode)
    return Scenario(config=config, projects=random_projects(rng, regex=regex))


def instantiate(rng: random.Random, pattern: str) -> str:
    """A value near a glob or regex pattern: wildcards filled in, so it often (not always) matches."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*" or (char == "." and pattern[i + 1 : i + 2] in {"*", "+"}):
            out.append(pick(rng, ("", "web", "a/b", "app-7", "team/x")))
            i += 2 if char == "." else 1
            continue
        if char in "^$+()|":
            pass
        elif char in "?.":
            out.append(pick(rng, ("x", "7", "/", "a")))
        elif char == "[":
            end = pattern.find("]", i)
            out.append(pick(rng, ("0", "7", "x", "y", "a", "e", "g", "s")))
            i = end + 1 if end > 0 else i + 1
            continue
        elif char == "{":
            end = pattern.find("}", i)
            if end > 0:
                out.append(pick(rng, tuple(pattern[i + 1 : end].split(","))))
                i = end + 1
                continue
            out.append(char)
        elif char == "\\" and i + 1 < len(pattern):
            out.append(pattern[i + 1])
            i += 2
            continue
        else:
            out.append(char)
        i += 1
    return "".join(out)


def random_claims(rng: random.Random, *, near: str | None = None) -> Claims | None:
    roll = rng.random()
    if roll < 0.08:
        return None
    if near is not None and roll < 0.5:
        return Claims(subject=near, groups=tuple(rng.sample(GROUPS, rng.randrange(3))))
    if roll < 0.25:
        subject = f"proj:{pick(rng, (*PROJECTS, 'ghost'))}:{pick(rng, (*PROJECT_ROLES, 'nobody'))}"
        return Claims(subject=subject)
    subject = pick(rng, USERS + ROLES + GROUPS)
    return Claims(subject=subject, groups=tuple(rng.sample(GROUPS, rng.randrange(len(GROUPS) + 1))))


def random_request(rng: random.Random) -> tuple[str, str, str]:
    resource = pick(rng, RESOURCES)
    obj = pick(rng, OBJECTS)
    roll = rng.random()
    if roll < 0.6:
        obj = f"{pick(rng, (*PROJECTS, 'ghost'))}/{obj}"
    elif roll < 0.7:
        obj = pick(rng, PROJECTS)
    return resource, pick(rng, ACTIONS), obj


def random_case(rng: random.Random, lines: list[PolicyRule]) -> tuple[Claims | None, tuple[str, str, str]]:
    """Half the requests aim at a policy line (its subject, values filled in from its patterns)."""
    if not lines or rng.random() < 0.5:
        return random_claims(rng), random_request(rng)
    _, subject, resource, action, obj, _ = lines[rng.randrange(len(lines))]
    request = (instantiate(rng, resource), instantiate(rng, action), instantiate(rng, obj))
    if rng.random() < 0.2:
        request = (pick(rng, RESOURCES), *request[1:])
    return random_claims(rng, near=subject), request


def p_lines(scenario: Scenario) -> list[PolicyRule]:
    rules = list(parse_policy_csv(scenario.config.policy_csv))
    for project in scenario.projects.values():
        # A group name with a comma makes the project unusable (both paths fail closed on it).
        with contextlib.suppress(RbacConfigError):
            rules.extend(parse_policy_csv("\n".join(project_policy_lines(project))))
    return [rule for rule in rules if rule[0] == "p"]


class CasbinEnforcer(Enforcer):
    """The reference: every policy set decides through Casbin's own evaluation."""

    _engine = "casbin"


class VerifyingEnforcer(Enforcer):
    """Both paths on every evaluation; a disagreement is logged and Casbin's answer returned."""

    _engine = "verify"


SEEDS = range(30)
REQUESTS_PER_SCENARIO = 150


@pytest.mark.parametrize("seed", SEEDS)
def test_compiled_decisions_equal_casbin(seed: int) -> None:
    scenario = random_scenario(seed)
    compiled = Enforcer(config=scenario.config, project_lookup=scenario.projects.get)
    reference = CasbinEnforcer(config=scenario.config, project_lookup=scenario.projects.get)
    rng = random.Random(seed * 7919)
    lines = p_lines(scenario)
    mismatches = []
    for _ in range(REQUESTS_PER_SCENARIO):
        claims, request = random_case(rng, lines)
        expected = reference.enforce(claims, *request)
        if compiled.enforce(claims, *request) is not expected:
            mismatches.append((claims, request, expected))
    assert mismatches == []


def test_generated_requests_reach_both_outcomes() -> None:
    # Guards the generator: a differential test that only ever sees "deny" would prove little.
    outcomes = set()
    for seed in range(4):
        scenario = random_scenario(seed)
        enforcer = Enforcer(config=scenario.config, project_lookup=scenario.projects.get)
        rng = random.Random(seed)
        lines = p_lines(scenario)
        for _ in range(200):
            claims, request = random_case(rng, lines)
            outcomes.add(enforcer.enforce(claims, *request))
    assert outcomes == {True, False}


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("match_mode", ["glob", "regex"])
def test_policy_set_paths_agree_per_subject(seed: int, match_mode: str) -> None:
    rng = random.Random(seed)
    rules = parse_policy_csv(builtin_policy_csv() + "\n".join(random_lines(rng, regex=match_mode == "regex", count=30)))
    policy = PolicySet(rules, match_mode=match_mode)
    lines = [rule for rule in rules if rule[0] == "p"]
    for _ in range(300):
        claims, request = random_case(rng, lines)
        subject = "" if claims is None else claims.subject
        assert policy.compiled_allows(subject, request) is policy.casbin_allows(subject, request), (subject, request)


def test_role_closure_matches_casbin_has_link() -> None:
    rng = random.Random(42)
    names = [f"n{i}" for i in range(30)]
    links = [("n0", "n1"), *((f"n{i}", f"n{i + 1}") for i in range(1, 14)), ("n13", "n2")]
    links += [(pick(rng, tuple(names)), pick(rng, tuple(names))) for _ in range(25)]
    rules = (("p", "n0", "x", "y", "z", "allow"), *(("g", member, role) for member, role in links))
    policy = PolicySet(rules, match_mode="glob")
    role_manager = policy._casbin.get_role_manager()
    for member in [*names, "stranger"]:
        reached = policy.reachable(member)
        for role in [*names, "stranger"]:
            assert (role in reached) is role_manager.has_link(member, role), (member, role)
    # The chain is longer than Casbin's depth limit: the far end is out of reach.
    assert "n14" not in PolicySet(rules[:16], match_mode="glob").reachable("n0")


def test_verify_mode_finds_no_disagreement(caplog: pytest.LogCaptureFixture) -> None:
    scenario = random_scenario(5)
    enforcer = VerifyingEnforcer(config=scenario.config, project_lookup=scenario.projects.get)
    rng = random.Random(5)
    lines = p_lines(scenario)
    with caplog.at_level(logging.ERROR, logger="argocd_server.auth.rbac"):
        for _ in range(100):
            claims, request = random_case(rng, lines)
            enforcer.enforce(claims, *request)
    assert caplog.records == []


def test_verify_mode_reports_a_disagreement(caplog: pytest.LogCaptureFixture) -> None:
    policy = PolicySet(parse_policy_csv("p, u, applications, get, */*, allow"), match_mode="glob", engine="verify")
    request = ("applications", "get", "p/a")
    assert policy.allows("u", request)
    policy._views["u"] = policy._view("nobody")  # a wrong compiled view, planted
    with caplog.at_level(logging.ERROR, logger="argocd_server.auth.rbac"):
        assert policy.allows("u", request)  # Casbin's answer wins
    assert "disagrees" in caplog.text


def test_subject_views_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("argocd_server.auth.rbac._VIEW_CACHE_SIZE", 4)
    policy = PolicySet(parse_policy_csv(builtin_policy_csv()), match_mode="glob")
    for i in range(20):
        assert not policy.allows(f"user-{i}", ("applications", "get", "p/a"))
    assert policy.allows("admin", ("applications", "get", "p/a"))
    assert len(policy._views) == 4
