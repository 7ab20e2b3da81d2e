"""The access-log review (HSLF-FS 2016:40 ch. 4 §9): the selections an administrator reviews,
and the reviews recorded (who reviewed which rows, with what finding).

Four selections of the audit log, each over a period and, for a centre's administrator, her
centre's: a random sample of accesses to patient data; accesses from a care unit
without a care relationship with the patient and with no alert of hers open; emergency
accesses (``emergency_accesses``) with the accesses made under them; one member of staff's
accesses. A centre's scope is the rows made from it and every access to its own patients.
Reviews are append-only (a trigger refuses UPDATE and DELETE).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query

Kind = Literal["random", "no_care_relationship", "emergency", "user"]
KINDS: tuple[Kind, ...] = get_args(Kind)
Finding = Literal["no_remark", "remark", "misuse_suspected"]
FINDINGS: tuple[Finding, ...] = get_args(Finding)
NOTE_MAX = 2000


class ReviewError(ValueError):
    """A review that cannot be recorded as asked, with the reason."""


@dataclass(frozen=True)
class Access:
    """One audit row as a reviewer reads it: who, from which unit, whose data, what."""

    id: int
    at: datetime
    staff_id: UUID | None
    staff_name: str | None
    role: str | None
    health_centre_id: UUID | None
    health_centre_name: str | None
    patient_id: UUID | None
    patient_reference: str | None
    action: str
    object_type: str | None
    status: int
    access_basis: str | None
    reason: str | None


@dataclass(frozen=True)
class EmergencyAccess:
    id: UUID
    staff_id: UUID
    staff_name: str
    health_centre_id: UUID | None
    patient_id: UUID
    patient_reference: str
    reason: str
    started_at: datetime
    expires_at: datetime
    reviewed_at: datetime | None
    audit_ids: list[int]


@dataclass(frozen=True)
class Review:
    id: UUID
    reviewed_by: UUID | None
    reviewer_name: str
    kind: str
    health_centre_id: UUID | None
    period_start: datetime
    period_end: datetime
    subject_staff_id: UUID | None
    audit_ids: list[int]
    finding: str
    note: str | None
    reviewed_at: datetime


@dataclass(frozen=True)
class Selection:
    """What a review looks at: the kind, the period, the scope, for ``user`` the member."""

    kind: Kind
    since: datetime
    until: datetime
    health_centre_id: UUID | None = None
    staff_id: UUID | None = None
    size: int = 20
    seed: str = ""

    def check(self) -> None:
        if self.until <= self.since:
            raise ReviewError("the period must end after it starts")
        if self.kind == "user" and self.staff_id is None:
            raise ReviewError("a review of a user's accesses names the member of staff")
        if not 1 <= self.size <= 1000:
            raise ReviewError("a selection is 1-1000 rows")


def _params(selection: Selection) -> dict[str, object]:
    return {
        "since": selection.since,
        "until": selection.until,
        "health_centre_id": selection.health_centre_id,
        "staff_id": selection.staff_id,
        "limit": selection.size,
        "seed": selection.seed,
    }


_QUERIES = {
    "random": "review_random_sample",
    "no_care_relationship": "review_without_care_relationship",
    "user": "review_user_accesses",
}


def accesses(conn: Conn, selection: Selection) -> list[Access]:
    """The audit rows of a random, no-care-relationship or user selection."""
    selection.check()
    if selection.kind == "emergency":
        raise ReviewError("emergency accesses are read with emergency_accesses()")
    with conn.cursor(row_factory=class_row(Access)) as cur:
        return cur.execute(query(_QUERIES[selection.kind]), _params(selection)).fetchall()


def emergency_accesses(conn: Conn, selection: Selection) -> list[EmergencyAccess]:
    selection.check()
    with conn.cursor(row_factory=class_row(EmergencyAccess)) as cur:
        return cur.execute(query("review_emergency_accesses"), _params(selection)).fetchall()


def record_review(
    conn: Conn,
    selection: Selection,
    *,
    reviewed_by: UUID | None,
    reviewer_name: str,
    audit_ids: list[int],
    emergency_ids: list[UUID],
    finding: str,
    note: str | None,
    now: datetime,
) -> Review:
    """Record a review of a selection's rows; the emergency accesses it looked at are no
    longer flagged for review."""
    selection.check()
    if finding not in FINDINGS:
        raise ReviewError(f"the finding is one of {', '.join(FINDINGS)}")
    note = (note or "").strip() or None
    if finding != "no_remark" and note is None:
        raise ReviewError("a remark or a suspicion of misuse says what was found")
    if note is not None and len(note) > NOTE_MAX:
        raise ReviewError(f"a note is at most {NOTE_MAX} characters")
    if not reviewer_name.strip():
        raise ReviewError("a review names its reviewer")
    with conn.cursor(row_factory=class_row(Review)) as cur:
        row = cur.execute(
            query("insert_access_review"),
            {
                "reviewed_by": reviewed_by,
                "reviewer_name": reviewer_name.strip()[:200],
                "kind": selection.kind,
                "health_centre_id": selection.health_centre_id,
                "period_start": selection.since,
                "period_end": selection.until,
                "subject_staff_id": selection.staff_id,
                "audit_ids": sorted(set(audit_ids)),
                "finding": finding,
                "note": note,
                "now": now,
            },
        ).fetchone()
    if row is None:
        raise RuntimeError("insert_access_review returned no row")
    if emergency_ids:
        conn.execute(query("mark_emergency_accesses_reviewed"), {"ids": emergency_ids, "now": now})
    return row


def reviews(conn: Conn, *, health_centre_id: UUID | None, limit: int = 50) -> list[Review]:
    with conn.cursor(row_factory=class_row(Review)) as cur:
        return cur.execute(
            query("list_access_reviews"), {"health_centre_id": health_centre_id, "limit": limit}
        ).fetchall()
