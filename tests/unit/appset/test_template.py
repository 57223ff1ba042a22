"""ApplicationSet templating: fasttemplate substitution, the Go template subset and its functions, Go's printing of
values, application rendering (finalizers, template merge) and templatePatch."""

from __future__ import annotations

from typing import Any

import pytest

from argocd_server.engine.appset import GenerationError, Renderer
from argocd_server.engine.appset.goformat import StringList, StringMap, go_format_float, go_json_dumps, go_json_value
from argocd_server.engine.appset.gotemplate import MissingKey, TemplateError, parse_template
from argocd_server.engine.appset.names import sanitize_name, slugify_name
from argocd_server.engine.appset.render import apply_template_patch, merge_template
from argocd_server.errors import Internal

DATA: dict[str, Any] = {
    **go_json_value(
        {
            "cluster": {"name": "Prod EU", "address": "https://prod.example.com", "replicas": 3},
            "nothing": None,
            "big": 1000000,
            "list": ["a", "b", "c"],
            "env": "prod",
            "empty": "",
        }
    ),
    "path": {"path": "apps/guestbook", "basename": "guestbook", "segments": StringList(["apps", "guestbook"])},
    "labels": StringMap({"team": "a"}),
}


def render(text: str, data: Any = None, *, missing: MissingKey = MissingKey.INVALID) -> str:
    return parse_template(text).execute(DATA if data is None else data, missing_key=missing)


def error_of(text: str, *, missing: MissingKey = MissingKey.INVALID) -> str:
    with pytest.raises(TemplateError) as caught:
        render(text, missing=missing)
    return caught.value.message


# --- fasttemplate --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{cluster}}-app", "prod-app"),
        ("{{ cluster }}-{{  url }}", "prod-https://x"),
        ("{{unknown}} and {{ unknown }}", "{{unknown}} and {{ unknown }}"),
        ("{{number}}", "{{number}}"),  # only string parameters substitute
        ("{{}} {{ }}", "{{}} {{ }}"),
        ("no tags", "no tags"),
        ("{{cluster\n}}", "{{cluster\n}}"),  # tags are only looked for within one line
        ("{{values.tier}}", "gold"),
    ],
)
def test_fasttemplate(text: str, expected: str) -> None:
    params = {"cluster": "prod", "url": "https://x", "number": 3.0, "values.tier": "gold"}
    assert Renderer(go_template=False).replace(text, params) == expected


def test_fasttemplate_unclosed_tag() -> None:
    with pytest.raises(GenerationError) as caught:
        Renderer(go_template=False).replace("{{a}} {{b", {"a": "x"})
    assert caught.value.message == (
        'invalid template: Cannot find end tag="}}" in the template="{{a}} {{b" starting from "b"'
    )


def test_every_string_and_map_key_is_rendered() -> None:
    template = {"labels": {"{{k}}": "{{v}}"}, "list": ["{{v}}", 3, True], "gone": None}
    assert Renderer(go_template=False).render_value(template, {"k": "team", "v": "a"}) == {
        "labels": {"team": "a"},
        "list": ["a", 3, True],
    }


