"""Normalisation and diff of desired (Git) versus live Kubernetes objects.

Reproduces gitops-engine's ``pkg/diff`` as Argo CD's controller drives it (``controller/state.go``,
``util/argo/diff``): server-set metadata and ``status`` are ignored; fields present only in live are
never drift, because the predicted live object is the live object patched with a three-way merge of
last-applied (``kubectl.kubernetes.io/last-applied-configuration``), desired and live, exactly like
client-side apply (two-way when there is no last-applied); ``ignoreDifferences`` rules (JSON
pointers, jq path expressions, managed fields managers) are removed from every side; Secret
``stringData`` is folded into ``data`` and Secret values are masked in everything returned; built-in
types are canonicalised the way a round trip through the typed Go structs would (resource
quantities, empty lists and maps, integral floats).

Simplifications, knowingly: strategic merge uses a built-in table of patch merge keys instead of
OpenAPI, scheme defaulting is emulated by letting live values stand in for omitted fields inside
atomic lists, and server-side diff needs the caller to perform the SSA dry-run and pass its result
as ``server_side_live``.
"""

from __future__ import annotations

import base64
import copy
import difflib
import fnmatch
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import jq  # type: ignore[import-not-found]
import yaml

from argocd_server.engine.resources import (
    ANNOTATION_COMPARE_OPTIONS,
    ANNOTATION_LAST_APPLIED,
    KubeObject,
    ResourceKey,
    annotations_of,
    deep_copy,
    group_kind_of,
    is_namespaced_kind,
    parse_csv,
    parse_sync_options,
)
from argocd_server.engine.tracking import (
    DEFAULT_LABEL_KEY,
    TrackingMethod,
    normalize_tracking_migration,
)

__all__ = [
    "COMPARE_OPTION_IGNORE_EXTRANEOUS",
    "COMPARE_OPTION_SERVER_SIDE_DIFF",
    "DiffOptions",
    "DiffResultList",
    "IgnoreDifferences",
    "IgnoreStatusMode",
    "KnownTypeField",
    "ResourceDiff",
    "canonical_quantity",
    "compare_options_of",
    "diff_resource",
    "diff_resources",
    "has_ignore_extraneous",
    "include_mutation_webhook",
    "mask_secrets",
    "normalize_object",
    "only_owned_by",
    "parse_ignore_differences_customizations",
    "server_side_diff_enabled",
    "unified_diff",
]

COMPARE_OPTION_IGNORE_EXTRANEOUS = "IgnoreExtraneous"
COMPARE_OPTION_SERVER_SIDE_DIFF = "ServerSideDiff"
COMPARE_OPTION_INCLUDE_MUTATION_WEBHOOK = "IncludeMutationWebhook"
_MASK_CHAR = "+"
_MASK_BASE = 8
_MASK_STEP = 4
_SERVER_SET_METADATA = (
    "creationTimestamp",
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "selfLink",
)
_BUILTIN_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "autoscaling",
        "policy",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "scheduling.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "node.k8s.io",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "certificates.k8s.io",
        "extensions",
    }
)
# Map-typed fields Go omits when empty; other empty objects (``emptyDir: {}``) are meaningful and
# kept.
_OMITEMPTY_MAPS = frozenset(
    {
        "labels",
        "annotations",
        "data",
        "binaryData",
        "stringData",
        "nodeSelector",
        "matchLabels",
        "limits",
        "requests",
        "hard",
    }
)
_QUANTITY_MAPS = frozenset(
    {
        "limits",
        "requests",
        "hard",
        "capacity",
        "allocatable",
        "used",
        "max",
        "min",
        "default",
        "defaultRequest",
        "maxLimitRequestRatio",
    }
)
_QUANTITY_SCALARS = frozenset({"sizeLimit"})
# Strategic-merge patch keys of the built-in types, keyed by the list's field name.
_MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "env": ("name",),
    "ports": ("containerPort", "port"),
    "volumes": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "imagePullSecrets": ("name",),
    "hostAliases": ("ip",),
    "conditions": ("type",),
    "ownerReferences": ("uid",),
    "topologySpreadConstraints": ("topologyKey",),
    "resourceClaims": ("name",),
}
_SET_LISTS = frozenset({"finalizers"})


