"""Secure messages between a patient and her care team (``care_messages``, migration 0017),
in threads: a thread is its first message's id. Written by the patient (``author_staff``
None) or by a member of staff; never changed, except that the other side's reading is noted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query

MAX_BODY = 2000


@dataclass(frozen=True)
class CareMessage:
    id: UUID
    patient_id: UUID
    thread_id: UUID
    author_staff: UUID | None
    author_name: str | None
    author_role: str | None
    body: str
    sent_at: datetime
    read_at: datetime | None

    @property
    def from_patient(self) -> bool:
        return self.author_staff is None


def send(
    conn: Conn, patient_id: UUID, body: str, *, thread_id: UUID | None, author_staff: UUID | None
) -> UUID | None:
    """Add a message (a new thread when ``thread_id`` is None); None when the thread is not
    this patient's."""
    row = conn.execute(
        query("insert_care_message"),
        {
            "patient_id": patient_id,
            "thread_id": thread_id,
            "author_staff": author_staff,
            "body": body,
        },
    ).fetchone()
    return None if row is None else UUID(str(row[0]))


def for_patient(conn: Conn, patient_id: UUID, *, limit: int = 200) -> list[CareMessage]:
    """The patient's messages, oldest first (grouped into threads by the reader)."""
    with conn.cursor(row_factory=class_row(CareMessage)) as cur:
        return cur.execute(
            query("patient_care_messages"), {"patient_id": patient_id, "limit": limit}
        ).fetchall()


def mark_read(conn: Conn, patient_id: UUID, *, by_patient: bool) -> list[UUID]:
    """Note the other side's unread messages as read now; their ids."""
    rows = conn.execute(
        query("mark_care_messages_read"), {"patient_id": patient_id, "by_patient": by_patient}
    ).fetchall()
    return [UUID(str(row[0])) for row in rows]


def unanswered_for_centre(conn: Conn, health_centre_id: UUID | None) -> list[CareMessage]:
    """Patients' messages the care team has not read yet, oldest first (the worklist's)."""
    with conn.cursor(row_factory=class_row(CareMessage)) as cur:
        return cur.execute(
            query("unread_patient_messages"), {"health_centre_id": health_centre_id}
        ).fetchall()


def threads(messages: list[CareMessage]) -> list[list[CareMessage]]:
    """Messages grouped by thread, each oldest first; the thread with the newest message first."""
    grouped: dict[UUID, list[CareMessage]] = {}
    for message in messages:
        grouped.setdefault(message.thread_id, []).append(message)
    return sorted(grouped.values(), key=lambda thread: thread[-1].sent_at, reverse=True)


def page(
    conn: Conn, patient_id: UUID, *, limit: int, after: tuple[datetime, UUID] | None
) -> list[CareMessage]:
    """The patient's messages ordered by (sent_at, id), after ``after``."""
    after_at, after_id = after if after is not None else (None, None)
    with conn.cursor(row_factory=class_row(CareMessage)) as cur:
        return cur.execute(
            query("care_messages_page"),
            {"patient_id": patient_id, "after_at": after_at, "after_id": after_id, "limit": limit},
        ).fetchall()
