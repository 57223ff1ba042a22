"""The YAML loader shared by everything that reads YAML the way Argo CD's Go stack does.

Go reads YAML through JSON (``sigs.k8s.io/yaml``), which has no date type: timestamps stay strings. The loader is
PyYAML's safe loader (the C one when libyaml is present) without the timestamp resolver.
"""

from __future__ import annotations

import yaml

__all__ = ["GoYamlLoader"]

_BaseLoader: type[yaml.SafeLoader]
try:
    _BaseLoader = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - libyaml missing
    _BaseLoader = yaml.SafeLoader


class GoYamlLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """SafeLoader without the timestamp resolver."""


GoYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
