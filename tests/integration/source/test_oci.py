"""The OCI client and OCI rendering against a real registry over local HTTP: tags and their pages, Basic and Bearer
authentication, digest checks, hostile archives, revision resolution, image indexes, artifacts rendered as sources
and Helm charts pushed by the real ``helm push``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from argocd_server.engine.source import (
    OutOfBoundsError,
    Refresh,
    RenderRequest,
    RepoCredentials,
    RepoType,
    SourceError,
    SourceNotFound,
    SourceRenderer,
    SourceSettings,
    SourceType,
)
from argocd_server.engine.source.oci import OciMetadata, OciRepositories, is_digest, parse_repository_url
from tests.support.git_repo import EXAMPLES
from tests.support.helm_repo import package_chart
from tests.support.oci_registry import OciRegistry, serve_oci_registry, sha256, tar_gz

USER = "robot"
PASSWORD = "Registry-S3cret-Pa55"
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  key: {value}\n"


def creds(registry: OciRegistry, repository: str, *, username: str = "", password: str = "") -> RepoCredentials:
    return RepoCredentials(
        url=registry.oci_url(repository),
        type=RepoType.OCI,
        username=username,
        password=password,
        insecure_oci_force_http=True,
    )


@pytest.fixture
def registry() -> Iterator[OciRegistry]:
    with serve_oci_registry() as server:
        yield server


@pytest.fixture
def oci(make_settings: Callable[..., SourceSettings]) -> OciRepositories:
    return OciRepositories(make_settings())


def push_helm_chart(helm: str, registry: OciRegistry, tmp_path: Path, version: str, *, auth: bool = False) -> None:
    package_dir = tmp_path / f"pkg-{version}"
    package_dir.mkdir()
    archive = package_chart(helm, EXAMPLES / "helm-guestbook", package_dir, version=version)
    args = [helm, "push", str(archive), f"oci://{registry.host}/charts", "--plain-http"]
    if auth:
        args += ["--username", USER, "--password", PASSWORD]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(package_dir)}
    subprocess.run(args, env=env, check=True, capture_output=True, text=True, timeout=60)


# -- references


def test_repository_urls_parse_with_or_without_scheme() -> None:
    ref = parse_repository_url("oci://registry.example.com:5000/team/apps/guestbook/")
    assert (ref.registry, ref.repository) == ("registry.example.com:5000", "team/apps/guestbook")
    assert str(parse_repository_url("ghcr.io/example/charts")) == "ghcr.io/example/charts"
    for bad in ("https://ghcr.io/example", "oci://ghcr.io", "oci://ghcr.io/Example", "oci://user:pw@ghcr.io/x"):
        with pytest.raises(SourceError) as info:
            parse_repository_url(bad)
        assert "pw" not in info.value.message


# -- tags


def test_tags_follow_link_pages(oci: OciRepositories) -> None:
    with serve_oci_registry(page_size=2) as registry:
        digest = registry.push_artifact("apps/guestbook", "v1.0.0", {"a.yaml": "a: 1\n"})
        for tag in ("v1.1.0", "v1.2.0", "latest", "1.0.0_build.7"):
            registry.tag("apps/guestbook", tag, digest)
        tags = oci.tags(registry.oci_url("apps/guestbook"), creds(registry, "apps/guestbook"))
        assert tags == ("1.0.0+build.7", "latest", "v1.0.0", "v1.1.0", "v1.2.0")
        pages = [r for r in registry.requests if "/tags/list" in r]
        assert len(pages) == 3
        assert pages[1].endswith("n=2&last=latest")

        # Answers are reused until a forced refresh.
        registry.tag("apps/guestbook", "v2.0.0", digest)
        assert "v2.0.0" not in oci.tags(registry.oci_url("apps/guestbook"), creds(registry, "apps/guestbook"))
        fresh = oci.tags(registry.oci_url("apps/guestbook"), creds(registry, "apps/guestbook"), force=True)
        assert fresh[-1] == "v2.0.0"


def test_tags_of_an_unknown_repository(oci: OciRepositories, registry: OciRegistry) -> None:
    with pytest.raises(SourceNotFound) as info:
        oci.tags(registry.oci_url("nothing/here"), creds(registry, "nothing/here"))
    assert "NAME_UNKNOWN" in info.value.message


# -- authentication


@pytest.mark.parametrize("auth", ["basic", "bearer"])
def test_authentication(oci: OciRepositories, auth: str) -> None:
    with serve_oci_registry(auth=auth, username=USER, password=PASSWORD) as registry:
        registry.push_artifact("private/app", "v1", {"cm.yaml": CONFIGMAP.format(name="x", value="1")})
        url = registry.oci_url("private/app")

        with pytest.raises(SourceError) as anonymous:
            oci.tags(url, creds(registry, "private/app"), force=True)
        assert "401" in anonymous.value.message

        with pytest.raises(SourceError) as wrong:
            oci.tags(url, creds(registry, "private/app", username=USER, password="not-" + PASSWORD), force=True)
        assert "check the repository credentials" in wrong.value.message
        assert PASSWORD not in wrong.value.message

        good = creds(registry, "private/app", username=USER, password=PASSWORD)
        assert oci.tags(url, good, force=True) == ("v1",)
        digest = oci.resolve_digest(url, good, revision="v1", force=True)
        assert (oci.checkout(url, good, digest) / "cm.yaml").is_file()
        if auth == "bearer":
            scopes = [q.get("scope") for q in registry.token_requests]
            assert ["repository:private/app:pull"] in scopes
            # One token served the listing, the resolution, the manifest and the blob.
            assert len([q for q in registry.token_requests if q.get("scope")]) <= 3
            assert all(PASSWORD not in r for r in registry.requests)


def test_registry_check_pings_v2(oci: OciRepositories) -> None:
    with serve_oci_registry(auth="bearer", username=USER, password=PASSWORD) as registry:
        oci.ping(f"{registry.host}", creds(registry, "x", username=USER, password=PASSWORD))
        with pytest.raises(SourceError):
            oci.ping(f"{registry.host}", creds(registry, "x"))
        assert registry.requests.count("GET /v2/") == 3


def test_https_is_the_default(oci: OciRepositories, registry: OciRegistry) -> None:
    plain = RepoCredentials(url=registry.oci_url("apps/x"), type=RepoType.OCI, username=USER, password=PASSWORD)
    with pytest.raises(SourceError) as info:
        oci.tags(plain.url, plain)
    assert "cannot reach the registry" in info.value.message
    assert PASSWORD not in info.value.message


# -- digests and archives


def test_a_blob_that_does_not_match_its_digest_is_refused(oci: OciRepositories, registry: OciRegistry) -> None:
    layer = tar_gz({"cm.yaml": CONFIGMAP.format(name="x", value="1")})
    digest = registry.push_artifact("apps/x", "v1", layer=layer)
    registry.corrupt_blob(sha256(layer), tar_gz({"cm.yaml": CONFIGMAP.format(name="x", value="evil")}))
    with pytest.raises(SourceError) as info:
        oci.checkout(registry.oci_url("apps/x"), creds(registry, "apps/x"), digest)
    assert "digest mismatch" in info.value.message or "larger than its descriptor" in info.value.message

    # Same size, other bytes: only the digest tells them apart.
    same_size = bytearray(layer)
    same_size[-5] ^= 0xFF
    registry.corrupt_blob(sha256(layer), bytes(same_size))
    with pytest.raises(SourceError) as again:
        oci.checkout(registry.oci_url("apps/x"), creds(registry, "apps/x"), digest)
    assert "digest mismatch" in again.value.message
    assert not any(p.is_dir() for p in (oci._root / "artifacts").glob("*/sha256-*"))


def test_a_manifest_that_does_not_match_its_digest_is_refused(oci: OciRepositories, registry: OciRegistry) -> None:
    digest = registry.push_artifact("apps/x", "v1", {"a.yaml": "a: 1\n"})
    registry.corrupt_blob(digest, b'{"schemaVersion":2,"layers":[]}')
    with pytest.raises(SourceError) as info:
        oci.checkout(registry.oci_url("apps/x"), creds(registry, "apps/x"), digest)
    assert "digest mismatch" in info.value.message
    # By tag, the digest the registry announces must match what it sends.
    with pytest.raises(SourceError, match="digest mismatch"):
        oci.resolve_digest(registry.oci_url("apps/x"), creds(registry, "apps/x"), revision="v1")


def test_an_oversized_blob_is_refused(make_settings: Callable[..., SourceSettings], registry: OciRegistry) -> None:
    oci = OciRepositories(make_settings(max_extracted_bytes=1024))
    big = tar_gz({"big.yaml": os.urandom(4096).hex()})
    digest = registry.push_artifact("apps/x", "v1", layer=big)
    with pytest.raises(SourceError, match="over the limit"):
        oci.checkout(registry.oci_url("apps/x"), creds(registry, "apps/x"), digest)


def _tar_with(member: tarfile.TarInfo, data: bytes = b"") -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data) if data else None)
    return raw.getvalue()


def test_archives_that_escape_are_refused(oci: OciRepositories, registry: OciRegistry, tmp_path: Path) -> None:
    url = registry.oci_url("apps/evil")
    traversal = registry.push_artifact(
        "apps/evil", "dotdot", layer=_tar_with(tarfile.TarInfo("../../escaped.yaml"), b"x: 1\n")
    )
    with pytest.raises(OutOfBoundsError, match="escapes the extraction directory"):
        oci.checkout(url, creds(registry, "apps/evil"), traversal)
    absolute = registry.push_artifact("apps/evil", "abs", layer=_tar_with(tarfile.TarInfo("/tmp/abs.yaml"), b"x: 1\n"))
    with pytest.raises(OutOfBoundsError):
        oci.checkout(url, creds(registry, "apps/evil"), absolute)

    link = tarfile.TarInfo("passwd.yaml")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    symlinked = registry.push_artifact(
        "apps/evil", "link", layer=tar_gz({"ok.yaml": "a: 1\n"}, symlinks={"passwd.yaml": "/etc/passwd"})
    )
    with pytest.raises(OutOfBoundsError) as info:
        oci.checkout(url, creds(registry, "apps/evil"), symlinked)
    assert info.value.message == "oci image contains out-of-bounds symlinks. file: passwd.yaml"
    relative = registry.push_artifact("apps/evil", "rel", layer=tar_gz({}, symlinks={"up.yaml": "../../../x"}))
    with pytest.raises(OutOfBoundsError):
        oci.checkout(url, creds(registry, "apps/evil"), relative)

    assert not (tmp_path / "escaped.yaml").exists()
    assert not list((oci._root / "artifacts").rglob("content"))


def test_layers_must_be_one_allowed_archive(oci: OciRepositories, registry: OciRegistry) -> None:
    url = registry.oci_url("apps/layers")
    two = registry.push_artifact(
        "apps/layers",
        "two",
        {"a.yaml": "a: 1\n"},
        extra_layers=[("application/vnd.oci.image.layer.v1.tar+gzip", tar_gz({}))],
    )
    with pytest.raises(SourceError, match="expected only a single oci content layer, got 2"):
        oci.checkout(url, creds(registry, "apps/layers"), two)
    odd = registry.push_artifact(
        "apps/layers", "odd", {"a.yaml": "a: 1\n"}, layer_media_type="application/x-custom+tar"
    )
    with pytest.raises(SourceError, match="application/x-custom\\+tar is not in the list of allowed media types"):
        oci.checkout(url, creds(registry, "apps/layers"), odd)
    # A non-archive layer beside the content (a signature, a provenance file) is skipped.
    signed = registry.push_artifact(
        "apps/layers", "signed", {"a.yaml": "a: 1\n"}, extra_layers=[("application/vnd.example.signature", b"sig")]
    )
    assert (oci.checkout(url, creds(registry, "apps/layers"), signed) / "a.yaml").read_text() == "a: 1\n"


# -- revisions


def test_revision_resolution(oci: OciRepositories, registry: OciRegistry) -> None:
    url, c = registry.oci_url("apps/versions"), creds(registry, "apps/versions")
    digests = {
        tag: registry.push_artifact("apps/versions", tag, {"v.yaml": f"version: {tag}\n"})
        for tag in ("1.0.0", "1.2.0", "1.10.0", "2.0.0-rc.1", "latest")
    }
    assert oci.resolve_digest(url, c, revision="latest") == digests["latest"]
    assert oci.resolve_digest(url, c, revision="1.2.0") == digests["1.2.0"]
    assert oci.resolve_digest(url, c, revision="^1.0") == digests["1.10.0"]
    assert oci.resolve_digest(url, c, revision="~1.2") == digests["1.2.0"]
    assert oci.resolve_digest(url, c, revision="1.x") == digests["1.10.0"]
    assert oci.resolve_digest(url, c, revision=">=1.0.0 <1.5.0") == digests["1.2.0"]
    assert oci.resolve_digest(url, c, revision=">=2.0.0-rc.0") == digests["2.0.0-rc.1"]

    before = len(registry.requests)
    pinned = "sha256:" + "0" * 64
    assert oci.resolve_digest(url, c, revision=pinned) == pinned
    assert len(registry.requests) == before  # a digest is taken as is

    with pytest.raises(SourceNotFound, match="version matching constraint not found in 5 tags"):
        oci.resolve_digest(url, c, revision=">=3.0.0")
    with pytest.raises(SourceNotFound, match='failed to resolve revision "v9"'):
        oci.resolve_digest(url, c, revision="v9")
    with pytest.raises(SourceError, match='failed to resolve revision ""'):
        oci.resolve_digest(url, c, revision="")

    # A moved tag is seen after the cache period or on refresh.
    moved = registry.push_artifact("apps/versions", "latest", {"v.yaml": "version: moved\n"})
    assert oci.resolve_digest(url, c, revision="latest") == digests["latest"]
    assert oci.resolve_digest(url, c, revision="latest", force=True) == moved


def test_an_index_resolves_to_its_linux_amd64_image(oci: OciRepositories, registry: OciRegistry) -> None:
    arm = registry.push_artifact("apps/multi", "arm", {"arch.yaml": "arch: arm64\n"})
    amd = registry.push_artifact(
        "apps/multi", "amd", {"arch.yaml": "arch: amd64\n"}, annotations={"org.opencontainers.image.version": "2"}
    )
    index = registry.push_index(
        "apps/multi",
        "v1",
        [(arm, {"os": "linux", "architecture": "arm64"}), (amd, {"os": "linux", "architecture": "amd64"})],
        **{"org.opencontainers.image.description": "multi-arch"},
    )
    url, c = registry.oci_url("apps/multi"), creds(registry, "apps/multi")
    assert oci.resolve_digest(url, c, revision="v1") == index
    assert (oci.checkout(url, c, index) / "arch.yaml").read_text() == "arch: amd64\n"
    assert oci.metadata(url, c, revision=index) == OciMetadata(version="2", description="multi-arch")


def test_metadata_from_annotations(oci: OciRepositories, registry: OciRegistry) -> None:
    annotations = {
        "org.opencontainers.image.created": "2024-05-06T07:08:09Z",
        "org.opencontainers.image.authors": "Jane Doe <jane@example.com>",
        "org.opencontainers.image.url": "https://example.com/guestbook",
        "org.opencontainers.image.documentation": "https://docs.example.com",
        "org.opencontainers.image.source": "https://git.example.com/guestbook",
        "org.opencontainers.image.version": "1.2.3",
        "org.opencontainers.image.description": "The guestbook",
    }
    digest = registry.push_artifact("apps/meta", "1.2.3", {"a.yaml": "a: 1\n"}, annotations=annotations)
    url, c = registry.oci_url("apps/meta"), creds(registry, "apps/meta")
    expected = OciMetadata(
        created_at="2024-05-06T07:08:09Z",
        authors="Jane Doe <jane@example.com>",
        docs_url="https://docs.example.com",
        source_url="https://git.example.com/guestbook",
        version="1.2.3",
        description="The guestbook",
    )
    assert oci.metadata(url, c, revision=digest) == expected  # from the registry
    oci.checkout(url, c, digest)
    before = len(registry.requests)
    assert oci.metadata(url, c, revision=digest) == expected  # from the pulled artifact
    assert len(registry.requests) == before
    assert oci.metadata(url, c, revision="1.2.3") == expected


# -- rendering


def test_render_an_artifact_source(renderer: SourceRenderer, registry: OciRegistry) -> None:
    files = {
        "base/cm.yaml": CONFIGMAP.format(name="base", value="1"),
        "overlay/cm.yaml": CONFIGMAP.format(name="overlay", value="2"),
        "overlay/nested/cm.yaml": CONFIGMAP.format(name="nested", value="3"),
    }
    digest = registry.push_artifact("apps/manifests", "v1", files)
    c = creds(registry, "apps/manifests")
    source = {"repoURL": c.url, "path": "overlay", "targetRevision": "v1", "directory": {"recurse": True}}
    result = renderer.render(RenderRequest(sources=(source,), app_name="app", credentials=(c,)))
    assert result.revision == digest
    assert result.source_type == SourceType.DIRECTORY
    assert sorted(o["metadata"]["name"] for o in result.objects) == ["nested", "overlay"]

    # Cached by digest: no new pull, even when the tag is asked for again.
    blob_gets = [r for r in registry.requests if "/blobs/" in r]
    again = renderer.render(RenderRequest(sources=({**source, "path": "base"},), app_name="app", credentials=(c,)))
    assert [o["metadata"]["name"] for o in again.objects] == ["base"]
    assert [r for r in registry.requests if "/blobs/" in r] == blob_gets

    with pytest.raises(SourceNotFound, match="app path does not exist"):
        renderer.render(RenderRequest(sources=({**source, "path": "missing"},), app_name="app", credentials=(c,)))
    with pytest.raises(OutOfBoundsError):
        renderer.render(RenderRequest(sources=({**source, "path": "../.."},), app_name="app", credentials=(c,)))


def test_render_refresh_follows_a_moved_tag(renderer: SourceRenderer, registry: OciRegistry) -> None:
    first = registry.push_artifact("apps/moving", "stable", {"cm.yaml": CONFIGMAP.format(name="cm", value="one")})
    c = creds(registry, "apps/moving")
    source = {"repoURL": c.url, "path": ".", "targetRevision": "stable"}
    result = renderer.render(RenderRequest(sources=(source,), app_name="app", credentials=(c,)))
    assert (result.revision, result.objects[0]["data"]["key"]) == (first, "one")
    second = registry.push_artifact("apps/moving", "stable", {"cm.yaml": CONFIGMAP.format(name="cm", value="two")})
    cached = renderer.render(RenderRequest(sources=(source,), app_name="app", credentials=(c,)))
    assert cached.revision == first
    fresh = renderer.render(RenderRequest(sources=(source,), app_name="app", credentials=(c,), refresh=Refresh.NORMAL))
    assert (fresh.revision, fresh.objects[0]["data"]["key"]) == (second, "two")


def test_an_oci_source_cannot_be_a_value_file_reference(renderer: SourceRenderer, registry: OciRegistry) -> None:
    registry.push_artifact("apps/values", "v1", {"values.yaml": "replicaCount: 2\n"})
    c = creds(registry, "apps/values")
    sources = (
        {"repoURL": c.url, "targetRevision": "v1", "ref": "values"},
        {"repoURL": c.url, "path": ".", "targetRevision": "v1", "helm": {"valueFiles": ["$values/values.yaml"]}},
    )
    with pytest.raises(SourceError, match=r"source reference '\$values' must be a Git repository"):
        renderer.render(RenderRequest(sources=sources, app_name="app", credentials=(c,)))


def test_helm_chart_pushed_by_helm_renders_from_oci(helm_bin: str, renderer: SourceRenderer, tmp_path: Path) -> None:
    with serve_oci_registry(auth="bearer", username=USER, password=PASSWORD) as registry:
        for version in ("0.1.0", "0.2.0", "0.3.0+build.1"):
            push_helm_chart(helm_bin, registry, tmp_path, version, auth=True)
        c = RepoCredentials(
            url=f"{registry.host}/charts",
            type=RepoType.HELM,
            enable_oci=True,
            insecure_oci_force_http=True,
            username=USER,
            password=PASSWORD,
        )
        renderer.test_repository(c)
        source = {
            "repoURL": c.url,
            "chart": "helm-guestbook",
            "targetRevision": "~0.2",
            "helm": {"parameters": [{"name": "replicaCount", "value": "3"}]},
        }
        request = RenderRequest(sources=(source,), app_name="gb", namespace="web", credentials=(c,))
        result = renderer.render(request)
        assert result.revision == "0.2.0"
        assert result.source_type == SourceType.HELM
        deployment = next(o for o in result.objects if o["kind"] == "Deployment")
        assert deployment["spec"]["replicas"] == 3
        assert deployment["metadata"]["labels"]["helm.sh/chart"] == "helm-guestbook-0.2.0"

        latest = renderer.render(
            RenderRequest(sources=({**source, "targetRevision": ""},), app_name="gb", credentials=(c,))
        )
        assert latest.revision == "0.3.0+build.1"
        build = next(o for o in latest.objects if o["kind"] == "Deployment")
        assert build["metadata"]["labels"]["helm.sh/chart"] == "helm-guestbook-0.3.0+build.1"

        # The same chart named by an oci:// repository URL, and the chart artifact itself as an OCI source.
        oci_url = RepoCredentials(
            url=f"oci://{registry.host}/charts",
            type=RepoType.OCI,
            insecure_oci_force_http=True,
            username=USER,
            password=PASSWORD,
        )
        by_url = renderer.render(
            RenderRequest(
                sources=({**source, "repoURL": oci_url.url},), app_name="gb", namespace="web", credentials=(oci_url,)
            )
        )
        assert by_url.objects == result.objects
        artifact = RepoCredentials(
            url=f"oci://{registry.host}/charts/helm-guestbook",
            type=RepoType.OCI,
            insecure_oci_force_http=True,
            username=USER,
            password=PASSWORD,
        )
        whole = renderer.render(
            RenderRequest(
                sources=({"repoURL": artifact.url, "path": ".", "targetRevision": "0.1.0"},),
                app_name="gb",
                credentials=(artifact,),
            )
        )
        assert is_digest(whole.revision)
        assert whole.source_type == SourceType.HELM
        assert {o["kind"] for o in whole.objects} == {"Deployment", "Service"}
        assert all(PASSWORD not in command for command in whole.sources[0].commands)

        unsatisfiable = r"no version of chart 'helm-guestbook' satisfies constraint '>=1\.0\.0'"
        with pytest.raises(SourceNotFound, match=unsatisfiable):
            renderer.render(
                RenderRequest(sources=({**source, "targetRevision": ">=1.0.0"},), app_name="gb", credentials=(c,))
            )


def test_oci_repository_checks(renderer: SourceRenderer, registry: OciRegistry) -> None:
    renderer.test_repository(creds(registry, "apps/anything"))
    scheme = RepoCredentials(url=f"oci://{registry.host}/charts", type=RepoType.HELM, enable_oci=True)
    with pytest.raises(SourceError, match="should include hostname and port only"):
        renderer.test_repository(scheme)


def test_the_test_registry_takes_chunked_and_monolithic_uploads(oci: OciRepositories, registry: OciRegistry) -> None:
    """Pushes through the upload API itself, the way other clients than helm do."""
    layer = tar_gz({"cm.yaml": CONFIGMAP.format(name="chunked", value="1")})
    config = b"{}"
    with httpx.Client(base_url=registry.url) as http:
        started = http.post("/v2/apps/pushed/blobs/uploads/")
        assert started.status_code == 202
        location = started.headers["Location"]
        half = len(layer) // 2
        for chunk in (layer[:half], layer[half:]):
            patched = http.patch(location, content=chunk, headers={"Content-Type": "application/octet-stream"})
            assert patched.status_code == 202
            location = patched.headers["Location"]
        assert patched.headers["Range"] == f"0-{len(layer) - 1}"
        finished = http.put(location, params={"digest": sha256(layer)})
        assert finished.status_code == 201
        single = http.post("/v2/apps/pushed/blobs/uploads/", params={"digest": sha256(config)}, content=config)
        assert single.status_code == 201
        wrong = http.post("/v2/apps/pushed/blobs/uploads/", params={"digest": sha256(b"x")}, content=config)
        assert wrong.status_code == 400
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(config), "size": 2},
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": sha256(layer),
                    "size": len(layer),
                }
            ],
        }
        put = http.put(
            "/v2/apps/pushed/manifests/v1",
            content=json.dumps(manifest),
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        )
        assert put.status_code == 201
        assert http.head(f"/v2/apps/pushed/manifests/{put.headers['Docker-Content-Digest']}").status_code == 200
        assert http.get("/v2/apps/pushed/tags/list", params={"n": 1}).json() == {"name": "apps/pushed", "tags": ["v1"]}
    url, c = registry.oci_url("apps/pushed"), creds(registry, "apps/pushed")
    digest = oci.resolve_digest(url, c, revision="v1")
    assert digest == put.headers["Docker-Content-Digest"]
    assert (oci.checkout(url, c, digest) / "cm.yaml").read_text() == CONFIGMAP.format(name="chunked", value="1")
