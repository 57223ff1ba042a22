"""RBAC as Argo CD decides it: roles, deny, policy.default, groups, projects, matching, caches."""

from __future__ import annotations

import logging
import threading

import pytest

from argocd_server.auth.rbac import (
    Claims,
    Enforcer,
    ProjectRbac,
    ProjectRole,
    RbacConfig,
    RbacConfigError,
    builtin_policy_csv,
    glob_match,
    parse_policy_csv,
    project_of,
    regex_match,
)
from argocd_server.errors import PermissionDenied
from tests.unit.auth.conftest import MakeEnforcer

ADMIN = Claims(subject="admin")

Check = tuple[str, str, str]


def user(name: str, *groups: str, iat: int | None = None) -> Claims:
    return Claims(subject=name, groups=groups, iat=iat)


# --------------------------------------------------------------------------------------------------
# Built-in roles


ADMIN_ALLOWED: list[Check] = [
    ("applications", "get", "default/guestbook"),
    ("applications", "create", "default/guestbook"),
    ("applications", "update", "team/other-ns/app"),
    ("applications", "update/apps/Deployment/default/web", "default/guestbook"),
    ("applications", "delete/*/Pod/ns/x", "default/guestbook"),
    ("applications", "sync", "default/guestbook"),
    ("applications", "rollback", "default/guestbook"),
    ("applications", "override", "default/guestbook"),
    ("applications", "action//Pod/restart", "default/guestbook"),
    ("applicationsets", "delete", "default/set"),
    ("clusters", "update", "https://kubernetes.default.svc"),
    ("repositories", "create", "https://github.com/argoproj/argocd-example-apps"),
    ("write-repositories", "delete", "https://example.com/repo.git"),
    ("projects", "delete", "default"),
    ("accounts", "update", "alice"),
    ("certificates", "create", ""),
    ("gpgkeys", "delete", ""),
    ("logs", "get", "default/guestbook"),
    ("exec", "create", "default/guestbook"),
]
ADMIN_DENIED: list[Check] = [
    # Nothing built in grants these: extensions and gpgkey updates need explicit policies.
    ("extensions", "invoke", "metrics"),
    ("gpgkeys", "update", ""),
    ("applications", "invoke", "default/guestbook"),
]


@pytest.mark.parametrize("check", ADMIN_ALLOWED)
def test_admin_may_do_everything_built_in(make_enforcer: MakeEnforcer, check: Check) -> None:
    assert make_enforcer().enforce(ADMIN, *check)


@pytest.mark.parametrize("check", ADMIN_DENIED)
def test_admin_lacks_what_no_built_in_line_grants(make_enforcer: MakeEnforcer, check: Check) -> None:
    assert not make_enforcer().enforce(ADMIN, *check)


READONLY_ALLOWED: list[Check] = [
    ("applications", "get", "default/guestbook"),
    ("applications", "get", "team/ns/app"),
    ("applicationsets", "get", "default/set"),
    ("clusters", "get", "https://kubernetes.default.svc"),
    ("repositories", "get", "https://example.com/repo.git"),
    ("write-repositories", "get", "https://example.com/repo.git"),
    ("projects", "get", "default"),
    ("accounts", "get", "admin"),
    ("certificates", "get", ""),
    ("gpgkeys", "get", ""),
    ("logs", "get", "default/guestbook"),
]
READONLY_DENIED: list[Check] = [
    ("applications", "create", "default/guestbook"),
    ("applications", "sync", "default/guestbook"),
    ("applications", "action//Pod/restart", "default/guestbook"),
    ("clusters", "update", "https://kubernetes.default.svc"),
    ("projects", "create", "new"),
    ("accounts", "update", "alice"),
    ("exec", "create", "default/guestbook"),
    ("certificates", "delete", ""),
]


@pytest.mark.parametrize("check", READONLY_ALLOWED)
def test_readonly_reads(make_enforcer: MakeEnforcer, check: Check) -> None:
    enforcer = make_enforcer("g, alice, role:readonly")
    assert enforcer.enforce(user("alice"), *check)


@pytest.mark.parametrize("check", READONLY_DENIED)
def test_readonly_never_writes(make_enforcer: MakeEnforcer, check: Check) -> None:
    enforcer = make_enforcer("g, alice, role:readonly")
    assert not enforcer.enforce(user("alice"), *check)


