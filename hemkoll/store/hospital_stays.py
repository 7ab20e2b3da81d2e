"""A patient's hospital stays (the ``hospital_stays`` table), and the rules' view of them.

A stay is recorded when the patient is admitted (``discharged_at`` None: she is still in), or
afterwards with both ends; its discharge is then recorded once. The table refuses a second
open stay and any overlap (an exclusion constraint); ``record`` names the stay it would clash
with. The rules worker reads a whole batch's stays in one statement (``stays_of_patients``)
and passes them to the engine (``hemkoll.rules.stays``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from hemkoll.store import evaluation_queue
from hemkoll.store.connect import Conn
from hemkoll.store.sql import query

# As the table's CHECK.
MAX_NOTE = 500

# (admitted_at, discharged_at or None while open): hemkoll.rules.stays.Stay, which the store
# (the layer below the rules) does not import.
StayPeriod = tuple[datetime, datetime | None]


@dataclass(frozen=True)
class HospitalStay:
    id: UUID
    patient_id: UUID
    admitted_at: datetime
    discharged_at: datetime | None
    note: str | None
    recorded_by: UUID
    recorded_at: datetime

    @property
    def is_open(self) -> bool:
        return self.discharged_at is None


class StayClash(Exception):
    """The stay would overlap another of the patient's (``other``; None: one recorded at the
    same moment by someone else, found by the table's constraint)."""

    def __init__(self, other: HospitalStay | None) -> None:
        super().__init__("the stay overlaps another of the patient's")
        self.other = other


def record(
    conn: Conn,
    patient_id: UUID,
    *,
    admitted_at: datetime,
    discharged_at: datetime | None,
    note: str | None,
    recorded_by: UUID,
) -> HospitalStay:
    """Record a stay; ``StayClash`` if it overlaps one of the patient's (or is a second open
    one)."""
    params = {
        "patient_id": patient_id,
        "admitted_at": admitted_at,
        "discharged_at": discharged_at,
        "note": note,
        "recorded_by": recorded_by,
    }
    with conn.cursor(row_factory=class_row(HospitalStay)) as cur:
        clash = cur.execute(query("hospital_stay_clash"), {**params, "except_id": None}).fetchone()
        if clash is not None:
            raise StayClash(clash)
        try:
            with conn.transaction():  # a savepoint: a clash leaves the caller's transaction usable
                row = cur.execute(query("insert_hospital_stay"), params).fetchone()
        except (psycopg.errors.ExclusionViolation, psycopg.errors.UniqueViolation) as exc:
            raise StayClash(None) from exc
    if row is None:  # INSERT ... RETURNING always returns the row
        raise RuntimeError("the hospital stay was not written")
    evaluation_queue.reevaluate(conn, [patient_id])  # a stay silences the missing rules
    return row


def discharge(
    conn: Conn, patient_id: UUID, stay_id: UUID, *, discharged_at: datetime
) -> HospitalStay | None:
    """Record the discharge of the patient's open stay; None if it is not an open stay of hers.
    (Discharging only shortens an open stay, which no other stay can follow: no clash.)"""
    with conn.cursor(row_factory=class_row(HospitalStay)) as cur:
        row = cur.execute(
            query("discharge_hospital_stay"),
            {"id": stay_id, "patient_id": patient_id, "discharged_at": discharged_at},
        ).fetchone()
    if row is not None:  # the grace after it ends: the missing rules have a deadline again
        evaluation_queue.reevaluate(conn, [patient_id])
    return row


def stays_of(conn: Conn, patient_id: UUID, *, limit: int = 100) -> list[HospitalStay]:
    """The patient's stays, the newest admission first."""
    with conn.cursor(row_factory=class_row(HospitalStay)) as cur:
        return cur.execute(
            query("hospital_stays_of_patient"), {"patient_id": patient_id, "limit": limit}
        ).fetchall()


def stay(conn: Conn, patient_id: UUID, stay_id: UUID) -> HospitalStay | None:
    with conn.cursor(row_factory=class_row(HospitalStay)) as cur:
        return cur.execute(
            query("hospital_stay"), {"id": stay_id, "patient_id": patient_id}
        ).fetchone()


def stays_of_patients(
    conn: Conn,
    patient_ids: Sequence[UUID],
    since: datetime,
    until: datetime,
    *,
    grace: timedelta,
) -> dict[UUID, list[StayPeriod]]:
    """Per patient, the stays (admitted, discharged or None) that, extended by ``grace`` after
    discharge, overlap [since, until); one statement for the whole batch. Patients without
    any are left out."""
    rows = conn.execute(
        query("hospital_stays_of_patients"),
        {"patient_ids": list(patient_ids), "since": since, "until": until, "grace": grace},
    ).fetchall()
    out: dict[UUID, list[StayPeriod]] = {}
    for patient_id, admitted_at, discharged_at in rows:
        out.setdefault(patient_id, []).append((admitted_at, discharged_at))
    return out
