"""The audit log of access to patient data: append and read, never change (see 0005)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query


@dataclass(frozen=True)
class AuditEntry:
    """Who did what to which patient (or other object), from where, with what result."""

    staff_id: UUID | None
    role: str | None
    action: str
    status: int
    health_centre_id: UUID | None
    patient_id: UUID | None
    object_type: str | None
    object_id: str | None
    client_address: str | None
    # Why (an administrator's stated reason, e.g. for a backdated enrolment); usually None.
    reason: str | None = None
    # The actor when it is a patient in her own app (staff_id then None; see 0017).
    patient_session_id: UUID | None = None
    # What allowed the access (care_relationship, consent, emergency, administration) or, for
    # one refused, why there was none (no_care_relationship, no_consent, blocked); see 0020.
    access_basis: str | None = None


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    staff_id: UUID | None
    role: str | None
    action: str
    status: int
    health_centre_id: UUID | None
    patient_id: UUID | None
    object_type: str | None
    object_id: str | None
    client_address: str | None
    reason: str | None
    patient_session_id: UUID | None
    # The care unit's care provider, and the access basis (0020).
    care_provider_id: UUID | None
    access_basis: str | None


@dataclass(frozen=True)
class StaffAccess:
    """One access by the care team to a patient's data, as the patient's own log shows it:
    when, which care unit, which role, what kind of data."""

    at: datetime
    health_centre_name: str | None
    role: str | None
    object_type: str | None
    action: str


def append(conn: Conn, entries: Sequence[AuditEntry]) -> None:
    """Append the entries; the caller's transaction (with the access they record)."""
    if entries:
        with conn.cursor() as cur:
            cur.executemany(query("append_audit"), [asdict(entry) for entry in entries])


def read(
    conn: Conn,
    *,
    health_centre_id: UUID | None,
    patient_id: UUID | None = None,
    staff_id: UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditRow]:
    with conn.cursor(row_factory=class_row(AuditRow)) as cur:
        return cur.execute(
            query("read_audit"),
            {
                "health_centre_id": health_centre_id,
                "patient_id": patient_id,
                "staff_id": staff_id,
                "since": since,
                "until": until,
                "before_id": before_id,
                "limit": limit,
            },
        ).fetchall()


def staff_accesses(conn: Conn, patient_id: UUID, *, limit: int = 200) -> list[StaffAccess]:
    """Successful accesses by staff to the patient's data, newest first (her access log)."""
    with conn.cursor(row_factory=class_row(StaffAccess)) as cur:
        return cur.execute(
            query("patient_staff_accesses"), {"patient_id": patient_id, "limit": limit}
        ).fetchall()
