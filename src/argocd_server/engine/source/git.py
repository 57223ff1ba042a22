"""Git access for the sources layer: a bare mirror per repository URL, revision resolution, trees.

Boundary: every git command (``ls-remote``, ``fetch``, ``archive``, ``cat-file``) runs through
:mod:`.process`, so each gets a minimal environment, a timeout and an output cap. GitPython is not
used at run time: its command wrapper always merges the server's own environment into children and
its pure-Python GitDB backend is deprecated, so commits are read with ``git cat-file`` instead.
Credentials reach git only through environment variables and private temp files (askpass helper,
SSH key, TLS client pair): never in URLs, argv or logs. Mirrors live in ``<data_dir>/git/<hash>``
and are fetched, never re-cloned; each commit is extracted once into ``<data_dir>/trees`` and shared
read-only by renders.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import logging
import os
import re
import shlex
import shutil
import tarfile
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argocd_server.errors import ArgoError, SourceError, SourceNotFound

from . import process, safety
from .process import Redactor, redact_url
from .semver import max_satisfying, parse_constraint, parse_version
from .types import Refs, RepoCredentials, RevisionMetadata, SourceSettings, WorkCounters

log = logging.getLogger(__name__)

_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
_SHORT_SHA = re.compile(r"^[0-9a-f]{7,39}$")
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")


def normalize_repo_url(url: str) -> str:
    """The cache / credential key of a repository URL (case, trailing ``/`` and ``.git`` ignored, as
    upstream).
    """
    key = url.strip().lower().rstrip("/")
    return key.removesuffix(".git")


def is_ssh_url(url: str) -> bool:
    return url.startswith("ssh://") or bool(_SCP_LIKE.match(url))


def url_hash(url: str) -> str:
    return hashlib.sha256(normalize_repo_url(url).encode()).hexdigest()[:32]


def _check_url(url: str) -> None:
    # A URL starting with "-" would be parsed by git as an option (argument injection).
    if not url or url.startswith("-") or "\n" in url:
        raise SourceError(f"invalid repository URL '{redact_url(url)}'")


@dataclass(frozen=True)
class RemoteRefs:
    """``git ls-remote`` output: full ref name -> commit SHA (annotated tags peeled), and where HEAD
    points.
    """

    refs: dict[str, str]
    head: str | None
    head_target: str | None = None
    fetched_at: float = field(default=0.0, compare=False)


class GitAuth:
    """Environment and private files carrying one repository's credentials to one git command."""

    def __init__(self, creds: RepoCredentials | None, home: Path, *, token_source: TokenSource) -> None:
        self.env: dict[str, str] = process.base_env(home)
        secrets = list(creds.secrets()) if creds else []
        config: list[tuple[str, str]] = []
        if creds is not None:
            username, password = creds.username, creds.password
            if creds.github_app_id and creds.github_app_private_key:
                username, password = "x-access-token", token_source(creds)
                secrets.append(password)
            if (username or password) and not is_ssh_url(creds.url):
                askpass = home / "askpass.sh"
                # The script holds no secret: it echoes variables only git's child process can see.
                askpass.write_text(
                    '#!/bin/sh\ncase "$1" in\n'
                    "  Username*) printf '%s\\n' \"$ARGOCD_GIT_USERNAME\" ;;\n"
                    "  *) printf '%s\\n' \"$ARGOCD_GIT_PASSWORD\" ;;\nesac\n"
                )
                askpass.chmod(0o700)
                self.env["GIT_ASKPASS"] = str(askpass)
                self.env["ARGOCD_GIT_USERNAME"] = username
                self.env["ARGOCD_GIT_PASSWORD"] = password
                if creds.force_http_basic_auth:
                    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
                    secrets.append(raw)
                    config.append(("http.extraHeader", f"Authorization: Basic {raw}"))
            if creds.bearer_token:
                config.append(("http.extraHeader", f"Authorization: Bearer {creds.bearer_token}"))
            if creds.tls_client_cert_data and creds.tls_client_cert_key:
                cert_file, key_file = home / "client.crt", home / "client.key"
                _write_private(cert_file, creds.tls_client_cert_data)
                _write_private(key_file, creds.tls_client_cert_key)
                config += [("http.sslCert", str(cert_file)), ("http.sslKey", str(key_file))]
            if creds.insecure:
                config.append(("http.sslVerify", "false"))
            if creds.proxy:
                config.append(("http.proxy", creds.proxy))
            if creds.no_proxy:
                self.env["NO_PROXY"] = self.env["no_proxy"] = creds.no_proxy
        self.env["GIT_SSH_COMMAND"] = self._ssh_command(creds, home)
        for i, (key, value) in enumerate(config):
            self.env[f"GIT_CONFIG_KEY_{i}"] = key
            self.env[f"GIT_CONFIG_VALUE_{i}"] = value
        self.env["GIT_CONFIG_COUNT"] = str(len(config))
        self.redactor = Redactor(secrets)

    @staticmethod
    def _ssh_command(creds: RepoCredentials | None, home: Path) -> str:
        parts = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15"]
        if creds is not None and creds.ssh_private_key:
            key = home / "id_key"
            text = creds.ssh_private_key
            _write_private(key, text if text.endswith("\n") else text + "\n")
            parts += ["-i", str(key), "-o", "IdentitiesOnly=yes"]
        if creds is not None and creds.insecure:
            parts += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
        else:
            known = home / "known_hosts"
            known.write_text(creds.known_hosts if creds else "")
            parts += ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known}"]
        return shlex.join(parts)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


