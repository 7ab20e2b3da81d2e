"""Patients as the care team sees them: enrolment, lookup within a health centre, discharge
(the console's patient list with their latest values is ``patient_list``).

Every lookup takes the caller's health centre (None: every centre, for the region's
administrators), so another centre's patient is simply not found. The rules worker locks the
patients it evaluates here (``lock_patients``), and monitoring is paused and resumed here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.store import evaluation_queue
from hemkoll.store.connect import Conn
from hemkoll.store.sql import query
from hemkoll.store.types import Patient

# Swedish personal identity and coordination numbers: YYMMDD-NNNN, YYYYMMDDNNNN and the like.
_PERSONAL_NUMBER = re.compile(r"^\s*(\d{2})?\d{6}\s*[-+]?\s*\d{4}\s*$")
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
_PERSONAL_NUMBER_INSIDE = re.compile(r"(?<!\d)(\d{2})?\d{6}\s*[-+]?\s*\d{4}(?!\d)")

# An enrolment with history (its monitoring start in the past, so that the patient's earlier
# readings can be imported) reaches back at most this far: a programme moving onto hemkoll
# brings a few years of home readings, not a lifetime. Never in the future, beyond the clock
# skew allowed between the caller and the database.
MONITORING_START_MAX_BACK = timedelta(days=5 * 365 + 1)  # five years, one leap day
MONITORING_START_MAX_AHEAD = timedelta(minutes=1)
REASON_MAX_CHARS = 500


class RegistryError(ValueError):
    """A registry request that cannot be carried out, with the reason."""


def check_reference(reference: str) -> str:
    """Validate a health centre's patient reference: pseudonymous, short, printable."""
    if _PERSONAL_NUMBER.match(reference):
        raise RegistryError(
            "patient reference looks like a personal identity number; hemkoll stores only "
            "the health centre's own pseudonymous reference"
        )
    if not _REFERENCE.match(reference):
        raise RegistryError(
            "patient reference must be 1-64 characters of letters, digits and . _ : / -, "
            "starting with a letter or digit"
        )
    return reference


def check_monitoring_start(
    started_at: datetime | None, reason: str | None, *, now: datetime
) -> str | None:
    """Validate an earlier monitoring start and its reason; the reason, stripped (None when
    the monitoring starts now). Raises ``RegistryError`` naming the field at fault."""
    if started_at is None:
        if reason is not None:
            raise RegistryError("reason: only an earlier monitoring_started_at takes a reason")
        return None
    if started_at.tzinfo is None or started_at.utcoffset() is None:
        raise RegistryError("monitoring_started_at: needs its UTC offset (e.g. ...T08:00:00Z)")
    if started_at > now + MONITORING_START_MAX_AHEAD:
        raise RegistryError("monitoring_started_at: cannot be in the future")
    if started_at < now - MONITORING_START_MAX_BACK:
        raise RegistryError(
            f"monitoring_started_at: at most {MONITORING_START_MAX_BACK.days} days (five "
            "years) back"
        )
    text = (reason or "").strip()
    if not text:
        raise RegistryError(
            "reason: required with an earlier monitoring_started_at (it goes to the audit log)"
        )
    if len(text) > REASON_MAX_CHARS:
        raise RegistryError(f"reason: at most {REASON_MAX_CHARS} characters")
    if _PERSONAL_NUMBER_INSIDE.search(text):
        raise RegistryError(
            "reason: looks like it holds a personal identity number; say why, not who"
        )
    return text


@dataclass(frozen=True)
class PatientRecord:
    id: UUID
    health_centre_id: UUID
    reference: str
    timezone: str
    language: str
    enrolled_at: datetime
    monitoring_paused_since: datetime | None
    discharged_at: datetime | None


@dataclass(frozen=True)
class PatientToEvaluate:
    id: UUID
    timezone: str
    paused: bool
    # How the patient reaches her health centre (messages name it; None: not recorded).
    centre_phone: str | None


