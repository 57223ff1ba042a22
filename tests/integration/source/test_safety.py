"""Hostile inputs: traversal, symlinks, absolute paths, huge files, endless templates, bad schemes.

In the spirit of CVE-2022-24348 (value files outside the repo), CVE-2022-24730/31 (out-of-bounds
symlinks) and CVE-2022-31036 (symlinked value files).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from argocd_server.engine.source import (
    DeadlineExceeded,
    RenderRequest,
    SourceError,
    SourceNotFound,
    SourceRenderer,
    process,
)
from tests.support.git_repo import GitRepo

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"


def _render(renderer: SourceRenderer, src: dict[str, Any]) -> list[dict[str, Any]]:
    return renderer.render(RenderRequest(sources=(src,), app_name="a", namespace="ns")).objects


@pytest.fixture
def chart_repo(repo: GitRepo, tmp_path: Path) -> GitRepo:
    repo.copy_example("helm-guestbook", "chart")
    (tmp_path / "outside.yaml").write_text("replicaCount: 99\n")
    repo.commit("chart")
    return repo


@pytest.mark.parametrize("path", ["/etc", "../..", "app/../../..", "/"])
def test_app_path_escapes(renderer: SourceRenderer, repo: GitRepo, path) -> None:
    repo.commit("x", {"app/cm.yaml": CM})
    with pytest.raises(SourceError, match=r"absolute|outside repository root"):
        _render(renderer, {"repoURL": repo.url, "path": path})


def test_missing_app_path(renderer: SourceRenderer, repo: GitRepo) -> None:
    repo.commit("x", {"app/cm.yaml": CM})
    with pytest.raises(SourceNotFound, match="app path does not exist"):
        _render(renderer, {"repoURL": repo.url, "path": "nope"})


@pytest.mark.parametrize(
    "value_file",
    [
        "../../outside.yaml",
        "/../outside.yaml",
        "../../../../../../../../etc/passwd",
        "/etc/passwd/../../../../etc/passwd",
    ],
)
def test_value_file_traversal(renderer: SourceRenderer, chart_repo: GitRepo, helm_bin, value_file) -> None:
    src = {"repoURL": chart_repo.url, "path": "chart", "helm": {"valueFiles": [value_file]}}
    with pytest.raises(SourceError, match="outside repository root"):
        _render(renderer, src)
    assert renderer.counters.helm_processes == 0


def test_file_parameter_traversal(renderer: SourceRenderer, chart_repo: GitRepo, helm_bin) -> None:
    src = {
        "repoURL": chart_repo.url,
        "path": "chart",
        "helm": {"fileParameters": [{"name": "x", "path": "../../../../etc/passwd"}]},
    }
    with pytest.raises(SourceError, match="outside repository root"):
        _render(renderer, src)


def test_absolute_symlink_fails_whole_repo(renderer: SourceRenderer, repo: GitRepo) -> None:
    repo.write({"app/cm.yaml": CM})
    repo.symlink("app/passwd.yaml", "/etc/passwd")
    repo.commit("link")
    with pytest.raises(SourceError, match=r"out-of-bounds symlinks\. file: app/passwd\.yaml"):
        _render(renderer, {"repoURL": repo.url, "path": "app"})


def test_relative_symlink_escaping_fails(renderer: SourceRenderer, repo: GitRepo) -> None:
    repo.write({"app/cm.yaml": CM})
    repo.symlink("other/escape", "../../../../../../etc")
    repo.commit("link")
    with pytest.raises(SourceError, match="out-of-bounds symlinks"):
        _render(renderer, {"repoURL": repo.url, "path": "app"})


def test_symlinked_value_file_outside_refused(make_settings, chart_repo: GitRepo, helm_bin) -> None:
    # Even when out-of-bounds symlinks are tolerated in the tree, a value file must not follow one out.
    renderer = SourceRenderer(make_settings(allow_out_of_bounds_symlinks=True))
    chart_repo.symlink("chart/evil-values.yaml", "/etc/passwd")
    chart_repo.commit("evil")
    src = {"repoURL": chart_repo.url, "path": "chart", "helm": {"valueFiles": ["evil-values.yaml"]}}
    with pytest.raises(SourceError, match="resolved to outside repository root"):
        _render(renderer, src)


def test_symlink_inside_repo_is_fine(renderer: SourceRenderer, repo: GitRepo) -> None:
    repo.write({"shared/cm.yaml": CM})
    repo.symlink("app/cm.yaml", "../shared/cm.yaml")
    repo.commit("link")
    assert _render(renderer, {"repoURL": repo.url, "path": "app"})[0]["metadata"]["name"] == "cm"


def test_remote_value_file_scheme(renderer: SourceRenderer, chart_repo: GitRepo, helm_bin) -> None:
    src = {"repoURL": chart_repo.url, "path": "chart", "helm": {"valueFiles": ["file:///etc/passwd"]}}
    with pytest.raises(SourceError, match="URL scheme 'file' is not allowed"):
        _render(renderer, src)


def test_huge_directory_is_capped(make_settings, repo: GitRepo) -> None:
    renderer = SourceRenderer(make_settings(max_combined_directory_bytes=10_000))
    repo.commit("big", {"app/big.yaml": CM + "data:\n  blob: '" + "x" * 20_000 + "'\n"})
    with pytest.raises(SourceError, match="maximum combined manifest size"):
        _render(renderer, {"repoURL": repo.url, "path": "app"})


def test_huge_tool_output_is_capped(make_settings, repo: GitRepo, helm_bin) -> None:
    renderer = SourceRenderer(make_settings(max_output_bytes=50_000))
    repo.copy_example("helm-guestbook", "chart")
    repo.write(
        {
            "chart/templates/big.yaml": "{{- range until 2000 }}\n---\n"
            + CM.replace("name: cm", "name: cm-{{ . }}")
            + "{{- end }}\n"
        }
    )
    repo.commit("big")
    with pytest.raises(SourceError, match="output exceeds the limit"):
        _render(renderer, {"repoURL": repo.url, "path": "chart"})


def test_endless_jsonnet_times_out(make_settings, repo: GitRepo) -> None:
    renderer = SourceRenderer(make_settings(exec_timeout=2.0))
    repo.commit(
        "loop",
        {"app/loop.jsonnet": "local f(x) = if x < 0 then 0 else f(x + 1) tailstrict; f(0)"},
    )
    with pytest.raises(DeadlineExceeded, match="timed out"):
        _render(renderer, {"repoURL": repo.url, "path": "app"})


def test_process_runner_timeout_and_exit(tmp_path: Path) -> None:
    with pytest.raises(DeadlineExceeded):
        process.run(["sleep", "30"], timeout=0.5, max_output=100)
    with pytest.raises(SourceError, match=r"exit 3\): boom \*\*\*\*\*\*"):
        process.run(
            ["sh", "-c", "echo boom hunter2-secret >&2; exit 3"],
            timeout=10,
            max_output=100,
            redactor=process.Redactor(["hunter2-secret"]),
        )


def test_process_env_is_minimal(monkeypatch) -> None:
    monkeypatch.setenv("ARGOCD_SERVER_SECRET", "do-not-leak")
    out = process.run(["env"], timeout=10, max_output=100_000).stdout.decode()
    assert "do-not-leak" not in out
    assert "GIT_TERMINAL_PROMPT=0" in out


def test_process_runner_feeds_and_drains_at_once(tmp_path: Path) -> None:
    """Input larger than a pipe buffer is written while the output is read: no deadlock with a filter like cat."""
    data = bytes(range(256)) * 8192  # 2 MiB
    result = process.run(["cat"], timeout=30, max_output=len(data), stdin=data)
    assert result.stdout == data
    archive = tmp_path / "out.bin"
    assert process.run(["cat"], timeout=30, max_output=len(data), stdin=data, stdout_path=archive).stdout == b""
    assert archive.read_bytes() == data


def test_process_runner_caps_output_and_kills_the_group() -> None:
    started = time.monotonic()
    with pytest.raises(SourceError, match="output exceeds the limit of 100000 bytes"):
        process.run(["sh", "-c", "yes | head -c 100000000; sleep 30"], timeout=30, max_output=100_000)
    assert time.monotonic() - started < 10


def test_process_runner_stops_waiting_for_pipes_a_grandchild_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(process, "_PIPE_GRACE", 0.3)
    started = time.monotonic()
    result = process.run(["sh", "-c", "sleep 20 & echo done"], timeout=30, max_output=1000)
    assert result.stdout == b"done\n"
    assert time.monotonic() - started < 10