class IgnoreStatusMode(StrEnum):
    """argocd-cm ``resource.compareoptions.ignoreResourceStatusField``."""

    ALL = "all"
    CRD = "crd"
    NONE = "none"


@dataclass(frozen=True)
class IgnoreDifferences:
    """One ``ignoreDifferences`` rule; group and kind are globs, name and namespace exact (empty =
    any)."""

    group: str = "*"
    kind: str = "*"
    name: str = ""
    namespace: str = ""
    json_pointers: tuple[str, ...] = ()
    jq_path_expressions: tuple[str, ...] = ()
    managed_fields_managers: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IgnoreDifferences:
        """Read the Application ``spec.ignoreDifferences[]`` / argocd-cm override shape (camelCase
        keys)."""
        return cls(
            group=str(data.get("group") or ""),
            kind=str(data.get("kind") or ""),
            name=str(data.get("name") or ""),
            namespace=str(data.get("namespace") or ""),
            json_pointers=tuple(data.get("jsonPointers") or ()),
            jq_path_expressions=tuple(data.get("jqPathExpressions") or ()),
            managed_fields_managers=tuple(data.get("managedFieldsManagers") or ()),
        )

    def matches(self, key: ResourceKey) -> bool:
        """Whether this rule applies to the object with ``key``."""
        if not fnmatch.fnmatchcase(key.group, self.group or ""):
            return False
        if not fnmatch.fnmatchcase(key.kind, self.kind or ""):
            return False
        if self.name and self.name != key.name:
            return False
        return not (self.namespace and self.namespace != key.namespace)


@dataclass(frozen=True)
class KnownTypeField:
    """argocd-cm ``knownTypeFields`` entry: a CRD subtree to normalise as a built-in type."""

    field: str
    type: str


_DEFAULT_KNOWN_TYPES: dict[str, tuple[KnownTypeField, ...]] = {
    "argoproj.io/Rollout": (KnownTypeField(field="spec.template.spec", type="core/v1/PodSpec"),),
}


@dataclass(frozen=True)
class DiffOptions:
    """Everything that changes how two objects are compared, as configured on the app and in
    argocd-cm."""

    ignore_differences: tuple[IgnoreDifferences, ...] = ()
    ignore_status: IgnoreStatusMode = IgnoreStatusMode.ALL
    ignore_aggregated_roles: bool = False
    tracking_method: TrackingMethod | None = TrackingMethod.ANNOTATION
    label_key: str = DEFAULT_LABEL_KEY
    known_type_fields: Mapping[str, tuple[KnownTypeField, ...]] = field(
        default_factory=lambda: dict(_DEFAULT_KNOWN_TYPES)
    )


@dataclass(frozen=True)
class ResourceDiff:
    """Result of comparing one resource; JSON strings are canonical (sorted keys) and Secret values
    are masked.

    ``normalized_live`` is ``"null"`` when the object is missing live (creation, ``modified`` True);
    ``predicted_live`` is ``"null"`` when the object is not desired any more (pruning, ``modified``
    False).
    """

    modified: bool
    normalized_live: str
    target: str
    predicted_live: str

    def live_object(self) -> KubeObject | None:
        """``normalized_live`` parsed back."""
        value: KubeObject | None = json.loads(self.normalized_live)
        return value

    def predicted_object(self) -> KubeObject | None:
        """``predicted_live`` parsed back."""
        value: KubeObject | None = json.loads(self.predicted_live)
        return value


@dataclass(frozen=True)
class DiffResultList:
    """Diffs in input order; ``modified`` when any of them is."""

    diffs: tuple[ResourceDiff, ...]

    @property
    def modified(self) -> bool:
        return any(d.modified for d in self.diffs)


def compare_options_of(obj: Mapping[str, Any] | None) -> dict[str, str]:
    """Entries of ``argocd.argoproj.io/compare-options`` (``IgnoreExtraneous`` maps to the empty
    string)."""
    return parse_sync_options(annotations_of(obj).get(ANNOTATION_COMPARE_OPTIONS))


def has_ignore_extraneous(obj: Mapping[str, Any] | None) -> bool:
    """True when an extra live object must not make the app OutOfSync."""
    return COMPARE_OPTION_IGNORE_EXTRANEOUS in parse_csv(annotations_of(obj).get(ANNOTATION_COMPARE_OPTIONS))


