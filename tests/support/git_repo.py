"""Real git repositories for tests: ``git init`` in a temp dir, commit files, tag, branch; served over file://.

Every command runs with a private HOME and fixed identities so tests never depend on the developer's git config.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def git_env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Committer",
        "GIT_COMMITTER_EMAIL": "committer@example.com",
        "GIT_AUTHOR_DATE": "2024-01-02T03:04:05+00:00",
        "GIT_COMMITTER_DATE": "2024-01-02T03:04:05+00:00",
    }


@dataclass
class GitRepo:
    path: Path
    home: Path

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def git(self, *args: str) -> str:
        result = subprocess.run(
            ["git", *args],
            cwd=self.path,
            env=git_env(self.home),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return result.stdout.strip()

    def write(self, files: Mapping[str, str | bytes]) -> None:
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)

    def symlink(self, name: str, target: str) -> None:
        link = self.path / name
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, link)

    def copy_example(self, example: str, dest: str | None = None) -> None:
        shutil.copytree(EXAMPLES / example, self.path / (dest or example), dirs_exist_ok=True)

    def commit(self, message: str = "update", files: Mapping[str, str | bytes] | None = None) -> str:
        if files:
            self.write(files)
        self.git("add", "-A")
        self.git("commit", "--allow-empty", "-q", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def tag(self, name: str, *, message: str = "") -> None:
        if message:
            self.git("tag", "-a", name, "-m", message)
        else:
            self.git("tag", name)

    def branch(self, name: str) -> None:
        self.git("checkout", "-q", "-b", name)

    def switch(self, name: str) -> None:
        self.git("checkout", "-q", name)


def make_git_repo(base: Path, name: str = "repo") -> GitRepo:
    path = base / name
    home = base / f".{name}-home"
    path.mkdir(parents=True)
    home.mkdir()
    repo = GitRepo(path=path, home=home)
    repo.git("init", "-q", "-b", "main")
    return repo