# --- Go templates --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ .cluster.name }}", "Prod EU"),
        ("{{.env}}-{{ .path.basename }}", "prod-guestbook"),
        ("{{ index .path.segments 1 }}", "guestbook"),
        ('{{ index .list 0 }}{{ index .cluster "name" }}', "aProd EU"),
        ('{{ .cluster.name | lower | replace " " "-" }}', "prod-eu"),
        ('{{ if eq .env "prod" }}P{{ else if eq .env "dev" }}D{{ else }}?{{ end }}', "P"),
        ("{{ if .empty }}yes{{ else }}no{{ end }}", "no"),
        ("{{ range $i, $v := .list }}{{ $i }}{{ $v }}{{ end }}", "0a1b2c"),
        ('{{ range .list }}{{ if eq . "b" }}{{ continue }}{{ end }}{{ . }}{{ end }}', "ac"),
        ('{{ range .list }}{{ if eq . "b" }}{{ break }}{{ end }}{{ . }}{{ end }}', "a"),
        ("{{ range $k, $v := .cluster }}{{ $k }};{{ end }}", "address;name;replicas;"),
        ("{{ range .nothing }}x{{ else }}none{{ end }}", "none"),
        ("{{ range 3 }}{{ . }}{{ end }}", "012"),
        ("{{ with .cluster }}{{ .name }}{{ end }}", "Prod EU"),
        ("{{ $n := .cluster.name }}{{ $n = upper $n }}{{ $n }}", "PROD EU"),
        ("{{ $.env }}", "prod"),
        ("a  {{- .env -}}  b", "aprodb"),
        ("{{/* a comment */}}x", "x"),
        ("{{ .missing }}", "<no value>"),
        ("{{ .nothing }}", "<no value>"),
        ("{{ .big }}", "1e+06"),
        ("{{ .cluster.replicas }}", "3"),
        ("{{ 1000000 }} {{ 2.5 }}", "1000000 2.5"),
        ("{{ .path.segments }}", "[apps guestbook]"),
        ("{{ .cluster }}", "map[address:https://prod.example.com name:Prod EU replicas:3]"),
        ("{{ .labels.team }}", "a"),
        ('{{ printf "%s-%d-%v-%q" .env 7 .big .env }}', 'prod-7-1e+06-"prod"'),
        ('{{ print 1 2 "x" 3 }}', "1 2x3"),
        ("{{ len .list }} {{ len .env }}", "3 4"),
        ("{{ and .env .missing }}|{{ or .missing .env }}|{{ not .empty }}", "<no value>|prod|true"),
        ('{{ eq .env "dev" "prod" }} {{ ne .env "prod" }} {{ lt 1 2 }} {{ ge "b" "a" }}', "true false true true"),
    ],
)
def test_go_template(text: str, expected: str) -> None:
    assert render(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{{ .missing | default "d" }}', "d"),
        ('{{ default "d" .env }}', "prod"),
        ('{{ coalesce .empty .missing "c" }}', "c"),
        ('{{ ternary "y" "n" (eq .env "prod") }}', "y"),
        ("{{ empty .list }}{{ empty .empty }}", "falsetrue"),
        ('{{ upper .env }}{{ title "hello big-world" }}', "PRODHello Big-World"),
        ("{{ trunc 3 .cluster.name }}|{{ trunc -2 .cluster.name }}", "Pro|EU"),
        (
            '{{ trimPrefix "https://" .cluster.address }}|{{ trimSuffix ".com" .cluster.address }}',
            "prod.example.com|https://prod.example",
        ),
        ('{{ trim "  x  " }}|{{ trimAll "-" "--x--" }}|{{ nospace " a b " }}', "x|x|ab"),
        ('{{ substr 0 4 .cluster.name }}|{{ repeat 2 "ab" }}', "Prod|abab"),
        (
            '{{ contains "EU" .cluster.name }} {{ hasPrefix "Prod" .cluster.name }} {{ hasSuffix "x" .env }}',
            "true true false",
        ),
        ('{{ quote .env }} {{ squote .env }} {{ cat "a" .env 3 }}', "\"prod\" 'prod' a prod 3"),
        ('{{ "a\\nb" | indent 2 }}|{{ "x" | nindent 1 }}', "  a\n  b|\n x"),
        (
            '{{ join "," .list }}|{{ splitList "/" .path.path | last }}|{{ (split "/" .path.path)._0 }}',
            "a,b,c|guestbook|apps",
        ),
        ("{{ toJson .cluster }}", '{"address":"https://prod.example.com","name":"Prod EU","replicas":3}'),
        ('{{ toJson "<&>" }}|{{ toRawJson "<&>" }}', '"\\u003c\\u0026\\u003e"|"<&>"'),
        ("{{ toYaml .cluster }}", "address: https://prod.example.com\nname: Prod EU\nreplicas: 3"),
        ('{{ (fromYaml "a: 1\\nb: [x]").b }}', "[x]"),
        ('{{ (fromJson "{\\"a\\": 2}").a }}', "2"),
        ("{{ normalize .cluster.name }}", "prod-eu"),
        ('{{ slugify "My.Cluster_Name  Here" }}', "my-cluster-name-here"),
        ('{{ slugify 10 false "abcdefghijkl-mn" }}|{{ slugify 10 true "abcde-fghi-klm" }}', "abcdefghij|abcde-fghi"),
        ('{{ regexReplaceAll "(e)(x)" "next" "${2}$1" }}|{{ regexMatch "^p" .env }}', "nxet|true"),
        ('{{ regexFind "[a-z]+" "123abc" }}|{{ regexFindAll "[0-9]" "a1b2c3" 2 }}', "abc|[1 2]"),
        ('{{ add 1 2 "3" }} {{ sub 5 .cluster.replicas }} {{ mul 2 3 }} {{ div 7 2 }} {{ mod -7 3 }}', "6 2 6 3 -1"),
        ('{{ max 1 5 3 }} {{ min 4 2 }} {{ add1 .cluster.replicas }} {{ int "42" }} {{ atoi "x" }}', "5 2 4 42 0"),
        ('{{ $d := dict "a" 1 "b" "x" }}{{ get $d "b" }}{{ hasKey $d "a" }}{{ keys $d }}', "xtrue[a b]"),
        ('{{ list 1 "a" }}|{{ first .list }}|{{ rest .list }}|{{ has "b" .list }}', "[1 a]|a|[b c]|true"),
        ('{{ dig "cluster" "name" "none" . }}|{{ dig "cluster" "x" "none" . }}', "Prod EU|none"),
        ('{{ sha256sum "x" | trunc 8 }} {{ b64enc "hi" }} {{ b64dec "aGk=" }}', "2d711642 aGk= hi"),
        ('{{ sortAlpha (list "b" "a") }} {{ uniq (list 1 1 2) }}', "[a b] [1 2]"),
    ],
)
def test_functions(text: str, expected: str) -> None:
    assert render(text) == expected


