"""ApplicationSet generators: list, clusters, git directories and files, matrix, merge, post-selectors, generator
templates, unsupported generators, error wrapping, request validation, and walking a checked-out tree.

Repository content comes from plain directory trees through a small RepoFiles over :mod:`repo_tree` (the same
walking the server applies to a real checkout; real git is covered by the API tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from argocd_server.engine.appset import (
    ClusterInfo,
    GenerationError,
    GenerationResult,
    generate_applications,
    list_directories,
    match_files,
    validate_generators,
)
from argocd_server.engine.appset.repo_tree import pathspec_matches
from argocd_server.errors import InvalidArgument, NotFound

SECRET = {"argocd.argoproj.io/secret-type": "cluster"}
CLUSTERS = [
    ClusterInfo(name="prod", server="https://prod.example.com", project="p1", labels={**SECRET, "env": "prod"}),
    ClusterInfo(
        name="Staging_EU",
        server="https://staging.example.com",
        labels={**SECRET, "env": "staging", "region": "eu"},
        annotations={"owner": "ops"},
    ),
]


class TreeRepos:
    """RepoFiles over local directory trees: ``repo_url`` names a directory, revisions are ignored."""

    def __init__(self, roots: dict[str, Path]) -> None:
        self.roots = roots
        self.calls: list[tuple[str, str, str]] = []

    def directories(self, repo_url: str, revision: str, *, project: str) -> list[str]:
        self.calls.append(("dirs", repo_url, project))
        if repo_url not in self.roots:
            raise GenerationError("rpc error: code = Internal desc = unable to resolve git revision : nope")
        return list_directories(self.roots[repo_url])

    def files(self, repo_url: str, revision: str, pattern: str, *, project: str) -> dict[str, bytes]:
        self.calls.append(("files", repo_url, pattern))
        return match_files(self.roots[repo_url], pattern)


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    return root


@pytest.fixture
def repos(tmp_path: Path) -> TreeRepos:
    apps = write_tree(
        tmp_path / "apps",
        {
            "apps/guestbook/k.yaml": "",
            "apps/helm-guestbook/Chart.yaml": "",
            "apps/skip-me/x": "",
            "apps/.hidden/x": "",
            "other/x": "",
        },
    )
    config = write_tree(
        tmp_path / "config",
        {
            "clusters/dev/config.json": '{"cluster": {"name": "dev", "replicas": 2, "tags": ["a", "b"]}}',
            "clusters/prod/config.yaml": "cluster:\n  name: prod\n  replicas: 1000000\n",
            "clusters/prod/old.yaml": "cluster:\n  name: old\n",
            "multi/list.yaml": "- name: one\n- name: two\n",
            "broken/config.yaml": "just a string\n",
        },
    )
    return TreeRepos({"https://git/apps.git": apps, "https://git/config.git": config})


def run(
    generators: list[dict[str, Any]],
    template: dict[str, Any] | None = None,
    *,
    go: bool = False,
    options: list[str] | None = None,
    repos: TreeRepos | None = None,
    clusters: list[ClusterInfo] | None = None,
    **spec: Any,
) -> GenerationResult:
    appset = {
        "metadata": {"name": "set", "namespace": "argocd"},
        "spec": {
            "generators": generators,
            "template": template or {"metadata": {"name": "x"}, "spec": {"project": "default"}},
            "goTemplate": go,
            "goTemplateOptions": options or [],
            **spec,
        },
    }
    return generate_applications(appset, clusters=lambda: clusters if clusters is not None else CLUSTERS, repos=repos)


def names(result: GenerationResult) -> list[str]:
    assert result.error is None, result.error.message
    return [a["metadata"]["name"] for a in result.applications]


def named(name: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"project": "default", **spec}}


def error(result: GenerationResult) -> str:
    assert result.error is not None
    return result.error.message


# --- list ----------------------------------------------------------------------------------------------------------


def test_list_elements_and_values() -> None:
    result = run(
        [{"list": {"elements": [{"cluster": "a", "values": {"tier": "gold"}}, {"cluster": "b"}]}}],
        named("{{cluster}}-{{values.tier}}"),
    )
    assert names(result) == ["a-gold", "b-{{values.tier}}"]
    assert all(a["metadata"]["namespace"] == "argocd" for a in result.applications)


def test_list_go_template_keeps_structure_and_elements_yaml() -> None:
    result = run(
        [
            {
                "list": {
                    "elements": [{"app": {"name": "x", "port": 80}}],
                    "elementsYaml": "- app: {name: y, port: 8080}\n",
                }
            }
        ],
        named("{{ .app.name }}-{{ .app.port }}"),
        go=True,
    )
    assert names(result) == ["x-80", "y-8080"]


def test_list_fasttemplate_needs_string_values() -> None:
    result = run([{"list": {"elements": [{"cluster": "a", "replicas": 3}]}}], named("{{cluster}}"))
    assert error(result) == "error parsing value as string %!w(<nil>)"
    assert result.applications == []
    assert [entry.level for entry in result.log] == ["error"]


def test_list_empty_element_leaves_the_template_unrendered() -> None:
    result = run([{"list": {"elements": [{}]}}], named("{{cluster}}"))
    assert names(result) == ["{{cluster}}"]
    assert "finalizers" not in result.applications[0]["metadata"]


# --- clusters ------------------------------------------------------------------------------------------------------


def test_clusters_all_with_in_cluster_last() -> None:
    result = run([{"clusters": {}}], named("{{name}}", destination={"server": "{{server}}"}))
    assert names(result) == ["Staging_EU", "prod", "in-cluster"]
    assert [a["spec"]["destination"]["server"] for a in result.applications] == [
        "https://staging.example.com",
        "https://prod.example.com",
        "https://kubernetes.default.svc",
    ]


def test_clusters_fasttemplate_parameters() -> None:
    result = run(
        [{"clusters": {"selector": {"matchLabels": {"region": "eu"}}, "values": {"color": "{{metadata.labels.env}}"}}}],
        named(
            "{{nameNormalized}}-{{metadata.labels.region}}-{{metadata.annotations.owner}}-{{values.color}}-{{project}}"
        ),
    )
    assert names(result) == ["staging-eu-eu-ops-staging-"]


def test_clusters_go_template_parameters_and_flat_list() -> None:
    result = run(
        [{"clusters": {"selector": {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]}}}],
        named("{{ .name }}-{{ .metadata.labels.env }}-{{ .project }}"),
        go=True,
    )
    assert names(result) == ["prod-prod-p1"]
    flat = run(
        [{"clusters": {"flatList": True}}],
        named("{{ range .clusters }}{{ .name }}.{{ end }}"),
        go=True,
    )
    assert names(flat) == ["Staging_EU.prod.in-cluster."]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}, ["Staging_EU"]),
        ({"matchExpressions": [{"key": "region", "operator": "Exists"}]}, ["Staging_EU"]),
        ({"matchExpressions": [{"key": "region", "operator": "DoesNotExist"}]}, ["prod"]),
        ({"matchLabels": {"env": "nowhere"}}, []),
    ],
)
def test_cluster_selectors(selector: dict[str, Any], expected: list[str]) -> None:
    assert names(run([{"clusters": {"selector": selector}}], named("{{name}}"))) == expected


def test_registered_in_cluster_replaces_the_builtin_entry() -> None:
    local = ClusterInfo(name="local", server="https://kubernetes.default.svc", labels=SECRET)
    assert names(run([{"clusters": {}}], named("{{name}}"), clusters=[local])) == ["local"]


def test_cluster_selector_errors() -> None:
    bad = run([{"clusters": {"selector": {"matchExpressions": [{"key": "env", "operator": "Near"}]}}}], named("x"))
    assert error(bad) == (
        'error getting cluster secrets: error converting label selector: "Near" is not a valid label selector operator'
    )
    empty = run([{"clusters": {"selector": {"matchExpressions": [{"key": "env", "operator": "In"}]}}}], named("x"))
    assert error(empty).endswith(
        "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty"
    )


# --- git -----------------------------------------------------------------------------------------------------------


def test_git_directories(repos: TreeRepos) -> None:
    generator = {
        "git": {
            "repoURL": "https://git/apps.git",
            "revision": "HEAD",
            "directories": [{"path": "apps/*"}, {"path": "apps/skip-me", "exclude": True}],
        }
    }
    result = run(
        [generator], named("{{path.basename}}", source={"path": "{{path}}", "repoURL": "{{path[0]}}"}), repos=repos
    )
    assert names(result) == ["guestbook", "helm-guestbook"]
    assert result.applications[0]["spec"]["source"] == {"path": "apps/guestbook", "repoURL": "apps"}
    assert repos.calls == [("dirs", "https://git/apps.git", "default")]


def test_git_directories_go_template_with_prefix(repos: TreeRepos) -> None:
    generator = {
        "git": {"repoURL": "https://git/apps.git", "directories": [{"path": "apps/helm-*"}], "pathParamPrefix": "app"}
    }
    result = run(
        [generator],
        named("{{ index .app.path.segments 1 }}-{{ .app.path.basenameNormalized }}"),
        go=True,
        repos=repos,
    )
    assert names(result) == ["helm-guestbook-helm-guestbook"]


def test_git_files_fasttemplate_flattens(repos: TreeRepos) -> None:
    generator = {
        "git": {
            "repoURL": "https://git/config.git",
            "files": [{"path": "clusters/**"}, {"path": "clusters/prod/old.yaml", "exclude": True}],
            "values": {"where": "{{path.basename}}"},
        }
    }
    result = run(
        [generator],
        named(
            "{{cluster.name}}-{{cluster.replicas}}-{{cluster.tags.1}}-{{path.filename}}-{{path[1]}}-{{values.where}}"
        ),
        repos=repos,
    )
    assert names(result) == ["dev-2-b-config.json-dev-dev", "prod-1e+06-{{cluster.tags.1}}-config.yaml-prod-prod"]


def test_git_files_go_template_and_arrays(repos: TreeRepos) -> None:
    result = run(
        [{"git": {"repoURL": "https://git/config.git", "files": [{"path": "multi/*.yaml"}]}}],
        named("{{ .name }}-{{ .path.filenameNormalized }}-{{ .path.path }}"),
        go=True,
        repos=repos,
    )
    assert names(result) == ["one-list.yaml-multi", "two-list.yaml-multi"]


def test_git_errors(repos: TreeRepos) -> None:
    broken = run(
        [{"git": {"repoURL": "https://git/config.git", "files": [{"path": "broken/*"}]}}], named("x"), repos=repos
    )
    assert error(broken).startswith(
        "error generating params from git: unable to process file 'broken/config.yaml' from repository "
        "'https://git/config.git': unable to parse file: "
    )
    missing = run(
        [{"git": {"repoURL": "https://git/none.git", "directories": [{"path": "*"}]}}], named("x"), repos=repos
    )
    assert error(missing) == (
        "error generating params from git: error getting directories from repo: error retrieving Git Directories: "
        "rpc error: code = Internal desc = unable to resolve git revision : nope"
    )
    assert (
        error(run([{"git": {"repoURL": "https://git/apps.git"}}], named("x"), repos=repos)) == "ApplicationSet is empty"
    )


# --- matrix, merge, selectors, templates --------------------------------------------------------------------------


def test_matrix_fasttemplate_combines_and_interpolates(repos: TreeRepos) -> None:
    generator = {
        "matrix": {
            "generators": [
                {"list": {"elements": [{"repo": "https://git/apps.git", "env": "dev"}]}},
                {"git": {"repoURL": "{{repo}}", "directories": [{"path": "apps/guestbook"}]}},
            ]
        }
    }
    assert names(run([generator], named("{{env}}-{{path.basename}}"), repos=repos)) == ["dev-guestbook"]
    conflict = {"matrix": {"generators": [{"list": {"elements": [{"a": "1"}]}}, {"list": {"elements": [{"a": "2"}]}}]}}
    assert error(run([conflict], named("x"))) == (
        "failed to combine string maps with merging params for the matrix generator: found duplicate key a with "
        "different value, a: 1 ,b: 2"
    )


def test_matrix_go_template_first_child_wins_and_values_pre_resolve() -> None:
    generator = {
        "matrix": {
            "generators": [
                {"clusters": {"selector": {"matchLabels": {"env": "prod"}}}},
                {
                    "list": {
                        "elements": [{"name": "ignored", "app": "{{ .name }}-app"}],
                    }
                },
            ]
        }
    }
    result = run([generator], named("{{ .name }}/{{ .app }}"), go=True, options=["missingkey=error"])
    assert names(result) == ["prod/prod-app"]
    # A value using only the first child's parameters is resolved up front; one using the cluster's own is left
    # for the cluster generator; one mixing both resolves only against the cluster's (upstream: all or nothing).
    values = {"label": "{{ .env }}-x", "srv": "{{ .server }}", "mixed": "{{ .env }}-{{ .name }}"}
    with_values = {
        "matrix": {
            "generators": [
                {"list": {"elements": [{"env": "dev"}]}},
                {"clusters": {"selector": {"matchLabels": {"env": "prod"}}, "values": values}},
            ]
        }
    }
    result = run([with_values], named("{{ .values.label }}|{{ .values.srv }}|{{ .values.mixed }}"), go=True)
    assert names(result) == ["dev-x|https://prod.example.com|<no value>-prod"]


def test_matrix_nesting_and_child_count() -> None:
    nested = {
        "matrix": {
            "generators": [
                {
                    "matrix": {
                        "generators": [{"list": {"elements": [{"a": "1"}]}}, {"list": {"elements": [{"b": "2"}]}}]
                    }
                },
                {"list": {"elements": [{"c": "3"}, {"c": "4"}]}},
            ]
        }
    }
    assert names(run([nested], named("{{a}}{{b}}{{c}}"))) == ["123", "124"]
    one: dict[str, Any] = {"matrix": {"generators": [{"list": {"elements": []}}]}}
    assert error(run([one], named("x"))) == "found less than two generators, Matrix support only two"
    empty_child = {"matrix": {"generators": [{}, {"list": {"elements": [{"a": "1"}]}}]}}
    assert error(run([empty_child], named("x"))) == (
        "error failed to get params for first generator in matrix generator: child generator generated no parameters"
    )


def test_merge_by_keys() -> None:
    generator = {
        "merge": {
            "mergeKeys": ["server"],
            "generators": [
                {"clusters": {"values": {"kafka": "true", "redis": "false"}}},
                {"list": {"elements": [{"server": "https://prod.example.com", "values.redis": "true"}]}},
                {"list": {"elements": [{"server": "https://nowhere", "values.kafka": "never"}]}},
            ],
        }
    }
    result = run([generator], named("{{name}}-{{values.kafka}}-{{values.redis}}"))
    assert names(result) == ["Staging_EU-true-false", "prod-true-true", "in-cluster-true-false"]
    assert error(run([{"merge": {"generators": generator["merge"]["generators"]}}], named("x"))) == (
        "error getting param sets by merge key: no merge keys were specified, Merge requires at least one"
    )
    duplicated = {
        "merge": {
            "mergeKeys": ["a"],
            "generators": [{"list": {"elements": [{"a": "1"}, {"a": "1"}]}}, {"list": {"elements": []}}],
        }
    }
    assert error(run([duplicated], named("x"))) == (
        "error getting param sets by merge key: the parameters from a generator were not unique by the given "
        'mergeKeys, Merge requires all param sets to be unique. Duplicate key was {"a":"1"}'
    )


def test_post_selector_filters_parameter_sets() -> None:
    generator = {
        "list": {"elements": [{"env": "dev", "url": "https://a"}, {"env": "prod", "url": "https://b"}]},
        "selector": {"matchExpressions": [{"key": "url", "operator": "In", "values": ["https://b"]}]},
    }
    assert names(run([generator], named("{{env}}"))) == ["prod"]
    go = {"clusters": {}, "selector": {"matchLabels": {"metadata.labels.region": "eu"}}}
    assert names(run([go], named("{{ .name }}"), go=True)) == ["Staging_EU"]
    bad = {"list": {"elements": []}, "selector": {"matchExpressions": [{"key": "a", "operator": "Equals"}]}}
    assert (
        error(run([bad], named("x"))) == 'error parsing label selector: "Equals" is not a valid pod selector operator'
    )


def test_generator_template_overrides_the_set_template() -> None:
    generator = {
        "list": {
            "elements": [{"n": "a"}],
            "template": {
                "metadata": {"labels": {"from": "generator"}},
                "spec": {"destination": {"namespace": "{{n}}"}},
            },
        }
    }
    template = named("{{n}}", destination={"server": "https://s", "namespace": "base"})
    app = run([generator], template).applications[0]
    assert app["metadata"]["labels"] == {"from": "generator"}
    assert app["spec"]["destination"] == {"server": "https://s", "namespace": "a"}
    assert app["spec"]["project"] == "default"


def test_template_patch_is_applied() -> None:
    result = run(
        [{"list": {"elements": [{"n": "a", "auto": "true"}]}}],
        named("{{ .n }}"),
        go=True,
        templatePatch='{{ if eq .auto "true" }}spec:\n  syncPolicy:\n    automated: {prune: true}\n{{ end }}',
    )
    assert result.applications[0]["spec"]["syncPolicy"] == {"automated": {"prune": True}}


@pytest.mark.parametrize(
    ("generator", "message", "kube"),
    [
        ({"scmProvider": {"github": {"organization": "o"}}}, "scm providers are disabled", None),
        (
            {"pullRequest": {"github": {"owner": "o", "repo": "r"}}},
            "failed to select pull request service provider: scm providers are disabled",
            None,
        ),
        (
            {"clusterDecisionResource": {"configMapRef": "ocm-placement"}},
            'error reading configMapRef: configmaps "ocm-placement" not found',
            NotFound,
        ),
        (
            {"plugin": {"configMapRef": {"name": "my-plugin"}}},
            'error getting plugin from generator: error fetching ConfigMap: configmaps "my-plugin" not found',
            NotFound,
        ),
    ],
)
def test_generators_needing_external_systems(generator: dict[str, Any], message: str, kube: Any) -> None:
    result = run([generator], named("x"))
    assert error(result) == message
    assert result.error is not None
    assert result.error.kube is kube


def test_errors_of_other_generators_do_not_stop_the_run() -> None:
    result = run(
        [{"scmProvider": {}}, {"list": {"elements": [{"n": "ok"}]}}],
        named("{{n}}"),
    )
    assert [a["metadata"]["name"] for a in result.applications] == ["ok"]
    assert error(result) == "scm providers are disabled"
    assert [(e.level, e.message) for e in result.log] == [
        ("error", "error generating application from params"),
        ("info", "generated 1 applications"),
    ]


def test_resolve_keeps_repo_server_status() -> None:
    status_error = GenerationError("outer: rpc error: code = Internal desc = boom", status=NotFound("boom"))
    assert str(status_error.wrap("x").resolve(suffix="\nlog")) == "boom"
    kube_error = GenerationError('configmaps "x" not found', kube=NotFound).wrap("prefix")
    resolved = kube_error.resolve(suffix="\nlog")
    assert isinstance(resolved, NotFound)
    assert resolved.message == 'prefix: configmaps "x" not found\nlog'


# --- validation and trees -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"generators": [{"list": {"elements": "x"}}]},
            "json: cannot unmarshal string into Go struct field ListGenerator.spec.generators.list.elements of type "
            "[]v1.JSON",
        ),
        (
            {"generators": [{"clusters": {"values": {"a": 1}}}]},
            "json: cannot unmarshal number into Go struct field ClusterGenerator.spec.generators.clusters.values of "
            "type string",
        ),
        (
            {"generators": [{"matrix": {"generators": [{"git": {"repoURL": 3}}]}}]},
            "json: cannot unmarshal number into Go struct field GitGenerator.spec.generators.matrix.generators.git."
            "repoURL of type string",
        ),
        (
            {"goTemplateOptions": "missingkey=error"},
            "json: cannot unmarshal string into Go struct field ApplicationSetSpec.spec.goTemplateOptions of type "
            "[]string",
        ),
    ],
)
def test_validate_generators(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_generators(spec)
    assert caught.value.message == message


def test_validate_generator_templates() -> None:
    validate_generators({"generators": [{"list": {"elements": [], "template": {"spec": {"project": "p"}}}}]})
    with pytest.raises(InvalidArgument):
        validate_generators({"generators": [{"list": {"template": {"spec": {"source": "nope"}}}}]})


def test_list_directories_skips_hidden(tmp_path: Path) -> None:
    write_tree(tmp_path, {"b/c/x": "", "a/x": "", ".git/x": "", "b/.cache/x": "", "top": ""})
    assert list_directories(tmp_path) == ["a", "b", "b/c"]


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("apps", "apps/a/b.yaml", True),
        ("apps/", "apps/a.yaml", True),
        ("apps", "apps2/a.yaml", False),
        ("*.json", "a/b/c.json", True),
        ("cluster-config/**/config.json", "cluster-config/eng/dev/config.json", True),
        ("cluster-config/*/config.json", "cluster-config/eng/dev/config.json", True),
        ("cluster-config/**/config.json", "cluster-config/config.json", False),
        ("a/?.yaml", "a/b.yaml", True),
        ("a/[bc].yaml", "a/d.yaml", False),
        (".", "anything", True),
    ],
)
def test_pathspec(pattern: str, path: str, expected: bool) -> None:
    assert pathspec_matches(pattern, path) is expected
