"""ApplicationSet generators and application generation (upstream applicationset/generators and
controllers/template GenerateApplications).

A set's ``spec.generators`` each yield parameter sets; each set renders the set's template (merged with the
generator's own ``template``) into one Application. Generators built here:

* ``list``: ``elements`` (and ``elementsYaml``); with fasttemplate every value must be a string, ``values`` become
  ``values.<key>``.
* ``clusters``: the registered clusters whose labels match ``selector`` (``matchLabels``/``matchExpressions``),
  plus the in-cluster destination when the selector is empty and no cluster is registered for it. Parameters
  ``name``, ``nameNormalized``, ``server``, ``project``, ``metadata.labels.*``/``metadata.annotations.*`` (nested
  ``metadata`` with goTemplate), ``values.*``; ``flatList`` gives one parameter set ``{"clusters": [...]}``.
* ``git`` directories and files, read through a :class:`RepoFiles`: directories matching ``directories[].path``
  (``exclude: true`` removes), or JSON/YAML files matching ``files[].path`` flattened into parameters (nested with
  goTemplate), with the ``path`` parameters and ``pathParamPrefix``.
* ``matrix`` (two children; the second may use the first's parameters) and ``merge`` (``mergeKeys``); children may
  be matrix/merge one level down, as upstream allows.
* ``selector`` on any generator post-filters its parameter sets.

``scmProvider`` and ``pullRequest`` fail as upstream does on a server with SCM providers disabled;
``clusterDecisionResource`` and ``plugin`` fail as upstream does when the ConfigMap they name does not exist (this
server has no such ConfigMaps). Errors keep upstream's wrapping so messages read the same.

Boundary: pure. Clusters come from a callable, repository content from a :class:`RepoFiles`; nothing here touches the
database, the network or FastAPI.
"""

from __future__ import annotations

import copy
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import yaml
from pydantic import ValidationError

from argocd_server.errors import InvalidArgument, NotFound
from argocd_server.schemas.application import Application
from argocd_server.schemas.common import to_wire

from .errors import GenerationError
from .goformat import (
    StringList,
    StringMap,
    go_json_dumps,
    go_json_value,
    go_quote,
    go_sprint,
    json_kind,
    load_yaml,
)
from .gotemplate import is_missing_key_error
from .names import sanitize_name
from .render import Renderer, apply_template_patch, merge_template, normalize_template
from .selectors import SelectorError, label_selector

__all__ = [
    "IN_CLUSTER_NAME",
    "IN_CLUSTER_SERVER",
    "ClusterInfo",
    "GenerationResult",
    "LogEntry",
    "RepoFiles",
    "flatten_parameters",
    "generate_applications",
    "validate_generators",
]

IN_CLUSTER_NAME = "in-cluster"
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"

_TERMINAL = ("list", "clusters", "git", "scmProvider", "clusterDecisionResource", "pullRequest", "plugin")
# Struct field order of ApplicationSetGenerator: the order upstream visits the members of one generator entry.
_TOP = ("list", "clusters", "git", "scmProvider", "clusterDecisionResource", "pullRequest", "matrix", "merge", "plugin")
_WITH_VALUES = frozenset({"clusters", "git", "scmProvider", "clusterDecisionResource", "pullRequest", "plugin"})

_EMPTY_GENERATOR = "ApplicationSet is empty"


@dataclass(frozen=True)
class ClusterInfo:
    """A registered cluster as the cluster generator sees its secret (labels include the secret-type label)."""

    name: str
    server: str
    project: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


class RepoFiles(Protocol):
    """Read access to a repository at a revision (upstream's Repos service over the repo server).

    Failures are :class:`GenerationError` carrying the gRPC status the repo server would have answered with.
    """

    def directories(self, repo_url: str, revision: str, *, project: str) -> list[str]:
        """Every non-hidden directory of the revision, relative, in walk order."""
        ...

    def files(self, repo_url: str, revision: str, pattern: str, *, project: str) -> dict[str, bytes]:
        """The content of the files the pathspec ``pattern`` selects, by relative path."""
        ...


@dataclass(frozen=True)
class LogEntry:
    """One line of the generation log upstream appends to Generate's error message."""

    level: str
    message: str
    error: str = ""


