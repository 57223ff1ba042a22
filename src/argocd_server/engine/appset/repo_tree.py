"""What the git generator reads from a checked-out revision (upstream repo-server GetGitDirectories/GetGitFiles).

The caller provides the files of one commit (an extracted tree); these functions only walk it:

* :func:`list_directories`: every directory below the root in walk order (lexical, depth first), hidden ones
  (``.name``) and everything under them skipped;
* :func:`match_files`: the files a ``git ls-files -- <pattern>`` pathspec selects: without wildcards the path
  itself or everything below it, with wildcards an fnmatch over the whole path where ``*`` also matches ``/``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["list_directories", "match_files", "pathspec_matches"]


def list_directories(root: Path) -> list[str]:
    """Directories of the tree as ``a``, ``a/b``, ... (``/``-separated, relative to ``root``)."""
    found: list[str] = []

    def walk(directory: Path, prefix: str) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False) or entry.name.startswith("."):
                continue
            relative = f"{prefix}{entry.name}"
            found.append(relative)
            walk(Path(entry.path), relative + "/")

    walk(root, "")
    return found


def _all_files(root: Path) -> list[str]:
    files: list[str] = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        relative_dir = os.path.relpath(directory, root)
        for name in filenames:
            relative = name if relative_dir == "." else f"{relative_dir}/{name}"
            files.append(relative.replace(os.sep, "/"))
        # Symlinked directories are files to git.
        for name in list(dirnames):
            if os.path.islink(os.path.join(directory, name)):
                dirnames.remove(name)
                files.append(name if relative_dir == "." else f"{relative_dir}/{name}".replace(os.sep, "/"))
    return sorted(files)


def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            out.append(re.escape(pattern[index]))
        elif char == "[":
            end = pattern.find("]", index + 2 if pattern[index + 1 : index + 2] in ("!", "^", "]") else index + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[index + 1 : end]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("".join(out), re.DOTALL)


def pathspec_matches(pattern: str, path: str) -> bool:
    """Does a git pathspec (no magic) select ``path``?"""
    if pattern in ("", ".", "./"):
        return True
    pattern = pattern.removeprefix("./")
    if not any(c in pattern for c in "*?["):
        literal = pattern.rstrip("/")
        return path == literal or path.startswith(literal + "/")
    literal_prefix = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
    if not path.startswith(literal_prefix):
        return False
    return _wildcard_regex(pattern).fullmatch(path) is not None


def match_files(root: Path, pattern: str) -> dict[str, bytes]:
    """The content of every file of the tree the pathspec selects, by relative path."""
    out: dict[str, bytes] = {}
    resolved_root = root.resolve()
    for relative in _all_files(root):
        if not pathspec_matches(pattern, relative):
            continue
        target = (root / relative).resolve()
        if not target.is_relative_to(resolved_root) or not target.is_file():
            continue
        out[relative] = target.read_bytes()
    return out
