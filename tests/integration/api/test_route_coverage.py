"""Our route table against upstream's swagger: every operation we route is upstream's (method, path, id), and
the README's compatibility table is what the generator produces from the two."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "scripts"))

import compat_table  # noqa: E402

pytestmark = pytest.mark.skipif(
    not compat_table.SWAGGER.exists() and os.environ.get("CI") != "true",
    reason="upstream swagger (../shared/argocd-swagger.json) not present",
)


def test_every_routed_operation_is_upstreams() -> None:
    upstream = {(m, compat_table.normalize(p), op) for m, p, op in compat_table.upstream_operations()}
    ours = compat_table.our_routes()
    unknown = sorted(ours - upstream)
    assert unknown == [], f"routes whose method/path/operationId upstream does not have: {unknown}"
    built = len(ours & upstream)
    print(f"\nroute coverage: {built} of {len(upstream)} upstream operations built")
    assert built >= 19


def test_readme_compatibility_table_is_current() -> None:
    readme = (ROOT / "README.md").read_text()
    assert compat_table.render_readme(readme, compat_table.table()) == readme, (
        "README compatibility table is stale: run `python scripts/compat_table.py --write`"
    )
