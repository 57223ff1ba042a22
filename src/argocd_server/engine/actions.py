"""Resource actions: Lua discovery and action scripts, built-in and configured, run through one path.

Reproduces upstream's resource-action contract (``util/lua`` + ``resource_customizations/*/actions``): a kind has
a discovery script returning ``{<action name> = {disabled?, iconClass?, displayName?, params?}}`` and one script per
action that receives the live object as ``obj`` (and the caller's parameters as ``actionParams``) and returns
either the modified object, or a list of ``{operation = "patch"|"create", resource = <object>}`` for actions that
touch or create other objects. Configuration comes from argocd-cm ``resource.customizations.actions.<group>_<kind>``
(or the ``actions`` key of the legacy ``resource.customizations`` map); ``mergeBuiltinActions: true`` keeps the
built-ins next to configured ones, otherwise configuration replaces them, as upstream does.

The built-in scripts below are written for this project (restart for workloads, pause/resume for Deployments,
suspend/resume/create-job for CronJobs). Boundary: pure functions over ``KubeObject`` dicts plus ``engine.lua``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

import yaml

from argocd_server.engine.lua import LuaScriptError, run_lua

__all__ = [
    "ActionCatalog",
    "ActionDefinition",
    "DiscoveredAction",
    "ImpactedResource",
    "KindActions",
    "create_merge_patch",
    "parse_action_customizations",
]

KubeObject = dict[str, Any]

# --- built-in scripts -----------------------------------------------------------------------------------------------

_RESTART = """
local spec = obj.spec
if spec.template == nil then spec.template = {} end
if spec.template.metadata == nil then spec.template.metadata = {} end
if spec.template.metadata.annotations == nil then spec.template.metadata.annotations = {} end
spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"] = os.date("!%Y-%m-%dT%H:%M:%SZ")
return obj
"""

_WORKLOAD_DISCOVERY = """
local found = {}
found["restart"] = {iconClass = "fa fa-fw fa-redo", displayName = "Restart"}
return found
"""

_DEPLOYMENT_DISCOVERY = """
local paused = obj.spec ~= nil and obj.spec.paused == true
local found = {}
found["restart"] = {iconClass = "fa fa-fw fa-redo", displayName = "Restart", disabled = paused}
found["pause"] = {iconClass = "fa fa-fw fa-pause-circle", displayName = "Pause Rollout", disabled = paused}
found["resume"] = {iconClass = "fa fa-fw fa-play-circle", displayName = "Resume Rollout", disabled = not paused}
return found
"""

_DEPLOYMENT_PAUSE = """
obj.spec.paused = true
return obj
"""

_DEPLOYMENT_RESUME = """
obj.spec.paused = nil
return obj
"""

_CRONJOB_DISCOVERY = """
local suspended = obj.spec ~= nil and obj.spec.suspend == true
local found = {}
found["create-job"] = {iconClass = "fa fa-fw fa-plus", displayName = "Create Job"}
found["suspend"] = {iconClass = "fa fa-fw fa-pause", displayName = "Suspend CronJob", disabled = suspended}
found["resume"] = {iconClass = "fa fa-fw fa-play", displayName = "Resume CronJob", disabled = not suspended}
return found
"""

_CRONJOB_SUSPEND = """
obj.spec.suspend = true
return obj
"""

_CRONJOB_RESUME = """
obj.spec.suspend = false
return obj
"""

# The Job copies the CronJob's job template and is owned by the CronJob, so it shows up in the app's tree.
_CRONJOB_CREATE_JOB = """
local template = obj.spec.jobTemplate or {}
local tmeta = template.metadata or {}
local job = {apiVersion = "batch/v1", kind = "Job", metadata = {}, spec = template.spec or {}}
job.metadata.name = string.sub(obj.metadata.name, 1, 42) .. "-" .. tostring(os.time())
job.metadata.namespace = obj.metadata.namespace
job.metadata.labels = tmeta.labels or {}
job.metadata.annotations = tmeta.annotations or {}
job.metadata.annotations["cronjob.kubernetes.io/instantiate"] = "manual"
job.metadata.ownerReferences = {{
  apiVersion = obj.apiVersion, kind = obj.kind, name = obj.metadata.name, uid = obj.metadata.uid,
  controller = true, blockOwnerDeletion = true,
}}
return {{operation = "create", resource = job}}
"""


@dataclass(frozen=True)
class ActionDefinition:
    name: str
    script: str


@dataclass(frozen=True)
class KindActions:
    """The actions of one group/kind: a discovery script and the action scripts."""

    discovery: str
    definitions: tuple[ActionDefinition, ...] = ()
    merge_builtin: bool = False
    use_open_libs: bool = False

    def definition(self, name: str) -> ActionDefinition | None:
        return next((d for d in self.definitions if d.name == name), None)


_BUILTIN: dict[str, KindActions] = {
    "apps/Deployment": KindActions(
        _DEPLOYMENT_DISCOVERY,
        (
            ActionDefinition("restart", _RESTART),
            ActionDefinition("pause", _DEPLOYMENT_PAUSE),
            ActionDefinition("resume", _DEPLOYMENT_RESUME),
        ),
    ),
    "apps/StatefulSet": KindActions(_WORKLOAD_DISCOVERY, (ActionDefinition("restart", _RESTART),)),
    "apps/DaemonSet": KindActions(_WORKLOAD_DISCOVERY, (ActionDefinition("restart", _RESTART),)),
    "batch/CronJob": KindActions(
        _CRONJOB_DISCOVERY,
        (
            ActionDefinition("create-job", _CRONJOB_CREATE_JOB),
            ActionDefinition("suspend", _CRONJOB_SUSPEND),
            ActionDefinition("resume", _CRONJOB_RESUME),
        ),
    ),
}


@dataclass(frozen=True)
class DiscoveredAction:
    """One entry of ListResourceActions."""

    name: str
    disabled: bool = False
    icon_class: str = ""
    display_name: str = ""
    params: tuple[Mapping[str, Any], ...] = ()

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.params:
            out["params"] = [dict(p) for p in self.params]
        if self.disabled:
            out["disabled"] = True
        if self.icon_class:
            out["iconClass"] = self.icon_class
        if self.display_name:
            out["displayName"] = self.display_name
        return out


@dataclass(frozen=True)
class ImpactedResource:
    """What an action asks for: patch ``object`` (the target, modified) or create it."""

    operation: str
    object: KubeObject = field(default_factory=dict)


def _parse_kind_actions(raw: Any) -> KindActions | None:
    if isinstance(raw, str):
        try:
            raw = yaml.safe_load(raw)
        except yaml.YAMLError:
            return None
    if not isinstance(raw, Mapping):
        return None
    definitions = tuple(
        ActionDefinition(str(d.get("name") or ""), str(d.get("action.lua") or ""))
        for d in raw.get("definitions") or []
        if isinstance(d, Mapping) and d.get("name")
    )
    return KindActions(
        discovery=str(raw.get("discovery.lua") or ""),
        definitions=definitions,
        merge_builtin=bool(raw.get("mergeBuiltinActions", False)),
        use_open_libs=bool(raw.get("action.lua.useOpenLibs", False)),
    )


def parse_action_customizations(data: Mapping[str, str]) -> dict[str, KindActions]:
    """Configured actions from argocd-cm data, keyed ``group/kind`` (core group empty, globs allowed)."""
    result: dict[str, KindActions] = {}
    legacy = data.get("resource.customizations")
    if legacy:
        try:
            parsed = yaml.safe_load(legacy) or {}
        except yaml.YAMLError:
            parsed = {}
        if isinstance(parsed, Mapping):
            for group_kind, body in parsed.items():
                if isinstance(body, Mapping) and body.get("actions"):
                    found = _parse_kind_actions(body["actions"])
                    if found is not None:
                        result[str(group_kind)] = found
    prefix = "resource.customizations.actions."
    for key, text in data.items():
        if key.startswith(prefix) and text:
            group, _, kind = key[len(prefix) :].rpartition("_")
            found = _parse_kind_actions(text)
            if found is not None:
                result[f"{group}/{kind}"] = found
    return result


def _lua_string(value: str) -> str:
    # Every byte outside a safe set is written as a decimal escape, so no value can end the literal early.
    safe = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.:/,")
    return '"' + "".join(chr(b) if b in safe else f"\\{b:03d}" for b in value.encode()) + '"'


def _params_prelude(params: Mapping[str, str]) -> str:
    entries = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in params.items())
    return f"actionParams = {{{entries}}}\n"


class ActionCatalog:
    """Built-in and configured actions by group/kind."""

    def __init__(self, customizations: Mapping[str, KindActions] | None = None) -> None:
        self._custom = dict(customizations or {})

    @classmethod
    def from_configmap(cls, data: Mapping[str, str]) -> ActionCatalog:
        return cls(parse_action_customizations(data))

    def _configured(self, group: str, kind: str) -> KindActions | None:
        key = f"{group}/{kind}"
        if key in self._custom:
            return self._custom[key]
        return next((v for k, v in self._custom.items() if fnmatchcase(key, k)), None)

    def scripts(self, group: str, kind: str) -> list[KindActions]:
        """The script sets that apply, configured first (configured actions win on name clashes)."""
        builtin = _BUILTIN.get(f"{group}/{kind}")
        configured = self._configured(group, kind)
        if configured is None:
            return [builtin] if builtin else []
        if configured.merge_builtin and builtin is not None:
            return [configured, builtin]
        return [configured]

    def discover(self, obj: Mapping[str, Any], *, group: str, kind: str) -> list[DiscoveredAction]:
        """The actions available for ``obj``, sorted by name; a failing discovery script is an error."""
        found: dict[str, DiscoveredAction] = {}
        for actions in self.scripts(group, kind):
            if not actions.discovery.strip():
                continue
            result = run_lua(actions.discovery, obj=obj, use_open_libs=actions.use_open_libs)
            if result is None or result == []:
                continue
            if not isinstance(result, Mapping):
                raise LuaScriptError("discovery script must return a table of actions")
            for name, spec in result.items():
                if name in found:
                    continue
                spec = spec if isinstance(spec, Mapping) else {}
                params = spec.get("params")
                found[str(name)] = DiscoveredAction(
                    name=str(name),
                    disabled=spec.get("disabled") is True,
                    icon_class=str(spec.get("iconClass") or ""),
                    display_name=str(spec.get("displayName") or ""),
                    params=tuple(p for p in params if isinstance(p, Mapping)) if isinstance(params, list) else (),
                )
        return [found[name] for name in sorted(found)]

    def run(
        self, obj: Mapping[str, Any], action: str, *, group: str, kind: str, params: Mapping[str, str] | None = None
    ) -> list[ImpactedResource] | None:
        """Run ``action`` on ``obj``; None when the kind has no such action."""
        for actions in self.scripts(group, kind):
            definition = actions.definition(action)
            if definition is None:
                continue
            script = _params_prelude(params or {}) + definition.script
            result = run_lua(script, obj=obj, use_open_libs=actions.use_open_libs)
            return _impacted(result)
        return None


def _impacted(result: Any) -> list[ImpactedResource]:
    if isinstance(result, Mapping) and "kind" in result:
        return [ImpactedResource("patch", dict(result))]
    if isinstance(result, list) and result:
        out = []
        for item in result:
            if not isinstance(item, Mapping) or not isinstance(item.get("resource"), Mapping):
                raise LuaScriptError("action script returned an entry without a resource")
            operation = str(item.get("operation") or "")
            if operation not in ("patch", "create"):
                raise LuaScriptError(f"unsupported operation: {operation}")
            out.append(ImpactedResource(operation, dict(item["resource"])))
        return out
    raise LuaScriptError("action script must return the object or a list of impacted resources")


def _empty(value: Any) -> bool:
    return value in ({}, [])


def create_merge_patch(original: Any, modified: Any) -> Any:
    """The JSON merge patch (RFC 7386) turning ``original`` into ``modified``; ``{}`` when equal.

    Lua has one table type, so an empty list comes back from a script as an empty map (and a null member is
    dropped): those round-trip artefacts are not changes.
    """
    if not isinstance(original, Mapping) or not isinstance(modified, Mapping):
        return modified
    patch: dict[str, Any] = {}
    for key, old in original.items():
        if key not in modified:
            if old is not None and not _empty(old):
                patch[key] = None
            continue
        new = _restore(old, modified[key])
        if old == new:
            continue
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            nested = create_merge_patch(old, new)
            if nested:
                patch[key] = nested
        else:
            patch[key] = new
    for key, new in modified.items():
        if key not in original:
            patch[key] = new
    return patch


def _restore_lists(old: Sequence[Any], new: Sequence[Any]) -> list[Any]:
    """``new`` with empty maps put back to empty lists where ``old`` had lists (a replaced list goes out whole)."""
    out = []
    for index, item in enumerate(new):
        before = old[index] if index < len(old) else None
        out.append(_restore(before, item))
    return out


def _restore(before: Any, after: Any) -> Any:
    if isinstance(before, list) and after == {}:
        return []
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        return {k: _restore(before.get(k), v) for k, v in after.items()}
    if isinstance(before, list) and isinstance(after, list):
        return _restore_lists(before, after)
    return after
