"""Rendering as a whole: type detection, multi-source with $ref, the manifest cache and refreshes."""

from __future__ import annotations

import pytest

from argocd_server.engine.source import (
    InvalidArgument,
    ManifestCache,
    Refresh,
    RenderRequest,
    SourceError,
    SourceRenderer,
    SourceType,
)
from tests.support.git_repo import GitRepo

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def test_type_detection_and_explicit_blocks(renderer: SourceRenderer, repo: GitRepo, helm_bin, kubectl_bin) -> None:
    repo.copy_example("helm-guestbook", "both")
    repo.write({"both/kustomization.yaml": "resources: [cm.yaml]\n", "both/cm.yaml": CM.format(name="k")})
    repo.commit("both")
    src = {"repoURL": repo.url, "path": "both"}
    assert renderer.render(RenderRequest(sources=(src,), app_name="a")).source_type == SourceType.KUSTOMIZE
    helm = renderer.render(RenderRequest(sources=({**src, "helm": {"releaseName": "r"}},), app_name="a"))
    assert helm.source_type == SourceType.HELM
    directory = renderer.render(RenderRequest(sources=({**src, "directory": {"include": "cm.yaml"}},), app_name="a"))
    assert directory.source_type == SourceType.DIRECTORY
    with pytest.raises(InvalidArgument, match="multiple application sources defined"):
        renderer.render(
            RenderRequest(
                sources=({**src, "helm": {"releaseName": "r"}, "directory": {"recurse": True}},), app_name="a"
            )
        )


