"""RBAC vocabulary and validation: what may be asked, how objects are named, which roles are valid.

Role: the checks that surround enforcement. It reproduces upstream's resource/action lists and the
can-i argument checks (``server/account``), the RBAC object names of applications, clusters and
repositories (``util/security`` and the ``RBACName`` methods of the v1alpha1 types), and the
validation and normalisation of ``AppProject.spec.roles`` (``ValidateProject`` /
``NormalizePolicies`` in the v1alpha1 project types).

Boundary: pure functions raising ``argocd_server.errors`` classes with upstream's wording; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from argocd_server.auth.rbac import (
    ProjectRbac,
    ProjectRole,
    RbacConfigError,
    parse_policy_csv,
    project_policy_lines,
)
from argocd_server.errors import AlreadyExists, InvalidArgument

__all__ = [
    "ACTIONS",
    "PROJECT_ROLE_RESOURCES",
    "RESOURCES",
    "app_rbac_name",
    "can_i_action",
    "cluster_rbac_name",
    "normalize_can_i_subresource",
    "normalize_policy",
    "normalize_project_roles",
    "repo_rbac_name",
    "validate_can_i",
    "validate_project_roles",
]

RESOURCES: Final[tuple[str, ...]] = (
    "clusters",
    "projects",
    "applications",
    "applicationsets",
    "repositories",
    "write-repositories",
    "certificates",
    "accounts",
    "gpgkeys",
    "logs",
    "exec",
    "extensions",
)
"""Every RBAC resource, in upstream's order (it shows in the can-i error text)."""

ACTIONS: Final[tuple[str, ...]] = (
    "get",
    "create",
    "update",
    "delete",
    "sync",
    "rollback",
    "override",
    "action",
    "invoke",
)
"""Every plain RBAC action, in upstream's order (it shows in the can-i error text)."""

PROJECT_ROLE_RESOURCES: Final = frozenset(
    {"applications", "applicationsets", "repositories", "clusters", "logs", "exec"}
)
"""Resources a project role policy may name."""

# Resources whose object is ``<project>/<name>`` or ``<project>/<namespace>/<name>``.
_APP_STYLE_RESOURCES: Final = frozenset({"applications", "applicationsets", "logs", "exec"})


def _go_list(values: Iterable[str]) -> str:
    # Go prints a []string with %v as space-separated items in brackets; clients match on that text.
    return "[" + " ".join(values) + "]"


# --------------------------------------------------------------------------------------------------
# can-i


def validate_can_i(resource: str, action: str) -> None:
    """InvalidArgument ``[get create ...] does not contain <x>``: action checked before resource."""
    if action not in ACTIONS:
        raise InvalidArgument(f"{_go_list(ACTIONS)} does not contain {action}")
    if resource not in RESOURCES:
        raise InvalidArgument(f"{_go_list(RESOURCES)} does not contain {resource}")


def can_i_action(action: str, rollback_enforced: bool = False) -> str:
    """The action can-i evaluates: ``rollback`` counts as ``sync`` unless rollback is enforced."""
    return "sync" if action == "rollback" and not rollback_enforced else action


def normalize_can_i_subresource(resource: str, subresource: str, *, namespace: str) -> str:
    """``proj/ns/name`` becomes ``proj/name`` when ``ns`` is the control-plane namespace."""
    if resource in _APP_STYLE_RESOURCES:
        parts = subresource.split("/")
        if len(parts) == 3 and parts[1] == namespace:
            return f"{parts[0]}/{parts[2]}"
    return subresource


# --------------------------------------------------------------------------------------------------
# Object names


def app_rbac_name(project: str, app_namespace: str, name: str, *, control_plane_namespace: str) -> str:
    """``<project>/<name>``, or ``<project>/<ns>/<name>`` outside the control-plane namespace.

    An empty project is ``default``, as everywhere RBAC names an application or application set.
    """
    project = project or "default"
    if control_plane_namespace and app_namespace and app_namespace != control_plane_namespace:
        return f"{project}/{app_namespace}/{name}"
    return f"{project}/{name}"


def cluster_rbac_name(server: str, project: str = "") -> str:
    """A cluster is named by its server URL (never its name), prefixed by its project if any."""
    return f"{project}/{server}" if project else server


def repo_rbac_name(url: str, project: str = "") -> str:
    """A repository (or credential template) is named by its URL, prefixed by its project if any."""
    return f"{project}/{url}" if project else url


# --------------------------------------------------------------------------------------------------
# Project roles

_ROLE_NAME: Final = re.compile(r"[a-zA-Z0-9]([-_a-zA-Z0-9]*[a-zA-Z0-9])?")
_GROUP_FORBIDDEN: Final = re.compile(r"[\"\n\r\t]")
_PLAIN_ACTIONS: Final = frozenset({"get", "create", "update", "delete", "sync", "override", "rollback", "*"})
# Unanchored on purpose: upstream accepts any action containing one of these.
_ACTION_PATTERNS: Final = (
    re.compile("action/.*"),
    re.compile("update/.*"),
    re.compile("delete/.*"),
)


