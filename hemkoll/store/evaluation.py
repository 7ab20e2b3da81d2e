"""The rules worker's reads and writes: the evaluation queue, a patient's readings, alerts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query


@dataclass(frozen=True)
class Claim:
    patient_id: UUID
    # Requests so far; finishing removes the row only if no newer request came meanwhile.
    generation: int
    attempts: int
    # Devices that sent readings since the patient's last evaluation (they get feedback).
    feedback_devices: list[UUID]


@dataclass(frozen=True)
class PatientToEvaluate:
    id: UUID
    timezone: str
    paused: bool


@dataclass(frozen=True)
class AlertRow:
    """The newest alert of one rule for one patient."""

    id: UUID
    rule_id: str
    state: str
    severity: str
    first_fired_at: datetime
    last_fired_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class _PatientAlertRow:
    patient_id: UUID
    id: UUID
    rule_id: str
    state: str
    severity: str
    first_fired_at: datetime
    last_fired_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class AlertContent:
    """What a finding puts on an alert: its rule, severity, time, evidence and sentences."""

    rule_id: str
    rule_kind: str
    severity: str
    fired_at: datetime
    evidence: dict[str, Any]
    explanation_en: str
    explanation_sv: str

    def params(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_kind": self.rule_kind,
            "severity": self.severity,
            "fired_at": self.fired_at,
            "evidence": Jsonb(self.evidence),
            "explanation_en": self.explanation_en,
            "explanation_sv": self.explanation_sv,
        }


def claim(conn: Conn, *, limit: int, lease_s: float) -> list[Claim]:
    with conn.transaction(), conn.cursor(row_factory=class_row(Claim)) as cur:
        return cur.execute(
            query("claim_evaluations"), {"limit": limit, "lease_s": lease_s}
        ).fetchall()


def finish(conn: Conn, claims: Sequence[Claim]) -> None:
    """Take the evaluated patients off the queue (one round trip: psycopg pipelines them)."""
    with conn.cursor() as cur:
        cur.executemany(
            query("finish_evaluation"),
            [
                {
                    "patient_id": claimed.patient_id,
                    "generation": claimed.generation,
                    "feedback_devices": claimed.feedback_devices,
                }
                # In patient order, as ingest queues them: two transactions that lock the same
                # rows in the same order cannot deadlock.
                for claimed in sorted(claims, key=lambda c: c.patient_id)
            ],
        )


def postpone(conn: Conn, patient_id: UUID, *, delay_s: float, error: str) -> None:
    with conn.transaction():
        conn.execute(
            query("postpone_evaluation"),
            {"patient_id": patient_id, "delay_s": delay_s, "error": error},
        )


def enqueue_all(conn: Conn) -> int:
    with conn.transaction():
        return conn.execute(query("enqueue_all_monitored_patients")).rowcount


def lock_patients(conn: Conn, patient_ids: Sequence[UUID]) -> list[PatientToEvaluate]:
    """Lock a batch's patients for the caller's transaction; the discharged are left out."""
    with conn.cursor(row_factory=class_row(PatientToEvaluate)) as cur:
        return cur.execute(
            query("patients_for_evaluation"), {"patient_ids": list(patient_ids)}
        ).fetchall()


def readings_of_patients_between(
    conn: Conn, patient_ids: Sequence[UUID], since: datetime, until: datetime
) -> dict[UUID, list[tuple[str, datetime, float]]]:
    by_patient: dict[UUID, list[tuple[str, datetime, float]]] = {}
    rows = conn.execute(
        query("readings_of_patients_between"),
        {"patient_ids": list(patient_ids), "since": since, "until": until},
    )
    for patient_id, metric, at, value in rows:
        by_patient.setdefault(patient_id, []).append((str(metric), at, float(value)))
    return by_patient


def readings_between(
    conn: Conn, patient_id: UUID, since: datetime, until: datetime
) -> list[tuple[str, datetime, float]]:
    rows = conn.execute(
        query("readings_between"), {"patient_id": patient_id, "since": since, "until": until}
    ).fetchall()
    return [(str(metric), at, float(value)) for metric, at, value in rows]


def patient(conn: Conn, patient_id: UUID) -> PatientToEvaluate | None:
    with conn.cursor(row_factory=class_row(PatientToEvaluate)) as cur:
        return cur.execute(query("patient_timezone"), {"patient_id": patient_id}).fetchone()


def newest_alerts(conn: Conn, patient_ids: Sequence[UUID]) -> dict[UUID, list[AlertRow]]:
    """Per patient, the newest alert of each rule."""
    by_patient: dict[UUID, list[AlertRow]] = {}
    with conn.cursor(row_factory=class_row(_PatientAlertRow)) as cur:
        rows = cur.execute(
            query("alert_history_of_patients"), {"patient_ids": list(patient_ids)}
        ).fetchall()
    for row in rows:
        by_patient.setdefault(row.patient_id, []).append(
            AlertRow(
                row.id,
                row.rule_id,
                row.state,
                row.severity,
                row.first_fired_at,
                row.last_fired_at,
                row.resolved_at,
            )
        )
    return by_patient


def insert_alert(conn: Conn, patient_id: UUID, rule_set: str, content: AlertContent) -> UUID:
    row = conn.execute(
        query("insert_alert"),
        {"patient_id": patient_id, "rule_set": rule_set, **content.params()},
    ).fetchone()
    if row is None:
        raise RuntimeError("insert_alert returned no row")
    return UUID(str(row[0]))


def raise_alert(conn: Conn, alert_id: UUID, content: AlertContent) -> None:
    conn.execute(query("raise_alert"), {"alert_id": alert_id, **content.params()})


def touch_alert(conn: Conn, alert_id: UUID, fired_at: datetime) -> None:
    conn.execute(query("touch_alert"), {"alert_id": alert_id, "fired_at": fired_at})


def insert_event(
    conn: Conn,
    alert_id: UUID,
    *,
    kind: str,
    severity: str | None,
    actor: str,
    details: dict[str, Any],
) -> None:
    conn.execute(
        query("insert_alert_event"),
        {
            "alert_id": alert_id,
            "kind": kind,
            "severity": severity,
            "actor": actor,
            "details": Jsonb(details),
        },
    )


def set_monitoring_paused(conn: Conn, patient_id: UUID, *, paused: bool) -> bool:
    """Pause or resume a patient's monitoring; False if there is no such patient."""
    with conn.transaction():
        name = "pause_monitoring" if paused else "resume_monitoring"
        return conn.execute(query(name), {"patient_id": patient_id}).fetchone() is not None


def acknowledge_alert(conn: Conn, alert_id: UUID) -> tuple[str, UUID] | None:
    """Acknowledge an open alert; its severity and patient, or None if it is not open."""
    row = conn.execute(query("acknowledge_alert"), {"alert_id": alert_id}).fetchone()
    return None if row is None else (str(row[1]), UUID(str(row[2])))


def resolve_alert(conn: Conn, alert_id: UUID, outcome: str) -> str | None:
    """Resolve an open or acknowledged alert; its severity, or None if neither."""
    row = conn.execute(
        query("resolve_alert"), {"alert_id": alert_id, "outcome": outcome}
    ).fetchone()
    return None if row is None else str(row[1])


def alert_state(conn: Conn, alert_id: UUID) -> str | None:
    row = conn.execute(query("alert_state"), {"alert_id": alert_id}).fetchone()
    return None if row is None else str(row[0])
