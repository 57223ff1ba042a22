"""A change log of the applications table, written by triggers on SQLite.

Every insert, update and delete of an application appends the row's id to ``application_changes`` in the writer's
own transaction, so a reader that remembers the newest entry it saw can later read just the rows changed since, and
keep a whole-table list current without scanning the table (``db.stores.applications``). The log keeps its newest
10,000 entries: a reader further behind than that scans the table again.

Only SQLite gets the triggers. It has one writer at a time, so entries become visible in the order of their
numbers; on PostgreSQL transactions commit out of that order, a reader could skip an entry that commits late, and
its list scan is cheap enough without the log.

Revision ID: 0004_application_change_log
Revises: 0003_application_list_index
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_application_change_log"
down_revision = "0003_application_list_index"
branch_labels = None
depends_on = None

_TRIGGERS = {
    "applications_log_insert": (
        "AFTER INSERT ON applications BEGIN INSERT INTO application_changes (app_id) VALUES (NEW.id); END"
    ),
    "applications_log_update": (
        "AFTER UPDATE ON applications BEGIN "
        "INSERT INTO application_changes (app_id) SELECT OLD.id WHERE OLD.id <> NEW.id; "
        "INSERT INTO application_changes (app_id) VALUES (NEW.id); END"
    ),
    "applications_log_delete": (
        "AFTER DELETE ON applications BEGIN INSERT INTO application_changes (app_id) VALUES (OLD.id); END"
    ),
    # Every thousandth entry trims the log to its newest 10,000 (an indexed range delete).
    "application_changes_trim": (
        "AFTER INSERT ON application_changes WHEN NEW.seq % 1000 = 0 BEGIN "
        "DELETE FROM application_changes WHERE seq <= NEW.seq - 10000; END"
    ),
}


def upgrade() -> None:
    op.create_table(
        "application_changes",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sqlite_autoincrement=True,
    )
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, body in _TRIGGERS.items():
        op.execute("CREATE TRIGGER " + name + " " + body)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in _TRIGGERS:
            op.execute("DROP TRIGGER IF EXISTS " + name)
    op.drop_table("application_changes")
