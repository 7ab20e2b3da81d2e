"""Reads of the browser console (hemkoll.api.console) that the API has no query for: a
patient's alerts over a period, and the centre's patients with their unresolved alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.store.alerts import AlertDetail
from hemkoll.store.connect import Conn
from hemkoll.store.sql import query

# A centre's patient list on one page: programmes run to a few hundred patients per centre.
MAX_PATIENTS = 1000


@dataclass(frozen=True)
class PatientOverview:
    id: UUID
    reference: str
    enrolled_at: datetime
    monitoring_paused_since: datetime | None
    red_alerts: int
    yellow_alerts: int


def patient_alerts(
    conn: Conn, patient_id: UUID, *, since: datetime, until: datetime
) -> list[AlertDetail]:
    """The patient's alerts opened in [since, until), and older ones still unresolved."""
    with conn.cursor(row_factory=class_row(AlertDetail)) as cur:
        return cur.execute(
            query("console_patient_alerts"),
            {"patient_id": patient_id, "since": since, "until": until},
        ).fetchall()


def patients_overview(
    conn: Conn, health_centre_id: UUID, *, limit: int = MAX_PATIENTS
) -> list[PatientOverview]:
    """The centre's patients not discharged, by reference, with unresolved alerts counted."""
    with conn.cursor(row_factory=class_row(PatientOverview)) as cur:
        return cur.execute(
            query("console_patients_overview"),
            {"health_centre_id": health_centre_id, "limit": limit},
        ).fetchall()
