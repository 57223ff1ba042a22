"""Directory sources: plain YAML/JSON manifests and Jsonnet, with upstream's include/exclude globs.

Walks the app path (recursively when ``directory.recurse``), matches each file's path relative to
the app dir against ``exclude`` then ``include`` (gobwas-style globs: ``*`` crosses ``/``, ``{a,b}``
alternatives), follows symlinks only inside the repository root, caps the combined size read, and
parses multi-document YAML, JSON and Jsonnet (evaluated in a child process under the exec timeout).
Returns objects; starts no tool other than Jsonnet.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from argocd_server.errors import SourceError

from . import process, safety
from .manifests import expand_lists, load_yaml_documents, parse_json
from .types import Manifest, SourceSettings

_EXTENSIONS = (".yaml", ".yml", ".json", ".jsonnet")
SKIP_MARKER = b"+argocd:skip-file-rendering"
_MANIFEST_HINTS = (b"apiVersion:", b"kind:", b"metadata:")


@lru_cache(maxsize=256)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """A gobwas-style glob (no separators) as a regex: ``*`` and ``**`` also match ``/``."""
    regex, rest = _glob_to_regex(pattern, 0, top=True)
    if rest != len(pattern):
        raise SourceError(f"invalid glob pattern '{pattern}'")
    return re.compile(f"^(?:{regex})$", re.DOTALL)


def _glob_to_regex(pattern: str, i: int, *, top: bool) -> tuple[str, int]:
    out: list[str] = []
    alternatives: list[str] = []
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif c == "*":
            while i < len(pattern) and pattern[i] == "*":
                i += 1
            out.append(".*")
        elif c == "?":
            out.append(".")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(c))
                i += 1
                continue
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
            i = end + 1
        elif c == "{":
            inner, i = _glob_to_regex(pattern, i + 1, top=False)
            out.append(inner)
        elif c == "," and not top:
            alternatives.append("".join(out))
            out = []
            i += 1
        elif c == "}" and not top:
            alternatives.append("".join(out))
            return "(?:" + "|".join(alternatives) + ")", i + 1
        else:
            out.append(re.escape(c))
            i += 1
    if not top:
        raise SourceError(f"invalid glob pattern '{pattern}': unclosed '{{'")
    return "".join(out), i


def glob_match(pattern: str, path: str) -> bool:
    return compile_glob(pattern).match(path) is not None


def _candidates(app_dir: Path, *, recurse: bool) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(app_dir):
        dirnames.sort()
        dirnames[:] = [] if not recurse else [d for d in dirnames if d != ".git"]
        for name in sorted(filenames):
            found.append(Path(dirpath) / name)
        if not recurse:
            break
    return found


def render_directory(
    *,
    app_dir: Path,
    repo_root: Path,
    directory: Mapping[str, Any],
    settings: SourceSettings,
    envsubst: Callable[[str], str],
) -> list[Manifest]:
    """Every object of a Directory source, in walk order (files sorted per directory)."""
    recurse = bool(directory.get("recurse"))
    include = str(directory.get("include") or "")
    exclude = str(directory.get("exclude") or "")
    no_ext_filter = bool(directory.get("disableExtensionFilter"))
    real_root = safety.real_root(repo_root)
    objects: list[Manifest] = []
    total = 0
    for path in _candidates(app_dir, recurse=recurse):
        rel = path.relative_to(app_dir).as_posix()
        if not no_ext_filter and not rel.endswith(_EXTENSIONS):
            continue
        if exclude and glob_match(exclude, rel):
            continue
        if include and not glob_match(include, rel):
            continue
        if path.is_symlink():
            target = Path(os.path.realpath(path))
            if not (target == real_root or target.is_relative_to(real_root)):
                raise safety.OutOfBoundsError(f"repository contains out-of-bounds symlinks. file: {rel}")
            if not target.is_file():
                continue
        elif not path.is_file():
            continue
        if rel.endswith(".jsonnet"):
            objects += _render_jsonnet(
                path,
                repo_root=real_root,
                app_dir=app_dir,
                jsonnet=directory.get("jsonnet") or {},
                settings=settings,
                envsubst=envsubst,
            )
            continue
        size = path.stat().st_size
        total += size
        if total > settings.max_combined_directory_bytes:
            raise SourceError(
                f"the maximum combined manifest size of "
                f"{settings.max_combined_directory_bytes} bytes "
                f"was exceeded while reading {rel}"
            )
        data = path.read_bytes()
        if SKIP_MARKER in data:
            continue
        objects += _parse_file(rel, data)
    return objects


def _parse_file(rel: str, data: bytes) -> list[Manifest]:
    text = data.decode("utf-8", errors="replace")
    try:
        if rel.endswith(".json"):
            docs: list[Any] = [parse_json(text, origin=rel)]
        else:
            docs = load_yaml_documents(text)
        objects = expand_lists(docs, origin=rel)
        for obj in objects:
            if not obj.get("kind") or not obj.get("apiVersion"):
                raise SourceError(f"{rel}: Object 'Kind' is missing")
        return objects
    except (SourceError, yaml.YAMLError) as exc:
        # Upstream ignores files that fail to parse unless they look like Kubernetes manifests.
        if all(hint in data for hint in _MANIFEST_HINTS):
            message = exc.message if isinstance(exc, SourceError) else str(exc).splitlines()[0]
            raise SourceError(f"Failed to unmarshal {rel!r}: {message}") from None
        return []


def _render_jsonnet(
    path: Path,
    *,
    repo_root: Path,
    app_dir: Path,
    jsonnet: Mapping[str, Any],
    settings: SourceSettings,
    envsubst: Callable[[str], str],
) -> list[Manifest]:
    jpaths = [str(app_dir)]
    for lib in jsonnet.get("libs") or []:
        # Libs are relative to the repository root, never outside it.
        jpaths.append(str(safety.resolve_repo_dir(repo_root, base_dir=repo_root, name=str(lib))))
    job: dict[str, Any] = {
        "file": str(path),
        "root": str(repo_root),
        "jpaths": jpaths,
        "ext_vars": {},
        "ext_codes": {},
        "tla_vars": {},
        "tla_codes": {},
    }
    for kind, key in (("extVars", "ext"), ("tlas", "tla")):
        for var in jsonnet.get(kind) or []:
            target = f"{key}_codes" if var.get("code") else f"{key}_vars"
            job[target][str(var.get("name", ""))] = envsubst(str(var.get("value", "")))
    runner = Path(__file__).with_name("_jsonnet_runner.py")
    rel = path.relative_to(app_dir).as_posix()
    result = process.run(
        [sys.executable, "-I", str(runner)],
        timeout=settings.exec_timeout,
        max_output=settings.max_output_bytes,
        stdin=json.dumps(job).encode(),
        what=f"jsonnet {rel}",
    )
    value = parse_json(result.stdout.decode("utf-8", errors="replace"), origin=rel)
    return expand_lists(value if isinstance(value, list) else [value], origin=rel)
