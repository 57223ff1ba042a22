"""Rendering ApplicationSet templates into Applications (upstream applicationset/utils Render and controllers/template).

Two template languages, chosen by the set's ``goTemplate``:

* fasttemplate (default): every ``{{ key }}`` (spaces allowed) in a string becomes the *string* parameter ``key``;
  unknown keys, non-string values and empty tags are left as written. Only strings that hold ``{{`` and ``}}`` on
  one line are looked at; there, a ``{{`` without a closing ``}}`` is an error.
* Go templates (``goTemplate: true``): every string is a template executed over the parameter map, with
  ``goTemplateOptions`` (``missingkey=error``); see :mod:`.gotemplate`.

Every string of the template is rendered, map keys included (labels and annotations can be templated), as upstream
walks the Application struct. Templates are first normalised the way Go decodes them (unknown members dropped), so
generator-level templates merge with the set's template as Go's mergo does: a member the generator template leaves
empty (missing, ``""``, ``0``, ``false``, empty list or map) comes from the set's template.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from pydantic import ValidationError

from argocd_server.errors import Internal, InvalidArgument
from argocd_server.schemas.application import Application, ApplicationSpec
from argocd_server.schemas.applicationset import ApplicationSetTemplateMeta
from argocd_server.schemas.common import to_wire

from .errors import GenerationError
from .goformat import go_quote, json_kind, load_yaml
from .gotemplate import MissingKey, TemplateError, TemplateExecError, parse_options, parse_template

__all__ = [
    "RESOURCES_FINALIZER",
    "Renderer",
    "apply_template_patch",
    "merge_template",
    "normalize_template",
]

RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
_TEMPLATED = re.compile(r"\{\{.*\}\}")


def normalize_template(raw: Any, *, where: str) -> dict[str, Any]:
    """An ApplicationSetTemplate as Go decodes it: ``metadata`` (name, namespace, labels, annotations, finalizers)
    and an Application ``spec``; InvalidArgument with Go's unmarshal wording when a member has the wrong type."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise InvalidArgument(
            f"json: cannot unmarshal {json_kind(raw)} into Go struct field {where} of type "
            "v1alpha1.ApplicationSetTemplate"
        )
    try:
        meta = to_wire(ApplicationSetTemplateMeta.from_wire(raw.get("metadata") or {}))
        spec = to_wire(ApplicationSpec.from_wire(raw.get("spec") or {}))
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_context=False, include_input=False)[0]
        loc = ".".join(str(part) for part in first.get("loc", ()))
        raise InvalidArgument(
            f"json: cannot unmarshal into Go struct field {where}.{loc}: {first.get('msg', 'invalid value')}"
        ) from None
    return {"metadata": meta, "spec": spec}


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value is False or value == 0 or value == [] or value == {}


