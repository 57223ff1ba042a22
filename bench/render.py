"""Bench of the sources layer: 200 apps of one monorepo commit rendered cold, then warm, then after a restart.

Builds a git repository in a temp dir holding 200 apps (plain manifests, Helm charts and Kustomize
overlays, copied from examples/), renders every app once with empty caches, once more with warm
caches, and once more with a new renderer on the same data dir (a restarted process: the sealed disk
level of the manifest cache answers), and prints figures only: the wall times, renders per second,
git fetches, and the helm and kustomize processes started on the later passes.
Run: ``python bench/render.py [--apps N] [--workers W]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from argocd_server.auth.secretbox import SecretBox  # noqa: E402
from argocd_server.engine.source import (  # noqa: E402
    RenderRequest,
    SourceRenderer,
    SourceSettings,
)

EXAMPLES = ROOT / "examples"
KINDS = ("guestbook", "helm-guestbook", "kustomize-guestbook")


def _binary(name: str) -> str:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else (shutil.which(name) or name)


def _git(repo: Path, *args: str) -> str:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(repo.parent),
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    out = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def build_monorepo(base: Path, apps: int) -> tuple[str, list[dict[str, str]]]:
    repo = base / "monorepo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    sources = []
    for i in range(apps):
        kind = KINDS[i % len(KINDS)]
        dest = repo / "apps" / f"{kind}-{i:03d}"
        shutil.copytree(EXAMPLES / kind, dest)
        path = f"apps/{dest.name}"
        if kind == "kustomize-guestbook":
            path += "/overlays/dev"
        sources.append({"repoURL": repo.as_uri(), "path": path, "targetRevision": "main"})
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "200 apps")
    return repo.as_uri(), sources


def render_all(renderer: SourceRenderer, sources: list[dict[str, str]], workers: int) -> float:
    def one(i: int) -> int:
        req = RenderRequest(sources=(sources[i],), app_name=f"app-{i:03d}", namespace="bench")
        return len(renderer.render(req).objects)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        sum(pool.map(one, range(len(sources))))
    elapsed = time.perf_counter() - start
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="render-bench-") as tmp:
        base = Path(tmp)
        _, sources = build_monorepo(base, args.apps)
        settings = SourceSettings(
            data_dir=base / "data",
            helm_binary=_binary("helm"),
            kubectl_binary=_binary("kubectl"),
        )
        box = SecretBox(os.urandom(32))
        renderer = SourceRenderer(settings, sealer=box)
        cold = render_all(renderer, sources, args.workers)
        after_cold = renderer.counters
        warm = render_all(renderer, sources, args.workers)
        after_warm = renderer.counters
        restarted_renderer = SourceRenderer(settings, sealer=box)
        restarted = render_all(restarted_renderer, sources, args.workers)
        after_restart = restarted_renderer.counters
    n = len(sources)
    print(f"apps:                          {n} (workers: {args.workers})")
    print(f"cold pass:                     {cold:.3f} s  ({n / cold:.1f} renders/s)")
    print(f"warm pass:                     {warm:.4f} s  ({n / warm:.1f} renders/s)")
    print(f"warm/cold speed-up:            {cold / warm:.1f}x")
    print(f"git ls-remotes (total):        {after_warm.ls_remotes}")
    print(f"git fetches (total):           {after_warm.fetches}")
    print(f"helm processes, cold pass:     {after_cold.helm_processes}")
    print(f"kustomize processes, cold:     {after_cold.kustomize_processes}")
    print(f"helm processes, warm pass:     {after_warm.helm_processes - after_cold.helm_processes}")
    print(f"kustomize processes, warm:     {after_warm.kustomize_processes - after_cold.kustomize_processes}")
    print(f"manifest cache hits (warm):    {after_warm.manifest_cache_hits}")
    print(f"after a restart:               {restarted:.4f} s  ({n / restarted:.1f} renders/s)")
    print(f"restart/cold speed-up:         {cold / restarted:.1f}x")
    print(
        f"  from the disk cache:         {restarted_renderer.manifests.disk_hits}; "
        f"helm {after_restart.helm_processes}, kustomize {after_restart.kustomize_processes} processes"
    )


if __name__ == "__main__":
    main()