@pytest.mark.parametrize(
    ("text", "missing", "expected"),
    [
        (
            "{{ .missing }}",
            MissingKey.ERROR,
            'template: base:1:3: executing "base" at <.missing>: map has no entry for key "missing"',
        ),
        (
            "{{.cluster.missing}}",
            MissingKey.ERROR,
            'template: base:1:10: executing "base" at <.cluster.missing>: map has no entry for key "missing"',
        ),
        (
            "{{ .nothing.x }}",
            MissingKey.INVALID,
            'template: base:1:11: executing "base" at <.nothing.x>: nil pointer evaluating interface {}.x',
        ),
        (
            "{{ .env.x }}",
            MissingKey.INVALID,
            'template: base:1:7: executing "base" at <.env.x>: can\'t evaluate field x in type interface {}',
        ),
        (
            "{{ index .list 5 }}",
            MissingKey.INVALID,
            'template: base:1:3: executing "base" at <index .list 5>: error calling index: index out of range: 5',
        ),
        (
            "{{ upper .big }}",
            MissingKey.INVALID,
            'template: base:1:9: executing "base" at <.big>: wrong type for value; expected string; got float64',
        ),
        (
            "{{ lower .missing }}",
            MissingKey.INVALID,
            'template: base:1:9: executing "base" at <.missing>: invalid value; expected string',
        ),
        (
            "{{ eq .cluster.replicas 3 }}",
            MissingKey.INVALID,
            'template: base:1:3: executing "base" at <eq .cluster.replicas...>: error calling eq: incompatible types '
            "for comparison",
        ),
        (
            '{{ trunc "x" .env }}',
            MissingKey.INVALID,
            'template: base:1:9: executing "base" at <"x">: expected integer; found "x"',
        ),
        (
            "{{ lower }}",
            MissingKey.INVALID,
            'template: base:1:3: executing "base" at <lower>: wrong number of args for lower: want 1 got 0',
        ),
        (
            '{{ fail "stop here please" }}',
            MissingKey.INVALID,
            'template: base:1:3: executing "base" at <fail "stop here plea...>: error calling fail: stop here please',
        ),
    ],
)
def test_execution_errors(text: str, missing: MissingKey, expected: str) -> None:
    assert error_of(text, missing=missing) == expected


def test_missingkey_zero_gives_nil_or_empty_string() -> None:
    assert render("{{ .missing }}|{{ .labels.nope }}", missing=MissingKey.ZERO) == "<no value>|"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ foo }}", 'template: base:1: function "foo" not defined'),
        ("{{ .a", "template: base:1: unclosed action"),
        ("x\n{{ if .a }}y", "template: base:2: unexpected EOF"),
        ("{{ end }}", "template: base:1: unexpected {{end}}"),
        ("{{ $x }}", 'template: base:1: undefined variable "$x"'),
        ("{{ }}", "template: base:1: missing value for command"),
        ('{{ "a" | "b" }}', "template: base:1: non executable command in pipeline stage 2"),
        ("{{ 3x }}", 'template: base:1: bad number syntax: "3x"'),
        ('{{ template "x" }}', "template: base:1: {{template}} is not supported in ApplicationSet templates"),
    ],
)
def test_parse_errors(text: str, expected: str) -> None:
    assert error_of(text) == expected


def test_go_replace_wraps_errors_as_upstream() -> None:
    strict = Renderer(go_template=True, options=["missingkey=error"])
    with pytest.raises(GenerationError) as caught:
        strict.replace("{{ .x }}", {})
    assert caught.value.message == (
        'failed to execute go template {{ .x }}: template: base:1:3: executing "base" at <.x>: map has no entry '
        'for key "x"'
    )
    with pytest.raises(GenerationError) as caught:
        strict.replace("{{ nope }}", {})
    assert caught.value.message == 'failed to parse template {{ nope }}: template: base:1: function "nope" not defined'
    with pytest.raises(GenerationError) as caught:
        Renderer(go_template=True, options=["missingkey=maybe"]).replace("plain", {})
    assert caught.value.message == "unrecognized option: missingkey=maybe"
    resolved = caught.value.resolve()
    assert isinstance(resolved, Internal)  # Go panics; upstream's server recovers that as Internal
    assert resolved.message == "unrecognized option: missingkey=maybe"
    assert Renderer(go_template=True).replace("plain", {}) == "plain"


