"""Kustomize sources: upstream's edits checked against the output of the real binary."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from argocd_server.engine.source import (
    RenderRequest,
    SourceError,
    SourceRenderer,
    SourceSettings,
    SourceType,
)
from argocd_server.engine.source.kustomize import parse_image
from argocd_server.engine.source.manifests import parse_manifests
from tests.support.git_repo import EXAMPLES, GitRepo

pytestmark = pytest.mark.usefixtures("kubectl_bin")


@pytest.fixture
def kust(repo: GitRepo) -> GitRepo:
    repo.copy_example("kustomize-guestbook")
    repo.write(
        {
            "kustomize-guestbook/components/extra/kustomization.yaml": (
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - cm.yaml\n"
            ),
            "kustomize-guestbook/components/extra/cm.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n"
            ),
        }
    )
    repo.commit("kustomize")
    return repo


def render(
    renderer: SourceRenderer,
    repo: GitRepo,
    kustomize: dict[str, Any] | None = None,
    path: str = "kustomize-guestbook/overlays/dev",
) -> list[dict[str, Any]]:
    src: dict[str, Any] = {"repoURL": repo.url, "path": path}
    if kustomize is not None:
        src["kustomize"] = kustomize
    result = renderer.render(RenderRequest(sources=(src,), app_name="gb", namespace="dest"))
    assert result.source_type == SourceType.KUSTOMIZE
    return result.objects


def dep(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == "Deployment")


@pytest.mark.parametrize(
    ("spec", "entry"),
    [
        ("nginx:1.25", {"name": "nginx", "newTag": "1.25"}),
        ("nginx=registry:5000/web:2", {"name": "nginx", "newName": "registry:5000/web", "newTag": "2"}),
        ("nginx@sha256:abcd", {"name": "nginx", "digest": "sha256:abcd"}),
        ("registry:5000/nginx", {"name": "registry:5000/nginx"}),
    ],
)
def test_parse_image(spec, entry) -> None:
    assert parse_image(spec) == entry


def test_all_edits(renderer: SourceRenderer, kust: GitRepo) -> None:
    objects = render(
        renderer,
        kust,
        {
            "namePrefix": "pre-",
            "nameSuffix": "-suf",
            "images": ["ghcr.io/example/guestbook-ui=ghcr.io/other/ui:$ARGOCD_APP_NAME"],
            "replicas": [{"name": "guestbook-ui", "count": 5}],
            "commonLabels": {"team": "web", "app": "${ARGOCD_APP_NAME}"},
            "commonAnnotations": {"note": "hello $ARGOCD_APP_NAME"},
            "namespace": "kns",
            "components": ["../../components/extra"],
            "patches": [
                {
                    "target": {"kind": "Service"},
                    "patch": "- op: replace\n  path: /spec/type\n  value: NodePort\n",
                }
            ],
        },
    )
    d = dep(objects)
    svc = next(o for o in objects if o["kind"] == "Service")
    # `kustomize edit set nameprefix` replaces the overlay's own dev- prefix.
    assert d["metadata"]["name"] == "pre-guestbook-ui-suf"
    assert d["metadata"]["namespace"] == "kns"
    assert d["spec"]["replicas"] == 5
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/other/ui:gb"
    assert d["metadata"]["labels"]["team"] == "web"
    assert d["metadata"]["labels"]["app"] == "gb"
    assert d["spec"]["selector"]["matchLabels"]["team"] == "web"
    assert d["metadata"]["annotations"]["note"] == "hello $ARGOCD_APP_NAME"
    assert svc["spec"]["type"] == "NodePort"
    assert any(o["kind"] == "ConfigMap" and o["metadata"]["name"] == "pre-extra-suf" for o in objects)


def test_labels_without_selector_and_annotation_envsubst(renderer: SourceRenderer, kust: GitRepo) -> None:
    objects = render(
        renderer,
        kust,
        {
            "commonLabels": {"team": "web"},
            "labelWithoutSelector": True,
            "commonAnnotations": {"note": "hello $ARGOCD_APP_NAME"},
            "commonAnnotationsEnvsubst": True,
        },
    )
    d = dep(objects)
    assert d["metadata"]["labels"]["team"] == "web"
    assert "team" not in d["spec"]["selector"]["matchLabels"]
    assert d["metadata"]["annotations"]["note"] == "hello gb"


def test_existing_label_needs_force(renderer: SourceRenderer, kust: GitRepo) -> None:
    kust.write(
        {
            "kustomize-guestbook/overlays/dev/kustomization.yaml": (
                EXAMPLES / "kustomize-guestbook/overlays/dev/kustomization.yaml"
            ).read_text()
            + "commonLabels:\n  team: old\n"
        }
    )
    kust.commit("labels")
    with pytest.raises(SourceError, match="already in kustomization file"):
        render(renderer, kust, {"commonLabels": {"team": "new"}})
    d = dep(render(renderer, kust, {"commonLabels": {"team": "new"}, "forceCommonLabels": True}))
    assert d["metadata"]["labels"]["team"] == "new"


def test_missing_component(renderer: SourceRenderer, kust: GitRepo) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        render(renderer, kust, {"components": ["../../components/nope"]})
    objects = render(renderer, kust, {"components": ["../../components/nope"], "ignoreMissingComponents": True})
    assert dep(objects)["metadata"]["name"] == "dev-guestbook-ui"


def test_edits_never_touch_the_shared_tree(renderer: SourceRenderer, kust: GitRepo) -> None:
    render(renderer, kust, {"namePrefix": "x-"})
    plain = render(renderer, kust, {"nameSuffix": "-y"})
    assert dep(plain)["metadata"]["name"] == "dev-guestbook-ui-y"


def test_matches_kubectl_kustomize_by_hand(
    renderer: SourceRenderer, repo: GitRepo, kubectl_bin, tmp_path: Path
) -> None:
    repo.copy_example("kustomize-guestbook")
    repo.commit("kg")
    ours = render(renderer, repo)
    out = subprocess.run(
        [kubectl_bin, "kustomize", str(EXAMPLES / "kustomize-guestbook/overlays/dev")],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
    ).stdout
    assert ours == parse_manifests(out, origin="kustomize")


def test_standalone_kustomize_binary_is_used(make_settings, kust: GitRepo, tmp_path: Path, kubectl_bin) -> None:
    # A wrapper standing in for a standalone kustomize: `kustomize build DIR` -> `kubectl kustomize DIR`.
    wrapper = tmp_path / "kustomize"
    wrapper.write_text(f'#!/bin/sh\n[ "$1" = build ] || exit 9\nshift\nexec {kubectl_bin} kustomize "$@"\n')
    wrapper.chmod(0o755)
    settings: SourceSettings = make_settings(kustomize_binary=str(wrapper), kubectl_binary="/nonexistent")
    renderer = SourceRenderer(settings)
    assert dep(render(renderer, kust))["metadata"]["name"] == "dev-guestbook-ui"
    assert renderer.counters.kustomize_processes == 1


def test_app_details_kustomize_images(renderer: SourceRenderer, kust: GitRepo) -> None:
    details = renderer.app_details({"repoURL": kust.url, "path": "kustomize-guestbook/overlays/dev"})
    assert details.kustomize is not None
    assert details.kustomize.images == ("ghcr.io/example/guestbook-ui:1.0.0",)
