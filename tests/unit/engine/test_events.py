"""The controller's Application events, built as plain documents, are what the Event model would put on the wire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from argocd_server.engine.controller import EVENT_COMPONENT, event_document
from argocd_server.schemas.common import Event, EventSource, ObjectMeta, ObjectReference, to_wire_json


@pytest.mark.parametrize(
    ("involved_uid", "involved_rv", "reason", "message", "warning"),
    [
        ("a-uid", "12", "OperationStarted", "Initiated automated sync to 'abc'", False),
        ("", "", "OperationCompleted", "Sync operation to  failed: boom", True),
        ("a-uid", "", "", "", False),
    ],
)
def test_event_document_is_the_models_wire_form(
    involved_uid: str, involved_rv: str, reason: str, message: str, warning: bool
) -> None:
    at = datetime(2030, 1, 2, 3, 4, 5, 678, tzinfo=timezone(timedelta(hours=2)))
    second = at.astimezone(UTC).replace(microsecond=0)
    model = Event(
        metadata=ObjectMeta(
            name="app.1f", namespace="argocd", uid="e-uid", resource_version="1", creation_timestamp=at
        ),
        involved_object=ObjectReference(
            kind="Application",
            namespace="argocd",
            name="app",
            uid=involved_uid,
            api_version="argoproj.io/v1alpha1",
            resource_version=involved_rv,
        ),
        reason=reason,
        message=message,
        source=EventSource(component=EVENT_COMPONENT),
        first_timestamp=second,
        last_timestamp=second,
        count=1,
        type="Warning" if warning else "Normal",
    )
    built = event_document(
        name="app.1f",
        namespace="argocd",
        uid="e-uid",
        involved_name="app",
        involved_uid=involved_uid,
        involved_resource_version=involved_rv,
        reason=reason,
        message=message,
        warning=warning,
        at=at,
    )
    assert built == to_wire_json(model).decode()
