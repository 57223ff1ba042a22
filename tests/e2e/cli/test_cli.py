"""The ``argocd`` CLI end to end: a subprocess against a real server, as a CI pipeline would run it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import ADMIN_PASSWORD
from tests.e2e.cli.conftest import Run, Server
from tests.support.manifests_repo import make_manifests_repo

REPO = ""
"""A local repository (set by the autouse fixture below): creating apps validates, which renders manifests."""


@pytest.fixture(autouse=True, scope="module")
def _local_repo(tmp_path_factory: pytest.TempPathFactory) -> None:
    global REPO
    REPO = make_manifests_repo(tmp_path_factory.mktemp("repo"), ("guestbook", "other", "x", "kustomize"), tags=("v2",))


IN_CLUSTER = "https://kubernetes.default.svc"


def create_app(argocd: Run, name: str, *extra: str) -> None:
    result = argocd(
        "app", "create", name,
        "--repo", REPO, "--path", "guestbook",
        "--dest-server", IN_CLUSTER, "--dest-namespace", "default",
        "--validate=false", *extra,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"application '{name}' created"


def config_of(home: Path) -> dict[str, object]:
    loaded = yaml.safe_load((home / "argocd-config" / "config").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_pipeline_story(logged_in: Run) -> None:
    argocd = logged_in
    create_app(argocd, "story", "--label", "team=a", "--sync-option", "CreateNamespace=true")

    got = argocd("app", "get", "story", "-o", "json")
    assert got.returncode == 0, got.stderr
    app = json.loads(got.stdout)
    assert app["metadata"]["labels"] == {"team": "a"}
    assert app["spec"]["source"] == {"repoURL": REPO, "path": "guestbook"}
    assert app["spec"]["syncPolicy"] == {"syncOptions": ["CreateNamespace=true"]}

    listed = argocd("app", "list", "-o", "name")
    assert "argocd/story" in listed.stdout.splitlines()

    changed = argocd(
        "app", "set", "story", "--revision=v2", "--sync-policy", "automated", "--auto-prune",
        "--helm-set", "replicas=2", "--validate=false",
    )  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    spec = json.loads(argocd("app", "get", "story", "-o", "json").stdout)["spec"]
    assert spec["source"]["targetRevision"] == "v2"
    assert spec["source"]["helm"]["parameters"] == [{"name": "replicas", "value": "2"}]
    assert spec["syncPolicy"]["automated"] == {"prune": True}

    unset = argocd("app", "unset", "story", "-p", "replicas")
    assert unset.returncode == 0, unset.stderr
    spec = json.loads(argocd("app", "get", "story", "-o", "json").stdout)["spec"]
    assert "helm" not in spec["source"]

    again = argocd("app", "create", "story", "--repo", REPO, "--path", "other", "--dest-server", IN_CLUSTER)
    assert again.returncode == 20
    assert "existing application spec is different, use upsert flag to force update" in again.stderr

    deleted = argocd("app", "delete", "story", "-y", "--cascade=false")
    assert deleted.returncode == 0, deleted.stderr
    assert "application 'story' deleted" in deleted.stdout
    gone = argocd("app", "get", "story")
    assert gone.returncode == 20
    assert "rpc error: code = PermissionDenied desc = permission denied" in gone.stderr


def test_app_get_output_formats(logged_in: Run, server: Server) -> None:
    create_app(logged_in, "formats")
    wide = logged_in("app", "get", "formats")
    assert wide.returncode == 0, wide.stderr
    lines = wide.stdout.splitlines()
    assert lines[0] == "Name:               argocd/formats"
    assert "Project:            default" in lines
    assert f"Server:             {IN_CLUSTER}" in lines
    assert f"URL:                {server.url}/applications/formats" in lines
    assert f"- Repo:             {REPO}" in lines
    assert "Sync Policy:        Manual" in lines
    assert logged_in("app", "get", "formats", "-o", "wide").stdout == wide.stdout

    as_yaml = yaml.safe_load(logged_in("app", "get", "formats", "-o", "yaml").stdout)
    assert as_yaml["metadata"]["name"] == "formats"
    as_json = json.loads(logged_in("app", "get", "formats", "--output=json").stdout)
    assert as_json == as_yaml

    bad = logged_in("app", "get", "formats", "-o", "xml")
    assert bad.returncode == 1
    assert "unknown output format: xml" in bad.stderr


def test_app_list_output_formats(logged_in: Run) -> None:
    create_app(logged_in, "list-a", "--label", "tier=front")
    create_app(logged_in, "list-b", "--project", "default")
    table = logged_in("app", "list")
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == (
        [
            "NAME",
            "CLUSTER",
            "NAMESPACE",
            "PROJECT",
            "STATUS",
            "HEALTH",
            "SYNCPOLICY",
            "CONDITIONS",
            "REPO",
            "PATH",
            "TARGET",
        ]
    )
    row = next(r for r in rows if r.startswith("argocd/list-a "))
    # STATUS, HEALTH and CONDITIONS depend on how far the controller got; the rest is fixed.
    assert row.split()[:4] == ["argocd/list-a", IN_CLUSTER, "default", "default"]
    assert row[header.index("SYNCPOLICY") :].startswith("Manual ")
    assert row.split()[-2:] == [REPO, "guestbook"]
    # Columns line up: every row's REPO starts where the header's does.
    assert row.index(REPO) == header.index("REPO")

    names = logged_in("app", "list", "-o", "name", "-l", "tier=front").stdout.split()
    assert names == ["argocd/list-a"]
    items = json.loads(logged_in("app", "list", "-o", "json", "-p", "default").stdout)
    assert {"list-a", "list-b"} <= {i["metadata"]["name"] for i in items}
    assert yaml.safe_load(logged_in("app", "list", "-o", "yaml", "-r", REPO).stdout) == json.loads(
        logged_in("app", "list", "-o", "json", "-r", REPO).stdout
    )
    assert logged_in("app", "list", "-o", "name", "-p", "nope").stdout == ""


def test_config_round_trip_logout_and_context(argocd: Run, server: Server, home: Path) -> None:
    login = argocd(
        "login", server.address, "--plaintext", "--name", "first", "--username", "admin", "--password", ADMIN_PASSWORD
    )
    assert login.returncode == 0, login.stderr
    assert login.stdout.splitlines() == ["'admin:login' logged in successfully", "Context 'first' updated"]
    config = config_of(home)
    assert config["current-context"] == "first"
    assert config["contexts"] == [{"name": "first", "server": server.address, "user": "first"}]
    assert config["servers"] == [{"server": server.address, "plain-text": True}]
    users = config["users"]
    assert isinstance(users, list)
    assert users[0]["name"] == "first"
    assert users[0]["auth-token"]
    assert (home / "argocd-config" / "config").stat().st_mode & 0o777 == 0o600

    second = argocd(
        "login", server.address, "--plaintext", "--name", "second", "--username", "admin", "--password", ADMIN_PASSWORD
    )
    assert second.returncode == 0, second.stderr
    listed = argocd("context")
    assert listed.stdout.splitlines()[0].split() == ["CURRENT", "NAME", "SERVER"]
    assert any(line.startswith("*") and "second" in line for line in listed.stdout.splitlines())

    switched = argocd("context", "first")
    assert switched.stdout.strip() == "Switched to context 'first'"
    assert config_of(home)["current-context"] == "first"
    info = argocd("account", "get-user-info", "-o", "json")
    assert json.loads(info.stdout)["username"] == "admin"

    out = argocd("logout", "first")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Logged out from 'first'"
    first_user = next(u for u in config_of(home)["users"] if u["name"] == "first")  # type: ignore[attr-defined]
    assert "auth-token" not in first_user
    denied = argocd("app", "list")
    assert denied.returncode == 20
    assert "rpc error: code = Unauthenticated desc = no session information" in denied.stderr

    assert argocd("context", "second").returncode == 0
    assert argocd("app", "list").returncode == 0


def test_env_server_token_and_opts(argocd: Run, server: Server, home: Path) -> None:
    token = httpx.post(f"{server.url}/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD}).json()[
        "token"
    ]
    env = {"ARGOCD_SERVER": server.address, "ARGOCD_AUTH_TOKEN": token, "ARGOCD_OPTS": "--plaintext"}
    create = argocd(
        "app", "create", "from-env", "--repo", REPO, "--path", "x", "--dest-server", IN_CLUSTER, "--validate=false",
        env=env,
    )  # fmt: skip
    assert create.returncode == 0, create.stderr
    assert "argocd/from-env" in argocd("app", "list", "-o", "name", env=env).stdout.split()
    assert not (home / "argocd-config" / "config").exists()
    # A flag on the command line wins over the environment.
    flagged = argocd("app", "get", "from-env", "-o", "json", "--auth-token", "bogus", env=env)
    assert flagged.returncode == 20
    assert "rpc error: code = Unauthenticated desc = " in flagged.stderr
    # Without --plaintext (given through ARGOCD_OPTS above) the client speaks TLS to the plain HTTP server and fails.
    tls = argocd("app", "list", env={**env, "ARGOCD_OPTS": ""})
    assert tls.returncode == 20
    assert "rpc error: code = Unavailable" in tls.stderr
    opts = argocd(
        "app", "list", "-o", "name", env={"ARGOCD_OPTS": f"--server {server.address} --plaintext --auth-token={token}"}
    )
    assert opts.returncode == 0, opts.stderr
    assert "argocd/from-env" in opts.stdout.split()


def test_core_refused(argocd: Run) -> None:
    result = argocd("app", "list", "--core")
    assert result.returncode == 1
    assert "--core is not supported" in result.stderr


def test_no_server_configured(argocd: Run) -> None:
    result = argocd("app", "list")
    assert result.returncode == 20
    assert "Argo CD server address unspecified" in result.stderr


def test_bad_flag_is_a_usage_error(logged_in: Run) -> None:
    result = logged_in("app", "get", "x", "--no-such-flag")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: unrecognized arguments: --no-such-flag")
    assert result.stdout == ""


def test_wrong_password(argocd: Run, server: Server, home: Path) -> None:
    result = argocd("login", server.address, "--plaintext", "--username", "admin", "--password", "wrong")
    assert result.returncode == 20
    assert 'msg="rpc error: code = Unauthenticated desc = Invalid username or password"' in result.stderr
    assert not (home / "argocd-config" / "config").exists()


def test_sso_refused(argocd: Run, server: Server) -> None:
    result = argocd("login", server.address, "--plaintext", "--sso")
    assert result.returncode == 1
    assert "--sso is not supported" in result.stderr


def test_version(logged_in: Run) -> None:
    short = logged_in("version", "--short")
    lines = short.stdout.splitlines()
    assert lines[0].startswith("argocd: v")
    assert lines[1].startswith("argocd-server: v")
    doc = json.loads(logged_in("version", "-o", "json").stdout)
    assert doc["server"]["Version"].startswith("v")
    client_only = logged_in("version", "--client", "-o", "short")
    assert client_only.stdout.splitlines() == [lines[0]]


def test_account_commands(logged_in: Run) -> None:
    listed = logged_in("account", "list")
    assert listed.stdout.splitlines()[0].split() == ["NAME", "ENABLED", "CAPABILITIES"]
    assert listed.stdout.splitlines()[1].split()[:2] == ["admin", "true"]
    got = logged_in("account", "get", "--account", "admin")
    assert got.stdout.splitlines()[0] == "Name:               admin"
    assert logged_in("account", "can-i", "get", "applications", "default/x").stdout.strip() == "yes"
    denied = logged_in("account", "generate-token", "--account", "admin")
    assert denied.returncode == 20
    assert "rpc error: code = " in denied.stderr


def test_update_password_keeps_the_session(logged_in: Run) -> None:
    new = "new-password-22"
    changed = logged_in("account", "update-password", "--current-password", ADMIN_PASSWORD, "--new-password", new)
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.startswith("Password updated")
    assert logged_in("app", "list").returncode == 0
    back = logged_in("account", "update-password", "--current-password", new, "--new-password", ADMIN_PASSWORD)
    assert back.returncode == 0, back.stderr


def test_app_delete_prompts(logged_in: Run) -> None:
    create_app(logged_in, "prompted")
    cancelled = logged_in("app", "delete", "prompted", "--cascade=false", input="n\n")
    assert "Are you sure you want to delete 'prompted'? [y/n]" in cancelled.stdout
    assert logged_in("app", "get", "prompted").returncode == 0
    confirmed = logged_in("app", "delete", "prompted", "--cascade=false", input="y\n")
    assert confirmed.returncode == 0, confirmed.stderr
    assert logged_in("app", "get", "prompted").returncode == 20


def test_app_create_from_file_and_patch(logged_in: Run, tmp_path: Path) -> None:
    manifest = tmp_path / "app.yaml"
    manifest.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Application",
                "metadata": {"name": "from-file"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": REPO, "path": "guestbook", "targetRevision": "HEAD"},
                    "destination": {"server": IN_CLUSTER, "namespace": "default"},
                },
            }
        )
    )
    created = logged_in("app", "create", "-f", str(manifest), "--validate=false")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "application 'from-file' created"
    same = logged_in("app", "create", "-f", str(manifest), "--validate=false")
    assert same.stdout.strip() == "application 'from-file' unchanged"
    upserted = logged_in("app", "create", "-f", str(manifest), "--revision", "main", "--upsert", "--validate=false")
    assert upserted.stdout.strip() == "application 'from-file' updated"

    patched = logged_in(
        "app", "patch", "from-file", "--patch", '{"spec":{"source":{"path":"kustomize"}}}', "--type", "merge"
    )
    assert patched.returncode == 0, patched.stderr
    assert yaml.safe_load(patched.stdout)["spec"]["source"]["path"] == "kustomize"
    bad = logged_in("app", "patch", "from-file", "--patch", "{}", "--type", "strategic")
    assert bad.returncode == 20
    assert "Patch type 'strategic' is not supported" in bad.stderr


def test_projects_repos_and_certificates(logged_in: Run, tmp_path: Path) -> None:
    argocd = logged_in
    assert argocd("proj", "create", "team", "-d", f"{IN_CLUSTER},ns1", "-s", "https://example.com/*").returncode == 0
    assert argocd("proj", "add-source", "team", "https://other.example/*").returncode == 0
    assert argocd("proj", "role", "create", "team", "ci").stdout.strip() == "Role 'ci' created"
    assert argocd("proj", "role", "add-policy", "team", "ci", "-a", "sync", "-o", "*").returncode == 0
    token = argocd("proj", "role", "create-token", "team", "ci", "-t").stdout.strip()
    assert token.count(".") == 2
    windows = argocd(
        "proj",
        "windows",
        "add",
        "team",
        "--kind",
        "deny",
        "--schedule",
        "0 22 * * *",
        "--duration=1h",
        "--applications=*",
    )
    assert windows.returncode == 0, windows.stderr
    proj = json.loads(argocd("proj", "get", "team", "-o", "json").stdout)
    assert proj["spec"]["sourceRepos"] == ["https://example.com/*", "https://other.example/*"]
    assert proj["spec"]["roles"][0]["policies"] == ["p, proj:team:ci, applications, sync, team/*, allow"]
    assert proj["spec"]["syncWindows"][0]["kind"] == "deny"
    text = argocd("proj", "get", "team").stdout.splitlines()
    assert text[0] == "Name:                        team"
    assert "team" in argocd("proj", "list", "-o", "name").stdout.split()

    creds = argocd("repocreds", "add", "https://example.com/org", "--username", "u", "--password", "p")
    assert creds.stdout.strip() == "Repository credentials for 'https://example.com/org' added"
    assert "https://example.com/org" in argocd("repocreds", "list", "-o", "url").stdout.split()
    repo = argocd(
        "repo", "add", "https://example.com/org/r.git", "--project", "team", "--username", "u", "--password=p"
    )
    assert repo.returncode == 0, repo.stderr
    listed = argocd("repo", "list")
    assert listed.stdout.splitlines()[0].split() == [
        *("TYPE", "NAME", "REPO", "INSECURE", "OCI", "LFS", "CREDS", "STATUS", "MESSAGE", "PROJECT"),
    ]
    assert argocd("repo", "rm", "https://example.com/org/r.git", "--project", "team").returncode == 0
    assert argocd("repocreds", "rm", "https://example.com/org").returncode == 0

    known_hosts = tmp_path / "known_hosts"
    key = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    known_hosts.write_text(f"github.com ssh-ed25519 {key}\n")
    added = argocd("cert", "add-ssh", "--batch", "--from", str(known_hosts))
    assert added.returncode == 0, added.stderr
    rows = argocd("cert", "list", "--cert-type", "ssh").stdout.splitlines()
    assert rows[0].split() == ["HOSTNAME", "TYPE", "SUBTYPE", "INFO"]
    assert rows[1].split()[:3] == ["github.com", "ssh", "ssh-ed25519"]
    assert argocd("cert", "rm", "github.com", "--cert-type", "ssh").stdout.strip() == "Removed 1 certificates"
    assert argocd("gpg", "list").stdout.split() == ["KEYID", "TYPE", "IDENTITY"]
    clusters = argocd("cluster", "list", "-o", "server")
    assert IN_CLUSTER in clusters.stdout.split()

    assert argocd("proj", "delete", "team").returncode == 0
    missing = argocd("proj", "get", "team")
    assert missing.returncode == 20
    assert 'rpc error: code = NotFound desc = appprojects.argoproj.io \\"team\\" not found' in missing.stderr