def test_unknown_user_gets_nothing(make_enforcer: MakeEnforcer) -> None:
    enforcer = make_enforcer()
    assert not enforcer.enforce(user("mallory"), "applications", "get", "default/guestbook")


def test_builtin_policy_csv_round_trips() -> None:
    rules = parse_policy_csv(builtin_policy_csv())
    assert ("g", "admin", "role:admin") in rules
    assert ("p", "role:admin", "exec", "create", "*/*", "allow") in rules


# --------------------------------------------------------------------------------------------------
# Custom roles, deny, policy.default


CUSTOM_POLICY = """
# developers sync their own team's apps
p, role:dev, applications, get, team-*/*, allow
p, role:dev, applications, sync, team-*/*, allow
p, role:dev, applications, sync, team-prod/*, deny
g, bob, role:dev
"""


@pytest.mark.parametrize(
    ("check", "allowed"),
    [
        (("applications", "get", "team-a/web"), True),
        (("applications", "sync", "team-a/web"), True),
        (("applications", "sync", "team-a/other-ns/web"), True),
        (("applications", "sync", "team-prod/web"), False),
        (("applications", "get", "team-prod/web"), True),
        (("applications", "delete", "team-a/web"), False),
        (("applications", "get", "infra/web"), False),
        (("clusters", "get", "https://kubernetes.default.svc"), False),
    ],
)
def test_custom_role_through_g(make_enforcer: MakeEnforcer, check: Check, allowed: bool) -> None:
    assert make_enforcer(CUSTOM_POLICY).enforce(user("bob"), *check) is allowed


def test_direct_deny_overrides_an_inherited_allow(make_enforcer: MakeEnforcer) -> None:
    enforcer = make_enforcer(
        """
        g, carol, role:admin
        p, carol, clusters, delete, *, deny
        p, carol, applications, *, prod/*, deny
        """
    )
    carol = user("carol")
    assert enforcer.enforce(carol, "clusters", "update", "https://kubernetes.default.svc")
    assert not enforcer.enforce(carol, "clusters", "delete", "https://kubernetes.default.svc")
    assert enforcer.enforce(carol, "applications", "sync", "dev/web")
    assert not enforcer.enforce(carol, "applications", "get", "prod/web")


def test_deny_wins_regardless_of_line_order(make_enforcer: MakeEnforcer) -> None:
    deny_first = make_enforcer("p, dan, applications, get, */*, deny\np, dan, applications, get, */*, allow")
    allow_first = make_enforcer("p, dan, applications, get, */*, allow\np, dan, applications, get, */*, deny")
    for enforcer in (deny_first, allow_first):
        assert not enforcer.enforce(user("dan"), "applications", "get", "p/a")


def test_unknown_effect_neither_allows_nor_denies(make_enforcer: MakeEnforcer) -> None:
    enforcer = make_enforcer("p, dan, applications, get, */*, maybe\ng, erin, role:readonly")
    assert not enforcer.enforce(user("dan"), "applications", "get", "p/a")


def test_policy_default_grants_everyone_including_anonymous(make_enforcer: MakeEnforcer) -> None:
    enforcer = make_enforcer(default="role:readonly")
    for claims in (None, user("mallory"), user("")):
        assert enforcer.enforce(claims, "applications", "get", "default/guestbook")
        assert not enforcer.enforce(claims, "applications", "delete", "default/guestbook")


def test_user_deny_cannot_take_away_a_default_role_grant(make_enforcer: MakeEnforcer) -> None:
    enforcer = make_enforcer("p, dave, applications, get, */*, deny", default="role:readonly")
    assert enforcer.enforce(user("dave"), "applications", "get", "default/guestbook")


def test_default_role_deny_does_not_stop_evaluation(make_enforcer: MakeEnforcer) -> None:
    enforcer = make_enforcer("p, role:limited, applications, get, secret/*, deny", default="role:limited")
    assert enforcer.enforce(ADMIN, "applications", "get", "secret/vault")
    assert not enforcer.enforce(user("mallory"), "applications", "get", "secret/vault")


