"""Micro-benchmark of RBAC checks: microseconds per warm (cached) and cold (uncached) decision.

Run: ``python bench/rbac.py [--rounds N] [--apps N]``. Warm checks repeat one request, so they
measure the decision cache plus the project lookup; cold checks vary the object so every check misses
the decision cache and is evaluated (compiled subject views, once built, are reused).

The second table lists applications the way the server does: ``applications get <project>/<app>``
for N distinct apps spread over the projects, on a fresh enforcer per subject. Building the policy
sets and subject views (once per project version and subject) is timed apart from the loop.
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


def _list_apps(claims: Claims, *, apps: int) -> tuple[float, float, int]:
    """Setup ms (policy sets and views), then µs per check and allowed count over ``apps`` apps."""
    projects = _projects()
    names = sorted(projects)
    enforcer = Enforcer(config=RbacConfig(policy_csv=_policy_csv()), project_lookup=projects.get)
    start = time.perf_counter()
    for name in names:
        enforcer.enforce(claims, "applications", "get", f"{name}/warm-up")
    setup_ms = (time.perf_counter() - start) * 1e3
    objects = [f"{names[i % len(names)]}/app-{i}" for i in range(apps)]
    start = time.perf_counter()
    allowed = sum(enforcer.enforce(claims, "applications", "get", obj) for obj in objects)
    return setup_ms, (time.perf_counter() - start) / apps * 1e6, allowed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20000, help="checks per warm measurement")
    parser.add_argument("--apps", type=int, default=10000, help="distinct applications to list")
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

    print(f"\nlisting {args.apps} apps over {len(projects)} projects (applications get, all uncached)")
    print(f"{'subject':<24} {'setup ms':>9} {'cold µs':>9} {'total ms':>9}  allowed")
    listing: dict[str, float] = {}
    for label, claims in (
        ("admin", Claims(subject="admin")),
        ("readonly (50-line csv)", Claims(subject="rita")),
        ("custom role (50 lines)", Claims(subject="carl")),
    ):
        setup_ms, per_check, allowed = _list_apps(claims, apps=args.apps)
        listing[label] = per_check
        total_ms = per_check * args.apps / 1e3
        print(f"{label:<24} {setup_ms:>9.1f} {per_check:>9.2f} {total_ms:>9.1f}  {allowed}")
    ratio = listing["readonly (50-line csv)"] / listing["admin"]
    print(f"readonly (50-line csv) / admin: {ratio:.2f}x")


if __name__ == "__main__":
    main()
