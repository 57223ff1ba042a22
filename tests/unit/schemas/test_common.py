"""The ArgoModel base: Go encoding/json rules for omitempty, always-written members, numbers,
base64 `[]byte`, times, nulls, unknown keys and aliases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import Field, ValidationError

from argocd_server.schemas import (
    Application,
    ArgoModel,
    ConnectionState,
    Event,
    EventList,
    ListMeta,
    ObjectMeta,
    RepositoryCertificate,
    TLSClientConfig,
    always,
    from_wire,
    from_wire_json,
    to_wire,
    to_wire_json,
)

from ._docs import load_fixture


class Sample(ArgoModel):
    text: str = ""
    flag: bool = False
    count: int = 0
    items: list[str] = Field(default_factory=list)
    mapping: dict[str, str] = Field(default_factory=dict)
    pointer_flag: bool | None = None
    pointer_count: int | None = None
    required_text: str = always("")
    required_flag: bool = always(False)
    nested: ConnectionState = always(ConnectionState)
    maybe_nested: ConnectionState | None = None


def test_zero_values_follow_go_omitempty() -> None:
    assert to_wire(Sample()) == {
        "requiredText": "",
        "requiredFlag": False,
        "nested": {"status": "", "message": "", "attemptedAt": None},
    }


def test_set_values_are_written_and_pointers_keep_zero() -> None:
    sample = Sample(
        text="a",
        flag=True,
        count=3,
        items=["x"],
        mapping={"k": "v"},
        pointer_flag=False,
        pointer_count=0,
        maybe_nested=ConnectionState(),
    )
    assert to_wire(sample) == {
        "text": "a",
        "flag": True,
        "count": 3,
        "items": ["x"],
        "mapping": {"k": "v"},
        "pointerFlag": False,
        "pointerCount": 0,
        "requiredText": "",
        "requiredFlag": False,
        "nested": {"status": "", "message": "", "attemptedAt": None},
        "maybeNested": {"status": "", "message": "", "attemptedAt": None},
    }


def test_to_wire_json_matches_to_wire() -> None:
    app = Application.from_wire(load_fixture("application_full"))
    assert json.loads(to_wire_json(app)) == to_wire(app)
    assert to_wire_json(ListMeta()) == b"{}"


def test_empty_application_has_the_always_written_members() -> None:
    assert to_wire(Application()) == {
        "metadata": {"creationTimestamp": None},
        "spec": {"destination": {}, "project": ""},
        "status": {
            "sync": {"status": "", "comparedTo": {"source": {"repoURL": ""}, "destination": {}}},
            "health": {},
            "summary": {},
            "sourceHydrator": {},
        },
    }


def test_always_fields_survive_exclude_defaults_in_this_pydantic() -> None:
    # The base relies on pydantic-core never evaluating data-taking default factories while
    # excluding defaults; if an upgrade changes that, this fails before any wire shape drifts.
    assert to_wire(ConnectionState()) == {"status": "", "message": "", "attemptedAt": None}


def test_non_zero_defaults_are_rejected_at_class_creation() -> None:
    with pytest.raises(TypeError, match="not a Go zero value"):

        class Bad(ArgoModel):
            mode: str = "annotation"

    with pytest.raises(TypeError, match="use always"):

        class AlsoBad(ArgoModel):
            when: datetime = Field(default_factory=datetime.now)

    with pytest.raises(TypeError, match="Go zero value or a model class"):
        always("x")


def test_unknown_keys_are_ignored() -> None:
    meta = ObjectMeta.from_wire({"name": "a", "kind": "Application", "zzz": {"deep": [1]}})
    assert to_wire(meta) == {"name": "a", "creationTimestamp": None}


def test_null_members_leave_the_zero_value() -> None:
    sample = Sample.from_wire({"text": None, "items": None, "mapping": None, "nested": None, "requiredText": None})
    assert sample == Sample()


def test_aliases_and_field_names_are_both_accepted() -> None:
    by_alias = ObjectMeta.from_wire({"resourceVersion": "1", "deletionGracePeriodSeconds": 5})
    by_name = ObjectMeta.from_wire({"resource_version": "1", "deletion_grace_period_seconds": 5})
    assert by_alias == by_name
    assert to_wire(by_name) == {
        "resourceVersion": "1",
        "deletionGracePeriodSeconds": 5,
        "creationTimestamp": None,
    }


def test_int64_accepts_numeric_strings_and_writes_numbers() -> None:
    meta = ObjectMeta.from_wire({"generation": "12", "deletionGracePeriodSeconds": "30"})
    assert meta.generation == 12
    assert to_wire_json(meta) == (b'{"generation":12,"creationTimestamp":null,"deletionGracePeriodSeconds":30}')
    with pytest.raises(ValidationError):
        ObjectMeta.from_wire({"generation": "twelve"})


def test_list_meta_continue_alias() -> None:
    meta = ListMeta.from_wire({"continue": "tok", "remainingItemCount": "0"})
    assert to_wire(meta) == {"continue": "tok", "remainingItemCount": 0}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-01-02T03:04:05Z", "2026-01-02T03:04:05Z"),
        ("2026-01-02T03:04:05.999999Z", "2026-01-02T03:04:05Z"),
        ("2026-01-02T05:04:05+02:00", "2026-01-02T03:04:05Z"),
        ("2026-01-01T22:04:05.5-05:00", "2026-01-02T03:04:05Z"),
    ],
)
def test_time_is_rfc3339_seconds_utc(given: str, expected: str) -> None:
    meta = ObjectMeta.from_wire({"creationTimestamp": given})
    assert to_wire(meta)["creationTimestamp"] == expected


def test_times_set_from_python_are_normalised() -> None:
    plus_two = timezone(timedelta(hours=2))
    meta = ObjectMeta(
        creation_timestamp=datetime(2026, 1, 2, 5, 4, 5, 123456, tzinfo=plus_two),
        deletion_timestamp=datetime(2026, 1, 2, 3, 4, 5),  # naive is taken as UTC
    )
    wire = to_wire(meta)
    assert wire["creationTimestamp"] == "2026-01-02T03:04:05Z"
    assert wire["deletionTimestamp"] == "2026-01-02T03:04:05Z"


def test_micro_time_has_six_fractional_digits() -> None:
    event = Event(event_time=datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC))
    assert to_wire(event)["eventTime"] == "2026-01-02T03:04:05.120000Z"
    event = Event(event_time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert to_wire(event)["eventTime"] == "2026-01-02T03:04:05.000000Z"


def test_bytes_are_base64() -> None:
    tls = TLSClientConfig.from_wire({"caData": "aGVsbG8=", "certData": "d29y\nbGQ="})
    assert tls.ca_data == b"hello"
    assert tls.cert_data == b"world"
    assert to_wire(tls) == {"insecure": False, "caData": "aGVsbG8=", "certData": "d29ybGQ="}
    assert to_wire(TLSClientConfig(key_data=b"\x00\xff")) == {"insecure": False, "keyData": "AP8="}
    with pytest.raises(ValidationError):
        TLSClientConfig.from_wire({"caData": "not base64!"})


def test_nil_byte_slice_without_omitempty_is_null() -> None:
    assert to_wire(RepositoryCertificate()) == {
        "serverName": "",
        "certType": "",
        "certSubType": "",
        "certData": None,
        "certInfo": "",
    }
    cert = RepositoryCertificate.from_wire({"serverName": "github.com", "certData": "c3NoLXJzYQ=="})
    assert to_wire(cert)["certData"] == "c3NoLXJzYQ=="


def test_event_list_round_trip() -> None:
    doc = load_fixture("events")
    assert to_wire(EventList.from_wire(doc)) == doc
    assert to_wire(EventList()) == {"metadata": {}, "items": None}


def test_module_level_helpers() -> None:
    raw = b'{"name": "a", "generation": 2}'
    assert from_wire_json(ObjectMeta, raw) == from_wire(ObjectMeta, json.loads(raw))
    assert ObjectMeta.from_wire_json(raw).generation == 2
