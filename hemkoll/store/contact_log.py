"""A patient's contact log (the ``contact_log`` table): calls, visits, notes and hand-overs.

Entries are only ever added (the table's trigger refuses any change or removal): a correction
is a new entry naming the one it corrects (``corrects``), and reading an entry says which
later entry corrects it (``corrected_by``). Read newest first, by when it happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query

ContactKind = Literal["call_out", "call_in", "visit", "note", "hand_over"]
KINDS: tuple[ContactKind, ...] = get_args(ContactKind)
# As the table's CHECK.
MAX_TEXT = 2000


@dataclass(frozen=True)
class ContactEntry:
    id: UUID
    patient_id: UUID
    kind: ContactKind  # the table's CHECK holds it to these
    alert_id: UUID | None
    alert_rule_id: str | None
    alert_severity: str | None
    corrects: UUID | None
    author: UUID
    author_name: str
    text: str
    occurred_at: datetime
    written_at: datetime
    corrected_by: UUID | None


@dataclass(frozen=True)
class Position:
    """Where a page of entries ended: the last entry's (occurred_at, id)."""

    occurred_at: datetime
    id: UUID


def add(
    conn: Conn,
    patient_id: UUID,
    *,
    kind: ContactKind,
    text: str,
    author: UUID,
    occurred_at: datetime | None = None,
    alert_id: UUID | None = None,
    corrects: UUID | None = None,
) -> UUID:
    """Append an entry (``occurred_at`` None: now); its id."""
    row = conn.execute(
        query("insert_contact"),
        {
            "patient_id": patient_id,
            "kind": kind,
            "alert_id": alert_id,
            "corrects": corrects,
            "author": author,
            "text": text,
            "occurred_at": occurred_at,
        },
    ).fetchone()
    if row is None:  # INSERT ... RETURNING always returns the row
        raise RuntimeError("the contact log entry was not written")
    return UUID(str(row[0]))


def entries(
    conn: Conn,
    patient_id: UUID,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    before: Position | None = None,
    limit: int = 100,
) -> list[ContactEntry]:
    """The patient's entries that happened in [since, until), newest first."""
    with conn.cursor(row_factory=class_row(ContactEntry)) as cur:
        return cur.execute(
            query("contact_entries"),
            {
                "patient_id": patient_id,
                "since": since,
                "until": until,
                "before_at": None if before is None else before.occurred_at,
                "before_id": None if before is None else before.id,
                "limit": limit,
            },
        ).fetchall()


def entry(conn: Conn, entry_id: UUID) -> ContactEntry | None:
    with conn.cursor(row_factory=class_row(ContactEntry)) as cur:
        return cur.execute(query("contact_entry"), {"id": entry_id}).fetchone()


def is_patients_entry(conn: Conn, patient_id: UUID, entry_id: UUID) -> bool:
    row = conn.execute(
        query("contact_entry_of_patient"), {"id": entry_id, "patient_id": patient_id}
    ).fetchone()
    return row is not None
