"""Git mirrors: revision resolution, shared ls-remote/fetch, refs, metadata, app discovery, credentials."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from argocd_server.engine.source import (
    Refresh,
    RenderRequest,
    RepoCredentials,
    SourceError,
    SourceNotFound,
    SourceRenderer,
    SourceType,
)
from argocd_server.engine.source.git import normalize_repo_url
from tests.support.git_http import serve_git_http
from tests.support.git_repo import GitRepo, make_git_repo

SECRET = "s3cr3t-Pa55word"


def _src(repo: GitRepo, rev: str, path: str = "app") -> dict[str, str]:
    return {"repoURL": repo.url, "path": path, "targetRevision": rev}


@pytest.fixture
def tagged(repo: GitRepo) -> dict[str, str]:
    shas = {}
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  v: '{v}'\n"
    for version in ("v1.0.0", "v1.2.0", "v1.2.5", "v1.3.0", "v2.0.0", "v2.1.0-rc.1"):
        shas[version] = repo.commit(version, {"app/cm.yaml": cm.format(v=version)})
        repo.tag(version, message=f"release {version}" if version == "v1.2.5" else "")
    repo.branch("feature")
    shas["feature"] = repo.commit("feature", {"app/cm.yaml": cm.format(v="feature")})
    repo.switch("main")
    shas["main"] = repo.commit("head", {"app/cm.yaml": cm.format(v="main")})
    return shas


@pytest.mark.parametrize(
    ("revision", "expected"),
    [
        ("", "main"),
        ("HEAD", "main"),
        ("main", "main"),
        ("refs/heads/main", "main"),
        ("feature", "feature"),
        ("v1.2.0", "v1.2.0"),
        ("refs/tags/v1.3.0", "v1.3.0"),
        ("v1.2.5", "v1.2.5"),  # annotated tag resolves to the commit, not the tag object
        (">=1.2.0 <2", "v1.3.0"),
        ("^1.2", "v1.3.0"),
        ("~1.2", "v1.2.5"),
        ("1.x", "v1.3.0"),
        ("*", "v2.0.0"),
        ("1.2.*", "v1.2.5"),
        (">=2.1.0-rc.0", "v2.1.0-rc.1"),
    ],
)
def test_resolve_revision(renderer: SourceRenderer, repo: GitRepo, tagged, revision, expected) -> None:
    assert renderer.resolve_revision(_src(repo, revision)) == tagged[expected]


def test_resolve_sha_full_and_short(renderer: SourceRenderer, repo: GitRepo, tagged) -> None:
    sha = tagged["v1.2.0"]
    assert renderer.resolve_revision(_src(repo, sha)) == sha
    assert renderer.resolve_revision(_src(repo, sha[:9])) == sha


def test_unknown_revision(renderer: SourceRenderer, repo: GitRepo, tagged) -> None:
    with pytest.raises(SourceNotFound, match="Unable to resolve 'nope' to a commit SHA"):
        renderer.resolve_revision(_src(repo, "nope"))
    with pytest.raises(SourceNotFound):
        renderer.resolve_revision(_src(repo, ">=9.0.0"))


def test_render_at_tag_reads_that_commit(renderer: SourceRenderer, repo: GitRepo, tagged) -> None:
    result = renderer.render(RenderRequest(sources=(_src(repo, "v1.2.0"),), app_name="a"))
    assert result.objects[0]["data"]["v"] == "v1.2.0"
    assert result.revision == tagged["v1.2.0"]


def test_one_ls_remote_and_one_fetch_for_many_apps(renderer: SourceRenderer, repo: GitRepo) -> None:
    files = {f"apps/a{i}/cm.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a{i}\n" for i in range(8)}
    repo.commit("apps", files)
    errors: list[BaseException] = []

    def render(i: int) -> None:
        try:
            req = RenderRequest(sources=(_src(repo, "main", f"apps/a{i}"),), app_name=f"a{i}")
            assert renderer.render(req).objects[0]["metadata"]["name"] == f"a{i}"
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=render, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    counters = renderer.counters
    assert counters.ls_remotes == 1
    assert counters.fetches == 1


def test_normal_refresh_sees_new_commit_and_forced_fetch(renderer: SourceRenderer, repo: GitRepo) -> None:
    repo.commit("one", {"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n"})
    req = RenderRequest(sources=(_src(repo, "main"),), app_name="a")
    assert renderer.render(req).objects[0]["metadata"]["name"] == "one"
    second = repo.commit("two", {"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: two\n"})
    # Within the revision cache TTL the old answer is reused...
    assert renderer.render(req).revision != second
    # ...a normal refresh re-runs ls-remote and fetches the new commit.
    result = renderer.render(RenderRequest(sources=req.sources, app_name="a", refresh=Refresh.NORMAL))
    assert result.revision == second
    assert result.objects[0]["metadata"]["name"] == "two"
    before = renderer.counters.fetches
    renderer.git.fetch(repo.url, None, force=True)
    assert renderer.counters.fetches == before + 1


def test_normal_refreshes_asked_before_an_ls_remote_share_it(renderer: SourceRenderer, repo: GitRepo) -> None:
    repo.commit("one", {"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n"})
    asked = time.monotonic()
    second = repo.commit("two", {"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: two\n"})

    def normal(fresh_after: float | None) -> str:
        req = RenderRequest(
            sources=(_src(repo, "main"),), app_name="a", refresh=Refresh.NORMAL, fresh_after=fresh_after
        )
        return renderer.render(req).revision

    assert normal(asked) == second
    looked = renderer.counters.ls_remotes
    # Asked for before that ls-remote started: its answer is fresh enough, whatever the revision cache says.
    assert normal(asked) == second
    assert renderer.counters.ls_remotes == looked
    # Asked for after it (a push may have come in between): a new one.
    third = repo.commit("three", {"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: three\n"})
    assert normal(time.monotonic()) == third
    assert renderer.counters.ls_remotes == looked + 1


def test_a_cached_answer_does_not_wait_behind_a_forced_ls_remote(renderer: SourceRenderer, repo: GitRepo) -> None:
    # A sync request resolves its revision from the revision cache; a refresh forcing a new ls-remote of the same
    # repository (slow remote) must not hold it up.
    head = repo.commit("one", {"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n"})
    assert renderer.git.resolve_revision(repo.url, revision="HEAD") == head
    key = "ls:" + normalize_repo_url(repo.url)
    holding, release = threading.Event(), threading.Event()

    def forced_ls_remote_in_flight() -> None:
        with renderer.git._lock(key):
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=forced_ls_remote_in_flight)
    thread.start()
    try:
        assert holding.wait(10)
        answered: list[str] = []
        reader = threading.Thread(
            target=lambda: answered.append(renderer.git.resolve_revision(repo.url, revision="HEAD"))
        )
        reader.start()
        reader.join(5)
        assert answered == [head]
    finally:
        release.set()
        thread.join(10)


def test_list_refs_metadata_and_apps(renderer: SourceRenderer, repo: GitRepo, tagged) -> None:
    creds = RepoCredentials(url=repo.url)
    refs = renderer.list_refs(creds)
    assert refs.branches == ("feature", "main")
    assert "v1.2.5" in refs.tags
    meta = renderer.revision_metadata(creds, revision="v1.2.5")
    assert meta.author == "Test Author <author@example.com>"
    assert meta.date == "2024-01-02T03:04:05+00:00"
    assert meta.message.strip() == "v1.2.5"
    assert meta.tags == ("v1.2.5",)
    assert meta.signature == ""


def test_list_apps(renderer: SourceRenderer, repo: GitRepo) -> None:
    repo.copy_example("guestbook")
    repo.copy_example("helm-guestbook")
    repo.copy_example("kustomize-guestbook")
    repo.commit("examples")
    apps = {(a.path, a.type) for a in renderer.list_apps(RepoCredentials(url=repo.url))}
    assert apps == {
        ("guestbook", SourceType.DIRECTORY),
        ("helm-guestbook", SourceType.HELM),
        ("kustomize-guestbook/base", SourceType.KUSTOMIZE),
        ("kustomize-guestbook/overlays/dev", SourceType.KUSTOMIZE),
    }


@pytest.fixture
def http_repo(tmp_path: Path):
    root = tmp_path / "served"
    repo = make_git_repo(root, "private.git")
    repo.commit("init", {"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: private\n"})
    with serve_git_http(root, username="alice", password=SECRET) as server:
        yield server, repo


def test_smart_http_basic_auth(renderer: SourceRenderer, http_repo) -> None:
    server, repo = http_repo
    url = f"{server.url}/private.git"
    creds = RepoCredentials(url=url, username="alice", password=SECRET)
    result = renderer.render(
        RenderRequest(sources=({"repoURL": url, "path": "app"},), app_name="p", credentials=(creds,))
    )
    assert result.revision == repo.head()
    assert result.objects[0]["metadata"]["name"] == "private"
    assert all("alice" not in line and SECRET not in line for line in server.requests)


def test_smart_http_wrong_password_is_clear_and_redacted(renderer: SourceRenderer, http_repo) -> None:
    server, _ = http_repo
    url = f"{server.url}/private.git"
    wrong = "wr0ng-Pa55word"
    with pytest.raises(SourceError) as info:
        renderer.test_repository(RepoCredentials(url=url, username="alice", password=wrong))
    message = str(info.value)
    assert "Authentication failed" in message or "401" in message
    assert wrong not in message


def test_smart_http_without_credentials_is_refused(renderer: SourceRenderer, http_repo) -> None:
    server, _ = http_repo
    url = f"{server.url}/private.git"
    with pytest.raises(SourceError, match="git ls-remote failed"):
        renderer.render(RenderRequest(sources=({"repoURL": url, "path": "app"},), app_name="p"))


def test_credentials_in_url_are_redacted(renderer: SourceRenderer, http_repo) -> None:
    server, _ = http_repo
    url = server.url.replace("http://", f"http://alice:{SECRET}@") + "/missing.git"
    with pytest.raises(SourceError) as info:
        renderer.test_repository(RepoCredentials(url=url))
    assert SECRET not in str(info.value)


def test_ssh_key_never_leaks(renderer: SourceRenderer) -> None:
    # No sshd is available in the test environment; check the failure path: unknown host key with
    # strict checking, and the private key text never appears in the error.
    key = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "AAAAbm90LWEtcmVhbC1rZXktanVzdC1hLXRlc3Q=\n"
        "-----END OPENSSH PRIVATE KEY-----\n"
    )
    creds = RepoCredentials(url="ssh://git@127.0.0.1:1/repo.git", ssh_private_key=key)
    with pytest.raises(SourceError) as info:
        renderer.test_repository(creds)
    assert "AAAAbm90" not in str(info.value)
    assert "PRIVATE KEY" not in str(info.value)


def test_argument_injection_url_rejected(renderer: SourceRenderer) -> None:
    with pytest.raises(SourceError, match="invalid repository URL"):
        renderer.test_repository(RepoCredentials(url="--upload-pack=touch /tmp/pwned"))
