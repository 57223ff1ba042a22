"""can-i argument checks, RBAC object names and project role validation, with upstream's texts."""

from __future__ import annotations

import pytest

from argocd_server.auth.rbac import ProjectRole
from argocd_server.auth.rbac_validation import (
    ACTIONS,
    RESOURCES,
    app_rbac_name,
    can_i_action,
    cluster_rbac_name,
    normalize_can_i_subresource,
    normalize_policy,
    normalize_project_roles,
    repo_rbac_name,
    validate_can_i,
    validate_project_roles,
)
from argocd_server.errors import AlreadyExists, InvalidArgument

# --------------------------------------------------------------------------------------------------
# can-i


def test_vocabulary() -> None:
    assert len(RESOURCES) == 12
    assert "write-repositories" in RESOURCES
    assert ACTIONS[0] == "get"
    assert ACTIONS[-1] == "invoke"


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("action", ACTIONS)
def test_can_i_accepts_the_vocabulary(resource: str, action: str) -> None:
    validate_can_i(resource, action)


def test_can_i_unknown_action() -> None:
    with pytest.raises(InvalidArgument) as info:
        validate_can_i("applications", "destroy")
    assert info.value.message == (
        "[get create update delete sync rollback override action invoke] does not contain destroy"
    )
    assert info.value.http_status == 400


def test_can_i_unknown_resource() -> None:
    with pytest.raises(InvalidArgument) as info:
        validate_can_i("widgets", "get")
    assert info.value.message == (
        "[clusters projects applications applicationsets repositories write-repositories "
        "certificates accounts gpgkeys logs exec extensions] does not contain widgets"
    )


def test_can_i_checks_the_action_first() -> None:
    with pytest.raises(InvalidArgument, match=r"does not contain destroy$"):
        validate_can_i("widgets", "destroy")


def test_can_i_rollback_is_sync_unless_enforced() -> None:
    assert can_i_action("rollback") == "sync"
    assert can_i_action("rollback", rollback_enforced=True) == "rollback"
    assert can_i_action("get") == "get"


@pytest.mark.parametrize(
    ("resource", "subresource", "expected"),
    [
        ("applications", "proj/argocd/app", "proj/app"),
        ("applications", "proj/other/app", "proj/other/app"),
        ("applicationsets", "proj/argocd/set", "proj/set"),
        ("logs", "proj/argocd/app", "proj/app"),
        ("exec", "proj/argocd/app", "proj/app"),
        ("applications", "proj/app", "proj/app"),
        ("applications", "*", "*"),
        ("clusters", "proj/argocd/x", "proj/argocd/x"),
        ("projects", "proj", "proj"),
    ],
)
def test_can_i_subresource_normalisation(resource: str, subresource: str, expected: str) -> None:
    assert normalize_can_i_subresource(resource, subresource, namespace="argocd") == expected


# --------------------------------------------------------------------------------------------------
# Object names


@pytest.mark.parametrize(
    ("project", "namespace", "expected"),
    [
        ("team", "argocd", "team/guestbook"),
        ("team", "", "team/guestbook"),
        ("team", "apps", "team/apps/guestbook"),
        ("", "argocd", "default/guestbook"),
        ("", "apps", "default/apps/guestbook"),
    ],
)
def test_app_rbac_name(project: str, namespace: str, expected: str) -> None:
    assert app_rbac_name(project, namespace, "guestbook", control_plane_namespace="argocd") == expected


def test_app_rbac_name_without_control_plane_namespace() -> None:
    assert app_rbac_name("team", "apps", "guestbook", control_plane_namespace="") == "team/guestbook"


def test_cluster_and_repo_names() -> None:
    assert cluster_rbac_name("https://kubernetes.default.svc") == "https://kubernetes.default.svc"
    assert cluster_rbac_name("https://k8s.example.com", "team") == "team/https://k8s.example.com"
    assert repo_rbac_name("https://github.com/a/b.git") == "https://github.com/a/b.git"
    assert repo_rbac_name("git@github.com:a/b.git", "team") == "team/git@github.com:a/b.git"


# --------------------------------------------------------------------------------------------------
# Project roles


def role(*policies: str, name: str = "ci", groups: tuple[str, ...] = ()) -> ProjectRole:
    return ProjectRole(name=name, policies=policies, groups=groups)


def test_normalize_policy() -> None:
    assert normalize_policy("p,proj:team:ci ,applications,  get,team/*,allow") == (
        "p, proj:team:ci, applications, get, team/*, allow"
    )
    # Only the fields after the first are trimmed, as upstream does.
    assert normalize_policy(" p,a") == " p, a"


def test_normalize_project_roles() -> None:
    (normalised,) = normalize_project_roles([role("p,proj:team:ci,applications,get,team/*,allow", groups=("g1",))])
    assert normalised == role("p, proj:team:ci, applications, get, team/*, allow", groups=("g1",))


@pytest.mark.parametrize(
    "policy",
    [
        "p, proj:team:ci, applications, get, team/*, allow",
        "p, proj:team:ci, applications, sync, team/guestbook, deny",
        "p, proj:team:ci, applications, get, team/apps-ns/guestbook, allow",
        "p, proj:team:ci, applicationsets, create, team/*, allow",
        "p, proj:team:ci, repositories, *, team/*, allow",
        "p, proj:team:ci, clusters, rollback, team/*, allow",
        "p, proj:team:ci, logs, get, team/*, allow",
        "p, proj:team:ci, exec, create, team/*, allow",
        "p, proj:team:ci, applications, action/apps/Deployment/restart, team/*, allow",
        "p, proj:team:ci, applications, update/*/Pod/*, team/*, allow",
        "p, proj:team:ci, applications, delete/apps/*, team/*, allow",
        "p, proj:team:ci, applications, override, team/web_1.x-y, allow",
    ],
)
def test_valid_role_policies(policy: str) -> None:
    validate_project_roles(project="team", roles=[role(policy)])


