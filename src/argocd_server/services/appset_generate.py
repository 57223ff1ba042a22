"""What ApplicationSet generation needs from the rest of the server (upstream server/applicationset
generateApplicationSetApps): registered clusters, repository content, and the shape of its failures.

* :class:`GitRepoFiles` gives the git generator a revision's directories and files through the sources layer's
  mirror cache, with the repository's stored (or template) credentials for the set's project, the way upstream's
  repo server does; its failures read as the repo server's (``unable to resolve git revision : ...``, Internal).
* :func:`stored_clusters` lists the clusters as the cluster generator sees their secrets: the stored labels plus
  ``argocd.argoproj.io/secret-type: cluster``, the stored annotations plus ``managed-by: argocd.argoproj.io``.
* :func:`generation_failure` turns the first generation error into the API error: upstream wraps it as
  ``unable to generate Applications of ApplicationSet: error generating applications: ...`` and, for Generate,
  appends the run's log (logrus text lines).

Callers end their database transaction before generation starts; the cluster listing opens (and ends) its own
short read, and git work happens outside any transaction.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from sqlalchemy.orm import Session

from argocd_server.db.stores.clusters import ClusterStore
from argocd_server.engine.appset import (
    ClusterInfo,
    GenerationError,
    GenerationResult,
    LogEntry,
    list_directories,
    match_files,
)
from argocd_server.engine.appset.goformat import go_quote
from argocd_server.engine.source import RepoCredentials, SourceRenderer
from argocd_server.errors import ArgoError, Internal, Unavailable

__all__ = ["GitRepoFiles", "format_log", "generation_failure", "stored_clusters"]

SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"  # noqa: S105 - a label key, not a secret
MANAGED_BY_ANNOTATION = "managed-by"
MANAGED_BY_ARGOCD = "argocd.argoproj.io"

RepoCredentialsLookup = Callable[[str, str], RepoCredentials | None]


def _repo_server_error(message: str) -> GenerationError:
    """A repo-server failure as upstream's client sees it: a gRPC Internal status."""
    return GenerationError(f"rpc error: code = Internal desc = {message}", status=Internal(message))


class GitRepoFiles:
    """The git generator's view of repositories (``RepoFiles``) over the shared sources layer."""

    def __init__(self, renderer: SourceRenderer | None, credentials: RepoCredentialsLookup | None) -> None:
        self._renderer = renderer
        self._credentials = credentials

    def _sources(self) -> SourceRenderer:
        if self._renderer is None:
            message = "repository server is not available"
            raise GenerationError(f"error initialising new repo server client: {message}", status=Unavailable(message))
        return self._renderer

    def _creds(self, url: str, project: str) -> RepoCredentials:
        found = self._credentials(url, project) if self._credentials is not None else None
        return found if found is not None else RepoCredentials(url=url)

    def _resolve(self, url: str, revision: str, project: str) -> tuple[SourceRenderer, RepoCredentials, str]:
        sources = self._sources()
        creds = self._creds(url, project)
        try:
            sha = sources.git.resolve_revision(url, creds, revision=revision or "HEAD")
        except ArgoError as exc:
            # Upstream's message loses the revision here (it prints the empty resolved one).
            raise _repo_server_error(f"unable to resolve git revision : {exc.message}") from None
        return sources, creds, sha

    def directories(self, repo_url: str, revision: str, *, project: str) -> list[str]:
        sources, creds, sha = self._resolve(repo_url, revision, project)
        try:
            with sources.git.checkout(repo_url, creds, sha) as root:
                return list_directories(root)
        except ArgoError as exc:
            raise _repo_server_error(
                f"unable to checkout git repo {repo_url} with revision {sha}: {exc.message}"
            ) from None

    def files(self, repo_url: str, revision: str, pattern: str, *, project: str) -> dict[str, bytes]:
        sources, creds, sha = self._resolve(repo_url, revision, project)
        pattern = pattern or "."
        try:
            with sources.git.checkout(repo_url, creds, sha) as root:
                return match_files(root, pattern)
        except ArgoError as exc:
            raise _repo_server_error(
                f"unable to checkout git repo {repo_url} with revision {sha} pattern {pattern}: {exc.message}"
            ) from None


def stored_clusters(session: Session) -> list[ClusterInfo]:
    """The registered clusters as cluster secrets present them to the cluster generator."""
    infos: list[ClusterInfo] = []
    for row in ClusterStore(session).list():
        doc: dict[str, Any] = orjson.loads(row.doc)
        labels = {str(k): str(v) for k, v in (doc.get("labels") or {}).items()}
        labels[SECRET_TYPE_LABEL] = "cluster"
        annotations = {str(k): str(v) for k, v in (doc.get("annotations") or {}).items()}
        annotations[MANAGED_BY_ANNOTATION] = MANAGED_BY_ARGOCD
        server = row.server.rstrip("/")
        infos.append(
            ClusterInfo(
                name=row.name or server,
                server=server,
                project=row.project,
                labels=labels,
                annotations=annotations,
            )
        )
    return infos


_PLAIN = re.compile(r"^[A-Za-z0-9\-._/@^+]+$")


def _logfmt(value: str) -> str:
    return value if _PLAIN.match(value) else go_quote(value)


def format_log(entries: Sequence[LogEntry], *, appset_name: str, now: datetime.datetime | None = None) -> str:
    """The run's log as logrus' text formatter writes it (``time=... level=... msg=... applicationset=...``)."""
    stamp = (now or datetime.datetime.now(datetime.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = []
    for entry in entries:
        fields = [f'time="{stamp}"', f"level={entry.level}", f"msg={_logfmt(entry.message)}"]
        fields.append(f"applicationset={_logfmt(appset_name)}")
        if entry.error:
            fields.append(f"error={_logfmt(entry.error)}")
        lines.append(" ".join(fields) + "\n")
    return "".join(lines)


def generation_failure(result: GenerationResult, *, appset_name: str, with_log: bool) -> ArgoError:
    """The API error for a failed generation run (``result.error`` must be set)."""
    assert result.error is not None
    error = result.error.wrap("error generating applications").wrap("unable to generate Applications of ApplicationSet")
    suffix = "\n" + format_log(result.log, appset_name=appset_name) if with_log else ""
    return error.resolve(suffix=suffix)
