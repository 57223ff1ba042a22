"""Kustomize for the sources layer: upstream's ``kustomize edit`` steps, applied to the YAML directly.

Upstream shells out to ``kustomize edit set nameprefix|namesuffix|image|replicas``, ``add
label|annotation|component`` and ``set namespace`` and appends ``patches`` by rewriting the file; we
produce the same kustomization by editing the parsed document, in a private copy of the tree (never
the shared extracted commit), then run ``kubectl kustomize`` or a standalone ``kustomize build``.
Pure transformation functions plus the argument builder; no process is started here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from argocd_server.errors import SourceError

from . import safety
from .manifests import load_yaml

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

_DIGEST = re.compile(r"@(sha256:[0-9a-fA-F]+)$")


def find_kustomization(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def has_edits(kustomize: Mapping[str, Any]) -> bool:
    keys = (
        "namePrefix",
        "nameSuffix",
        "images",
        "replicas",
        "commonLabels",
        "commonAnnotations",
        "namespace",
        "patches",
        "components",
    )
    return any(kustomize.get(k) for k in keys)


def parse_image(spec: str) -> dict[str, str]:
    """``kustomize edit set image`` syntax: ``name[=newName][:tag|@digest]`` -> an ``images:`` entry."""
    name, sep, new = spec.partition("=")
    target = new if sep else name
    entry: dict[str, str] = {}
    digest = _DIGEST.search(target)
    if digest:
        image = target[: digest.start()]
        entry_digest: str | None = digest.group(1)
        tag = None
    else:
        entry_digest = None
        # A ":" after the last "/" is a tag; one before it belongs to a registry port.
        slash = target.rfind("/")
        colon = target.rfind(":")
        if colon > slash:
            image, tag = target[:colon], target[colon + 1 :]
        else:
            image, tag = target, None
    if not sep:
        name = image
    entry["name"] = name
    if sep and image != name:
        entry["newName"] = image
    if tag:
        entry["newTag"] = tag
    if entry_digest:
        entry["digest"] = entry_digest
    return entry


def apply_edits(
    kustomization: dict[str, Any],
    kustomize: Mapping[str, Any],
    *,
    app_dir: Path,
    repo_root: Path,
    envsubst: Callable[[str], str],
) -> dict[str, Any]:
    """Return the kustomization with the source's ``kustomize`` options applied, in upstream's order."""
    k = dict(kustomization)
    if kustomize.get("namePrefix"):
        k["namePrefix"] = kustomize["namePrefix"]
    if kustomize.get("nameSuffix"):
        k["nameSuffix"] = kustomize["nameSuffix"]
    for image in kustomize.get("images") or []:
        entry = parse_image(envsubst(str(image)))
        images = [dict(i) for i in k.get("images") or [] if isinstance(i, dict)]
        for existing in images:
            if existing.get("name") == entry["name"]:
                # `kustomize edit set image` replaces what it is given and keeps the rest of the
                # entry.
                if "digest" in entry:
                    existing.pop("newTag", None)
                if "newTag" in entry:
                    existing.pop("digest", None)
                existing.update(entry)
                break
        else:
            images.append(entry)
        k["images"] = images
    for replica in kustomize.get("replicas") or []:
        name = str(replica.get("name", ""))
        try:
            count = int(replica.get("count", 0))
        except (TypeError, ValueError):
            raise SourceError(f"invalid replicas count for '{name}': {replica.get('count')!r}") from None
        replicas = [dict(r) for r in k.get("replicas") or [] if isinstance(r, dict)]
        for existing in replicas:
            if existing.get("name") == name:
                existing["count"] = count
                break
        else:
            replicas.append({"name": name, "count": count})
        k["replicas"] = replicas
    labels = kustomize.get("commonLabels") or {}
    if labels:
        labels = {str(key): envsubst(str(v)) for key, v in labels.items()}
        _add_labels(k, labels, kustomize)
    annotations = kustomize.get("commonAnnotations") or {}
    if annotations:
        if kustomize.get("commonAnnotationsEnvsubst"):
            annotations = {str(key): envsubst(str(v)) for key, v in annotations.items()}
        _merge_map(
            k,
            "commonAnnotations",
            {str(key): str(v) for key, v in annotations.items()},
            force=bool(kustomize.get("forceCommonAnnotations")),
            what="annotation",
        )
    if kustomize.get("namespace"):
        k["namespace"] = kustomize["namespace"]
    patches = kustomize.get("patches") or []
    if patches:
        k["patches"] = [*(k.get("patches") or []), *[_clean_patch(p) for p in patches]]
    components = kustomize.get("components") or []
    if components:
        existing_components = list(k.get("components") or [])
        for component in components:
            component = str(component)
            if not safety.is_remote_url(component):
                target = safety.resolve_repo_dir(repo_root, base_dir=app_dir, name=component)
                if not target.exists():
                    if kustomize.get("ignoreMissingComponents"):
                        continue
                    raise SourceError(f"component '{component}' does not exist")
            if component not in existing_components:
                existing_components.append(component)
        if existing_components:
            k["components"] = existing_components
    return k


def _clean_patch(patch: Any) -> Any:
    if not isinstance(patch, Mapping):
        return patch
    return {key: value for key, value in patch.items() if value not in (None, "", {})}


def _merge_map(k: dict[str, Any], field: str, values: Mapping[str, str], *, force: bool, what: str) -> None:
    current = dict(k.get(field) or {})
    for key, value in values.items():
        if key in current and not force:
            raise SourceError(
                f"kustomize edit: {what} {key} already in kustomization file. Use forceCommon"
                f"{'Labels' if what == 'label' else 'Annotations'} to override"
            )
        current[key] = value
    k[field] = current


def _add_labels(k: dict[str, Any], labels: Mapping[str, str], kustomize: Mapping[str, Any]) -> None:
    force = bool(kustomize.get("forceCommonLabels"))
    without_selector = bool(kustomize.get("labelWithoutSelector"))
    include_templates = bool(kustomize.get("labelIncludeTemplates"))
    if not without_selector:
        _merge_map(k, "commonLabels", labels, force=force, what="label")
        return
    # `add label --without-selector` writes a `labels:` entry that leaves selectors alone.
    entries = [dict(e) for e in k.get("labels") or [] if isinstance(e, dict)]
    target = next(
        (e for e in entries if not e.get("includeSelectors") and bool(e.get("includeTemplates")) == include_templates),
        None,
    )
    if target is None:
        target = {"pairs": {}}
        if include_templates:
            target["includeTemplates"] = True
        entries.append(target)
    pairs = dict(target.get("pairs") or {})
    for key, value in labels.items():
        if key in pairs and not force:
            raise SourceError(
                f"kustomize edit: label {key} already in kustomization file. Use forceCommonLabels to override"
            )
        pairs[key] = value
    target["pairs"] = pairs
    k["labels"] = entries


def load_kustomization(path: Path) -> dict[str, Any]:
    try:
        doc = load_yaml(path.read_text())
    except yaml.YAMLError as exc:
        raise SourceError(f"{path.name}: invalid YAML: {exc.__class__.__name__}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise SourceError(f"{path.name}: expected a mapping")
    return doc


def dump_kustomization(doc: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(doc), sort_keys=False, default_flow_style=False)


def build_args(
    *,
    kubectl_binary: str,
    kustomize_binary: str | None,
    app_dir: Path,
    build_options: tuple[str, ...],
    kube_version: str,
    api_versions: tuple[str, ...],
) -> list[str]:
    if kustomize_binary:
        args = [kustomize_binary, "build", str(app_dir), *build_options]
    else:
        args = [kubectl_binary, "kustomize", str(app_dir), *build_options]
    if "--enable-helm" in build_options:
        if kube_version:
            args += ["--helm-kube-version", kube_version]
        for gv in api_versions:
            args += ["--helm-api-versions", gv]
    return args


def collect_images(objects: list[dict[str, Any]]) -> list[str]:
    """Container images named anywhere in pod templates of the rendered objects (``appdetails`` for
    Kustomize).
    """
    found: dict[str, None] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("containers", "initContainers", "ephemeralContainers") and isinstance(value, list):
                    for container in value:
                        if isinstance(container, dict) and isinstance(container.get("image"), str):
                            found.setdefault(container["image"])
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(objects)
    return list(found)