def server_side_diff_enabled(app: Mapping[str, Any] | None, *, default: bool = False) -> bool:
    """Controller default overridden by the Application's ``ServerSideDiff=true|false`` compare
    option."""
    value = compare_options_of(app).get(COMPARE_OPTION_SERVER_SIDE_DIFF)
    if value is None:
        return default
    return value.lower() == "true"


def include_mutation_webhook(app: Mapping[str, Any] | None) -> bool:
    """The Application's ``IncludeMutationWebhook=true`` compare option: a server-side diff keeps what admission
    webhooks would add instead of reverting it to the live values."""
    return (compare_options_of(app).get(COMPARE_OPTION_INCLUDE_MUTATION_WEBHOOK) or "").lower() == "true"


def parse_ignore_differences_customizations(
    data: Mapping[str, str],
) -> tuple[IgnoreDifferences, ...]:
    """Rules from argocd-cm keys ``resource.customizations.ignoreDifferences.<group>_<kind>`` (YAML
    values).

    ``<kind>`` alone means the core group and ``all`` means every kind.
    """
    prefix = "resource.customizations.ignoreDifferences."
    rules: list[IgnoreDifferences] = []
    for cm_key in sorted(data):
        if not cm_key.startswith(prefix):
            continue
        suffix = cm_key[len(prefix) :]
        if suffix == "all":
            group, kind = "*", "*"
        elif "_" in suffix:
            group, _, kind = suffix.rpartition("_")
        else:
            group, kind = "", suffix
        body = yaml.safe_load(data[cm_key]) or {}
        if not isinstance(body, dict):
            continue
        rule = IgnoreDifferences.from_dict(body)
        rules.append(
            IgnoreDifferences(
                group=group,
                kind=kind,
                json_pointers=rule.json_pointers,
                jq_path_expressions=rule.jq_path_expressions,
                managed_fields_managers=rule.managed_fields_managers,
            )
        )
    return tuple(rules)


# --- quantities -----------------------------------------------------------------------------------

_QUANTITY_RE = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$")
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {exp: suffix for suffix, exp in _DECIMAL.items()}


def canonical_quantity(value: str | int | float) -> str | None:
    """Kubernetes' canonical text of a resource quantity (``1000m`` -> ``1``, ``1024Mi`` ->
    ``1Gi``).

    Returns None when ``value`` is not a quantity, so the caller can keep the original.
    """
    if isinstance(value, bool):
        return None
    text = str(value).strip()
    match = _QUANTITY_RE.match(text)
    if match is None:
        return None
    number, exponent, suffix = match.group(1), match.group(2), match.group(3) or ""
    try:
        amount = Decimal(number)
    except InvalidOperation:
        return None
    if exponent:
        fmt = "exponent"
        amount = amount.scaleb(int(exponent[1:]))
    elif suffix in _BINARY:
        fmt = "binary"
        amount *= Decimal(1024) ** _BINARY[suffix]
    else:
        fmt = "decimal"
        amount = amount.scaleb(_DECIMAL[suffix])
    if amount == 0:
        return "0"
    # Kubernetes keeps nano precision at most and rounds up beyond it.
    amount = amount.quantize(Decimal("1e-9"), rounding=ROUND_CEILING).normalize()
    if fmt == "binary":
        integral = amount == amount.to_integral_value()
        if integral and abs(amount) >= 1024:
            whole = int(amount)
            power = 0
            while power < 6 and whole % 1024 == 0:
                whole //= 1024
                power += 1
            suffix_out = next(s for s, p in _BINARY.items() if p == power) if power else ""
            return f"{whole}{suffix_out}"
        fmt = "decimal"
    exp = 0
    mantissa = amount
    while exp < 18 and mantissa == mantissa.to_integral_value() and mantissa % 1000 == 0:
        mantissa /= 1000
        exp += 3
    while mantissa != mantissa.to_integral_value() and exp > -9:
        mantissa *= 1000
        exp -= 3
    digits = format(mantissa.normalize(), "f")
    if "." in digits:
        digits = digits.rstrip("0").rstrip(".")
    if fmt == "exponent":
        return digits if exp == 0 else f"{digits}e{exp}"
    return f"{digits}{_DECIMAL_SUFFIX[exp]}"


