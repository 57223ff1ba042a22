"""Writes Argo CD ConfigMap manifests for tests, the way a user hands their existing ones to the server."""

from __future__ import annotations

from pathlib import Path

import yaml


def write_configmaps(directory: Path, **maps: dict[str, str]) -> list[Path]:
    """One file per ConfigMap; keyword names use ``_`` for ``-`` (``argocd_cm`` -> ``argocd-cm``)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for key, data in maps.items():
        name = key.replace("_", "-")
        doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}
        path = directory / f"{name}.yaml"
        path.write_text(yaml.safe_dump(doc))
        paths.append(path)
    return paths
