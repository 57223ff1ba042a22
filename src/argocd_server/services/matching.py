"""Project permission matching: source repositories and destinations, with ``!`` negation (API reference §7.2-7.3).

Reproduces upstream's AppProject.IsSourcePermitted / IsDestinationPermitted, including the code behaviour that a
negated entry which does not reject still counts as a match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from argocd_server.auth.rbac import glob_match


def normalize_git_url(url: str) -> str:
    """Lower-cased, trimmed, without ``.git``, scp-style ``git@host:path`` as ``host/path``, no ``ssh://``."""
    value = url.strip().lower()
    value = value.removeprefix("ssh://")
    if "://" not in value:
        user_host, sep, path = value.partition(":")
        if sep and "/" not in user_host and not path.startswith("//"):
            value = f"{user_host.rsplit('@', 1)[-1]}/{path}"
    elif value.startswith(("git@", "ssh@")):
        value = value.split("@", 1)[1]
    if "@" in value.split("/", 1)[0]:
        first, _, rest = value.partition("/")
        value = first.rsplit("@", 1)[-1] + ("/" + rest if rest else "")
    value = value.rstrip("/")
    return value.removesuffix(".git")


@lru_cache(maxsize=4096)
def _separated_glob(pattern: str) -> re.Pattern[str] | None:
    """Glob with ``/`` as separator: ``*`` and ``?`` stay within a segment, ``**`` crosses segments."""
    out: list[str] = []
    i, n, depth = 0, len(pattern), 0
    while i < n:
        char = pattern[i]
        if char == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                return None
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
            i = end + 1
            continue
        elif char == "{":
            depth += 1
            out.append("(?:")
        elif char == "," and depth:
            out.append("|")
        elif char == "}" and depth:
            depth -= 1
            out.append(")")
        elif char == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        else:
            out.append(re.escape(char))
        i += 1
    if depth:
        return None
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error:
        return None


def _match(pattern: str, value: str, *, separator: bool) -> bool:
    """Upstream's globMatch with negation: ``!p`` matches what ``p`` does not."""
    negated = pattern.startswith("!")
    inner = pattern[1:] if negated else pattern
    if inner == "*":
        result = True
    elif separator:
        compiled = _separated_glob(inner)
        result = compiled is not None and compiled.fullmatch(value) is not None
    else:
        result = glob_match(inner, value)
    return not result if negated else result


def source_permitted(source_repos: Iterable[str], repo_url: str) -> bool:
    url = normalize_git_url(repo_url)
    permitted = False
    for entry in source_repos:
        pattern = "!" + normalize_git_url(entry[1:]) if entry.startswith("!") else normalize_git_url(entry)
        if entry.strip() == "*":
            pattern = "*"
        if _match(pattern, url, separator=True):
            permitted = True
        elif pattern.startswith("!"):
            return False
    return permitted


def destination_permitted(destinations: Iterable[Mapping[str, Any]], *, server: str, name: str, namespace: str) -> bool:
    """Whether (server or cluster name, namespace) is allowed by a project's destinations."""
    permitted = False
    for item in destinations:
        item_server = str(item.get("server", "") or "")
        item_name = str(item.get("name", "") or "")
        item_ns = str(item.get("namespace", "") or "")
        name_ok = bool(name) and bool(item_name) and _match(item_name, name, separator=False)
        server_ok = bool(server) and bool(item_server) and _match(item_server, server, separator=False)
        ns_ok = _match(item_ns, namespace, separator=False)
        if (server_ok or name_ok) and ns_ok:
            permitted = True
            continue
        cluster_denied = (not name_ok and item_name.startswith("!")) or (not server_ok and item_server.startswith("!"))
        namespace_denied = not ns_ok and item_ns.startswith("!")
        if (cluster_denied and ns_ok) or (namespace_denied and server_ok):
            return False
    return permitted
