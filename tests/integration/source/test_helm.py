"""Helm sources: every option checked against the rendered output, charts from Git and Helm repos."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from argocd_server.engine.source import (
    RenderRequest,
    RepoCredentials,
    RepoType,
    SourceError,
    SourceNotFound,
    SourceRenderer,
    SourceType,
)
from argocd_server.engine.source.manifests import parse_manifests
from tests.support.git_repo import EXAMPLES, GitRepo
from tests.support.helm_repo import index_repo, package_chart, serve_helm_repo

pytestmark = pytest.mark.usefixtures("helm_bin")


def render(renderer: SourceRenderer, repo: GitRepo, helm: dict[str, Any] | None = None, **kw) -> list[dict[str, Any]]:
    src: dict[str, Any] = {"repoURL": repo.url, "path": "chart"}
    if helm is not None:
        src["helm"] = helm
    req = RenderRequest(sources=(src,), app_name=kw.pop("app_name", "gb"), namespace="dest-ns", **kw)
    result = renderer.render(req)
    assert result.source_type == SourceType.HELM
    return result.objects


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind)


@pytest.fixture
def chart(repo: GitRepo) -> GitRepo:
    repo.copy_example("helm-guestbook", "chart")
    repo.write(
        {
            "chart/crds/crd.yaml": (
                "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
                "metadata:\n  name: books.example.com\nspec:\n  group: example.com\n"
                "  names: {kind: Book, plural: books}\n  scope: Namespaced\n  versions: []\n"
            ),
            "chart/templates/info.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: info\ndata:\n"
                "  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n"
                '  hasBooks: {{ .Capabilities.APIVersions.Has "example.com/v1" | quote }}\n'
                '  str: {{ .Values.str | default "" | quote }}\n'
                "  strType: {{ kindOf .Values.str | quote }}\n"
                '  list: {{ .Values.list | default list | join "," | quote }}\n'
                '  file: {{ .Values.file | default "" | quote }}\n'
                '  extra: {{ .Values.extra | default "" | quote }}\n'
                '  commas: {{ .Values.commas | default "" | quote }}\n'
            ),
            "chart/files/motd.txt": "hello from a file",
            "values/common.yaml": "extra: from-common\nreplicaCount: 4\n",
        }
    )
    repo.commit("chart")
    return repo


def test_defaults_release_namespace_crds(renderer: SourceRenderer, chart: GitRepo) -> None:
    objects = render(renderer, chart)
    dep = by_kind(objects, "Deployment")
    assert dep["metadata"]["name"] == "gb-helm-guestbook"
    assert dep["metadata"]["namespace"] == "dest-ns"
    assert any(o["kind"] == "CustomResourceDefinition" for o in objects)


def test_release_name_namespace_skip_crds(renderer: SourceRenderer, chart: GitRepo) -> None:
    objects = render(renderer, chart, {"releaseName": "rel", "namespace": "other", "skipCrds": True})
    dep = by_kind(objects, "Deployment")
    assert dep["metadata"]["name"] == "rel-helm-guestbook"
    assert dep["metadata"]["namespace"] == "other"
    assert not any(o["kind"] == "CustomResourceDefinition" for o in objects)


def test_value_files_values_and_parameters_precedence(renderer: SourceRenderer, chart: GitRepo) -> None:
    objects = render(
        renderer,
        chart,
        {
            "valueFiles": ["values-production.yaml", "/values/common.yaml"],
            "values": "service:\n  port: 8081\n",
            "parameters": [
                {"name": "image.tag", "value": "2.0.0"},
                {"name": "str", "value": "123", "forceString": True},
                {"name": "commas", "value": "a,b"},
                {"name": "list", "value": "{x,y}"},
                {"name": "extra", "value": "$ARGOCD_APP_NAME-$ARGOCD_APP_NAMESPACE"},
            ],
            "fileParameters": [{"name": "file", "path": "files/motd.txt"}],
        },
    )
    dep = by_kind(objects, "Deployment")
    svc = by_kind(objects, "Service")
    info = next(o for o in objects if o["kind"] == "ConfigMap")
    assert dep["spec"]["replicas"] == 4  # common.yaml is listed after values-production.yaml
    assert svc["spec"]["type"] == "LoadBalancer"
    assert svc["spec"]["ports"][0]["port"] == 8081
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":2.0.0")
    assert info["data"]["str"] == "123"
    assert info["data"]["strType"] == "string"
    assert info["data"]["commas"] == "a,b"
    assert info["data"]["list"] == "x,y"
    assert info["data"]["extra"] == "gb-dest-ns"
    assert info["data"]["file"] == "hello from a file"


def test_values_object_wins_over_values(renderer: SourceRenderer, chart: GitRepo) -> None:
    objects = render(
        renderer,
        chart,
        {"values": "replicaCount: 2\n", "valuesObject": {"replicaCount": 7}, "parameters": []},
    )
    assert by_kind(objects, "Deployment")["spec"]["replicas"] == 7


def test_parameters_beat_inline_values(renderer: SourceRenderer, chart: GitRepo) -> None:
    objects = render(
        renderer, chart, {"valuesObject": {"replicaCount": 7}, "parameters": [{"name": "replicaCount", "value": "9"}]}
    )
    assert by_kind(objects, "Deployment")["spec"]["replicas"] == 9


def test_kube_and_api_versions(renderer: SourceRenderer, chart: GitRepo) -> None:
    info = next(
        o
        for o in render(renderer, chart, kube_version="1.29.3", api_versions=("example.com/v1",))
        if o["kind"] == "ConfigMap"
    )
    assert info["data"]["kube"] == "v1.29.3"
    assert info["data"]["hasBooks"] == "true"
    info = next(
        o
        for o in render(renderer, chart, {"kubeVersion": "1.30.0", "apiVersions": ["x.io/v1"]})
        if o["kind"] == "ConfigMap"
    )
    assert info["data"]["kube"] == "v1.30.0"
    assert info["data"]["hasBooks"] == "false"


def test_missing_value_file(renderer: SourceRenderer, chart: GitRepo) -> None:
    with pytest.raises(SourceNotFound, match="does not exist"):
        render(renderer, chart, {"valueFiles": ["nope.yaml"]})
    objects = render(renderer, chart, {"valueFiles": ["nope.yaml"], "ignoreMissingValueFiles": True})
    assert by_kind(objects, "Deployment")["spec"]["replicas"] == 1


def test_value_file_glob(renderer: SourceRenderer, chart: GitRepo) -> None:
    objects = render(renderer, chart, {"valueFiles": ["/values/*.yaml"]})
    assert by_kind(objects, "Deployment")["spec"]["replicas"] == 4


def test_matches_helm_template_by_hand(renderer: SourceRenderer, repo: GitRepo, helm_bin, tmp_path: Path) -> None:
    repo.copy_example("helm-guestbook")
    repo.commit("gb")
    src = {"repoURL": repo.url, "path": "helm-guestbook", "helm": {"valueFiles": ["values-production.yaml"]}}
    ours = renderer.render(RenderRequest(sources=(src,), app_name="guestbook", namespace="web")).objects
    out = subprocess.run(
        [
            helm_bin,
            "template",
            str(EXAMPLES / "helm-guestbook"),
            "--name-template",
            "guestbook",
            "--namespace",
            "web",
            "-f",
            str(EXAMPLES / "helm-guestbook" / "values-production.yaml"),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
    ).stdout
    assert ours == parse_manifests(out, origin="helm")


def test_dependency_build_from_git(renderer: SourceRenderer, repo: GitRepo) -> None:
    repo.copy_example("helm-guestbook", "lib/guestbook")
    repo.write(
        {
            "umbrella/Chart.yaml": (
                "apiVersion: v2\nname: umbrella\nversion: 1.0.0\ndependencies:\n"
                "- name: helm-guestbook\n  version: 0.1.0\n  repository: file://../lib/guestbook\n"
            ),
            "umbrella/values.yaml": "helm-guestbook:\n  replicaCount: 5\n",
        }
    )
    repo.commit("umbrella")
    src = {"repoURL": repo.url, "path": "umbrella"}
    objects = renderer.render(RenderRequest(sources=(src,), app_name="u")).objects
    assert by_kind(objects, "Deployment")["spec"]["replicas"] == 5
    assert renderer.counters.helm_processes == 2  # dependency build + template


@pytest.fixture
def helm_repo(tmp_path: Path, helm_bin):
    root = tmp_path / "charts"
    root.mkdir()
    for version in ("0.1.0", "0.2.0", "1.0.0"):
        package_chart(helm_bin, EXAMPLES / "helm-guestbook", root, version=version)
    index_repo(helm_bin, root)
    with serve_helm_repo(root, username="bob", password="chart-pass-123") as server:
        yield server


def test_chart_from_helm_repository(renderer: SourceRenderer, helm_repo) -> None:
    creds = RepoCredentials(url=helm_repo.url, type=RepoType.HELM, username="bob", password="chart-pass-123")
    for rev, expected in (("0.1.0", "0.1.0"), (">=0.1.0 <1", "0.2.0"), ("*", "1.0.0")):
        src = {
            "repoURL": helm_repo.url,
            "chart": "helm-guestbook",
            "targetRevision": rev,
            "helm": {"parameters": [{"name": "replicaCount", "value": "2"}]},
        }
        result = renderer.render(RenderRequest(sources=(src,), app_name="hr", namespace="n", credentials=(creds,)))
        assert result.revision == expected
        dep = by_kind(result.objects, "Deployment")
        assert dep["metadata"]["labels"]["helm.sh/chart"] == f"helm-guestbook-{expected}"
        assert dep["spec"]["replicas"] == 2
    assert renderer.counters.helm_index_fetches == 1
    assert sum(1 for r in helm_repo.requests if r.endswith("index.yaml")) == 1
    charts = renderer.helm_charts(creds)
    assert [(c.name, sorted(c.versions)) for c in charts] == [("helm-guestbook", ["0.1.0", "0.2.0", "1.0.0"])]


def test_helm_repository_wrong_password(renderer: SourceRenderer, helm_repo) -> None:
    creds = RepoCredentials(url=helm_repo.url, type=RepoType.HELM, username="bob", password="nope-nope-nope")
    with pytest.raises(SourceError, match="401") as info:
        renderer.test_repository(creds)
    assert "nope-nope-nope" not in str(info.value)


def test_app_details_helm(renderer: SourceRenderer, chart: GitRepo) -> None:
    details = renderer.app_details({"repoURL": chart.url, "path": "chart"})
    assert details.type == SourceType.HELM
    assert details.helm is not None
    assert details.helm.value_files == ("values-production.yaml", "values.yaml")
    params = {p.name: p.value for p in details.helm.parameters}
    assert params["image.repository"] == "ghcr.io/example/guestbook-ui"
    assert params["service.port"] == "80"


def test_broken_chart_error_is_clear(renderer: SourceRenderer, repo: GitRepo) -> None:
    repo.copy_example("helm-guestbook", "chart")
    repo.write({"chart/templates/bad.yaml": "{{ .Values.nope.deeper }}"})
    repo.commit("bad")
    with pytest.raises(SourceError, match="helm template failed"):
        render(renderer, repo)


def test_missing_helm_binary(make_settings, chart: GitRepo) -> None:
    renderer = SourceRenderer(
        make_settings(helm_binary=str(Path(shutil.which("true") or "/bin/true").parent / "no-such-helm"))
    )
    with pytest.raises(SourceError, match="cannot start"):
        render(renderer, chart)