def merge_template(generator_template: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """mergo.Merge(generator template, set template): fill what the generator template leaves empty."""

    def merge(dest: Any, src: Any) -> Any:
        if _is_empty(dest):
            return copy.deepcopy(src)
        if isinstance(dest, Mapping) and isinstance(src, Mapping):
            out = dict(dest)
            for key, value in src.items():
                out[key] = merge(dest[key], value) if key in dest else copy.deepcopy(value)
            return out
        return dest

    merged: dict[str, Any] = merge(dict(generator_template), dict(base))
    return merged


class Renderer:
    """Template rendering for one ApplicationSet (its language and options)."""

    def __init__(self, *, go_template: bool, options: Sequence[str] = ()) -> None:
        self.go_template = go_template
        self.options = list(options)
        self._missing: MissingKey | None = None

    def with_options(self, options: Sequence[str]) -> Renderer:
        return Renderer(go_template=self.go_template, options=options)

    def _missing_key(self) -> MissingKey:
        if self._missing is None:
            try:
                self._missing = parse_options(self.options)
            except TemplateError as exc:
                # Go panics on a bad option; upstream's API server recovers panics as Internal errors.
                raise GenerationError(exc.message, status=Internal(exc.message)) from None
        return self._missing

    def replace(self, text: str, params: Mapping[str, Any]) -> str:
        """Upstream Render.Replace for one string."""
        if self.go_template:
            missing = self._missing_key()
            if "{{" not in text:
                return text
            try:
                template = parse_template(text)
            except TemplateError as exc:
                raise GenerationError(f"failed to parse template {text}: {exc.message}") from None
            try:
                return template.execute(params, missing_key=missing)
            except TemplateExecError as exc:
                raise GenerationError(f"failed to execute go template {text}: {exc.message}") from None
        if not _TEMPLATED.search(text):
            return text
        return _fasttemplate(text, params)

    def render_value(self, value: Any, params: Mapping[str, Any]) -> Any:
        """Every string (and map key) of ``value`` rendered; members holding null are dropped, as Go skips them."""
        if isinstance(value, str):
            return self.replace(value, params)
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for key, item in value.items():
                if item is None:
                    continue
                rendered = self.render_value(item, params)
                out[self.replace(str(key), params)] = rendered
            return out
        if isinstance(value, list):
            return [self.render_value(item, params) for item in value]
        return copy.deepcopy(value)

    def render_application(
        self,
        template: Mapping[str, Any],
        params: Mapping[str, Any] | None,
        *,
        sync_policy: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """Upstream RenderTemplateParams: the Application document (``metadata`` + ``spec``) for one parameter set.

        With no parameters the template is returned unrendered (and without the default finalizer), as upstream.
        """
        meta = template.get("metadata") or {}
        app: dict[str, Any] = {
            "metadata": {k: meta[k] for k in ("name", "namespace", "labels", "annotations", "finalizers") if k in meta},
            "spec": template.get("spec") or {},
        }
        if not params:
            return copy.deepcopy(app)
        rendered: dict[str, Any] = self.render_value(app, params)
        rendered.setdefault("metadata", {})
        rendered.setdefault("spec", {})
        preserve = bool((sync_policy or {}).get("preserveResourcesOnDeletion"))
        if not preserve and not rendered["metadata"].get("finalizers"):
            rendered["metadata"]["finalizers"] = [RESOURCES_FINALIZER]
        return rendered


def _fasttemplate(text: str, params: Mapping[str, Any]) -> str:
    out: list[str] = []
    position = 0
    while True:
        start = text.find("{{", position)
        if start < 0:
            out.append(text[position:])
            return "".join(out)
        out.append(text[position:start])
        end = text.find("}}", start + 2)
        if end < 0:
            raise GenerationError(
                f'invalid template: Cannot find end tag="}}}}" in the template={go_quote(text)} '
                f"starting from {go_quote(text[start + 2 :])}"
            )
        tag = text[start + 2 : end]
        key = tag.strip()
        value = params.get(key) if key else None
        out.append(value if isinstance(value, str) else "{{" + tag + "}}")
        position = end + 2


def apply_template_patch(app: Mapping[str, Any], patch_text: str) -> dict[str, Any]:
    """Upstream applyTemplatePatch: a strategic merge patch (YAML or JSON) over the rendered Application.

    The patch may not change ``spec.project``. Lists are replaced, except ``metadata.finalizers`` which merge, as
    the Application's patch strategy says.
    """
    stripped = patch_text.strip()
    try:
        patch = json.loads(stripped) if stripped.startswith("{") else load_yaml(patch_text)
    except (ValueError, yaml.YAMLError) as exc:
        raise GenerationError(f"error while converting template to json {go_quote(patch_text)}: {exc}") from None
    text = json.dumps(patch, separators=(",", ":"))
    if patch is None:
        patch = {}
    if not isinstance(patch, dict):
        raise GenerationError(
            f"invalid templatePatch {go_quote(text)}: json: cannot unmarshal {json_kind(patch)} into Go value of "
            "type v1alpha1.Application"
        )
    try:
        Application.from_wire(patch)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_context=False, include_input=False)[0]
        loc = ".".join(str(part) for part in first.get("loc", ()))
        raise GenerationError(
            f"invalid templatePatch {go_quote(text)}: json: cannot unmarshal into Go struct field Application.{loc}"
        ) from None
    project = (app.get("spec") or {}).get("project", "")
    patched: dict[str, Any] = _strategic_merge(copy.deepcopy(dict(app)), patch, path=())
    patched.setdefault("spec", {})["project"] = project
    return patched


_MERGED_LISTS = {("metadata", "finalizers")}


def _strategic_merge(target: dict[str, Any], patch: Mapping[str, Any], *, path: tuple[str, ...]) -> dict[str, Any]:
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        here = (*path, key)
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            target[key] = _strategic_merge(target[key], value, path=here)
        elif here in _MERGED_LISTS and isinstance(value, list) and isinstance(target.get(key), list):
            target[key] = [*target[key], *(v for v in value if v not in target[key])]
        else:
            target[key] = copy.deepcopy(value)
    return target
