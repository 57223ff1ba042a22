"""Path-safety rules of the sources layer: everything a source names must stay inside its repository
root.

App paths, value files, file parameters, Jsonnet libs, Kustomize components and every symlink are
resolved here before anything is read, in the spirit of the fixes for CVE-2022-24348 (value files
outside the repo), CVE-2022-24730/31 (symlinks out of the repo) and CVE-2022-31036 (symlinked value
files). Pure path logic, no I/O beyond ``stat``/``readlink``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from urllib.parse import urlparse

from argocd_server.errors import SourceError, SourceNotFound

_MAX_LINK_DEPTH = 10


class OutOfBoundsError(SourceError):
    """A path escaped the repository root."""


@functools.lru_cache(maxsize=256)
def real_root(root: Path) -> Path:
    """``root`` with its symlinks resolved. Roots are the trees this layer extracted, which never move while they
    exist, so the answer is kept: a deep directory costs a ``stat`` per component, and a render asks several
    times."""
    return root.resolve()


def _inside(root: Path, candidate: Path, *, allow_root: bool) -> bool:
    if candidate == root:
        return allow_root
    return candidate.is_relative_to(root)


def resolve_app_path(root: Path, path: str) -> Path:
    """The directory of ``source.path`` inside ``root``; absolute paths and ``..`` escapes fail."""
    if path.startswith("/") or Path(path).is_absolute():
        raise OutOfBoundsError(f"app path '{path}' is absolute: it must be relative to the repository root")
    resolved_root = real_root(root)
    candidate = (resolved_root / path).resolve()
    if not _inside(resolved_root, candidate, allow_root=True):
        raise OutOfBoundsError(f"app path '{path}' resolved to outside repository root")
    if not candidate.is_dir():
        raise SourceNotFound(f"{path}: app path does not exist")
    return candidate


def resolve_repo_file(root: Path, *, base_dir: Path, name: str, must_exist: bool = True) -> Path:
    """Resolve a value file / file parameter / lib path.

    A leading ``/`` means relative to the repository root (Argo's rule); anything else is relative
    to ``base_dir``. Symlinks are followed; the result must be strictly inside ``root`` (the root
    itself is refused too).
    """
    real_root = root.resolve()
    candidate = real_root / name.lstrip("/") if name.startswith("/") else base_dir / name
    resolved = _resolve_links(candidate)
    if not _inside(real_root, resolved, allow_root=False):
        raise OutOfBoundsError(f"file '{name}' resolved to outside repository root")
    if must_exist and not resolved.exists():
        raise SourceNotFound(f"file '{name}' does not exist")
    return resolved


def resolve_repo_dir(root: Path, *, base_dir: Path, name: str) -> Path:
    """Like :func:`resolve_repo_file` but the root itself is allowed (a lib dir may be the repo root)."""
    real_root = root.resolve()
    candidate = real_root / name.lstrip("/") if name.startswith("/") else base_dir / name
    resolved = _resolve_links(candidate)
    if not _inside(real_root, resolved, allow_root=True):
        raise OutOfBoundsError(f"path '{name}' resolved to outside repository root")
    return resolved


def _resolve_links(path: Path) -> Path:
    # os.path.realpath never fails on loops; a bounded walk gives a clear error for hostile link
    # chains.
    current = Path(os.path.abspath(path))
    for _ in range(_MAX_LINK_DEPTH):
        resolved = Path(os.path.realpath(current))
        if resolved == current or not current.is_symlink():
            return resolved
        current = resolved
    raise OutOfBoundsError(f"file '{path.name}' has too many levels of symbolic links")


def check_symlinks(root: Path, *, skip: tuple[str, ...] = (".git",)) -> None:
    """Fail if any symlink under ``root`` is absolute or resolves outside ``root`` (CVE-2022-24730/31)."""
    real_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(real_root):
        dirnames[:] = [d for d in dirnames if d not in skip]
        for name in [*dirnames, *filenames]:
            full = Path(dirpath) / name
            if not full.is_symlink():
                continue
            rel = full.relative_to(real_root).as_posix()
            target = os.readlink(full)
            if os.path.isabs(target):
                raise OutOfBoundsError(f"repository contains out-of-bounds symlinks. file: {rel}")
            resolved = Path(os.path.realpath(full))
            if not _inside(real_root, resolved, allow_root=True):
                raise OutOfBoundsError(f"repository contains out-of-bounds symlinks. file: {rel}")


def is_remote_url(value: str) -> bool:
    parsed = urlparse(value)
    return bool(parsed.scheme) and bool(parsed.netloc)


def check_url_scheme(value: str, allowed: tuple[str, ...]) -> None:
    scheme = urlparse(value).scheme.lower()
    if scheme not in {s.lower() for s in allowed}:
        raise OutOfBoundsError(f"the URL scheme '{scheme}' is not allowed")


def safe_member_name(name: str) -> str:
    """Validate a path from an archive: relative, no ``..``; returns it normalised."""
    if name.startswith("/"):
        raise OutOfBoundsError(f"archive member '{name}' escapes the extraction directory")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise OutOfBoundsError(f"archive member '{name}' escapes the extraction directory")
    return "/".join(parts)
