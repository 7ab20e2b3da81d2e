"""Bulk enrolment: a checked file of patients and their devices written in one transaction,
idempotent on the centre's patient reference.

A patient already enrolled is left as she is; she gets the devices the file names that she
does not have yet (counted per kind among her active devices), so a rerun of the same file
changes nothing and says so (``unchanged``). New patients and devices are written with COPY;
their ids are drawn here, so each new device's one-time MQTT password is matched to it without
reading anything back. Only the passwords' hashes are stored (``credentials``).

Refused as a whole, before anything is written (``FileRefused``, a problem per row): a patient
who is discharged (bulk enrolment does not re-enrol), or whose existing enrolment the file's
``monitoring_started_at`` contradicts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID, uuid4

import psycopg
from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.credentials import hash_secret, new_secret
from hemkoll.store.enrolment_file import FilePatient, FileRefused, RowProblem
from hemkoll.store.patients import PatientByReference, RegistryError, patients_by_reference
from hemkoll.store.sql import query

Outcome = Literal["created", "unchanged", "devices_added"]


@dataclass(frozen=True)
class BulkDevice:
    """A device enrolled now, with the one-time MQTT password it is given (shown once)."""

    id: UUID
    patient_id: UUID
    kind: str
    enrolled_at: datetime
    mqtt_password: str


@dataclass(frozen=True)
class BulkPatient:
    row: int
    reference: str
    patient_id: UUID
    outcome: Outcome
    enrolled_at: datetime
    # The reason given for an earlier monitoring start of a patient created now.
    reason: str | None
    devices: tuple[BulkDevice, ...]


@dataclass(frozen=True)
class _ActiveKind:
    patient_id: UUID
    kind: str
    n: int


class EnrolmentConflict(RegistryError):
    """Another enrolment wrote one of the file's patients meanwhile; retry the file."""


def start_care_relationships(cur: Conn | psycopg.Cursor[Any], patient_ids: Sequence[UUID]) -> None:
    """Each new patient's health centre has its care relationship with her from her enrolment
    (0020): for patients written with COPY, which bypasses the single-patient path."""
    cur.execute(query("start_care_relationships"), {"patient_ids": list(patient_ids)})


def _problems(
    patients: Sequence[FilePatient], existing: dict[str, PatientByReference]
) -> list[RowProblem]:
    problems = []
    for p in patients:
        found = existing.get(p.reference)
        if found is None:
            continue
        if found.discharged_at is not None:
            problems.append(
                RowProblem(p.row, "reference", "the patient is discharged; enrol her anew by hand")
            )
        elif p.monitoring_started_at is not None and p.monitoring_started_at != found.enrolled_at:
            problems.append(
                RowProblem(
                    p.row,
                    "monitoring_started_at",
                    f"the patient is enrolled since {found.enrolled_at.isoformat()}; an "
                    "existing enrolment is not moved",
                )
            )
    return problems


def enrol_bulk(
    conn: Conn,
    *,
    health_centre_id: UUID,
    default_timezone: str,
    patients: Sequence[FilePatient],
) -> list[BulkPatient]:
    """Enrol the file's patients and devices in the caller's transaction, in file order.

    Concurrent bulk enrolments of one centre take turns (a transaction-scoped advisory lock).
    """
    conn.execute(query("lock_centre_enrolment"), {"health_centre_id": health_centre_id})
    now_row = conn.execute(query("transaction_now")).fetchone()
    if now_row is None:
        raise RuntimeError("statement transaction_now returned no row")
    now: datetime = now_row[0]
    existing = patients_by_reference(conn, health_centre_id, [p.reference for p in patients])
    found = list(existing.values())
    problems = _problems(patients, existing)
    if problems:
        raise FileRefused(problems)
    with conn.cursor(row_factory=class_row(_ActiveKind)) as cur:
        active_rows = cur.execute(
            query("active_device_kinds"), {"patient_ids": [e.id for e in found]}
        ).fetchall()
    active: dict[UUID, Counter[str]] = {}
    for a in active_rows:
        active.setdefault(a.patient_id, Counter())[a.kind] = a.n

    new_patients: list[tuple[UUID, UUID, str, str, str, datetime]] = []
    new_devices: list[tuple[UUID, UUID, str, str, datetime]] = []
    report: list[BulkPatient] = []
    for p in patients:
        known = existing.get(p.reference)
        if known is None:
            patient_id, enrolled_at = uuid4(), p.monitoring_started_at or now
            timezone = p.timezone or default_timezone
            new_patients.append(
                (patient_id, health_centre_id, p.reference, p.language, timezone, enrolled_at)
            )
            missing = list(p.devices)
        else:
            patient_id, enrolled_at = known.id, known.enrolled_at
            missing = list((Counter(p.devices) - active.get(known.id, Counter())).elements())
        devices = []
        for kind in missing:
            secret = new_secret()
            device = BulkDevice(uuid4(), patient_id, kind, p.monitoring_started_at or now, secret)
            devices.append(device)
            new_devices.append(
                (device.id, patient_id, kind, hash_secret(secret), device.enrolled_at)
            )
        outcome: Outcome = (
            "created" if known is None else ("devices_added" if devices else "unchanged")
        )
        # The file's reason goes with what its monitoring start backdated: a new patient, and
        # the devices added to a known patient (her own start, _problems); a patient left
        # unchanged backdated nothing.
        backdated = p.monitoring_started_at is not None and (known is None or bool(devices))
        reason = p.reason if backdated else None
        report.append(
            BulkPatient(
                p.row, p.reference, patient_id, outcome, enrolled_at, reason, tuple(devices)
            )
        )
    try:
        with conn.cursor() as cur:
            if new_patients:
                with cur.copy(query("copy_patients")) as copy:
                    for patient_row in new_patients:
                        copy.write_row(patient_row)
                start_care_relationships(cur, [row[0] for row in new_patients])
            if new_devices:
                with cur.copy(query("copy_devices")) as copy:
                    for device_row in new_devices:
                        copy.write_row(device_row)
    except psycopg.errors.UniqueViolation as exc:
        raise EnrolmentConflict(
            "another enrolment added one of the file's patients meanwhile; send the file again "
            "(its patients already enrolled are then left as they are)"
        ) from exc
    return report
