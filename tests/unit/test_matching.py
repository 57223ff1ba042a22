"""Label selectors and project permission matching (sources, destinations, negation)."""

from __future__ import annotations

import pytest

from argocd_server.errors import InvalidArgument
from argocd_server.labels import parse_selector
from argocd_server.services.matching import destination_permitted, normalize_git_url, source_permitted


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("", {}, True),
        ("a=b", {"a": "b"}, True),
        ("a==b", {"a": "c"}, False),
        ("a!=b", {}, True),
        ("a!=b", {"a": "b"}, False),
        ("a in (x, y)", {"a": "y"}, True),
        ("a in (x,y)", {}, False),
        ("a notin (x)", {"a": "z"}, True),
        ("a notin (x)", {"a": "x"}, False),
        ("a", {"a": ""}, True),
        ("!a", {"a": "1"}, False),
        ("env in (prod,dev),tier!=db,!legacy", {"env": "dev", "tier": "web"}, True),
        ("app.kubernetes.io/name=web", {"app.kubernetes.io/name": "web"}, True),
    ],
)
def test_label_selectors(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_selector(selector).matches(labels) is expected


@pytest.mark.parametrize("selector", ["a in (", "=b", "a=b,", "a b"])
def test_bad_selectors(selector: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_selector(selector)


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("https://GitHub.com/Org/Repo.git", "https://github.com/org/repo"),
        ("git@github.com:org/repo.git", "github.com/org/repo"),
        ("ssh://git@github.com/org/repo", "github.com/org/repo"),
        ("https://github.com/org/repo/", "https://github.com/org/repo"),
    ],
)
def test_normalize_git_url(url: str, normalized: str) -> None:
    assert normalize_git_url(url) == normalized


@pytest.mark.parametrize(
    ("patterns", "url", "expected"),
    [
        (["*"], "https://anything.example/x", True),
        (["https://github.com/org/*"], "https://github.com/org/a", True),
        (["https://github.com/org/*"], "https://github.com/org/a/b", False),
        (["https://github.com/org/**"], "https://github.com/org/a/b", True),
        (["https://github.com/org/repo"], "https://github.com/ORG/repo.git", True),
        (["!https://github.com/org/secret", "*"], "https://github.com/org/secret", False),
        (["!https://github.com/org/secret", "*"], "https://github.com/org/public", True),
        (["git@github.com:org/*"], "ssh://git@github.com/org/app", True),
        ([], "https://github.com/org/a", False),
    ],
)
def test_source_permitted(patterns: list[str], url: str, expected: bool) -> None:
    assert source_permitted(patterns, url) is expected


IN = "https://kubernetes.default.svc"


@pytest.mark.parametrize(
    ("destinations", "server", "name", "namespace", "expected"),
    [
        ([{"server": "*", "namespace": "*"}], IN, "in-cluster", "x", True),
        ([{"server": IN, "namespace": "team-*"}], IN, "in-cluster", "team-a", True),
        ([{"server": IN, "namespace": "team-*"}], IN, "in-cluster", "other", False),
        ([{"name": "in-*", "namespace": "*"}], IN, "in-cluster", "x", True),
        (
            [{"server": "*", "namespace": "!kube-system"}, {"server": "*", "namespace": "*"}],
            IN,
            "",
            "kube-system",
            False,
        ),
        ([{"server": "*", "namespace": "!kube-system"}, {"server": "*", "namespace": "*"}], IN, "", "apps", True),
        (
            [{"server": "!https://prod.example", "namespace": "*"}, {"server": "*", "namespace": "*"}],
            "https://prod.example",
            "",
            "a",
            False,
        ),
        ([], IN, "in-cluster", "x", False),
    ],
)
def test_destination_permitted(
    destinations: list[dict[str, str]], server: str, name: str, namespace: str, expected: bool
) -> None:
    assert destination_permitted(destinations, server=server, name=name, namespace=namespace) is expected
