"""Event rows: what the server (and later the controller) records about an object, in core/v1 Event shape.

Listing selects by the involved object's kind, name and uid, as upstream's field selector does, so the events of a
deleted object never show up for a new object of the same name.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from argocd_server.db.models import EventRow
from argocd_server.db.stores.raw import Target, insert_row


def add_event(target: Target, row: EventRow) -> None:
    """Store an event (an unsaved row) without the unit of work."""
    insert_row(target, row)


class EventStore:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, row: EventRow) -> None:
        add_event(self._session, row)

    def docs_for(self, *, namespace: str, kind: str, name: str, uid: str) -> list[str]:
        """Wire documents of the events about one object, oldest first."""
        stmt = (
            select(EventRow.doc)
            .where(
                EventRow.namespace == namespace,
                EventRow.involved_kind == kind,
                EventRow.involved_name == name,
                EventRow.involved_uid == uid,
            )
            .order_by(EventRow.created_at, EventRow.id)
        )
        return list(self._session.scalars(stmt))

    def prune(self, before: datetime) -> int:
        """Delete events older than ``before`` (Kubernetes keeps events for an hour by default)."""
        result = self._session.execute(delete(EventRow).where(EventRow.created_at < before))
        assert isinstance(result, CursorResult)
        return int(result.rowcount)