@dataclass(frozen=True)
class GenerationResult:
    """Applications generated (wire documents), the first error met, and the log of the run."""

    applications: list[dict[str, Any]]
    error: GenerationError | None
    log: list[LogEntry]


@dataclass(frozen=True)
class _Transformed:
    params: list[dict[str, Any] | None]
    template: dict[str, Any]


def _go_path_base(path: str) -> str:
    if path == "":
        return "."
    stripped = path.rstrip("/")
    if stripped == "":
        return "/"
    return stripped.rsplit("/", 1)[-1]


def _go_path_dir(path: str) -> str:
    head = path[: path.rfind("/") + 1]
    cleaned = posixpath.normpath(head) if head else "."
    return "/" if cleaned == "//" else cleaned


def flatten_parameters(params: Mapping[str, Any] | None) -> dict[str, str]:
    """Upstream flattenParameters: nested maps and lists as dotted keys, every value as Go prints it."""
    out: dict[str, str] = {}

    def walk(value: Any, key: str) -> None:
        if isinstance(value, Mapping):
            for sub, item in value.items():
                walk(item, f"{key}.{sub}" if key else str(sub))
        elif isinstance(value, list) and not isinstance(value, StringList):
            for index, item in enumerate(value):
                walk(item, f"{key}.{index}" if key else str(index))
        else:
            out[key] = go_sprint(value)

    walk(params or {}, "")
    return out


