"""Directory sources: recurse, include/exclude globs, YAML/JSON parsing rules, Jsonnet."""

from __future__ import annotations

import json

import pytest

from argocd_server.engine.source import RenderRequest, SourceError, SourceRenderer, SourceType
from argocd_server.engine.source.directory import glob_match
from tests.support.git_repo import GitRepo


def cm(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def render(renderer: SourceRenderer, repo: GitRepo, **source) -> list[str]:
    src = {"repoURL": repo.url, "path": "app", **source}
    result = renderer.render(RenderRequest(sources=(src,), app_name="app", namespace="ns"))
    assert result.source_type == SourceType.DIRECTORY
    return [o["metadata"]["name"] for o in result.objects]


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.yaml", "a.yaml", True),
        ("*.yaml", "sub/a.yaml", True),  # gobwas without separators: * crosses /
        ("{a,b}.yaml", "b.yaml", True),
        ("{a,b}.yaml", "c.yaml", False),
        ("sub/*", "sub/x/y.json", True),
        ("?.yml", "ab.yml", False),
        ("[ab]*.yaml", "bz.yaml", True),
        ("{*.json,sub/{x,y}.yaml}", "sub/y.yaml", True),
    ],
)
def test_glob(pattern, path, matches) -> None:
    assert glob_match(pattern, path) is matches


def test_plain_yaml_multi_doc_json_and_lists(renderer: SourceRenderer, repo: GitRepo) -> None:
    repo.commit(
        "files",
        {
            "app/multi.yaml": cm("one") + "---\n" + cm("two") + "---\n",
            "app/list.json": json.dumps(
                [json.loads(json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j1"}}))]
            ),
            "app/klist.yaml": "apiVersion: v1\nkind: List\nitems:\n- " + cm("k1").replace("\n", "\n  ").rstrip() + "\n",
            "app/empty-list.yaml": "apiVersion: v1\nkind: ConfigMapList\nitems: null\n",
            "app/values.yaml": "replicas: 3\nfoo: bar\n",
            "app/README.md": "# not a manifest",
            "app/skipped.yaml": "# +argocd:skip-file-rendering\n" + cm("skipped"),
            "app/dated.yaml": cm("dated") + "data:\n  when: 2024-01-02\n",
            "app/sub/nested.yaml": cm("nested"),
        },
    )
    names = render(renderer, repo)
    assert sorted(names) == ["dated", "j1", "k1", "one", "two"]
    assert "nested" in render(renderer, repo, directory={"recurse": True})


def test_include_exclude(renderer: SourceRenderer, repo: GitRepo) -> None:
    repo.commit(
        "files",
        {
            "app/a.yaml": cm("a"),
            "app/b.yaml": cm("b"),
            "app/c.json": json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
            "app/sub/d.yaml": cm("d"),
        },
    )
    assert sorted(render(renderer, repo, directory={"recurse": True, "include": "{a.yaml,*.json}"})) == ["a", "c"]
    assert sorted(render(renderer, repo, directory={"recurse": True, "exclude": "sub/*"})) == ["a", "b", "c"]
    assert sorted(
        render(renderer, repo, directory={"recurse": True, "include": "*.yaml", "exclude": "{b.yaml,sub/*}"})
    ) == ["a"]


def test_broken_manifest_is_an_error(renderer: SourceRenderer, repo: GitRepo) -> None:
    repo.commit("broken", {"app/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n"})
    with pytest.raises(SourceError, match=r"bad\.yaml"):
        render(renderer, repo)


def test_jsonnet_tlas_extvars_libs(renderer: SourceRenderer, repo: GitRepo) -> None:
    repo.commit(
        "jsonnet",
        {
            "lib/helpers.libsonnet": (
                "{ cm(name, data):: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: name }, data: data } }"
            ),
            "app/main.jsonnet": (
                "local h = import 'helpers.libsonnet';\n"
                "function(prefix, count) [h.cm(prefix + '-' + i, {\n"
                "  env: std.extVar('env'), app: std.extVar('app'), n: std.toString(std.extVar('n')),\n"
                "}) for i in std.range(1, count)]\n"
            ),
        },
    )
    jsonnet = {
        "tlas": [{"name": "prefix", "value": "web"}, {"name": "count", "value": "2", "code": True}],
        "extVars": [
            {"name": "env", "value": "prod"},
            {"name": "app", "value": "$ARGOCD_APP_NAME"},
            {"name": "n", "value": "1+1", "code": True},
        ],
        "libs": ["lib"],
    }
    src = {"repoURL": repo.url, "path": "app", "directory": {"jsonnet": jsonnet}}
    objects = renderer.render(RenderRequest(sources=(src,), app_name="gb")).objects
    assert [o["metadata"]["name"] for o in objects] == ["web-1", "web-2"]
    assert objects[0]["data"] == {"env": "prod", "app": "gb", "n": "2"}


def test_jsonnet_lib_outside_repo_refused(renderer: SourceRenderer, repo: GitRepo) -> None:
    repo.commit("jsonnet", {"app/main.jsonnet": "{}"})
    src = {"repoURL": repo.url, "path": "app", "directory": {"jsonnet": {"libs": ["../../.."]}}}
    with pytest.raises(SourceError, match="outside repository root"):
        renderer.render(RenderRequest(sources=(src,), app_name="a"))


def test_jsonnet_import_outside_repo_refused(renderer: SourceRenderer, repo: GitRepo) -> None:
    repo.commit("jsonnet", {"app/main.jsonnet": "import '../../../../../../etc/hostname'"})
    with pytest.raises(SourceError, match="outside repository root"):
        renderer.render(RenderRequest(sources=({"repoURL": repo.url, "path": "app"},), app_name="a"))
