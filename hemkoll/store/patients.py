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
from datetime import datetime
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query
from hemkoll.store.types import Patient

# Swedish personal identity and coordination numbers: YYMMDD-NNNN, YYYYMMDDNNNN and the like.
_PERSONAL_NUMBER = re.compile(r"^\s*(\d{2})?\d{6}\s*[-+]?\s*\d{4}\s*$")
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")


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
    conn: Conn, *, health_centre_id: UUID, reference: str, language: str, timezone: str
) -> PatientRecord:
    check_reference(reference)
    with conn.cursor(row_factory=class_row(PatientRecord)) as cur:
        row = cur.execute(
            query("insert_patient"),
            {
                "health_centre_id": health_centre_id,
                "reference": reference,
                "language": language,
                "timezone": timezone,
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
        return conn.execute(query(name), {"patient_id": patient_id}).fetchone() is not None
