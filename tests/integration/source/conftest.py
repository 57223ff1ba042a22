"""Fixtures for the sources-layer integration tests: settings in tmp_path, real helm/kubectl, real git repos."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# The sources tests import helpers as `tests.support...`; make that work however pytest was started.
_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from argocd_server.engine.source import SourceRenderer, SourceSettings  # noqa: E402
from tests.support.git_repo import GitRepo, make_git_repo  # noqa: E402


def find_binary(name: str) -> str | None:
    local = Path(sys.executable).parent / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(name)


def require_binary(name: str) -> str:
    path = find_binary(name)
    if path is None:
        if os.environ.get("CI") == "true" or os.environ.get("ARGOCD_TEST_REQUIRE_BINARIES"):
            pytest.fail(f"{name} binary is required in CI")
        pytest.skip(f"{name} binary not found")
    return path


@pytest.fixture
def helm_bin() -> str:
    return require_binary("helm")


@pytest.fixture
def kubectl_bin() -> str:
    return require_binary("kubectl")


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., SourceSettings]:
    def make(**overrides: object) -> SourceSettings:
        values: dict[str, object] = {
            "data_dir": tmp_path / "data",
            "helm_binary": find_binary("helm") or "helm",
            "kubectl_binary": find_binary("kubectl") or "kubectl",
        }
        values.update(overrides)
        return SourceSettings(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def renderer(make_settings: Callable[..., SourceSettings]) -> SourceRenderer:
    return SourceRenderer(make_settings())


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return make_git_repo(tmp_path / "remotes")


@pytest.fixture
def new_repo(tmp_path: Path) -> Callable[[str], GitRepo]:
    def make(name: str) -> GitRepo:
        return make_git_repo(tmp_path / "remotes", name)

    return make
