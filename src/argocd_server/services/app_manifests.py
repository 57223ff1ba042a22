"""Manifest generation for the application API: the render request of an app, and the ``validate=true`` check.

Upstream's API server asks the repo server to generate an app's manifests while validating a create or update
(``verifyGenerateManifests`` in ``util/argo/argo.go``) and rejects the app with an ``InvalidSpecError`` condition
``Unable to generate manifests in <path>: <reason>`` per failing source. Here the repo server is the in-process
sources layer. Nothing in this module touches the database: callers end their transaction before calling in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from argocd_server.engine.controller import RepoCredentialsLookup
from argocd_server.engine.source import Refresh, RenderRequest, RepoCredentials, SourceRenderer
from argocd_server.engine.tracking import instance_name
from argocd_server.errors import ArgoError

__all__ = ["RepoCredentialsLookup", "app_sources", "generation_problems", "render_request"]


def app_sources(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``spec.sources`` when set, else ``[spec.source]``."""
    if spec.get("sources"):
        return [dict(s) for s in spec["sources"]]
    return [dict(spec["source"])] if spec.get("source") else []


def render_request(
    app: Mapping[str, Any],
    *,
    sources: list[dict[str, Any]],
    repo_credentials: RepoCredentialsLookup | None,
    controller_namespace: str,
    app_label_key: str,
    refresh: Refresh = Refresh.NONE,
) -> RenderRequest:
    """What the controller would ask the sources layer for this app (same instance name, namespace, credentials)."""
    meta, spec = app.get("metadata") or {}, app.get("spec") or {}
    project = str(spec.get("project") or "default")
    credentials: list[RepoCredentials] = []
    if repo_credentials is not None:
        for url in dict.fromkeys(str(s.get("repoURL") or "") for s in sources):
            creds = repo_credentials(url, project)
            if creds is not None:
                credentials.append(creds)
    return RenderRequest(
        sources=tuple(sources),
        app_name=instance_name(
            str(meta.get("name") or ""),
            app_namespace=str(meta.get("namespace") or ""),
            controller_namespace=controller_namespace,
        ),
        namespace=str((spec.get("destination") or {}).get("namespace") or ""),
        project=project,
        credentials=tuple(credentials),
        refresh=refresh,
        app_label_key=app_label_key,
    )


def _ref_only(source: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in source.items() if k not in ("path", "chart", "helm", "kustomize", "directory", "plugin")}


def generation_problems(
    app: Mapping[str, Any],
    *,
    renderer: SourceRenderer,
    repo_credentials: RepoCredentialsLookup | None,
    controller_namespace: str,
    app_label_key: str,
) -> list[str]:
    """One ``Unable to generate manifests in <path>: <reason>`` per source that fails to render.

    Each source is rendered on its own (with the other ``ref`` sources reduced to references) so a failure names
    the source it belongs to. A source is first rendered with the revisions the sources layer already resolved
    (its revision cache, the one the controller compares with); only when that fails is it rendered again after
    a fresh ls-remote, as a validation must not refuse what the repository holds now. A burst of creates on one
    repository so costs one ls-remote instead of one each (upstream asks the repo server with its cache off).
    """
    sources = app_sources(app.get("spec") or {})
    problems: list[str] = []
    for index, source in enumerate(sources):
        if source.get("ref") and not source.get("path") and not source.get("chart"):
            continue
        refs = [_ref_only(s) for i, s in enumerate(sources) if i != index and s.get("ref")]
        for refresh in (Refresh.NONE, Refresh.NORMAL):
            request = render_request(
                app,
                sources=[*refs, source],
                repo_credentials=repo_credentials,
                controller_namespace=controller_namespace,
                app_label_key=app_label_key,
                refresh=refresh,
            )
            try:
                renderer.render(request)
            except ArgoError as exc:
                if refresh == Refresh.NORMAL:
                    problems.append(f"Unable to generate manifests in {source.get('path') or ''}: {exc.message}")
            else:
                break
    return problems