def normalize_policy(policy: str) -> str:
    """``p,proj:a:b ,applications`` -> ``p, proj:a:b, applications`` (first field kept as is)."""
    first, *rest = policy.split(",")
    return ", ".join([first, *(part.strip(" ") for part in rest)])


def normalize_project_roles(roles: Iterable[ProjectRole]) -> tuple[ProjectRole, ...]:
    """Every role with normalised policies, as upstream does before validating and saving."""
    return tuple(
        ProjectRole(
            name=role.name,
            policies=tuple(normalize_policy(policy) for policy in role.policies),
            groups=role.groups,
        )
        for role in roles
    )


def validate_project_roles(*, project: str, roles: Iterable[ProjectRole]) -> None:
    """Check a project's roles: unique valid names, policies and groups, parseable as a whole.

    Duplicates raise AlreadyExists; anything malformed raises InvalidArgument. Call it on normalised
    roles.
    """
    roles = tuple(roles)
    seen_roles: set[str] = set()
    for role in roles:
        if role.name in seen_roles:
            raise AlreadyExists(f"role '{role.name}' already exists")
        _validate_role_name(role.name)
        seen_policies: set[str] = set()
        for policy in role.policies:
            if policy in seen_policies:
                raise AlreadyExists(f"policy '{policy}' already exists for role '{role.name}'")
            _validate_policy(project=project, role=role.name, policy=policy)
            seen_policies.add(policy)
        seen_groups: set[str] = set()
        for group in role.groups:
            if group in seen_groups:
                raise AlreadyExists(f"group '{group}' already exists for role '{role.name}'")
            _validate_group(group)
            seen_groups.add(group)
        seen_roles.add(role.name)
    try:
        parse_policy_csv("\n".join(project_policy_lines(ProjectRbac(name=project, roles=roles))))
    except RbacConfigError as exc:
        raise InvalidArgument(f"policy syntax error: {exc.message}") from exc


def _validate_role_name(name: str) -> None:
    if not _ROLE_NAME.fullmatch(name):
        raise InvalidArgument(
            f"invalid role name '{name}'. Must consist of alphanumeric characters, '-' or '_', "
            "and must start and end with an alphanumeric character"
        )


def _validate_policy(*, project: str, role: str, policy: str) -> None:
    # Upstream splits on bare commas here (no CSV quoting) and trims only spaces.
    fields = [part.strip(" ") for part in policy.split(",")]
    if len(fields) != 6 or fields[0] != "p":
        raise InvalidArgument(f"invalid policy rule '{policy}': must be of the form: 'p, sub, res, act, obj, eft'")
    _, subject, resource, action, obj, effect = fields
    expected = f"proj:{project}:{role}"
    if subject != expected:
        raise InvalidArgument(f"invalid policy rule '{policy}': policy subject must be: '{expected}', not '{subject}'")
    if resource not in PROJECT_ROLE_RESOURCES:
        raise InvalidArgument(
            f"invalid policy rule '{policy}': project resource must be: 'applications', "
            f"'applicationsets', 'repositories', 'exec', 'logs' or 'clusters', not '{resource}'"
        )
    if action not in _PLAIN_ACTIONS and not any(p.search(action) for p in _ACTION_PATTERNS):
        raise InvalidArgument(f"invalid policy rule '{policy}': invalid action '{action}'")
    object_pattern = re.escape(project) + r"(/[*\w.\-]+)?/[*\w.\-]+"
    if not re.fullmatch(object_pattern, obj, flags=re.ASCII):
        raise InvalidArgument(
            f"invalid policy rule '{policy}': object must be of form '{project}/*', "
            f"'{project}[/<NAMESPACE>]/<APPNAME>' or '{project}/<APPNAME>', not '{obj}'"
        )
    if effect not in {"allow", "deny"}:
        raise InvalidArgument(f"invalid policy rule '{policy}': effect must be: 'allow' or 'deny'")


def _validate_group(group: str) -> None:
    name = group.strip()
    if len(name) > 1 and name.startswith('"') and name.endswith('"'):
        # A quoted group may carry commas (it lands in a CSV line); judge what is inside the quotes.
        name = name[1:-1]
    elif "," in name:
        raise InvalidArgument(f"group '{name}' must be quoted")
    if not name:
        raise InvalidArgument(f"group '{name}' is empty")
    if _GROUP_FORBIDDEN.search(name):
        raise InvalidArgument(f"group '{name}' contains invalid characters")
    if name.strip() != name:
        raise InvalidArgument(f"group '{name}' contains leading or trailing whitespace")