def test_multi_source_with_ref_value_files(renderer: SourceRenderer, new_repo, helm_bin) -> None:
    charts = new_repo("charts")
    charts.copy_example("helm-guestbook", "gb")
    charts.commit("chart")
    values = new_repo("values")
    values_sha = values.commit(
        "values", {"envs/prod.yaml": "replicaCount: 6\n", "plain/cm.yaml": CM.format(name="from-values")}
    )
    sources = (
        {"repoURL": charts.url, "path": "gb", "helm": {"valueFiles": ["$vals/envs/prod.yaml"]}},
        {"repoURL": values.url, "targetRevision": "main", "ref": "vals"},
        {"repoURL": values.url, "path": "plain", "ref": "other"},
    )
    result = renderer.render(RenderRequest(sources=sources, app_name="multi", namespace="ns"))
    assert result.source_types == [SourceType.HELM, None, SourceType.DIRECTORY]
    assert result.revisions == [charts.head(), values_sha, values_sha]
    deployment = next(o for o in result.objects if o["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 6
    assert any(o["metadata"]["name"] == "from-values" for o in result.objects)

    # A push to the values repo invalidates the chart's cached manifests.
    values.commit("more", {"envs/prod.yaml": "replicaCount: 8\n"})
    again = renderer.render(RenderRequest(sources=sources, app_name="multi", namespace="ns", refresh=Refresh.NORMAL))
    assert next(o for o in again.objects if o["kind"] == "Deployment")["spec"]["replicas"] == 8


def test_ref_escape_and_unknown_ref(renderer: SourceRenderer, new_repo, helm_bin) -> None:
    charts = new_repo("charts")
    charts.copy_example("helm-guestbook", "gb")
    charts.commit("chart")
    values = new_repo("values")
    values.commit("values", {"x.yaml": "a: 1\n"})
    ref = {"repoURL": values.url, "ref": "vals"}
    for vf, message in (
        ("$vals/../../../etc/passwd", "outside repository root"),
        ("$nope/x.yaml", "unknown source reference"),
    ):
        src = {"repoURL": charts.url, "path": "gb", "helm": {"valueFiles": [vf]}}
        with pytest.raises(SourceError, match=message):
            renderer.render(RenderRequest(sources=(src, ref), app_name="m"))
    with pytest.raises(InvalidArgument, match="invalid source reference name"):
        renderer.render(RenderRequest(sources=({"repoURL": values.url, "ref": "bad/name"},), app_name="m"))


def test_manifest_cache_hits_and_hard_refresh(renderer: SourceRenderer, repo: GitRepo, helm_bin) -> None:
    repo.copy_example("helm-guestbook", "gb")
    repo.commit("gb")
    src = {"repoURL": repo.url, "path": "gb"}
    first = renderer.render(RenderRequest(sources=(src,), app_name="a", namespace="n"))
    assert not first.cached
    second = renderer.render(RenderRequest(sources=(src,), app_name="a", namespace="n"))
    assert second.cached
    assert second.objects == first.objects
    second.objects[0]["metadata"]["name"] = "mutated"  # callers get private copies
    assert renderer.render(RenderRequest(sources=(src,), app_name="a", namespace="n")).objects == first.objects
    assert renderer.counters.helm_processes == 1
    # Any rendering parameter is part of the key.
    renderer.render(RenderRequest(sources=(src,), app_name="a", namespace="other"))
    renderer.render(RenderRequest(sources=(src,), app_name="a", namespace="n", kube_version="1.30.0"))
    renderer.render(
        RenderRequest(
            sources=({**src, "helm": {"parameters": [{"name": "replicaCount", "value": "2"}]}},),
            app_name="a",
            namespace="n",
        )
    )
    assert renderer.counters.helm_processes == 4
    hard = renderer.render(RenderRequest(sources=(src,), app_name="a", namespace="n", refresh=Refresh.HARD))
    assert not hard.cached
    assert renderer.counters.helm_processes == 5


def test_manifest_cache_is_bounded() -> None:
    cache = ManifestCache(max_entries=2, max_bytes=200)
    obj = [{"kind": "ConfigMap", "data": {"x": "y" * 40}}]
    cache.put("a", obj, SourceType.DIRECTORY, ())
    cache.put("b", obj, SourceType.DIRECTORY, ())
    assert cache.get("a") is not None  # a is now most recently used
    cache.put("c", obj, SourceType.DIRECTORY, ())
    assert cache.get("b") is None
    assert len(cache) == 2
    cache.put("d", [{"data": "z" * 150}], SourceType.DIRECTORY, ())
    assert cache.total_bytes <= 200
    cache.put("huge", [{"data": "z" * 500}], SourceType.DIRECTORY, ())
    assert cache.get("huge") is None


def test_manifest_cache_hits_are_private_copies_of_any_json_value() -> None:
    """What YAML can hold and JSON can carry comes back as it went in, integers past 64 bits and integer keys (as
    JSON makes them: strings) included; a caller changing its copy changes no later hit."""
    cache = ManifestCache(max_entries=4, max_bytes=10_000)
    huge = [{"kind": "ConfigMap", "data": {"big": 2**70, "small": -(2**63), "f": 1.5, "u": "é"}, "n": None}]
    cache.put("huge", huge, SourceType.DIRECTORY, ("helm template",))
    hit = cache.get("huge")
    assert hit == (huge, SourceType.DIRECTORY, ("helm template",))
    cache.put("keys", [{"kind": "ConfigMap", "data": {1: "one"}}], SourceType.DIRECTORY, ())
    first = cache.get("keys")
    assert first is not None
    assert first[0] == [{"kind": "ConfigMap", "data": {"1": "one"}}]
    first[0][0]["data"]["1"] = "changed"
    assert cache.get("keys") == ([{"kind": "ConfigMap", "data": {"1": "one"}}], SourceType.DIRECTORY, ())


def test_argocd_source_override_file(renderer: SourceRenderer, repo: GitRepo, helm_bin) -> None:
    repo.copy_example("helm-guestbook", "gb")
    repo.write({"gb/.argocd-source-app1.yaml": "helm:\n  parameters:\n  - name: replicaCount\n    value: '3'\n"})
    repo.commit("override")
    src = {"repoURL": repo.url, "path": "gb"}
    app1 = renderer.render(RenderRequest(sources=(src,), app_name="app1")).objects
    app2 = renderer.render(RenderRequest(sources=(src,), app_name="app2")).objects
    assert next(o for o in app1 if o["kind"] == "Deployment")["spec"]["replicas"] == 3
    assert next(o for o in app2 if o["kind"] == "Deployment")["spec"]["replicas"] == 1


def test_ref_only_source_renders_nothing(renderer: SourceRenderer, repo: GitRepo) -> None:
    sha = repo.commit("x", {"cm.yaml": CM.format(name="x")})
    result = renderer.render(RenderRequest(sources=({"repoURL": repo.url, "ref": "r"},), app_name="a"))
    assert result.objects == []
    assert result.revision == sha
    assert result.source_type is None