def test_anonymous_without_default_gets_nothing(make_enforcer: MakeEnforcer) -> None:
    enforcer = make_enforcer("p, *, applications, get, */*, allow")
    assert not enforcer.enforce(None, "applications", "get", "default/guestbook")
    assert not enforcer.enforce(None, "certificates", "get", "")


def test_subjects_are_never_wildcarded(make_enforcer: MakeEnforcer) -> None:
    enforcer = make_enforcer("p, *, applications, get, */*, allow\ng, team-*, role:admin")
    assert not enforcer.enforce(user("zoe"), "applications", "get", "default/guestbook")
    assert not enforcer.enforce(user("zoe", "team-a"), "applications", "create", "default/x")


def test_anonymous_gets_exactly_the_default_role(make_enforcer: MakeEnforcer) -> None:
    enforcer = make_enforcer("g, role:guest, role:readonly", default="role:guest")
    assert enforcer.enforce(None, "projects", "get", "default")
    assert not enforcer.enforce(None, "projects", "update", "default")


# --------------------------------------------------------------------------------------------------
# Groups and scopes


def test_group_counts_when_it_is_the_left_side_of_a_g_line(make_enforcer: MakeEnforcer) -> None:
    enforcer = make_enforcer("g, my-org:platform, role:admin")
    assert enforcer.enforce(user("sso-user", "my-org:dev", "my-org:platform"), "clusters", "delete", "x")
    assert not enforcer.enforce(user("sso-user", "my-org:dev"), "clusters", "delete", "x")


def test_group_named_only_in_p_lines_is_ignored(make_enforcer: MakeEnforcer) -> None:
    # Upstream pre-filters claim groups by the left side of g lines, so a p line naming a group is
    # dead.
    enforcer = make_enforcer("p, my-org:devs, applications, get, */*, allow")
    assert not enforcer.enforce(user("sso-user", "my-org:devs"), "applications", "get", "p/a")
    with_binding = make_enforcer("p, my-org:devs, applications, get, */*, allow\ng, my-org:devs, role:nothing")
    assert with_binding.enforce(user("sso-user", "my-org:devs"), "applications", "get", "p/a")


def test_a_group_deny_only_affects_that_group(make_enforcer: MakeEnforcer) -> None:
    enforcer = make_enforcer(
        "g, ops, role:admin\ng, interns, role:readonly\np, interns, applications, get, secret/*, deny"
    )
    both = user("sam", "interns", "ops")
    # Each group is evaluated on its own; any one allowing is enough.
    assert enforcer.enforce(both, "applications", "get", "secret/vault")
    assert not enforcer.enforce(user("ivy", "interns"), "applications", "get", "secret/vault")


def test_custom_scopes_feed_groups() -> None:
    config = RbacConfig.from_configmap_data(
        {
            "scopes": "[roles, email]",
            "policy.csv": "g, argo-admins, role:admin\ng, a@x.io, role:readonly",
        }
    )
    assert config.scopes == ("roles", "email")
    raw = {"sub": "CgNhYmM", "roles": ["argo-admins", 7], "email": "a@x.io", "groups": ["ignored"]}
    claims = Claims.from_token_claims(raw, scopes=config.scopes)
    assert claims.groups == ("argo-admins", "a@x.io")
    enforcer = Enforcer(config=config, project_lookup=lambda _: None)
    assert enforcer.enforce(claims, "clusters", "delete", "x")
    default_scoped = Claims.from_token_claims(raw, scopes=RbacConfig().scopes)
    assert default_scoped.groups == ("ignored",)
    assert not enforcer.enforce(default_scoped, "clusters", "get", "x")


def test_claims_subject_prefers_federated_user_id() -> None:
    raw = {"sub": "opaque", "federated_claims": {"user_id": "alice"}, "iat": 1700000000.0}
    claims = Claims.from_token_claims(raw, scopes=())
    assert (claims.subject, claims.iat, claims.groups) == ("alice", 1700000000, ())
    assert Claims.from_token_claims({"sub": "bob", "iat": True}, scopes=()).iat is None


# --------------------------------------------------------------------------------------------------
# Project roles


def project(name: str, *roles: ProjectRole, version: str = "1") -> ProjectRbac:
    return ProjectRbac(name=name, roles=roles, version=version)


