"""The wire-model base (`ArgoModel`) and the Kubernetes/Argo types shared by several API tags.

Upstream answers REST calls with Go `encoding/json` over its structs (not protobuf JSON), so every
model here must serialise the way that encoder does. The rules are declared once per field, by its
default:

* **omitempty** (the common case): the default is the Go zero value (`""`, `0`, `False`, `None`,
  `Field(default_factory=list)` / `dict`). The field is dropped whenever it equals that zero value.
* **pointer** (`*T` with omitempty): type `T | None`, default `None`. Dropped only when `None`, so
  `enabled: false` or `revisionHistoryLimit: 0` survive.
* **always** (no omitempty, or a non-pointer struct, which Go never drops): default given through
  `always(...)`. Written even when zero: `"project": ""`, `"status": {}`,
  `"creationTimestamp": null`.

`to_wire` / `to_wire_json` are the only serialisation entry points. They run pydantic-core's
`exclude_defaults`, which compares each field with its default in Rust; `always()` hides the
default behind a factory that takes the validated data, and pydantic-core never evaluates such
factories when excluding defaults, so those fields are always written. This keeps a
10,000-application list free of per-model Python callbacks; tests pin the behaviour in case
pydantic-core changes it.

On input, Go ignores unknown keys and treats JSON `null` as "leave the zero value", so the base
drops `null` members before validation; both camelCase aliases and snake_case field names are
accepted, and int64 fields take numeric strings (pydantic's lax mode) as generated clients sometimes
send them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticUndefined

__all__ = [
    "ArgoModel",
    "Base64Bytes",
    "ConnectionState",
    "Event",
    "EventList",
    "EventSeries",
    "EventSource",
    "GroupKind",
    "ListMeta",
    "ManagedFieldsEntry",
    "MicroTime",
    "ObjectMeta",
    "ObjectReference",
    "OwnerReference",
    "Time",
    "always",
    "from_wire",
    "from_wire_json",
    "to_wire",
    "to_wire_json",
]

M = TypeVar("M", bound=BaseModel)

# --- scalar wire types -------------------------------------------------------------------------


def _format_time(value: datetime) -> str:
    # metav1.Time marshals in UTC with second precision; naive values are taken as UTC already.
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def _format_micro_time(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _parse_base64(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        # Go's StdEncoding decoder skips CR/LF, as PEM-ish inputs often wrap lines.
        try:
            return base64.b64decode(value.replace("\r", "").replace("\n", ""), validate=True)
        except binascii.Error as exc:
            raise ValueError(f"illegal base64 data: {exc}") from None
    raise ValueError("expected a base64 string")


def _format_base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


Time = Annotated[datetime, PlainSerializer(_format_time, return_type=str, when_used="json")]
"""`metav1.Time`: RFC 3339, second precision, UTC, `Z` suffix."""

MicroTime = Annotated[datetime, PlainSerializer(_format_micro_time, return_type=str, when_used="json")]
"""`metav1.MicroTime`: like `Time` with six fractional digits."""

Base64Bytes = Annotated[
    bytes,
    PlainValidator(_parse_base64),
    PlainSerializer(_format_base64, return_type=str, when_used="json"),
]
"""Go `[]byte`: a standard base64 string on the wire, raw bytes in Python."""


# --- the base ------------------------------------------------------------------------------------

_ALWAYS_ATTR = "__argo_always__"
_ZERO_DEFAULTS: tuple[object, ...] = (None, "", 0, False, b"")


def always(default: Any = None, *, alias: str | None = None) -> Any:
    """Declare a field Go always writes: a tag without omitempty, or a non-pointer struct.

    `default` is the zero value (`""`, `0`, `False`, `None` for a nil pointer or time, which
    encodes as `null`) or a model class for a nested struct (a fresh empty instance each time).
    """
    factory: Callable[[dict[str, Any]], Any]
    if isinstance(default, type) and issubclass(default, BaseModel):
        model_cls = default

        def factory(_data: dict[str, Any]) -> Any:
            return model_cls()

    elif any(default is zero or default == zero for zero in _ZERO_DEFAULTS):
        zero = default

        def factory(_data: dict[str, Any]) -> Any:
            return zero

    else:
        raise TypeError(f"always() takes a Go zero value or a model class, not {default!r}")
    setattr(factory, _ALWAYS_ATTR, True)
    if alias is None:
        return Field(default_factory=factory)
    return Field(default_factory=factory, alias=alias)


def _is_always(factory: object) -> bool:
    return bool(getattr(factory, _ALWAYS_ATTR, False))


class ArgoModel(BaseModel):
    """Base of all wire models; see the module docstring for how Go's JSON rules are declared."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="ignore",
        protected_namespaces=(),
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        # exclude_defaults drops a field equal to its default, so a non-zero default would vanish
        # from the wire exactly when it is set: refuse such declarations up front.
        for name, info in cls.model_fields.items():
            factory = info.default_factory
            if factory is not None:
                if factory in (list, dict) or _is_always(factory):
                    continue
                raise TypeError(f"{cls.__name__}.{name}: use always() or list/dict factories")
            default = info.default
            if default is PydanticUndefined or any(
                default is zero or (type(default) is type(zero) and default == zero) for zero in _ZERO_DEFAULTS
            ):
                continue
            raise TypeError(f"{cls.__name__}.{name}: default {default!r} is not a Go zero value")

    @model_validator(mode="before")
    @classmethod
    def _null_means_zero(cls, data: Any) -> Any:
        # encoding/json leaves a field at its zero value on `null`; pydantic would reject it.
        if type(data) is dict and None in data.values():
            return {key: value for key, value in data.items() if value is not None}
        return data

    @classmethod
    def from_wire(cls: type[M], data: Any) -> M:
        """Parse a decoded JSON document (camelCase keys; snake_case field names also accepted)."""
        return cls.model_validate(data)

    @classmethod
    def from_wire_json(cls: type[M], raw: str | bytes) -> M:
        """Parse a JSON text."""
        return cls.model_validate_json(raw)


