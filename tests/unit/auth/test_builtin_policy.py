"""Our built-in policy and Casbin model, kept as data, say what the upstream reference files say."""

from __future__ import annotations

import os
from pathlib import Path

import casbin
import pytest

from argocd_server.auth.rbac import BUILTIN_POLICY, CASBIN_MODEL, parse_policy_csv

SHARED = Path(__file__).resolve().parents[3].parent / "shared"


def _reference(name: str) -> str:
    path = SHARED / name
    if not path.is_file():
        reason = f"upstream reference {name} not available next to the repository"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path.read_text(encoding="utf-8")


def test_builtin_policy_matches_upstream() -> None:
    upstream = parse_policy_csv(_reference("argocd-builtin-policy.csv"))
    assert len(set(BUILTIN_POLICY)) == len(BUILTIN_POLICY), "duplicate built-in lines"
    assert set(BUILTIN_POLICY) == set(upstream)


def test_model_matches_upstream() -> None:
    ours, theirs = casbin.Model(), casbin.Model()
    ours.load_model_from_text(CASBIN_MODEL)
    theirs.load_model_from_text(_reference("argocd-rbac-model.conf"))

    def sections(model: casbin.Model) -> dict[tuple[str, str], str]:
        return {(sec, key): ast.value for sec in "rpegm" for key, ast in model[sec].items()}

    assert sections(ours) == sections(theirs)