# --- Go value formatting -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3.0, "3"), (0.5, "0.5"), (123456.0, "123456"), (1234567.0, "1.234567e+06"), (1e-5, "1e-05"), (-2.5, "-2.5")],
)
def test_go_float_printing(value: float, expected: str) -> None:
    assert go_format_float(value) == expected


def test_go_json() -> None:
    assert go_json_dumps({"b": 1e21, "a": [1.0, 0.000001, True, None]}) == '{"a":[1,0.000001,true,null],"b":1e+21}'
    assert go_json_dumps({"a": {"b": 1}}, indent="  ") == '{\n  "a": {\n    "b": 1\n  }\n}'


def test_names() -> None:
    assert sanitize_name("My_Cluster.Example.COM-") == "my-cluster.example.com"
    assert slugify_name("Feature/ABC_123..x") == "feature-abc-123-x"
    assert slugify_name("a" * 60) == "a" * 50


# --- applications --------------------------------------------------------------------------------------------------

TEMPLATE: dict[str, Any] = {
    "metadata": {"name": "{{name}}", "labels": {"env": "{{env}}"}},
    "spec": {"project": "default", "destination": {"server": "{{server}}"}},
}


def test_render_application_adds_the_resources_finalizer() -> None:
    renderer = Renderer(go_template=False)
    app = renderer.render_application(TEMPLATE, {"name": "a", "env": "dev", "server": "s"}, sync_policy=None)
    assert app == {
        "metadata": {"name": "a", "labels": {"env": "dev"}, "finalizers": ["resources-finalizer.argocd.argoproj.io"]},
        "spec": {"project": "default", "destination": {"server": "s"}},
    }
    kept = renderer.render_application(TEMPLATE, {"name": "a"}, sync_policy={"preserveResourcesOnDeletion": True})
    assert "finalizers" not in kept["metadata"]
    own = {**TEMPLATE, "metadata": {**TEMPLATE["metadata"], "finalizers": ["mine"]}}
    assert renderer.render_application(own, {"name": "a"}, sync_policy=None)["metadata"]["finalizers"] == ["mine"]
    # No parameters: upstream returns the template untouched, without the finalizer.
    assert renderer.render_application(TEMPLATE, None, sync_policy=None)["metadata"] == TEMPLATE["metadata"]


def test_generator_template_merges_over_the_set_template() -> None:
    base = {
        "metadata": {"name": "base", "labels": {"a": "1", "b": "2"}},
        "spec": {"project": "p", "destination": {"server": "s", "namespace": "n"}, "syncPolicy": {"automated": {}}},
    }
    override = {"metadata": {"labels": {"b": "x"}}, "spec": {"project": "", "destination": {"namespace": "other"}}}
    assert merge_template(override, base) == {
        "metadata": {"labels": {"b": "x", "a": "1"}, "name": "base"},
        "spec": {"project": "p", "destination": {"namespace": "other", "server": "s"}, "syncPolicy": {"automated": {}}},
    }


def test_template_patch() -> None:
    app = {"metadata": {"name": "a", "finalizers": ["f1"]}, "spec": {"project": "p", "destination": {"server": "s"}}}
    patched = apply_template_patch(
        app,
        "metadata:\n  finalizers: [f2]\n  annotations: {x: y}\n"
        "spec:\n  project: evil\n  destination:\n    namespace: n\n",
    )
    assert patched == {
        "metadata": {"name": "a", "finalizers": ["f1", "f2"], "annotations": {"x": "y"}},
        "spec": {"project": "p", "destination": {"server": "s", "namespace": "n"}},
    }
    with pytest.raises(GenerationError) as caught:
        apply_template_patch(app, "- a\n- b\n")
    assert caught.value.message.startswith('invalid templatePatch "[\\"a\\",\\"b\\"]": json: cannot unmarshal array')


def test_execution_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    from argocd_server.engine.appset import gotemplate

    monkeypatch.setattr(gotemplate, "MAX_ITERATIONS", 10)
    assert error_of("{{ range 11 }}{{ end }}").endswith("range: more than 10 iterations")
    assert render("{{ range 0 }}x{{ else }}none{{ end }}") == "none"
    assert error_of('{{ repeat 20000000 "x" }}').endswith(
        "error calling repeat: strings: Repeat output length overflow"
    )
    monkeypatch.setattr(gotemplate, "MAX_OUTPUT", 5)
    assert error_of("{{ .env }}{{ .env }}").endswith("template output exceeds 5 bytes")
