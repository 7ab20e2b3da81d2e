"""Patients as the care team sees them: enrolment, lookup within a health centre, discharge.

Every lookup takes the caller's health centre (None: every centre, for the region's
administrators), so another centre's patient is simply not found. The rules worker locks the
patients it evaluates here (``lock_patients``), and monitoring is paused and resumed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.credentials import hash_secret, new_secret
from hemkoll.store.registry import RegistryError, check_reference
from hemkoll.store.sql import query
from hemkoll.store.types import DEVICE_KINDS, Device


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


@dataclass(frozen=True)
class NewDevice:
    """A device just enrolled, with the one-time MQTT password it is given."""

    device: Device
    mqtt_password: str


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


def devices_of_patient(conn: Conn, patient_id: UUID) -> list[Device]:
    with conn.cursor(row_factory=class_row(Device)) as cur:
        return cur.execute(query("devices_of_patient"), {"patient_id": patient_id}).fetchall()


def device_in_scope(conn: Conn, device_id: UUID, *, health_centre_id: UUID | None) -> Device | None:
    with conn.cursor(row_factory=class_row(Device)) as cur:
        return cur.execute(
            query("device_in_scope"),
            {"device_id": device_id, "health_centre_id": health_centre_id},
        ).fetchone()


def add_device(conn: Conn, patient_id: UUID, kind: str) -> NewDevice:
    """Enrol a new device for an existing patient; the caller's transaction."""
    if kind not in DEVICE_KINDS:
        raise RegistryError(
            f"unknown device kind {kind!r}; expected one of {', '.join(DEVICE_KINDS)}"
        )
    secret = new_secret()
    with conn.cursor(row_factory=class_row(Device)) as cur:
        device = cur.execute(
            query("insert_device"),
            {"patient_id": patient_id, "kind": kind, "credential_hash": hash_secret(secret)},
        ).fetchone()
    if device is None:
        raise RuntimeError("insert_device returned no row")
    return NewDevice(device, secret)


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