def _flatten_file_object(obj: Mapping[str, Any]) -> dict[str, str]:
    """jeremywohl/flatten DotStyle over a decoded file (empty maps and lists disappear)."""
    return flatten_parameters(obj)


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """mergo.Merge(base, override, WithOverride) on parameter maps: nested maps merge, everything else replaces."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            merged = _deep_merge(out[key], value)
            out[key] = StringMap(merged) if isinstance(out[key], StringMap) else merged
        else:
            out[key] = copy.deepcopy(value)
    return out


class _Generation:
    """One generation run over an ApplicationSet."""

    def __init__(
        self,
        appset: Mapping[str, Any],
        *,
        clusters: Callable[[], Sequence[ClusterInfo]],
        repos: RepoFiles | None,
    ) -> None:
        spec = appset.get("spec") or {}
        self.appset = appset
        self.spec = spec
        self.go_template = bool(spec.get("goTemplate"))
        self.options = [str(o) for o in spec.get("goTemplateOptions") or []]
        self.renderer = Renderer(go_template=self.go_template, options=self.options)
        self._clusters_source = clusters
        self._clusters: Sequence[ClusterInfo] | None = None
        self.repos = repos
        project = str(((spec.get("template") or {}).get("spec") or {}).get("project") or "")
        self.project = "" if "{{" in project else project

    def clusters(self) -> Sequence[ClusterInfo]:
        if self._clusters is None:
            self._clusters = list(self._clusters_source())
        return self._clusters

    # --- Transform ---------------------------------------------------------------------------------------------

    def transform(
        self,
        generator: Mapping[str, Any],
        *,
        level: int,
        base_template: Mapping[str, Any],
        gen_params: Mapping[str, Any] | None,
    ) -> list[_Transformed]:
        """Upstream Transform: the parameter sets of every member of one generator entry, with merged templates."""
        selector = None
        if generator.get("selector") is not None:
            try:
                selector = label_selector(generator.get("selector"), kubernetes=False)
            except SelectorError as exc:
                raise GenerationError(f"error parsing label selector: {exc}") from None
        kinds = _TERMINAL if level >= 2 else _TOP
        results: list[_Transformed] = []
        for kind in kinds:
            member = generator.get(kind)
            if member is None:
                continue
            template = merge_template(
                normalize_template(
                    (member or {}).get("template") if isinstance(member, Mapping) else None, where=f"{kind}.template"
                ),
                base_template,
            )
            effective = generator
            if gen_params:
                effective = self.interpolate(generator, gen_params)
            params = self.generate_params(kind, effective, level=level)
            kept: list[dict[str, Any] | None] = []
            for param_set in params:
                if selector is not None and not selector.matches(flatten_parameters(param_set)):
                    continue
                kept.append(param_set)
            results.append(_Transformed(params=kept, template=template))
        return results

    def interpolate(self, generator: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
        """Upstream RenderGeneratorParams: a matrix child rendered with the parameters of the first child.

        ``values`` of the generators that have them are resolved with ``missingkey=error`` and kept as written when
        they reference a key the first child does not provide (they may use the child's own parameters).
        """
        options = [o for o in self.options if not o.startswith("missingkey=")]
        strict = self.renderer.with_options([*options, "missingkey=error"]) if self.go_template else self.renderer
        out: dict[str, Any] = {}
        try:
            for key, member in generator.items():
                if key in _WITH_VALUES and isinstance(member, Mapping):
                    rendered: dict[str, Any] = {}
                    for sub, value in member.items():
                        if sub == "values" and isinstance(value, Mapping):
                            rendered[sub] = self._pre_resolve(value, params, strict)
                        elif value is not None:
                            rendered[sub] = self.renderer.render_value(value, params)
                    out[key] = rendered
                elif member is not None:
                    out[key] = self.renderer.render_value(member, params)
        except GenerationError as exc:
            raise exc.wrap("failed to replace parameters in generator") from None
        return out

    @staticmethod
    def _pre_resolve(values: Mapping[str, Any], params: Mapping[str, Any], strict: Renderer) -> dict[str, Any]:
        resolved: dict[str, Any] = {}
        for key, value in values.items():
            try:
                resolved[key] = strict.replace(str(value), params)
            except GenerationError as exc:
                if is_missing_key_error(exc.message):
                    resolved[key] = value
                    continue
                raise exc.wrap(f"failed to pre-resolve Values key {go_quote(str(key))}") from None
        return resolved

    def generate_params(self, kind: str, generator: Mapping[str, Any], *, level: int) -> list[dict[str, Any] | None]:
        member = generator.get(kind)
        if not isinstance(member, Mapping):
            raise GenerationError(_EMPTY_GENERATOR)
        if kind == "list":
            return self.list_params(member)
        if kind == "clusters":
            return list(self.cluster_params(member))
        if kind == "git":
            return list(self.git_params(member))
        if kind == "matrix":
            return list(self.matrix_params(member, level=level))
        if kind == "merge":
            return list(self.merge_params(member, level=level))
        if kind in ("scmProvider", "pullRequest"):
            message = "scm providers are disabled"
            if kind == "pullRequest":
                message = "failed to select pull request service provider: " + message
            raise GenerationError(message)
        if kind == "clusterDecisionResource":
            name = str(member.get("configMapRef") or "")
            raise _configmap_missing(name, "error reading configMapRef")
        name = str((member.get("configMapRef") or {}).get("name") or "")
        raise _configmap_missing(name, "error getting plugin from generator: error fetching ConfigMap")

    # --- list --------------------------------------------------------------------------------------------------

    def list_params(self, member: Mapping[str, Any]) -> list[dict[str, Any] | None]:
        out: list[dict[str, Any] | None] = []
        for raw in member.get("elements") or []:
            if raw is not None and not isinstance(raw, Mapping):
                kind = "array" if isinstance(raw, list) else json_kind(raw)
                raise GenerationError(
                    f"error unmarshling list element json: cannot unmarshal {kind} into Go value of type "
                    "map[string]interface {}"
                )
            element = go_json_value(raw)
            if self.go_template or element is None:
                out.append(element)
                continue
            params: dict[str, Any] | None = None
            for key, value in element.items():
                params = params if params is not None else {}
                if key == "values":
                    if not isinstance(value, Mapping):
                        raise GenerationError("error parsing values map")
                    for sub, item in value.items():
                        if not isinstance(item, str):
                            raise GenerationError("error parsing value as string %!w(<nil>)")
                        params[f"values.{sub}"] = item
                else:
                    if not isinstance(value, str):
                        raise GenerationError("error parsing value as string %!w(<nil>)")
                    params[key] = value
            out.append(params)
        text = member.get("elementsYaml")
        if text:
            try:
                loaded = load_yaml(str(text))
            except yaml.YAMLError as exc:
                raise GenerationError(
                    f"error unmarshling decoded ElementsYaml error converting YAML to JSON: {exc}"
                ) from None
            if loaded is None:
                loaded = []
            if not isinstance(loaded, list) or any(e is not None and not isinstance(e, Mapping) for e in loaded):
                kind = json_kind(loaded) if not isinstance(loaded, list) else "array element"
                raise GenerationError(
                    "error unmarshling decoded ElementsYaml error unmarshaling JSON: while decoding JSON: json: "
                    f"cannot unmarshal {kind} into Go value of type []map[string]interface {{}}"
                )
            out.extend(loaded)
        return out

    # --- clusters ----------------------------------------------------------------------------------------------

    def cluster_params(self, member: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
        selector_raw = member.get("selector") or {}
        ignore_local = bool(selector_raw.get("matchExpressions")) or bool(selector_raw.get("matchLabels"))
        try:
            selector = label_selector(selector_raw, kubernetes=True)
        except SelectorError as exc:
            raise GenerationError(f"error getting cluster secrets: error converting label selector: {exc}") from None
        by_name: dict[str, ClusterInfo] = {}
        for cluster in self.clusters():
            if selector.matches(cluster.labels):
                by_name[cluster.name] = cluster
        values = member.get("values") or {}
        collected: list[dict[str, Any]] = []
        for name in sorted(by_name):
            params = self._cluster_parameters(by_name[name])
            try:
                self.append_values(values, params)
            except GenerationError as exc:
                raise exc.wrap("error appending templated values for cluster") from None
            collected.append(params)
        if not ignore_local and not any(c.server == IN_CLUSTER_SERVER for c in by_name.values()):
            params = {"name": IN_CLUSTER_NAME, "nameNormalized": IN_CLUSTER_NAME, "server": IN_CLUSTER_SERVER}
            params["project"] = ""
            try:
                self.append_values(values, params)
            except GenerationError as exc:
                raise exc.wrap("error appending templated values for local cluster") from None
            collected.append(params)
        if member.get("flatList"):
            return [{"clusters": collected}]
        return collected

    def _cluster_parameters(self, cluster: ClusterInfo) -> dict[str, Any]:
        params: dict[str, Any] = {
            "name": cluster.name,
            "nameNormalized": sanitize_name(cluster.name),
            "server": cluster.server,
            "project": cluster.project,
        }
        if self.go_template:
            meta: dict[str, Any] = {}
            if cluster.annotations:
                meta["annotations"] = StringMap(cluster.annotations)
            if cluster.labels:
                meta["labels"] = StringMap(cluster.labels)
            params["metadata"] = meta
        else:
            for key, value in cluster.annotations.items():
                params[f"metadata.annotations.{key}"] = value
            for key, value in cluster.labels.items():
                params[f"metadata.labels.{key}"] = value
        return params

    def append_values(self, values: Mapping[str, Any], params: dict[str, Any]) -> None:
        """Upstream appendTemplatedValues: ``values`` rendered over the parameters, added as ``values``."""
        rendered: dict[str, str] = {}
        for key, value in values.items():
            try:
                rendered[str(key)] = self.renderer.replace(str(value), params)
            except GenerationError as exc:
                raise exc.wrap("failed to replace templated string with rendered values").wrap(
                    "failed to replace templated string"
                ) from None
        if not rendered:
            return
        if self.go_template:
            params["values"] = StringMap(rendered)
        else:
            for key, value in rendered.items():
                params[f"values.{key}"] = value

    # --- git ---------------------------------------------------------------------------------------------------

    def git_params(self, member: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
        directories = member.get("directories") or []
        files = member.get("files") or []
        if not directories and not files:
            raise GenerationError(_EMPTY_GENERATOR)
        try:
            if directories:
                return self._git_directory_params(member, directories)
            return self._git_file_params(member, files)
        except GenerationError as exc:
            raise exc.wrap("error generating params from git") from None

    def _repos(self) -> RepoFiles:
        if self.repos is None:
            raise GenerationError(
                "error initialising new repo server client: repository server is not available",
            )
        return self.repos

    def _git_directory_params(self, member: Mapping[str, Any], items: Sequence[Any]) -> list[dict[str, Any]]:
        repo_url = str(member.get("repoURL") or "")
        revision = str(member.get("revision") or "")
        try:
            paths = self._repos().directories(repo_url, revision, project=self.project)
        except GenerationError as exc:
            raise exc.wrap("error retrieving Git Directories").wrap("error getting directories from repo") from None
        selected: list[str] = []
        for path in paths:
            include = exclude = False
            for item in items:
                item = item or {}
                if _go_path_match(str(item.get("path") or ""), path):
                    if item.get("exclude"):
                        exclude = True
                    else:
                        include = True
            if include and not exclude:
                selected.append(path)
        prefix = str(member.get("pathParamPrefix") or "")
        values = member.get("values") or {}
        out: list[dict[str, Any]] = []
        for path in selected:
            params: dict[str, Any] = {}
            if self.go_template:
                path_params = {
                    "path": path,
                    "basename": _go_path_base(path),
                    "basenameNormalized": sanitize_name(_go_path_base(path)),
                    "segments": StringList(path.split("/")),
                }
                params[prefix or "path"] = {"path": path_params} if prefix else path_params
            else:
                name = f"{prefix}.path" if prefix else "path"
                params[name] = path
                params[f"{name}.basename"] = _go_path_base(path)
                params[f"{name}.basenameNormalized"] = sanitize_name(_go_path_base(path))
                for index, segment in enumerate(path.split("/")):
                    if segment:
                        params[f"{name}[{index}]"] = segment
            try:
                self.append_values(values, params)
            except GenerationError as exc:
                raise exc.wrap("failed to append templated values").wrap("error generating params from apps") from None
            out.append(params)
        return out

    def _git_file_params(self, member: Mapping[str, Any], items: Sequence[Any]) -> list[dict[str, Any]]:
        repo_url = str(member.get("repoURL") or "")
        revision = str(member.get("revision") or "")
        includes = [str((i or {}).get("path") or "") for i in items if not (i or {}).get("exclude")]
        excludes = [str((i or {}).get("path") or "") for i in items if (i or {}).get("exclude")]
        contents: dict[str, bytes] = {}
        try:
            for pattern in includes:
                contents.update(self._repos().files(repo_url, revision, pattern, project=self.project))
            for pattern in excludes:
                for path in self._repos().files(repo_url, revision, pattern, project=self.project):
                    contents.pop(path, None)
        except GenerationError as exc:
            raise exc.wrap("error retrieving Git files") from None
        out: list[dict[str, Any]] = []
        prefix = str(member.get("pathParamPrefix") or "")
        values = member.get("values") or {}
        for path in sorted(contents):
            try:
                out.extend(self._params_from_file(path, contents[path], prefix=prefix, values=values))
            except GenerationError as exc:
                raise exc.wrap(f"unable to process file '{path}' from repository '{repo_url}'") from None
        return out

    def _params_from_file(
        self, path: str, content: bytes, *, prefix: str, values: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            loaded = load_yaml(content.decode("utf-8", errors="replace"))
        except yaml.YAMLError as exc:
            raise GenerationError(f"unable to parse file: error converting YAML to JSON: {exc}") from None
        if loaded is None:
            objects: list[Any] = [{}]
        elif isinstance(loaded, Mapping):
            objects = [loaded]
        elif isinstance(loaded, list) and all(isinstance(o, Mapping) or o is None for o in loaded):
            objects = [o or {} for o in loaded]
        else:
            kind = "array" if isinstance(loaded, list) else json_kind(loaded)
            raise GenerationError(
                "unable to parse file: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal "
                f"{kind} into Go value of type []map[string]interface {{}}"
            )
        directory = _go_path_dir(path)
        filename = _go_path_base(path)
        out: list[dict[str, Any]] = []
        for obj in objects:
            params: dict[str, Any]
            if self.go_template:
                params = dict(obj)
                path_params = {
                    "path": directory,
                    "basename": _go_path_base(directory),
                    "filename": filename,
                    "basenameNormalized": sanitize_name(_go_path_base(directory)),
                    "filenameNormalized": sanitize_name(filename),
                    "segments": StringList(directory.split("/")),
                }
                if prefix:
                    params[prefix] = {"path": path_params}
                else:
                    params["path"] = path_params
            else:
                params = dict(_flatten_file_object(obj))
                name = f"{prefix}.path" if prefix else "path"
                params[name] = directory
                params[f"{name}.basename"] = _go_path_base(directory)
                params[f"{name}.filename"] = filename
                params[f"{name}.basenameNormalized"] = sanitize_name(_go_path_base(directory))
                params[f"{name}.filenameNormalized"] = sanitize_name(filename)
                for index, segment in enumerate(directory.split("/")):
                    if segment:
                        params[f"{name}[{index}]"] = segment
            try:
                self.append_values(values, params)
            except GenerationError as exc:
                raise exc.wrap("failed to append templated values") from None
            out.append(params)
        return out

    # --- matrix and merge --------------------------------------------------------------------------------------

    def _child_params(
        self, child: Any, *, level: int, params: Mapping[str, Any] | None, what: str
    ) -> list[dict[str, Any] | None]:
        if not isinstance(child, Mapping):
            child = {}
        try:
            results = self.transform(child, level=level + 1, base_template={}, gen_params=params)
        except GenerationError as exc:
            raise exc.wrap("child generator returned an error on parameter generation") from None
        if not results:
            raise GenerationError("child generator generated no parameters")
        if len(results) > 1:
            raise GenerationError(f"found more than one generator in {what}.Generators")
        return results[0].params

    def matrix_params(self, member: Mapping[str, Any], *, level: int) -> list[dict[str, Any]]:
        children = member.get("generators") or []
        if len(children) < 2:
            raise GenerationError("found less than two generators, Matrix support only two")
        if len(children) > 2:
            raise GenerationError("found more than two generators, Matrix support only two")
        try:
            first = self._child_params(children[0], level=level, params=None, what="matrix")
        except GenerationError as exc:
            raise exc.wrap("error failed to get params for first generator in matrix generator") from None
        out: list[dict[str, Any]] = []
        for a in first:
            try:
                second = self._child_params(children[1], level=level, params=a or {}, what="matrix")
            except GenerationError as exc:
                raise exc.wrap("failed to get params for second generator in the matrix generator") from None
            for b in second:
                if self.go_template:
                    out.append(_deep_merge(b or {}, a or {}))
                else:
                    out.append(_combine_string_maps(a or {}, b or {}))
        return out

    def merge_params(self, member: Mapping[str, Any], *, level: int) -> list[dict[str, Any]]:
        children = member.get("generators") or []
        if len(children) < 2:
            raise GenerationError("found less than two generators, Merge requires two or more")
        sets: list[list[dict[str, Any] | None]] = []
        for index, child in enumerate(children):
            try:
                sets.append(self._child_params(child, level=level, params=None, what="matrix"))
            except GenerationError as exc:
                raise exc.wrap(f"error getting params from generator {index + 1} of {len(children)}").wrap(
                    "error getting param sets from generators"
                ) from None
        keys = [str(k) for k in member.get("mergeKeys") or []]
        try:
            base = _by_merge_key(keys, sets[0])
            for others in sets[1:]:
                overrides = _by_merge_key(keys, others)
                for key, base_set in base.items():
                    if key in overrides:
                        if self.go_template:
                            base[key] = _deep_merge(base_set, overrides[key])
                        else:
                            base[key] = {**base_set, **overrides[key]}
        except GenerationError as exc:
            raise exc.wrap("error getting param sets by merge key") from None
        return list(base.values())


def _configmap_missing(name: str, prefix: str) -> GenerationError:
    if not name:
        return GenerationError(f"{prefix}: resource name may not be empty")
    return GenerationError(f'{prefix}: configmaps "{name}" not found', kube=NotFound)


def _go_path_match(pattern: str, name: str) -> bool:
    """Go's path.Match: ``*`` and ``?`` never match ``/``; a malformed pattern matches nothing."""
    regex: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            regex.append("[^/]*")
        elif char == "?":
            regex.append("[^/]")
        elif char == "\\":
            index += 1
            if index >= len(pattern):
                return False
            regex.append(_re_escape(pattern[index]))
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end < 0:
                return False
            body = pattern[index + 1 : end]
            if body.startswith("^"):
                body = "^" + body[1:]
            if not body or body == "^":
                return False
            regex.append("[" + body.replace("\\", "\\\\") + "]")
            index = end
        else:
            regex.append(_re_escape(char))
        index += 1
    try:
        return re.fullmatch("".join(regex), name, flags=re.DOTALL) is not None
    except re.error:
        return False


def _re_escape(char: str) -> str:
    return re.escape(char)


def _combine_string_maps(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    left = {k: go_sprint(v) for k, v in a.items()}
    right = {k: go_sprint(v) for k, v in b.items()}
    out: dict[str, Any] = dict(left)
    for key, value in right.items():
        if key in out and out[key] != value:
            raise GenerationError(
                "failed to combine string maps with merging params for the matrix generator: found duplicate key "
                f"{key} with different value, a: {out[key]} ,b: {value}"
            )
        out[key] = value
    return out


def _by_merge_key(keys: Sequence[str], sets: Sequence[dict[str, Any] | None]) -> dict[str, dict[str, Any]]:
    if not keys:
        raise GenerationError("no merge keys were specified, Merge requires at least one")
    unique = list(dict.fromkeys(keys))
    out: dict[str, dict[str, Any]] = {}
    for param_set in sets:
        param_set = param_set or {}
        key = go_json_dumps({k: param_set.get(k) for k in unique})
        if key in out:
            raise GenerationError(
                "the parameters from a generator were not unique by the given mergeKeys, Merge requires all param "
                f"sets to be unique. Duplicate key was {key}"
            )
        out[key] = dict(param_set)
    return out


def generate_applications(
    appset: Mapping[str, Any],
    *,
    clusters: Callable[[], Sequence[ClusterInfo]],
    repos: RepoFiles | None,
) -> GenerationResult:
    """Upstream GenerateApplications: every generator in order, errors collected (the first one is returned).

    ``appset`` is the set's wire document (``spec.generators``, ``spec.template``, ``spec.goTemplate``...); its
    ``metadata.namespace`` becomes the namespace of every application.
    """
    run = _Generation(appset, clusters=clusters, repos=repos)
    spec = run.spec
    namespace = str((appset.get("metadata") or {}).get("namespace") or "")
    base_template = normalize_template(spec.get("template"), where="ApplicationSet.spec.template")
    sync_policy = spec.get("syncPolicy") if isinstance(spec.get("syncPolicy"), Mapping) else None
    patch = spec.get("templatePatch")
    apps: list[dict[str, Any]] = []
    log: list[LogEntry] = []
    first: GenerationError | None = None
    for generator in spec.get("generators") or []:
        try:
            results = run.transform(generator or {}, level=0, base_template=base_template, gen_params=None)
        except GenerationError as exc:
            log.append(LogEntry("error", "error generating application from params", exc.message))
            first = first or exc
            continue
        for result in results:
            for params in result.params:
                try:
                    app = run.renderer.render_application(result.template, params, sync_policy=sync_policy)
                except GenerationError as exc:
                    log.append(LogEntry("error", "error generating application from params", exc.message))
                    first = first or exc
                    continue
                if isinstance(patch, str) and patch:
                    try:
                        replaced = run.renderer.replace(patch, params or {})
                    except GenerationError as exc:
                        first = first or exc.wrap("error replacing values in templatePatch")
                        continue
                    try:
                        app = apply_template_patch(app, replaced)
                    except GenerationError as exc:
                        first = first or exc
                        continue
                app.setdefault("metadata", {})["namespace"] = namespace
                apps.append(app)
        log.append(LogEntry("info", f"generated {len(apps)} applications"))
    return GenerationResult(applications=[_wire_application(a) for a in apps], error=first, log=log)


def _wire_application(app: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return to_wire(Application.from_wire(app))
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_context=False, include_input=False)[0]
        loc = ".".join(str(part) for part in first.get("loc", ()))
        raise InvalidArgument(f"generated application is invalid at {loc}: {first.get('msg', '')}") from None


# --- request validation (what Go's JSON decoding would refuse) --------------------------------------------------------

_MEMBER_TYPES: dict[str, tuple[str, dict[str, str]]] = {
    "list": ("ListGenerator", {"elements": "array", "elementsYaml": "string", "template": "template"}),
    "clusters": (
        "ClusterGenerator",
        {"selector": "selector", "values": "strmap", "flatList": "bool", "template": "template"},
    ),
    "git": (
        "GitGenerator",
        {
            "repoURL": "string",
            "revision": "string",
            "directories": "items",
            "files": "items",
            "pathParamPrefix": "string",
            "values": "strmap",
            "requeueAfterSeconds": "int",
            "template": "template",
        },
    ),
    "matrix": ("MatrixGenerator", {"generators": "generators", "template": "template"}),
    "merge": ("MergeGenerator", {"generators": "generators", "mergeKeys": "strlist", "template": "template"}),
}
_GO_TYPES = {
    "array": "[]v1.JSON",
    "string": "string",
    "bool": "bool",
    "int": "int64",
    "strmap": "map[string]string",
    "strlist": "[]string",
    "items": "[]v1alpha1.GitDirectoryGeneratorItem",
    "generators": "[]v1alpha1.ApplicationSetNestedGenerator",
    "selector": "v1.LabelSelector",
    "object": "v1alpha1.ApplicationSetGenerator",
}


def _type_ok(kind: str, value: Any) -> bool:
    if value is None:
        return True
    if kind in ("array", "items", "generators", "strlist"):
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, Mapping)


def validate_generators(spec: Mapping[str, Any], *, root: str = "") -> None:
    """InvalidArgument (Go's ``json: cannot unmarshal ...``) for generator members of the wrong JSON type and
    templates that are not Application templates, so generation only ever sees well-typed input."""

    def fail(struct: str, path: str, value: Any, go_type: str) -> InvalidArgument:
        return InvalidArgument(
            f"json: cannot unmarshal {json_kind(value)} into Go struct field {struct}.{root}{path} of type {go_type}"
        )

    def check_generator(generator: Any, path: str, level: int) -> None:
        if generator is None:
            return
        if not isinstance(generator, Mapping):
            raise fail("ApplicationSetSpec", path, generator, _GO_TYPES["object"])
        for kind, (struct, members) in _MEMBER_TYPES.items():
            member = generator.get(kind)
            if member is None or (level >= 2 and kind in ("matrix", "merge")):
                continue
            here = f"{path}.{kind}"
            if not isinstance(member, Mapping):
                raise fail("ApplicationSetGenerator", here, member, f"v1alpha1.{struct}")
            for name, kind_name in members.items():
                value = member.get(name)
                if not _type_ok(kind_name, value):
                    raise fail(struct, f"{here}.{name}", value, _GO_TYPES.get(kind_name, kind_name))
                if kind_name == "strmap" and value:
                    for item in value.values():
                        if not isinstance(item, str):
                            raise fail(struct, f"{here}.{name}", item, "string")
                if kind_name == "strlist" and value:
                    for item in value:
                        if not isinstance(item, str):
                            raise fail(struct, f"{here}.{name}", item, "string")
                if kind_name == "items" and value:
                    for item in value:
                        if item is not None and (
                            not isinstance(item, Mapping)
                            or not _type_ok("string", item.get("path"))
                            or not _type_ok("bool", item.get("exclude"))
                        ):
                            raise fail("GitGenerator", f"{here}.{name}", item, _GO_TYPES["items"])
                if kind_name == "template" and value is not None:
                    normalize_template(value, where=f"{struct}.{root}{here}.template")
                if kind_name == "generators" and value:
                    for child in value:
                        check_generator(child, f"{here}.generators", level + 1)
        for kind in ("scmProvider", "clusterDecisionResource", "pullRequest", "plugin", "selector"):
            member = generator.get(kind)
            if member is not None and not isinstance(member, Mapping):
                raise fail("ApplicationSetGenerator", f"{path}.{kind}", member, f"v1alpha1.{kind}")

    options = spec.get("goTemplateOptions")
    if options is not None and (not isinstance(options, list) or not all(isinstance(o, str) for o in options)):
        raise fail("ApplicationSetSpec", "spec.goTemplateOptions", options, "[]string")
    if spec.get("goTemplate") is not None and not isinstance(spec.get("goTemplate"), bool):
        raise fail("ApplicationSetSpec", "spec.goTemplate", spec.get("goTemplate"), "bool")
    patch = spec.get("templatePatch")
    if patch is not None and not isinstance(patch, str):
        raise fail("ApplicationSetSpec", "spec.templatePatch", patch, "string")
    normalize_template(spec.get("template"), where=f"ApplicationSet.{root}spec.template")
    for generator in spec.get("generators") or []:
        check_generator(generator, "spec.generators", 0)