def create_patient(
    conn: Conn,
    *,
    health_centre_id: UUID,
    reference: str,
    language: str,
    timezone: str,
    enrolled_at: datetime | None = None,
) -> PatientRecord:
    """Enrol a patient; ``enrolled_at`` (None: now) is her monitoring start, checked by the
    caller (``check_monitoring_start``)."""
    check_reference(reference)
    with conn.cursor(row_factory=class_row(PatientRecord)) as cur:
        row = cur.execute(
            query("insert_patient"),
            {
                "health_centre_id": health_centre_id,
                "reference": reference,
                "language": language,
                "timezone": timezone,
                "enrolled_at": enrolled_at,
            },
        ).fetchone()
    if row is None:
        raise RegistryError(f"the health centre already has a patient {reference!r}")
    return row


def patient_in_scope(
    conn: Conn, patient_id: UUID, *, health_centre_id: UUID | None
) -> PatientRecord | None:
    with conn.cursor(row_factory=class_row(PatientRecord)) as cur:
        return cur.execute(
            query("patient_in_scope"),
            {"patient_id": patient_id, "health_centre_id": health_centre_id},
        ).fetchone()


def list_patients(
    conn: Conn,
    *,
    health_centre_id: UUID | None,
    patient_ids: Sequence[UUID] | None = None,
    reference: str | None = None,
    include_discharged: bool = False,
    after_reference: str | None = None,
    limit: int = 100,
) -> list[PatientRecord]:
    with conn.cursor(row_factory=class_row(PatientRecord)) as cur:
        return cur.execute(
            query("list_patients"),
            {
                "health_centre_id": health_centre_id,
                "patient_ids": None if patient_ids is None else list(patient_ids),
                "reference": reference,
                "include_discharged": include_discharged,
                "after_reference": after_reference,
                "limit": limit,
            },
        ).fetchall()


def discharge(conn: Conn, patient_id: UUID) -> PatientRecord:
    with conn.cursor(row_factory=class_row(PatientRecord)) as cur:
        row = cur.execute(query("discharge_patient"), {"patient_id": patient_id}).fetchone()
    if row is None:
        raise RegistryError(f"no patient {patient_id}")
    return row


def upsert_patient(
    conn: Conn, *, health_centre_id: UUID, reference: str, enrolled_at: datetime | None
) -> Patient:
    """The centre's patient of that reference, created if new (enrolled at ``enrolled_at``,
    None: now); an existing patient keeps their enrolment. The reference is the caller's to
    check."""
    with conn.cursor(row_factory=class_row(Patient)) as cur:
        row = cur.execute(
            query("upsert_patient"),
            {
                "health_centre_id": health_centre_id,
                "reference": reference,
                "enrolled_at": enrolled_at,
            },
        ).fetchone()
    if row is None:
        raise RuntimeError("statement upsert_patient returned no row")
    return row


def lock_patients(conn: Conn, patient_ids: Sequence[UUID]) -> list[PatientToEvaluate]:
    """Lock a batch's patients for the caller's transaction; the discharged are left out."""
    with conn.cursor(row_factory=class_row(PatientToEvaluate)) as cur:
        return cur.execute(
            query("patients_for_evaluation"), {"patient_ids": list(patient_ids)}
        ).fetchall()


def patient(conn: Conn, patient_id: UUID) -> PatientToEvaluate | None:
    with conn.cursor(row_factory=class_row(PatientToEvaluate)) as cur:
        return cur.execute(query("patient_timezone"), {"patient_id": patient_id}).fetchone()


def set_monitoring_paused(conn: Conn, patient_id: UUID, *, paused: bool) -> bool:
    """Pause or resume a patient's monitoring; False if there is no such patient."""
    with conn.transaction():
        name = "pause_monitoring" if paused else "resume_monitoring"
        if conn.execute(query(name), {"patient_id": patient_id}).fetchone() is None:
            return False
        # Paused, the missing-measurement rules have no deadline; resumed, they have again.
        evaluation_queue.reevaluate(conn, [patient_id])
        return True


@dataclass(frozen=True)
class PatientByReference:
    id: UUID
    reference: str
    enrolled_at: datetime
    discharged_at: datetime | None


def patients_by_reference(
    conn: Conn, health_centre_id: UUID, references: Sequence[str]
) -> dict[str, PatientByReference]:
    """The centre's patients among ``references``, by reference (an unknown one is absent)."""
    with conn.cursor(row_factory=class_row(PatientByReference)) as cur:
        rows = cur.execute(
            query("patients_by_reference"),
            {"health_centre_id": health_centre_id, "references": list(references)},
        ).fetchall()
    return {row.reference: row for row in rows}
