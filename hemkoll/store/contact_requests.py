"""A patient's "please contact me" (``contact_requests``, migration 0017): received, seen by
a nurse, handled; notified to the health centre through the outbox in the same transaction
as it is made (``notifications.enqueue_contact_webhook``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query

RequestState = Literal["received", "seen", "handled"]
MAX_REASON = 1000
WORRIES = (1, 2, 3)


@dataclass(frozen=True)
class ContactRequest:
    id: UUID
    patient_id: UUID
    patient_reference: str
    reason: str | None
    worry: int
    state: RequestState
    created_at: datetime
    seen_at: datetime | None
    handled_at: datetime | None


def add(conn: Conn, patient_id: UUID, *, reason: str | None, worry: int) -> UUID:
    row = conn.execute(
        query("insert_contact_request"),
        {"patient_id": patient_id, "reason": reason, "worry": worry},
    ).fetchone()
    if row is None:
        raise LookupError("the contact request was not stored")
    return UUID(str(row[0]))


def for_patient(conn: Conn, patient_id: UUID, *, limit: int = 20) -> list[ContactRequest]:
    with conn.cursor(row_factory=class_row(ContactRequest)) as cur:
        return cur.execute(
            query("patient_contact_requests"), {"patient_id": patient_id, "limit": limit}
        ).fetchall()


def open_for_patients(conn: Conn, patient_ids: Sequence[UUID]) -> list[ContactRequest]:
    """Those of ``patient_ids`` (the ones a unit's worklist may show) not yet handled, most
    worried first, then oldest first (the worklist's order)."""
    with conn.cursor(row_factory=class_row(ContactRequest)) as cur:
        return cur.execute(
            query("open_contact_requests"), {"patient_ids": list(patient_ids)}
        ).fetchall()


def mark(conn: Conn, request_id: UUID, patient_id: UUID, state: RequestState, *, by: UUID) -> bool:
    """Move a request on (received -> seen -> handled; never back); whether it moved."""
    row = conn.execute(
        query("mark_contact_request"),
        {"id": request_id, "patient_id": patient_id, "state": state, "by": by},
    ).fetchone()
    return row is not None