# --- normalisation --------------------------------------------------------------------------------


def _is_builtin(obj: Mapping[str, Any]) -> bool:
    group, kind = group_kind_of(obj)
    return group in _BUILTIN_GROUPS or is_namespaced_kind(group, kind) is not None


def _remarshal(value: Any, *, field_name: str = "") -> Any:
    """Canonicalise a built-in type's tree as a decode/encode through the Go structs would."""
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if item is None:
                continue
            if field_name in _QUANTITY_MAPS and isinstance(item, str | int | float):
                canonical = canonical_quantity(item)
                result[key] = canonical if canonical is not None else item
                continue
            if key in _QUANTITY_SCALARS and isinstance(item, str | int | float):
                canonical = canonical_quantity(item)
                result[key] = canonical if canonical is not None else item
                continue
            normalised = _remarshal(item, field_name=key)
            if normalised == [] or (normalised == {} and key in _OMITEMPTY_MAPS):
                continue
            result[key] = normalised
        return result
    if isinstance(value, list):
        return [_remarshal(item, field_name=field_name) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _get_path(obj: Any, dotted: str) -> Any:
    node = obj
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _set_path(obj: Any, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = obj
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node[parts[-1]] = value


def _normalize_known_types(obj: KubeObject, known: Mapping[str, tuple[KnownTypeField, ...]]) -> None:
    group, kind = group_kind_of(obj)
    for entry in known.get(f"{group}/{kind}", ()):
        subtree = _get_path(obj, entry.field)
        if subtree is None:
            continue
        if entry.type == "core/Quantity":
            canonical = canonical_quantity(subtree) if isinstance(subtree, str | int) else None
            if canonical is not None:
                _set_path(obj, entry.field, canonical)
        else:
            _set_path(obj, entry.field, _remarshal(subtree))


def _normalize_secret(obj: KubeObject) -> None:
    string_data = obj.pop("stringData", None)
    data = obj.get("data")
    if data is None:
        data = {}
    if isinstance(string_data, dict):
        for key, value in string_data.items():
            text = "" if value is None else str(value)
            data[key] = base64.b64encode(text.encode()).decode()
    if isinstance(data, dict):
        for key, value in list(data.items()):
            if value is None:
                data[key] = ""
        if data:
            obj["data"] = data
        else:
            obj.pop("data", None)


def _normalize_endpoints(obj: KubeObject) -> None:
    subsets = obj.get("subsets")
    if not isinstance(subsets, list):
        return
    for subset in subsets:
        for port in (subset or {}).get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
        for list_key in ("addresses", "notReadyAddresses", "ports"):
            items = (subset or {}).get(list_key)
            if isinstance(items, list):
                items.sort(key=lambda item: json.dumps(item, sort_keys=True))
    subsets.sort(key=lambda item: json.dumps(item, sort_keys=True))


def _normalize_base(obj: KubeObject, *, options: DiffOptions) -> KubeObject:
    """Steps upstream applies to every side before diffing (remarshal + fixed normalisers)."""
    result = deep_copy(obj)
    if _is_builtin(result):
        result = _remarshal(result)
    else:
        _normalize_known_types(result, options.known_type_fields)
    metadata = result.get("metadata")
    if isinstance(metadata, dict):
        for name in _SERVER_SET_METADATA:
            metadata.pop(name, None)
    group, kind = group_kind_of(result)
    if (group, kind) == ("", "Secret"):
        _normalize_secret(result)
    elif group == "rbac.authorization.k8s.io" and kind in ("Role", "ClusterRole"):
        if result.get("rules") == []:
            result.pop("rules", None)
        if options.ignore_aggregated_roles and result.get("aggregationRule"):
            result.pop("rules", None)
    elif (group, kind) == ("", "Endpoints"):
        _normalize_endpoints(result)
    return result


def _decode_pointer(pointer: str) -> list[str]:
    if pointer in ("", "/"):
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer.lstrip("/").split("/")]


def _remove_pointer(obj: Any, pointer: str) -> None:
    parts = _decode_pointer(pointer)
    if not parts:
        return
    node = obj
    for part in parts[:-1]:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return
    last = parts[-1]
    if isinstance(node, dict):
        node.pop(last, None)
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        del node[int(last)]


def _apply_jq(obj: KubeObject, expression: str) -> KubeObject:
    try:
        outputs = jq.compile(f"del({expression})").input_value(obj).all()
    except ValueError:
        # Upstream logs a failing expression and leaves the object as it was.
        return obj
    if len(outputs) != 1 or not isinstance(outputs[0], dict):
        return obj
    result: KubeObject = outputs[0]
    return result


def _status_ignored(obj: Mapping[str, Any], mode: IgnoreStatusMode) -> bool:
    if mode is IgnoreStatusMode.ALL:
        return True
    if mode is IgnoreStatusMode.CRD:
        return group_kind_of(obj) == ("apiextensions.k8s.io", "CustomResourceDefinition")
    return False


def _apply_ignore_rules(
    obj: KubeObject | None, *, rules: Sequence[IgnoreDifferences], options: DiffOptions
) -> KubeObject | None:
    if obj is None:
        return None
    result = obj
    if _status_ignored(result, options.ignore_status):
        result.pop("status", None)
    for rule in rules:
        for pointer in rule.json_pointers:
            _remove_pointer(result, pointer)
        for expression in rule.jq_path_expressions:
            result = _apply_jq(result, expression)
    return result


# --- managed fields -------------------------------------------------------------------------------


def _is_leaf(trie: Any) -> bool:
    return not isinstance(trie, dict) or not [k for k in trie if k != "."]


def _match_list_item(item: Any, selector: Mapping[str, Any]) -> bool:
    return isinstance(item, dict) and all(item.get(k) == v for k, v in selector.items())


def _remove_owned(trie: Mapping[str, Any], live: Any, target: Any) -> None:
    for token, sub in trie.items():
        if token.startswith("f:") and isinstance(live, dict) and isinstance(target, dict):
            name = token[2:]
            if name not in target:
                continue
            if _is_leaf(sub):
                live.pop(name, None)
                target.pop(name, None)
            else:
                _remove_owned(sub, live.get(name), target[name])
        elif token.startswith("k:") and isinstance(live, list) and isinstance(target, list):
            selector = json.loads(token[2:])
            target_items = [i for i in target if _match_list_item(i, selector)]
            if not target_items:
                continue
            live_items = [i for i in live if _match_list_item(i, selector)]
            if _is_leaf(sub):
                live[:] = [i for i in live if not _match_list_item(i, selector)]
                target[:] = [i for i in target if not _match_list_item(i, selector)]
            elif live_items:
                _remove_owned(sub, live_items[0], target_items[0])
        elif token.startswith("v:") and isinstance(live, list) and isinstance(target, list):
            value = json.loads(token[2:])
            if value in target:
                live[:] = [i for i in live if i != value]
                target[:] = [i for i in target if i != value]


def _remove_managed_fields(*, live: KubeObject, target: KubeObject, managers: Iterable[str]) -> None:
    wanted = set(managers)
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if not isinstance(entry, dict) or entry.get("manager") not in wanted:
            continue
        fields = entry.get("fieldsV1")
        if isinstance(fields, dict):
            _remove_owned(fields, live, target)


def _key_fields(token: str) -> dict[str, Any]:
    selector = json.loads(token[2:])
    return selector if isinstance(selector, dict) else {}


def _overlay_owned(trie: Mapping[str, Any], predicted: Any, result: Any) -> None:
    """Copy the fields ``trie`` names from ``predicted`` into ``result`` (removing those ``predicted`` lacks)."""
    for token, sub in trie.items():
        if token.startswith("f:") and isinstance(predicted, dict) and isinstance(result, dict):
            name = token[2:]
            if name not in predicted:
                result.pop(name, None)
            elif _is_leaf(sub) or not isinstance(predicted[name], dict | list):
                result[name] = copy.deepcopy(predicted[name])
            else:
                if not isinstance(result.get(name), type(predicted[name])):
                    result[name] = {} if isinstance(predicted[name], dict) else []
                _overlay_owned(sub, predicted[name], result[name])
        elif token.startswith("k:") and isinstance(predicted, list) and isinstance(result, list):
            selector = _key_fields(token)
            wanted = next((i for i in predicted if _match_list_item(i, selector)), None)
            index = next((n for n, i in enumerate(result) if _match_list_item(i, selector)), None)
            if wanted is None:
                if index is not None:
                    del result[index]
            elif index is None or _is_leaf(sub):
                # A new item (or one owned whole) comes over whole: its key fields are never dropped.
                if index is None:
                    result.append(copy.deepcopy(wanted))
                else:
                    result[index] = copy.deepcopy(wanted)
            else:
                _overlay_owned(sub, wanted, result[index])
        elif token.startswith("v:") and isinstance(predicted, list) and isinstance(result, list):
            value = json.loads(token[2:])
            if value in predicted and value not in result:
                result.append(value)
            elif value not in predicted and value in result:
                result.remove(value)


def only_owned_by(predicted: KubeObject, live: KubeObject, manager: str) -> KubeObject:
    """The server-side-apply prediction without what other managers (admission webhooks, defaulting) would change:
    ``live`` with the fields ``manager`` owns in ``predicted``, or owned in ``live`` before, taken from ``predicted``
    (removed where ``predicted`` lacks them, so a field dropped from Git still shows), everything else as in ``live``
    (upstream's ``removeWebhookMutation``)."""
    result = deep_copy(live)
    for source in (live, predicted):
        for entry in (source.get("metadata") or {}).get("managedFields") or []:
            if isinstance(entry, dict) and entry.get("manager") == manager and isinstance(entry.get("fieldsV1"), dict):
                _overlay_owned(entry["fieldsV1"], predicted, result)
    return result


# --- three-way merge ------------------------------------------------------------------------------


def _reduce_like(live: Any, shape: Any) -> Any:
    """``live`` restricted to the keys ``shape`` has (recursively); extra trailing list items are
    kept."""
    if isinstance(live, dict) and isinstance(shape, dict):
        return {k: _reduce_like(live[k], shape[k]) for k in shape if k in live}
    if isinstance(live, list) and isinstance(shape, list):
        reduced = [_reduce_like(item, shape[i]) if i < len(shape) else item for i, item in enumerate(live)]
        return reduced
    return live


def _merge_key_for(field_name: str, *lists: list[Any]) -> str | None:
    for candidate in _MERGE_KEYS.get(field_name, ()):
        ok = True
        for items in lists:
            keys = [item.get(candidate) if isinstance(item, dict) else None for item in items]
            if None in keys or len(set(map(json.dumps, keys))) != len(keys):
                ok = False
                break
        if ok:
            return candidate
    return None


def _merge_keyed_list(*, orig: list[Any], config: list[Any], live: list[Any], key: str, strategic: bool) -> list[Any]:
    def ident(item: Any) -> str:
        return json.dumps(item.get(key), sort_keys=True)

    live_by_key = {ident(item): item for item in live}
    orig_by_key = {ident(item): item for item in orig if isinstance(item, dict)}
    config_keys = [ident(item) for item in config]
    config_by_key = dict(zip(config_keys, config, strict=True))

    def merged(k: str) -> Any:
        return _merge(
            orig=orig_by_key.get(k),
            config=config_by_key[k],
            live=live_by_key[k],
            strategic=strategic,
        )

    # Items that exist on both sides take the desired order in the slots they occupy live, so
    # controller-added items (sidecars, injected env) keep their positions.
    present = iter([k for k in config_keys if k in live_by_key])
    result: list[tuple[str, Any]] = []
    for item in live:
        k = ident(item)
        if k in config_by_key:
            slot = next(present)
            result.append((slot, merged(slot)))
        elif k not in orig_by_key:
            result.append((k, item))
    for index, k in enumerate(config_keys):
        if k in live_by_key:
            continue
        position = 0
        for previous in reversed(config_keys[:index]):
            positions = [i for i, (rk, _) in enumerate(result) if rk == previous]
            if positions:
                position = positions[0] + 1
                break
        result.insert(position, (k, config_by_key[k]))
    return [item for _, item in result]


def _merge(*, orig: Any, config: Any, live: Any, strategic: bool, field_name: str = "") -> Any:
    """The object a three-way merge of ``config`` over ``live`` (``orig`` being the last applied) would produce.

    The result shares the subtrees it keeps unchanged with its inputs: every caller only serialises it, and copying
    them at each level of the recursion cost more than the merge itself."""
    if isinstance(config, dict):
        if not isinstance(live, dict):
            return config
        previous = orig if isinstance(orig, dict) else {}
        result = dict(live)
        for key, wanted in config.items():
            if wanted is None:
                result.pop(key, None)
            elif key in live:
                result[key] = _merge(
                    orig=previous.get(key),
                    config=wanted,
                    live=live[key],
                    strategic=strategic,
                    field_name=key,
                )
            else:
                result[key] = wanted
        for key in previous:
            if key not in config:
                result.pop(key, None)
        return result
    if isinstance(config, list):
        if not isinstance(live, list):
            return config
        previous_list = orig if isinstance(orig, list) else []
        if strategic:
            key = _merge_key_for(field_name, config, live, previous_list)
            if key is not None:
                return _merge_keyed_list(orig=previous_list, config=config, live=live, key=key, strategic=strategic)
            if field_name in _SET_LISTS:
                kept = [i for i in live if i in config or i not in previous_list]
                return kept + [i for i in config if i not in live]
        # Atomic list: unchanged unless the desired items differ from live restricted to the desired
        # fields, which stands in for the scheme defaults upstream applies to both sides.
        if _reduce_like(live, config) == config:
            return live
        return config
    return config


def _strip_for_merge(obj: KubeObject) -> KubeObject:
    result = deep_copy(obj)
    metadata = result.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("namespace", None)
        if not metadata.get("annotations"):
            metadata.pop("annotations", None)
    return result


def _last_applied(live: Mapping[str, Any]) -> KubeObject | None:
    raw = annotations_of(live).get(ANNOTATION_LAST_APPLIED)
    if not raw:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _matching_rules(
    *, target: KubeObject | None, live: KubeObject | None, options: DiffOptions
) -> list[IgnoreDifferences]:
    subject = target if target is not None else live
    if subject is None:
        return []
    key = ResourceKey.from_object(subject)
    return [rule for rule in options.ignore_differences if rule.matches(key)]


def normalize_object(obj: KubeObject, *, options: DiffOptions | None = None) -> KubeObject:
    """The fully normalised form of one object, as both sides of a diff see it (Secret values
    unmasked)."""
    opts = options or DiffOptions()
    rules = _matching_rules(target=obj, live=None, options=opts)
    normalised = _apply_ignore_rules(_normalize_base(obj, options=opts), rules=rules, options=opts)
    assert normalised is not None
    return normalised


def _prepare(
    *, target: KubeObject | None, live: KubeObject | None, options: DiffOptions
) -> tuple[KubeObject | None, KubeObject | None, list[IgnoreDifferences]]:
    rules = _matching_rules(target=target, live=live, options=options)
    target_copy = deep_copy(target) if target is not None else None
    live_copy = deep_copy(live) if live is not None else None
    if target_copy is not None and live_copy is not None:
        if options.tracking_method is not None:
            live_copy = normalize_tracking_migration(
                live_copy, target_copy, method=options.tracking_method, label_key=options.label_key
            )
        managers = [m for rule in rules for m in rule.managed_fields_managers]
        if managers:
            _remove_managed_fields(live=live_copy, target=target_copy, managers=managers)
    return target_copy, live_copy, rules


def diff_resource(
    *,
    target: KubeObject | None,
    live: KubeObject | None,
    options: DiffOptions | None = None,
    server_side_live: KubeObject | None = None,
) -> ResourceDiff:
    """Compare a desired object with its live counterpart (``gitops-engine/pkg/diff.Diff``).

    ``server_side_live`` is the object a server-side-apply dry run returned; when given, it is the
    prediction (server-side diff) instead of the client-side three-way merge.
    """
    opts = options or DiffOptions()
    target_copy, live_copy, rules = _prepare(target=target, live=live, options=opts)

    def full(obj: KubeObject | None) -> KubeObject | None:
        if obj is None:
            return None
        return _apply_ignore_rules(_normalize_base(obj, options=opts), rules=rules, options=opts)

    config = full(target_copy)
    normalised_live = full(live_copy)
    if config is None:
        return _result(modified=False, live=normalised_live, target=None, predicted=None)
    if normalised_live is None:
        return _result(modified=True, live=None, target=config, predicted=config)
    if server_side_live is not None:
        predicted = full(deep_copy(server_side_live))
        for obj in (predicted, normalised_live):
            annotations = (obj or {}).get("metadata", {}).get("annotations")
            if isinstance(annotations, dict):
                annotations.pop(ANNOTATION_LAST_APPLIED, None)
                if not annotations:
                    del obj["metadata"]["annotations"]  # type: ignore[index]
    else:
        orig_raw = _last_applied(live_copy or {})
        orig = full(orig_raw) if orig_raw is not None else config
        predicted = _merge(
            orig=_strip_for_merge(orig or {}),
            config=_strip_for_merge(config),
            live=normalised_live,
            strategic=_is_builtin(config),
        )
    modified = _canonical_json(predicted) != _canonical_json(normalised_live)
    return _result(modified=modified, live=normalised_live, target=config, predicted=predicted)


def _result(
    *,
    modified: bool,
    live: KubeObject | None,
    target: KubeObject | None,
    predicted: KubeObject | None,
) -> ResourceDiff:
    subject = target if target is not None else live
    if subject is not None and group_kind_of(subject) == ("", "Secret"):
        live, target, predicted = mask_secrets([live, target, predicted])
    return ResourceDiff(
        modified=modified,
        normalized_live=_canonical_json(live),
        target=_canonical_json(target),
        predicted_live=_canonical_json(predicted),
    )


def diff_resources(
    pairs: Iterable[tuple[KubeObject | None, KubeObject | None]],
    *,
    options: DiffOptions | None = None,
) -> DiffResultList:
    """``diff_resource`` over ``(target, live)`` pairs, keeping their order."""
    return DiffResultList(diffs=tuple(diff_resource(target=t, live=lv, options=options) for t, lv in pairs))


# --- secrets --------------------------------------------------------------------------------------


def mask_secrets(objects: Sequence[KubeObject | None]) -> list[KubeObject | None]:
    """Copies of the given Secrets (target, live, ...) with every ``data`` value replaced by ``+``
    runs.

    Per key, the first distinct value becomes 8 ``+``, the next 12, then 16, so equal values stay
    equal and different values stay different across all the copies, including their last-applied
    annotations.
    """
    masks: dict[str, dict[str, str]] = {}

    def mask_value(key: str, value: Any) -> str:
        per_key = masks.setdefault(key, {})
        text = _canonical_json(value)
        if text not in per_key:
            per_key[text] = _MASK_CHAR * (_MASK_BASE + _MASK_STEP * len(per_key))
        return per_key[text]

    def mask_data(obj: KubeObject) -> None:
        if group_kind_of(obj) != ("", "Secret"):
            return
        _normalize_secret(obj)
        data = obj.get("data")
        if isinstance(data, dict):
            obj["data"] = {key: mask_value(key, value) for key, value in data.items()}

    result: list[KubeObject | None] = []
    for obj in objects:
        if obj is None:
            result.append(None)
            continue
        masked = deep_copy(obj)
        mask_data(masked)
        annotations = (masked.get("metadata") or {}).get("annotations")
        if isinstance(annotations, dict) and ANNOTATION_LAST_APPLIED in annotations:
            applied = _last_applied(masked)
            if applied is None:
                annotations[ANNOTATION_LAST_APPLIED] = _MASK_CHAR * _MASK_BASE
            else:
                mask_data(applied)
                annotations[ANNOTATION_LAST_APPLIED] = _canonical_json(applied)
        result.append(masked)
    return result


# --- display --------------------------------------------------------------------------------------


def _as_yaml(text: str) -> list[str]:
    value = json.loads(text)
    if value is None:
        return []
    dumped: str = yaml.safe_dump(value, sort_keys=True, default_flow_style=False)
    return dumped.splitlines(keepends=True)


def unified_diff(diff: ResourceDiff, *, name: str = "", context: int = 3) -> str:
    """A unified diff of live versus predicted live in YAML, as ``argocd app diff`` prints it; empty
    if equal."""
    label = f"{name} " if name else ""
    lines = difflib.unified_diff(
        _as_yaml(diff.normalized_live),
        _as_yaml(diff.predicted_live),
        fromfile=f"{label}live".strip(),
        tofile=f"{label}desired".strip(),
        n=context,
    )
    return "".join(lines)