DEPLOYER = ProjectRole(
    name="deployer",
    policies=(
        "p, proj:team:deployer, applications, sync, team/*, allow",
        "p, proj:team:deployer, applications, get, team/*, allow",
        "p, proj:team:deployer, applications, get, team/secret, deny",
        # Never accepted by validation, but enforcement must still confine the role to its project.
        "p, proj:team:deployer, applications, get, other/*, allow",
    ),
    groups=("sso:deployers",),
)
DEPLOYER_TOKEN = Claims(subject="proj:team:deployer", iat=1700000000)


@pytest.fixture
def team_projects(projects: dict[str, ProjectRbac]) -> dict[str, ProjectRbac]:
    projects["team"] = project("team", DEPLOYER)
    projects["other"] = project("other")
    return projects


@pytest.mark.usefixtures("team_projects")
@pytest.mark.parametrize(
    ("check", "allowed"),
    [
        (("applications", "sync", "team/web"), True),
        (("applications", "get", "team/ns2/web"), True),
        (("applications", "get", "team/secret"), False),
        (("applications", "delete", "team/web"), False),
        (("projects", "get", "team"), True),
        (("projects", "update", "team"), False),
        (("projects", "get", "other"), False),
        (("applications", "get", "other/web"), False),
        (("applications", "get", "ghost/web"), False),
        (("clusters", "get", "https://kubernetes.default.svc"), False),
    ],
)
def test_project_role_subject(make_enforcer: MakeEnforcer, check: Check, allowed: bool) -> None:
    assert make_enforcer().enforce(DEPLOYER_TOKEN, *check) is allowed


@pytest.mark.usefixtures("team_projects")
def test_project_subject_outside_project_scope_uses_global_policy(
    make_enforcer: MakeEnforcer,
) -> None:
    enforcer = make_enforcer("p, proj:team:deployer, certificates, get, *, allow")
    assert enforcer.enforce(DEPLOYER_TOKEN, "certificates", "get", "")
    assert not enforcer.enforce(DEPLOYER_TOKEN, "gpgkeys", "get", "")


@pytest.mark.usefixtures("team_projects")
def test_project_subject_ignores_other_projects_even_with_global_grants(
    make_enforcer: MakeEnforcer,
) -> None:
    enforcer = make_enforcer("g, proj:team:deployer, role:admin")
    assert enforcer.enforce(DEPLOYER_TOKEN, "applications", "delete", "team/web")
    assert not enforcer.enforce(DEPLOYER_TOKEN, "applications", "delete", "other/web")


@pytest.mark.usefixtures("team_projects")
def test_project_role_groups_grant_sso_users(make_enforcer: MakeEnforcer) -> None:
    enforcer = make_enforcer()
    member = user("sso-user", "sso:deployers")
    assert enforcer.enforce(member, "applications", "sync", "team/web")
    assert enforcer.enforce(member, "projects", "get", "team")
    assert not enforcer.enforce(member, "applications", "get", "team/secret")
    # The binding only exists while checking objects of that project.
    assert not enforcer.enforce(member, "applications", "get", "other/web")
    assert not enforcer.enforce(member, "certificates", "get", "")
    assert not enforcer.enforce(user("sso-user", "sso:others"), "applications", "sync", "team/web")


@pytest.mark.usefixtures("team_projects")
def test_project_policies_apply_to_users_only_through_groups(make_enforcer: MakeEnforcer) -> None:
    enforcer = make_enforcer("g, alice, proj:team:deployer")
    assert enforcer.enforce(user("alice"), "applications", "sync", "team/web")
    assert not enforcer.enforce(user("alice"), "applications", "sync", "other/web")


def test_project_of() -> None:
    assert project_of("applications", "team/ns/app") == "team"
    assert project_of("clusters", "team/https://x") == "team"
    assert project_of("clusters", "https://kubernetes.default.svc") == "https:"
    assert project_of("applications", "app-without-project") is None
    assert project_of("projects", "team") == "team"
    assert project_of("certificates", "a/b") is None