def to_wire(model: BaseModel) -> dict[str, Any]:
    """The JSON-compatible dict upstream's Go encoder would produce for `model`."""
    return model.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def to_wire_json(model: BaseModel) -> bytes:
    """The compact JSON text upstream's Go encoder would produce for `model`."""
    return model.__pydantic_serializer__.to_json(model, by_alias=True, exclude_defaults=True)


def from_wire(cls: type[M], data: Any) -> M:
    """Parse a decoded JSON document into `cls`."""
    return cls.model_validate(data)


def from_wire_json(cls: type[M], raw: str | bytes) -> M:
    """Parse a JSON text into `cls`."""
    return cls.model_validate_json(raw)


# --- Kubernetes metadata -------------------------------------------------------------------------


class OwnerReference(ArgoModel):
    """metav1.OwnerReference; identity members are always written, the flags are pointers."""

    api_version: str = always("")
    kind: str = always("")
    name: str = always("")
    uid: str = always("")
    controller: bool | None = None
    block_owner_deletion: bool | None = None


class ManagedFieldsEntry(ArgoModel):
    """metav1.ManagedFieldsEntry; `fieldsV1` is kept as the raw JSON object it is on the wire."""

    manager: str = ""
    operation: str = ""
    api_version: str = ""
    time: Time | None = None
    fields_type: str = ""
    fields_v1: dict[str, Any] | None = Field(default=None, alias="fieldsV1")
    subresource: str = ""


class ObjectMeta(ArgoModel):
    """metav1.ObjectMeta. `creationTimestamp` is a non-pointer struct, so a zero one is `null`."""

    name: str = ""
    generate_name: str = ""
    namespace: str = ""
    self_link: str = ""
    uid: str = ""
    resource_version: str = ""
    generation: int = 0
    creation_timestamp: Time | None = always(None)
    deletion_timestamp: Time | None = None
    deletion_grace_period_seconds: int | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    owner_references: list[OwnerReference] = Field(default_factory=list)
    finalizers: list[str] = Field(default_factory=list)
    managed_fields: list[ManagedFieldsEntry] = Field(default_factory=list)


class ListMeta(ArgoModel):
    """metav1.ListMeta; list responses always carry it, often as `{}`."""

    self_link: str = ""
    resource_version: str = ""
    continue_: str = Field(default="", alias="continue")
    remaining_item_count: int | None = None


class GroupKind(ArgoModel):
    """metav1.GroupKind: both members always written (`group: ""` is the core group)."""

    group: str = always("")
    kind: str = always("")


class ConnectionState(ArgoModel):
    """Connection status of a repo or cluster; `attemptedAt` is a pointer without omitempty."""

    status: str = always("")
    message: str = always("")
    attempted_at: Time | None = always(None)


# --- Kubernetes core events (application and project event listings) -----------------------------


class ObjectReference(ArgoModel):
    """core/v1 ObjectReference."""

    kind: str = ""
    namespace: str = ""
    name: str = ""
    uid: str = ""
    api_version: str = ""
    resource_version: str = ""
    field_path: str = ""


class EventSource(ArgoModel):
    """core/v1 EventSource."""

    component: str = ""
    host: str = ""


class EventSeries(ArgoModel):
    """core/v1 EventSeries; its MicroTime is a struct, so zero encodes as `null`."""

    count: int = 0
    last_observed_time: MicroTime | None = always(None)


class Event(ArgoModel):
    """core/v1 Event, as listed by the application and project event endpoints."""

    metadata: ObjectMeta = always(ObjectMeta)
    involved_object: ObjectReference = always(ObjectReference)
    reason: str = ""
    message: str = ""
    source: EventSource = always(EventSource)
    first_timestamp: Time | None = always(None)
    last_timestamp: Time | None = always(None)
    count: int = 0
    type: str = ""
    event_time: MicroTime | None = always(None)
    series: EventSeries | None = None
    action: str = ""
    related: ObjectReference | None = None
    reporting_component: str = always("")
    reporting_instance: str = always("")


class EventList(ArgoModel):
    """core/v1 EventList."""

    metadata: ListMeta = always(ListMeta)
    items: list[Event] | None = always(None)