TokenSource = Callable[[RepoCredentials], str]


class GitHubAppTokens:
    """Installation access tokens for GitHub App credentials, cached until shortly before they expire."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._lock = threading.Lock()
        self._tokens: dict[tuple[int, int, str], tuple[str, float]] = {}

    def __call__(self, creds: RepoCredentials) -> str:
        import httpx
        import jwt

        app_id, inst = creds.github_app_id or 0, creds.github_app_installation_id or 0
        base = (creds.github_app_enterprise_base_url or "https://api.github.com").rstrip("/")
        key = (app_id, inst, base)
        with self._lock:
            cached = self._tokens.get(key)
            if cached and cached[1] > time.time() + 60:
                return cached[0]
            now = int(time.time())
            try:
                assertion = jwt.encode(
                    {"iat": now - 60, "exp": now + 540, "iss": str(app_id)},
                    creds.github_app_private_key,
                    algorithm="RS256",
                )
            except Exception:
                raise SourceError("failed to sign GitHub App JWT: invalid private key") from None
            try:
                resp = httpx.post(
                    f"{base}/app/installations/{inst}/access_tokens",
                    headers={
                        "Authorization": f"Bearer {assertion}",
                        "Accept": "application/vnd.github+json",
                    },
                    timeout=self._timeout,
                    verify=not creds.insecure,
                )
            except httpx.HTTPError as exc:
                raise SourceError(f"failed to get GitHub App token: {type(exc).__name__}") from None
            if resp.status_code >= 300:
                raise SourceError(f"failed to get GitHub App token: HTTP {resp.status_code}")
            token = str(resp.json().get("token", ""))
            self._tokens[key] = (token, time.time() + 3000)
            return token


class _Tree:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.users = 0
        self.error: ArgoError | None = None


class GitMirrors:
    """The mirror cache: ls-remote, fetch, revision resolution and extracted trees, shared by all
    renders.
    """

    def __init__(self, settings: SourceSettings, counters: WorkCounters) -> None:
        self._settings = settings
        self._counters = counters
        self._root = settings.data_dir / "git"
        self._trees_root = settings.data_dir / "trees"
        self._scratch_root = settings.data_dir / "scratch"
        for d in (self._root, self._trees_root, self._scratch_root):
            d.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, threading.RLock] = {}
        self._locks_guard = threading.Lock()
        self._ls_cache: dict[str, RemoteRefs] = {}
        self._trees: OrderedDict[tuple[str, str], _Tree] = OrderedDict()
        self._trees_guard = threading.Lock()
        self._tokens = GitHubAppTokens(settings.git_request_timeout)
        # Commands without credentials share one home: it holds only an empty known_hosts that nothing writes to,
        # so the two filesystem round trips of a throwaway home per command (most of them) are saved.
        anonymous_home = self._scratch_root / "anonymous"
        anonymous_home.mkdir(exist_ok=True)
        self._anonymous = GitAuth(None, anonymous_home, token_source=self._tokens)

    # -- plumbing
    # -----------------------------------------------------------------------------------

    def _lock(self, key: str) -> threading.RLock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.RLock())

    def mirror_path(self, url: str) -> Path:
        return self._root / url_hash(url)

    @contextlib.contextmanager
    def _auth(self, creds: RepoCredentials | None) -> Iterator[GitAuth]:
        if creds is None:
            yield self._anonymous
            return
        with tempfile.TemporaryDirectory(prefix="git-", dir=self._scratch_root) as home:
            yield GitAuth(creds, Path(home), token_source=self._tokens)

    def _git(
        self,
        args: list[str],
        *,
        auth: GitAuth,
        timeout: float | None = None,
        cwd: Path | None = None,
        stdout_path: Path | None = None,
        what: str = "",
        max_output: int | None = None,
    ) -> str:
        result = process.run(
            [self._settings.git_binary, *args],
            timeout=timeout or self._settings.exec_timeout,
            max_output=max_output or self._settings.max_output_bytes,
            cwd=cwd,
            env=auth.env,
            redactor=auth.redactor,
            stdout_path=stdout_path,
            what=what or f"git {args[0]}",
        )
        return result.stdout.decode("utf-8", errors="replace")

    # -- remote refs
    # --------------------------------------------------------------------------------

    def ls_remote(
        self,
        url: str,
        creds: RepoCredentials | None = None,
        *,
        force: bool = False,
        fresh_after: float | None = None,
    ) -> RemoteRefs:
        """All refs of the remote; answers younger than ``revision_cache_ttl`` are shared unless
        ``force``.

        A forced call still reuses an answer fetched after it started waiting (or after ``fresh_after``, when the
        refresh behind it was asked for), so a burst of refreshes for the same repository costs one ``ls-remote``.
        """
        _check_url(url)
        key = normalize_repo_url(url)
        cached = self._ls_cache.get(key)
        if (
            not force
            and cached is not None
            and time.monotonic() - cached.fetched_at < self._settings.revision_cache_ttl
        ):
            # A fresh answer serves at once: no queueing behind a forced ls-remote of the same repository.
            return cached
        asked_at = time.monotonic() if fresh_after is None else min(fresh_after, time.monotonic())
        with self._lock("ls:" + key):
            cached = self._ls_cache.get(key)
            now = time.monotonic()
            if cached is not None:
                fresh = now - cached.fetched_at < self._settings.revision_cache_ttl
                if (fresh and not force) or cached.fetched_at >= asked_at:
                    return cached
            with self._auth(creds) as auth:
                self._counters.add("ls_remotes")
                # Stamped with when it started: a push made while it ran may be missing from the answer.
                started = time.monotonic()
                out = self._git(
                    ["ls-remote", "--symref", url],
                    auth=auth,
                    timeout=self._settings.git_request_timeout,
                    what="git ls-remote",
                )
            refs = _parse_ls_remote(out, fetched_at=started)
            self._ls_cache[key] = refs
            return refs

    def list_refs(self, url: str, creds: RepoCredentials | None = None, *, force: bool = False) -> Refs:
        remote = self.ls_remote(url, creds, force=force)
        branches = sorted(r.removeprefix("refs/heads/") for r in remote.refs if r.startswith("refs/heads/"))
        tags = sorted(r.removeprefix("refs/tags/") for r in remote.refs if r.startswith("refs/tags/"))
        return Refs(branches=tuple(branches), tags=tuple(tags))

    def resolve_revision(
        self,
        url: str,
        creds: RepoCredentials | None = None,
        *,
        revision: str,
        tag_prefix: str = "",
        force: bool = False,
        fresh_after: float | None = None,
    ) -> str:
        """The commit SHA ``revision`` denotes: HEAD, branch, tag, semver constraint over tags, full or
        short SHA.
        """
        revision = revision.strip()
        if _FULL_SHA.match(revision):
            return revision
        if not revision:
            revision = "HEAD"
        remote = self.ls_remote(url, creds, force=force, fresh_after=fresh_after)
        constraint = None
        if parse_version(revision) is None:
            constraint = parse_constraint(revision)
        elif tag_prefix:
            revision = tag_prefix + revision
        if constraint is not None and not _looks_like_ref(revision, remote):
            candidates: dict[str, Any] = {}
            for ref in remote.refs:
                if not ref.startswith("refs/tags/"):
                    continue
                tag = ref.removeprefix("refs/tags/")
                if tag_prefix:
                    if not tag.startswith(tag_prefix):
                        continue
                    tag = tag.removeprefix(tag_prefix)
                version = parse_version(tag)
                if version is not None:
                    candidates[ref] = version
            best = max_satisfying(constraint, candidates)
            if best is not None:
                return remote.refs[best]
            raise SourceNotFound(
                f"Unable to resolve '{revision}' to a commit SHA: no tag matches the version constraint"
            )
        elif tag_prefix and parse_version(revision.removeprefix(tag_prefix)) is None:
            raise SourceError(f"tagPrefix requires a semver version or constraint, got '{revision}'")
        sha = _match_ref(revision, remote)
        if sha is not None:
            return sha
        if _SHORT_SHA.match(revision):
            return self._resolve_short_sha(url, creds, revision)
        raise SourceNotFound(f"Unable to resolve '{revision}' to a commit SHA")

    def _resolve_short_sha(self, url: str, creds: RepoCredentials | None, short: str) -> str:
        self.fetch(url, creds, force=False)
        with self._auth(None) as auth:
            try:
                out = self._git(
                    ["rev-parse", "--verify", "--quiet", f"{short}^{{commit}}"],
                    auth=auth,
                    cwd=self.mirror_path(url),
                    what="git rev-parse",
                )
            except SourceError:
                raise SourceNotFound(f"Unable to resolve '{short}' to a commit SHA") from None
        return out.strip()

    # -- mirror
    # ---------------------------------------------------------------------------------------

    def has_commit(self, url: str, sha: str) -> bool:
        path = self.mirror_path(url)
        if not (path / "HEAD").exists() or not _FULL_SHA.match(sha):
            return False
        with self._auth(None) as auth:
            try:
                self._git(
                    ["cat-file", "-e", f"{sha}^{{commit}}"],
                    auth=auth,
                    cwd=path,
                    what="git cat-file",
                )
            except SourceError:
                return False
        return True

    def fetch(self, url: str, creds: RepoCredentials | None = None, *, force: bool = True) -> None:
        """Fetch all branches and tags into the mirror (creating it once). One fetch per URL at a time."""
        _check_url(url)
        path = self.mirror_path(url)
        asked_at = time.monotonic()
        with self._lock("fetch:" + normalize_repo_url(url)):
            marker = path / "argocd-fetched-at"
            if not force and marker.exists():
                return
            if force and marker.exists() and _read_float(marker) >= asked_at:
                return
            with self._auth(creds) as auth:
                if not (path / "HEAD").exists():
                    tmp = Path(tempfile.mkdtemp(prefix="init-", dir=self._root))
                    self._git(["init", "--bare", "--quiet", str(tmp)], auth=auth, what="git init")
                    tmp.rename(path)
                self._counters.add("fetches")
                self._git(
                    [
                        "fetch",
                        "--quiet",
                        "--force",
                        "--prune",
                        "--no-auto-gc",
                        url,
                        "+refs/heads/*:refs/heads/*",
                        "+refs/tags/*:refs/tags/*",
                    ],
                    auth=auth,
                    cwd=path,
                    what="git fetch",
                )
            marker.write_text(repr(time.monotonic()))

    def ensure_commit(self, url: str, creds: RepoCredentials | None, sha: str) -> None:
        """Make ``sha`` available in the mirror, fetching only when it is missing."""
        if self.has_commit(url, sha):
            return
        self.fetch(url, creds, force=True)
        if self.has_commit(url, sha):
            return
        # Not a ref tip: servers with uploadpack.allowReachableSHA1InWant can still send it.
        with (
            self._lock("fetch:" + normalize_repo_url(url)),
            self._auth(creds) as auth,
            contextlib.suppress(SourceError),
        ):
            self._counters.add("fetches")
            self._git(
                ["fetch", "--quiet", url, sha],
                auth=auth,
                cwd=self.mirror_path(url),
                what="git fetch",
            )
        if not self.has_commit(url, sha):
            raise SourceNotFound(f"Unable to resolve '{sha}' to a commit SHA")

    # -- trees
    # ----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def checkout(self, url: str, creds: RepoCredentials | None, sha: str) -> Iterator[Path]:
        """The files of commit ``sha``, extracted once and shared; callers must not modify them."""
        key = (url_hash(url), sha)
        with self._lock("tree:" + key[0] + sha):
            with self._trees_guard:
                tree = self._trees.get(key)
                if tree is not None:
                    tree.users += 1
                    self._trees.move_to_end(key)
            if tree is None:
                self.ensure_commit(url, creds, sha)
                tree = self._extract(url, sha)
                with self._trees_guard:
                    tree.users += 1
                    self._trees[key] = tree
        try:
            if tree.error is not None:
                raise tree.error
            yield tree.path
        finally:
            with self._trees_guard:
                tree.users -= 1
                self._evict_trees()

    def _evict_trees(self) -> None:
        while len(self._trees) > self._settings.tree_cache_max_entries:
            victim = next((k for k, t in self._trees.items() if t.users == 0), None)
            if victim is None:
                return
            old = self._trees.pop(victim)
            shutil.rmtree(old.path.parent, ignore_errors=True)

    def _extract(self, url: str, sha: str) -> _Tree:
        base = self._trees_root / url_hash(url)
        base.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f"{sha[:12]}-", dir=base))
        archive = work / "archive.tar"
        with self._auth(None) as auth:
            self._git(
                ["archive", "--format=tar", sha],
                auth=auth,
                cwd=self.mirror_path(url),
                stdout_path=archive,
                max_output=self._settings.max_extracted_bytes,
                what="git archive",
            )
        root = work / "repo"
        root.mkdir()
        extract_tar(archive, root)
        archive.unlink()
        tree = _Tree(root)
        if not self._settings.allow_out_of_bounds_symlinks:
            try:
                safety.check_symlinks(root)
            except SourceError as exc:
                tree.error = exc
        return tree

    # -- metadata
    # -------------------------------------------------------------------------------------

    def revision_metadata(
        self, url: str, creds: RepoCredentials | None, sha: str, *, gnupg_home: Path | None = None
    ) -> RevisionMetadata:
        self.ensure_commit(url, creds, sha)
        path = self.mirror_path(url)
        with self._auth(None) as auth:
            raw = self._git(["cat-file", "commit", sha], auth=auth, cwd=path, what="git cat-file")
        commit = parse_commit(raw)
        author, date, message, signature = (
            commit.author,
            commit.author_date,
            commit.message,
            commit.signature,
        )
        with self._auth(None) as auth:
            tags_out = self._git(
                ["for-each-ref", "--points-at", sha, "--format=%(refname:short)", "refs/tags"],
                auth=auth,
                cwd=path,
                what="git for-each-ref",
            )
            info = ""
            if signature:
                info = self._verify(path, sha, auth, gnupg_home)
        tags = tuple(sorted(t for t in tags_out.splitlines() if t))
        return RevisionMetadata(
            author=author,
            date=date,
            tags=tags,
            message=message,
            signature=signature,
            signature_info=info,
        )

    def _verify(self, path: Path, sha: str, auth: GitAuth, gnupg_home: Path | None) -> str:
        env = dict(auth.env)
        env["GNUPGHOME"] = str(gnupg_home) if gnupg_home else str(Path(auth.env["HOME"]) / "gnupg")
        Path(env["GNUPGHOME"]).mkdir(mode=0o700, exist_ok=True)
        try:
            result = process.run(
                [self._settings.git_binary, "verify-commit", "--raw", sha],
                timeout=self._settings.exec_timeout,
                max_output=1024 * 1024,
                cwd=path,
                env=env,
                what="git verify-commit",
            )
            status = result.stderr
        except SourceError as exc:
            status = exc.message
        return _summarise_gpg(status)


@dataclass(frozen=True)
class CommitInfo:
    author: str
    author_date: str
    message: str
    signature: str


def parse_commit(raw: str) -> CommitInfo:
    """Parse ``git cat-file commit`` output (headers, continuation lines, blank line, message)."""
    header_text, _, message = raw.partition("\n\n")
    headers: dict[str, str] = {}
    last = ""
    for line in header_text.split("\n"):
        if line.startswith(" ") and last:
            headers[last] += "\n" + line[1:]
            continue
        key, _, value = line.partition(" ")
        last = key
        headers.setdefault(key, value)
    author = headers.get("author", "")
    m = re.match(r"^(?P<who>.*?) (?P<ts>\d+) (?P<tz>[+-]\d{4})$", author)
    if m:
        seconds = int(m["ts"])
        sign = 1 if m["tz"][0] == "+" else -1
        offset = sign * (int(m["tz"][1:3]) * 3600 + int(m["tz"][3:5]) * 60)
        tz = datetime.timezone(datetime.timedelta(seconds=offset))
        date = datetime.datetime.fromtimestamp(seconds, tz).isoformat()
        who = m["who"]
    else:
        date, who = "", author
    return CommitInfo(author=who, author_date=date, message=message, signature=headers.get("gpgsig", ""))


def _summarise_gpg(status: str) -> str:
    for marker, text in (
        ("GOODSIG", "Good signature"),
        ("BADSIG", "Bad signature"),
        ("EXPKEYSIG", "Signature by expired key"),
        ("REVKEYSIG", "Signature by revoked key"),
        ("NO_PUBKEY", "Signature by unknown key"),
        ("ERRSIG", "Signature could not be verified"),
    ):
        m = re.search(rf"\[GNUPG:\] {marker} (\S+)", status)
        if m:
            return f"{text} (key ID {m.group(1)[-16:]})"
    return "Signature could not be verified"


def _read_float(path: Path) -> float:
    try:
        return float(path.read_text().strip())
    except (OSError, ValueError):
        return 0.0


def _parse_ls_remote(out: str, *, fetched_at: float) -> RemoteRefs:
    refs: dict[str, str] = {}
    peeled: dict[str, str] = {}
    head_target: str | None = None
    for line in out.splitlines():
        if not line.strip() or "\t" not in line:
            continue
        left, name = line.split("\t", 1)
        if left.startswith("ref: "):
            if name == "HEAD":
                head_target = left.removeprefix("ref: ").strip()
            continue
        sha = left.strip()
        if name.endswith("^{}"):
            peeled[name.removesuffix("^{}")] = sha
        else:
            refs[name] = sha
    refs.update(peeled)
    head = refs.pop("HEAD", None)
    if head is None and head_target:
        head = refs.get(head_target)
    return RemoteRefs(refs=refs, head=head, head_target=head_target, fetched_at=fetched_at)


def _looks_like_ref(revision: str, remote: RemoteRefs) -> bool:
    return _match_ref(revision, remote) is not None


def _match_ref(revision: str, remote: RemoteRefs) -> str | None:
    if revision == "HEAD":
        return remote.head
    for name in (revision, f"refs/heads/{revision}", f"refs/tags/{revision}"):
        if name in remote.refs:
            return remote.refs[name]
    return None


def extract_tar(archive: Path, dest: Path, *, strip: str = "", max_bytes: int | None = None) -> None:
    """Extract regular files, directories and symlinks; refuse members that escape ``dest``.

    Symlinks are created as-is; :func:`safety.check_symlinks` decides later whether the tree is
    acceptable, so a hostile repository fails with upstream's message instead of being silently
    altered.
    """
    total = 0
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                name = safety.safe_member_name(member.name)
                if strip:
                    if name != strip and not name.startswith(strip + "/"):
                        continue
                    name = name[len(strip) :].lstrip("/")
                if not name or name == "pax_global_header":
                    continue
                target = dest / name
                parent = target.parent
                parent.mkdir(parents=True, exist_ok=True)
                if not parent.resolve().is_relative_to(dest.resolve()):
                    raise safety.OutOfBoundsError(f"archive member '{member.name}' escapes the extraction directory")
                if member.isdir():
                    target.mkdir(exist_ok=True)
                elif member.issym():
                    if target.is_symlink() or target.exists():
                        target.unlink()
                    os.symlink(member.linkname, target)
                elif member.isfile():
                    total += member.size
                    if max_bytes is not None and total > max_bytes:
                        raise SourceError(f"archive exceeds the limit of {max_bytes} bytes")
                    src = tar.extractfile(member)
                    if src is None:
                        continue
                    if target.is_symlink():
                        target.unlink()
                    with src, target.open("wb") as out:
                        shutil.copyfileobj(src, out)
                    target.chmod(0o755 if member.mode & 0o111 else 0o644)
    except (tarfile.TarError, EOFError) as exc:
        raise SourceError(f"failed to extract archive: {exc}") from None


def clone_tree(src: Path, dst: Path) -> None:
    """A private copy of a shared tree, hard-linked where possible.

    Callers replace files (write new file, rename) rather than edit them in place, so the shared
    inodes are never modified.
    """

    def link_or_copy(s: str, d: str) -> object:
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)
        return d

    shutil.copytree(src, dst, symlinks=True, copy_function=link_or_copy, dirs_exist_ok=True)


def replace_file(path: Path, data: str) -> None:
    """Write ``path`` without touching the inode it may share with the cached tree."""
    tmp = path.with_name(f".{path.name}.argocd-tmp")
    tmp.write_text(data)
    if path.is_symlink() or path.exists():
        path.unlink()
    tmp.rename(path)