def test_lookup_skipped_for_names_no_project_can_have() -> None:
    asked: list[str] = []

    def lookup(name: str) -> ProjectRbac | None:
        asked.append(name)
        return None

    enforcer = Enforcer(config=RbacConfig(), project_lookup=lookup)
    enforcer.enforce(ADMIN, "clusters", "get", "https://kubernetes.default.svc")
    enforcer.enforce(ADMIN, "applications", "get", "team/web")
    enforcer.enforce(ADMIN, "certificates", "get", "")
    assert asked == ["team"]


# --------------------------------------------------------------------------------------------------
# Matching


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("*", "", True),
        ("*", "a/b/c", True),
        ("team-*", "team-a/app", True),
        ("*/guestbook", "team/ns/guestbook", True),
        ("*/guestbook", "team/guestbook-2", False),
        ("default/app-?", "default/app-1", True),
        ("default/app-?", "default/app-10", False),
        ("a?b", "a/b", True),
        ("{dev,staging}/*", "staging/web", True),
        ("{dev,staging}/*", "prod/web", False),
        ("{dev,st*}/x", "stage/x", True),
        ("app-[0-9]", "app-7", True),
        ("app-[0-9]", "app-x", False),
        ("app-[!0-9]", "app-x", True),
        ("app-[!0-9]", "app-7", False),
        ("app-[xyz]", "app-y", True),
        ("app-[!xyz]", "app-y", False),
        ("lit\\*", "lit*", True),
        ("lit\\*", "litx", False),
        ("a,b}", "a,b}", True),
        ("exact", "exact", True),
        ("exact", "exactly", False),
        ("update/*", "update/apps/Deployment/ns/web", True),
        ("action//Pod/*", "action//Pod/restart", True),
        # Malformed patterns match nothing.
        ("app-[a-z0-9]", "app-a", False),
        ("{a,b", "a", False),
        ("[abc", "a", False),
        ("trailing\\", "trailing\\", False),
    ],
)
def test_glob_semantics(pattern: str, value: str, matches: bool) -> None:
    assert glob_match(pattern, value) is matches


def test_glob_through_policies(make_enforcer: MakeEnforcer) -> None:
    enforcer = make_enforcer(
        "p, gil, applications, get, team-*, allow\n"
        # Alternatives contain commas, so the field must be CSV-quoted.
        'p, gil, applications, sync, "{dev,staging}/web-?", allow\n'
        "p, gil, clusters, get, https://*.example.com, allow"
    )
    gil = user("gil")
    assert enforcer.enforce(gil, "applications", "get", "team-a/ns/app")
    assert enforcer.enforce(gil, "applications", "sync", "staging/web-1")
    assert not enforcer.enforce(gil, "applications", "sync", "prod/web-1")
    assert enforcer.enforce(gil, "clusters", "get", "https://a.b.example.com")
    assert not enforcer.enforce(gil, "clusters", "get", "https://example.org")


def test_regex_match_is_unanchored() -> None:
    assert regex_match("dev", "my-dev-project/app")
    assert not regex_match("^dev$", "my-dev-project/app")


def test_regex_mode(make_enforcer: MakeEnforcer) -> None:
    enforcer = make_enforcer(
        "p, rex, applications, get, ^dev/.*$, allow\n"
        "p, rex, applications, sync, staging, allow\n"
        "p, rex, applications, delete, (, allow",
        match_mode="regex",
    )
    rex = user("rex")
    assert enforcer.enforce(rex, "applications", "get", "dev/web")
    assert not enforcer.enforce(rex, "applications", "get", "xdev/web")
    assert enforcer.enforce(rex, "applications", "sync", "pre-staging-2/web")
    assert not enforcer.enforce(rex, "applications", "delete", "(/web")


def test_regex_mode_breaks_glob_style_builtin_roles(make_enforcer: MakeEnforcer) -> None:
    # Upstream issue 13127: the built-in ``*`` patterns are not valid regexes, so those checks fail.
    enforcer = make_enforcer(match_mode="regex")
    assert not enforcer.enforce(ADMIN, "applications", "get", "default/guestbook")


def test_unknown_match_mode_behaves_as_glob(make_enforcer: MakeEnforcer) -> None:
    enforcer = make_enforcer(match_mode="Regex")
    assert enforcer.enforce(ADMIN, "applications", "get", "default/guestbook")


# --------------------------------------------------------------------------------------------------
# Denial text


