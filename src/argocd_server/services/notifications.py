"""NotificationService: the services, templates and triggers configured in ``argocd-notifications-cm``.

The ConfigMap arrives like the others, in the files of ``settings.configmaps``. Keys follow notifications-engine's
ParseConfig: ``service.<type>`` or ``service.<type>.<name>`` name a service (more dots are a configuration error),
``template.<name>`` and ``trigger.<name>`` a template and a trigger (names may contain dots). Only names are
returned: service settings can hold credentials and never leave this module.

The parsed configuration is cached per process, keyed by each file's path, modification time and size, so an
edited file is picked up on the next request without re-reading unchanged files every time.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from argocd_server.config import read_configmaps
from argocd_server.errors import ArgoError
from argocd_server.schemas.common import to_wire
from argocd_server.schemas.notification import (
    Service,
    ServiceList,
    Template,
    TemplateList,
    Trigger,
    TriggerList,
)

CONFIGMAP_NAME = "argocd-notifications-cm"

_FileKey = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class NotificationConfig:
    """Names defined by the notifications ConfigMap, sorted."""

    services: tuple[str, ...]
    templates: tuple[str, ...]
    triggers: tuple[str, ...]


def _yaml(text: str, *, what: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # Position only: the value itself may reference or hold secrets.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise ArgoError(f"failed to unmarshal {what}: invalid YAML{where}") from None


def parse_notifications_config(data: dict[str, str]) -> NotificationConfig:
    """The names a notifications ConfigMap defines; malformed entries are errors, as upstream's GetAPI reports."""
    services: set[str] = set()
    templates: set[str] = set()
    triggers: set[str] = set()
    for key, value in data.items():
        parts = key.split(".")
        if key.startswith("template."):
            name = ".".join(parts[1:])
            parsed = _yaml(value, what=f"template {name}")
            if parsed is not None and not isinstance(parsed, dict):
                raise ArgoError(f"failed to unmarshal template {name}: expected a mapping")
            templates.add(name)
        elif key.startswith("service."):
            if len(parts) not in (2, 3):
                raise ArgoError(f"invalid service key; expected 'service.<type>(.<name>)' but got '{key}'")
            _yaml(value, what=f"service configuration {parts[1]}")
            services.add(parts[-1])
        elif key.startswith("trigger."):
            name = ".".join(parts[1:])
            parsed = _yaml(value, what=f"trigger {name}")
            if parsed is not None and not isinstance(parsed, list):
                raise ArgoError(f"failed to unmarshal trigger {name}: expected a list of conditions")
            triggers.add(name)
    return NotificationConfig(
        services=tuple(sorted(services)), templates=tuple(sorted(templates)), triggers=tuple(sorted(triggers))
    )


def _file_key(paths: Sequence[Path]) -> _FileKey:
    key = []
    for path in paths:
        try:
            stat = os.stat(path)
        except OSError:
            key.append((str(path), -1, -1))
        else:
            key.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(key)


@lru_cache(maxsize=16)
def _load(key: _FileKey) -> NotificationConfig | None:
    maps = read_configmaps([Path(path) for path, _, _ in key])
    data = maps.get(CONFIGMAP_NAME)
    return None if data is None else parse_notifications_config(data)


def load_notifications_config(paths: Sequence[Path]) -> NotificationConfig | None:
    """The configuration from the ConfigMap files, or None when no ``argocd-notifications-cm`` is given."""
    try:
        return _load(_file_key(paths))
    except OSError as exc:
        raise ArgoError(f"error reading {CONFIGMAP_NAME}: {exc.strerror or exc}") from None
    except yaml.YAMLError:
        raise ArgoError(f"error reading {CONFIGMAP_NAME}: a ConfigMap file is not valid YAML") from None


class NotificationService:
    """ListServices, ListTemplates, ListTriggers; authentication only, no RBAC (as upstream)."""

    def __init__(self, *, config: NotificationConfig | None) -> None:
        self._config = config

    def list_services(self) -> dict[str, Any]:
        names = self._config.services if self._config else ()
        return to_wire(ServiceList(items=[Service(name=n) for n in names]))

    def list_templates(self) -> dict[str, Any]:
        names = self._config.templates if self._config else ()
        return to_wire(TemplateList(items=[Template(name=n) for n in names]))

    def list_triggers(self) -> dict[str, Any]:
        names = self._config.triggers if self._config else ()
        return to_wire(TriggerList(items=[Trigger(name=n) for n in names]))
