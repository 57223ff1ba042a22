"""A local git repository of small plain-YAML apps, so API tests that create applications with validation on
(the default, which generates manifests) never depend on a remote repository."""

from __future__ import annotations

from pathlib import Path

from tests.support.git_repo import make_git_repo

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
data:
  app: {name}
"""


def make_manifests_repo(base: Path, paths: tuple[str, ...], *, name: str = "apps", tags: tuple[str, ...] = ()) -> str:
    """A ``file://`` URL of a repository holding one ConfigMap under each of ``paths``, its commit tagged ``tags``."""
    repo = make_git_repo(base, name)
    repo.write({f"{path}/configmap.yaml": CONFIGMAP.format(name=path.replace("/", "-")) for path in paths})
    repo.commit("apps")
    for tag in tags:
        repo.tag(tag)
    return repo.url