def test_denial_message_with_claims(make_enforcer: MakeEnforcer) -> None:
    with pytest.raises(PermissionDenied) as info:
        make_enforcer().enforce_or_raise(user("alice", iat=1700000000), "applications", "get", "p/a")
    assert info.value.message == ("permission denied: applications, get, p/a, sub: alice, iat: 2023-11-14T22:13:20Z")
    assert info.value.http_status == 403


def test_denial_message_without_claims(make_enforcer: MakeEnforcer) -> None:
    enforcer = make_enforcer()
    with pytest.raises(PermissionDenied, match=r"^permission denied: certificates, create, $"):
        enforcer.enforce_or_raise(None, "certificates", "create", "")
    with pytest.raises(PermissionDenied, match=r"^permission denied: projects, get, p, sub: bob$"):
        enforcer.enforce_or_raise(user("bob"), "projects", "get", "p")


def test_enforce_or_raise_passes_when_allowed(make_enforcer: MakeEnforcer) -> None:
    make_enforcer().enforce_or_raise(ADMIN, "projects", "get", "p")


# --------------------------------------------------------------------------------------------------
# Configuration, reload, caches


def test_configmap_data_concatenation_order() -> None:
    config = RbacConfig.from_configmap_data(
        {
            "policy.z.csv": "g, zed, role:admin",
            "policy.csv": "g, main, role:admin",
            "policy.a.csv": "g, ann, role:admin",
            "policy.default": "role:readonly",
            "policy.matchMode": "regex",
            "policy.notcsv": "ignored",
        }
    )
    assert config.policy_csv == "g, main, role:admin\ng, ann, role:admin\ng, zed, role:admin"
    assert (config.policy_default, config.match_mode, config.scopes) == (
        "role:readonly",
        "regex",
        ("groups",),
    )


def test_configmap_defaults() -> None:
    assert RbacConfig.from_configmap_data({}) == RbacConfig(
        policy_csv="", policy_default="", match_mode="glob", scopes=("groups",)
    )


@pytest.mark.parametrize("scopes", ["groups", "{a: b}", "[a, [b]]", "[unclosed"])
def test_bad_scopes_are_rejected(scopes: str) -> None:
    with pytest.raises(RbacConfigError, match="scopes"):
        RbacConfig.from_configmap_data({"scopes": scopes})


def test_policy_parsing_handles_quotes_comments_and_blank_lines() -> None:
    rules = parse_policy_csv('\n  # comment\n\n g, "my,group", role:admin  \np,a,b,c,d,allow\n')
    assert rules == (("g", "my,group", "role:admin"), ("p", "a", "b", "c", "d", "allow"))


@pytest.mark.parametrize(
    "line", ["p, a, b, c, allow", "g, a", "g, a, b, c", "x, a, b", "p2, a, b, c, d, allow", ",a,b"]
)
def test_bad_policy_lines_are_rejected(line: str) -> None:
    with pytest.raises(RbacConfigError, match="invalid RBAC policy"):
        parse_policy_csv(line)


def test_quoted_group_binding_is_enforced(make_enforcer: MakeEnforcer) -> None:
    enforcer = make_enforcer('g, "cn=ops,dc=example", role:admin')
    assert enforcer.enforce(user("u", "cn=ops,dc=example"), "clusters", "delete", "x")


def test_hot_reload(make_enforcer: MakeEnforcer) -> None:
    enforcer = make_enforcer()
    frank = user("frank")
    assert not enforcer.enforce(frank, "projects", "create", "p")
    enforcer.set_config(RbacConfig(policy_csv="g, frank, role:admin"))
    assert enforcer.enforce(frank, "projects", "create", "p")
    assert enforcer.config.policy_csv == "g, frank, role:admin"
    enforcer.set_config(RbacConfig())
    assert not enforcer.enforce(frank, "projects", "create", "p")


def test_invalid_reload_keeps_the_previous_policy(make_enforcer: MakeEnforcer) -> None:
    enforcer = make_enforcer("g, frank, role:admin")
    with pytest.raises(RbacConfigError):
        enforcer.set_config(RbacConfig(policy_csv="p, broken"))
    assert enforcer.enforce(user("frank"), "projects", "create", "p")