FORM = "must be of the form: 'p, sub, res, act, obj, eft'"


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("p, proj:team:ci, applications, get, team/*", FORM),
        ("g, proj:team:ci, applications, get, team/*, allow", FORM),
        ("p, proj:team:ci, applications, get, team/*, allow, extra", FORM),
        (
            "p, proj:team:other, applications, get, team/*, allow",
            "policy subject must be: 'proj:team:ci', not 'proj:team:other'",
        ),
        (
            "p, alice, applications, get, team/*, allow",
            "policy subject must be: 'proj:team:ci', not 'alice'",
        ),
        (
            "p, proj:team:ci, projects, get, team, allow",
            "project resource must be: 'applications', 'applicationsets', 'repositories', 'exec', "
            "'logs' or 'clusters', not 'projects'",
        ),
        ("p, proj:team:ci, applications, invoke, team/*, allow", "invalid action 'invoke'"),
        ("p, proj:team:ci, applications, get*, team/*, allow", "invalid action 'get*'"),
        (
            "p, proj:team:ci, applications, get, other/*, allow",
            "object must be of form 'team/*', 'team[/<NAMESPACE>]/<APPNAME>' or 'team/<APPNAME>', not 'other/*'",
        ),
        ("p, proj:team:ci, applications, get, team, allow", "not 'team'"),
        ("p, proj:team:ci, applications, get, team/a/b/c, allow", "not 'team/a/b/c'"),
        ("p, proj:team:ci, applications, get, team/{a}, allow", "not 'team/{a}'"),
        ("p, proj:team:ci, applications, get, team/*, maybe", "effect must be: 'allow' or 'deny'"),
    ],
)
def test_invalid_role_policies(policy: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        validate_project_roles(project="team", roles=[role(policy)])
    assert info.value.message.startswith(f"invalid policy rule '{policy}': ")
    assert info.value.message.endswith(message)


def test_project_name_is_literal_in_object_pattern() -> None:
    policy = "p, proj:a.b:ci, applications, get, aXb/app, allow"
    with pytest.raises(InvalidArgument, match="object must be of form"):
        validate_project_roles(project="a.b", roles=[role(policy)])


@pytest.mark.parametrize("name", ["ci", "CI-bot_2", "a", "9"])
def test_valid_role_names(name: str) -> None:
    validate_project_roles(project="team", roles=[role(name=name)])


@pytest.mark.parametrize("name", ["", "-ci", "ci-", "ci bot", "ci:bot", "ci/bot", "_x"])
def test_invalid_role_names(name: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        validate_project_roles(project="team", roles=[role(name=name)])
    assert info.value.message == (
        f"invalid role name '{name}'. Must consist of alphanumeric characters, '-' or '_', "
        "and must start and end with an alphanumeric character"
    )


def test_duplicate_role() -> None:
    with pytest.raises(AlreadyExists, match=r"^role 'ci' already exists$") as info:
        validate_project_roles(project="team", roles=[role(), role()])
    assert info.value.http_status == 409


def test_duplicate_policy() -> None:
    policy = "p, proj:team:ci, applications, get, team/*, allow"
    with pytest.raises(AlreadyExists, match=r"^policy '.*' already exists for role 'ci'$"):
        validate_project_roles(project="team", roles=[role(policy, policy)])


def test_duplicates_detected_after_normalisation() -> None:
    roles = normalize_project_roles(
        [
            role(
                "p, proj:team:ci, applications, get, team/*, allow",
                "p,proj:team:ci,applications,get,team/*,allow",
            )
        ]
    )
    with pytest.raises(AlreadyExists):
        validate_project_roles(project="team", roles=roles)


@pytest.mark.parametrize("group", ["my-org:team", '"cn=ops,dc=example"', "a b", "  padded  "])
def test_valid_groups(group: str) -> None:
    validate_project_roles(project="team", roles=[role(groups=(group,))])


@pytest.mark.parametrize(
    ("group", "message"),
    [
        ("cn=ops,dc=example", "group 'cn=ops,dc=example' must be quoted"),
        ("", "group '' is empty"),
        ('""', "group '' is empty"),
        ("a\tb", "group 'a\tb' contains invalid characters"),
        ('a"b', "group 'a\"b' contains invalid characters"),
        ('" padded"', "group ' padded' contains leading or trailing whitespace"),
    ],
)
def test_invalid_groups(group: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        validate_project_roles(project="team", roles=[role(groups=(group,))])
    assert info.value.message == message


def test_duplicate_group() -> None:
    with pytest.raises(AlreadyExists, match=r"^group 'ops' already exists for role 'ci'$"):
        validate_project_roles(project="team", roles=[role(groups=("ops", "ops"))])


def test_same_policy_in_two_roles_is_fine() -> None:
    validate_project_roles(
        project="team",
        roles=[
            role("p, proj:team:a, applications, get, team/*, allow", name="a"),
            role("p, proj:team:b, applications, get, team/*, allow", name="b"),
        ],
    )
