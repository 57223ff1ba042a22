"""Micro-benchmark of RBAC checks: microseconds per warm (cached) and cold (uncached) decision.

Run: ``python bench/rbac.py [--rounds N]``. Warm checks repeat one request, so they measure the
decision cache plus the project lookup; cold checks vary the object so every check reaches Casbin.
"""

from __future__ import annotations

import argparse
import time

from argocd_server.auth.rbac import Claims, Enforcer, ProjectRbac, ProjectRole, RbacConfig

CUSTOM_ROLE_LINES = 50


def _policy_csv() -> str:
    lines = [f"p, role:custom, applications, get, team-{i}/*, allow" for i in range(CUSTOM_ROLE_LINES)]
    lines += [
        "g, carl, role:custom",
        "g, rita, role:readonly",
    ]
    return "\n".join(lines)


def _projects() -> dict[str, ProjectRbac]:
    role = ProjectRole(
        name="deployer",
        policies=("p, proj:team-7:deployer, applications, sync, team-7/*, allow",),
        groups=("sso:deployers",),
    )
    return {
        f"team-{i}": ProjectRbac(name=f"team-{i}", roles=(role,) if i == 7 else (), version="1")
        for i in range(CUSTOM_ROLE_LINES)
    }


def _per_check_us(
    enforcer: Enforcer, *, claims: Claims, request: tuple[str, str, str], rounds: int, vary: bool
) -> float:
    resource, action, obj = request
    objects = [f"{obj}-{i}" if vary else obj for i in range(rounds)]
    start = time.perf_counter()
    for target in objects:
        enforcer.enforce(claims, resource, action, target)
    return (time.perf_counter() - start) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20000, help="checks per warm measurement")
    args = parser.parse_args()

    projects = _projects()
    enforcer = Enforcer(config=RbacConfig(policy_csv=_policy_csv()), project_lookup=projects.get)
    cases: list[tuple[str, Claims, str, str, str]] = [
        ("admin", Claims(subject="admin"), "applications", "sync", "team-3/web"),
        ("readonly", Claims(subject="rita"), "applications", "get", "team-3/web"),
        ("custom role (50 lines)", Claims(subject="carl"), "applications", "get", "team-49/web"),
        ("project role", Claims(subject="proj:team-7:deployer"), "applications", "sync", "team-7/web"),
    ]
    print(f"{'subject':<24} {'warm µs':>9} {'cold µs':>9}  decision")
    for label, claims, resource, action, obj in cases:
        request = (resource, action, obj)
        decision = enforcer.enforce(claims, *request)
        warm = _per_check_us(enforcer, claims=claims, request=request, rounds=args.rounds, vary=False)
        cold_rounds = max(args.rounds // 100, 50)
        cold = _per_check_us(enforcer, claims=claims, request=request, rounds=cold_rounds, vary=True)
        print(f"{label:<24} {warm:>9.2f} {cold:>9.1f}  {'allow' if decision else 'deny'}")


if __name__ == "__main__":
    main()