def test_invalid_initial_policy_is_rejected(make_enforcer: MakeEnforcer) -> None:
    with pytest.raises(RbacConfigError):
        make_enforcer("g, only-two")


def test_project_role_change_seen_on_new_version(make_enforcer: MakeEnforcer, projects: dict[str, ProjectRbac]) -> None:
    projects["team"] = project("team", DEPLOYER, version="1")
    enforcer = make_enforcer()
    assert enforcer.enforce(DEPLOYER_TOKEN, "applications", "sync", "team/web")
    projects["team"] = project("team", ProjectRole(name="deployer"), version="2")
    assert not enforcer.enforce(DEPLOYER_TOKEN, "applications", "sync", "team/web")
    assert enforcer.enforce(DEPLOYER_TOKEN, "projects", "get", "team")


def test_invalidate_project_when_version_is_unchanged(
    make_enforcer: MakeEnforcer, projects: dict[str, ProjectRbac]
) -> None:
    projects["team"] = project("team", DEPLOYER, version="same")
    enforcer = make_enforcer()
    member = user("sso-user", "sso:deployers")
    assert enforcer.enforce(member, "applications", "sync", "team/web")
    projects["team"] = project("team", ProjectRole(name="deployer", policies=DEPLOYER.policies), version="same")
    enforcer.invalidate_project("team")
    assert not enforcer.enforce(member, "applications", "sync", "team/web")


def test_deleted_project_revokes_its_roles(make_enforcer: MakeEnforcer, projects: dict[str, ProjectRbac]) -> None:
    projects["team"] = project("team", DEPLOYER)
    enforcer = make_enforcer()
    assert enforcer.enforce(DEPLOYER_TOKEN, "applications", "sync", "team/web")
    del projects["team"]
    assert not enforcer.enforce(DEPLOYER_TOKEN, "applications", "sync", "team/web")
    assert not enforcer.enforce(DEPLOYER_TOKEN, "projects", "get", "team")


def test_unparseable_project_policy_fails_closed(make_enforcer: MakeEnforcer, projects: dict[str, ProjectRbac]) -> None:
    projects["bad"] = project("bad", ProjectRole(name="r", policies=("p, proj:bad:r, applications",)))
    enforcer = make_enforcer(default="role:readonly")
    assert not enforcer.enforce(ADMIN, "applications", "sync", "bad/web")
    # policy.default is consulted before the project is involved.
    assert enforcer.enforce(ADMIN, "applications", "get", "bad/web")


def test_decision_cache_is_bounded(projects: dict[str, ProjectRbac]) -> None:
    enforcer = Enforcer(config=RbacConfig(), project_lookup=projects.get, cache_size=8)
    for i in range(50):
        assert enforcer.enforce(ADMIN, "applications", "get", f"p/app-{i}")
    assert len(enforcer._decisions) == 8


def test_casbin_does_not_log_decisions(make_enforcer: MakeEnforcer, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        enforcer = make_enforcer("g, alice, role:readonly")
        enforcer.enforce(user("alice"), "applications", "get", "p/a")
        enforcer.enforce(user("alice"), "applications", "delete", "p/a")
    assert not [record for record in caplog.records if record.name.startswith("casbin")]


def test_concurrent_checks_agree(projects: dict[str, ProjectRbac]) -> None:
    projects["team"] = project("team", DEPLOYER)
    enforcer = Enforcer(config=RbacConfig(policy_csv=CUSTOM_POLICY), project_lookup=projects.get, cache_size=4)
    cases: list[tuple[Claims, Check, bool]] = [
        (ADMIN, ("clusters", "delete", "x"), True),
        (user("bob"), ("applications", "sync", "team-a/web"), True),
        (user("bob"), ("applications", "sync", "team-prod/web"), False),
        (DEPLOYER_TOKEN, ("applications", "sync", "team/web"), True),
        (DEPLOYER_TOKEN, ("applications", "delete", "team/web"), False),
    ]
    errors: list[str] = []

    def worker(offset: int) -> None:
        for i in range(200):
            claims, check, expected = cases[(i + offset) % len(cases)]
            if enforcer.enforce(claims, *check) is not expected:
                errors.append(f"{claims.subject} {check}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
