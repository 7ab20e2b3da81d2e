"""Alerts: the rows the rules worker opens, raises and touches, and the care team's reads of
them (the worklist, one alert, a patient's alerts over a period).

What is done to an alert once it is open (acknowledge, resolve, assign, escalate) and the
alert's history are ``alert_actions``; the nurse's transitions are
``hemkoll.alerts.nurse_actions``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query


@dataclass(frozen=True)
class AlertRow:
    """The newest alert of one rule for one patient; ``evidence_rules``: the other rules whose
    evidence it carries (its ``evidence_added`` and ``severity_raised`` events')."""

    id: UUID
    rule_id: str
    state: str
    severity: str
    first_fired_at: datetime
    last_fired_at: datetime
    resolved_at: datetime | None
    outcome: str | None
    rule_kind: str
    evidence_rules: list[str]


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


@dataclass(frozen=True)
class WorklistAlert:
    id: UUID
    patient_id: UUID
    patient_reference: str
    rule_id: str
    rule_kind: str
    rule_set: str
    state: str
    severity: str
    severity_order: int
    opened_at: datetime
    severity_since: datetime
    # measured_at of the reading that opened it (a missing rule's: the deadline that passed).
    first_fired_at: datetime
    last_fired_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    outcome: str | None
    assigned_to: UUID | None
    escalated_at: datetime | None
    explanation_en: str
    explanation_sv: str


@dataclass(frozen=True)
class AlertDetail:
    id: UUID
    patient_id: UUID
    patient_reference: str
    health_centre_id: UUID
    rule_id: str
    rule_kind: str
    rule_set: str
    state: str
    severity: str
    opened_at: datetime
    severity_since: datetime
    first_fired_at: datetime
    last_fired_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    outcome: str | None
    assigned_to: UUID | None
    escalated_at: datetime | None
    evidence: dict[str, Any]
    explanation_en: str
    explanation_sv: str


@dataclass(frozen=True)
class WorklistPosition:
    """Where the previous page ended (the keyset cursor)."""

    severity_order: int
    opened_at: datetime
    id: UUID


def newest_alerts(conn: Conn, patient_ids: Sequence[UUID]) -> dict[UUID, list[AlertRow]]:
    """Per patient, the newest alert of each rule."""
    by_patient: dict[UUID, list[AlertRow]] = {}
    rows = conn.execute(
        query("alert_history_of_patients"), {"patient_ids": list(patient_ids)}
    ).fetchall()
    # Each row is the patient's id, then an AlertRow's columns in its order.
    for patient_id, *alert in rows:
        by_patient.setdefault(patient_id, []).append(AlertRow(*alert))
    return by_patient


def plan_alert_writes_afresh(conn: Conn, afresh: bool) -> None:
    """Whether the rest of the caller's transaction plans each statement for the tables as they
    are (``afresh``, the rules worker's alert writes) or caches plans as usual."""
    conn.execute(query("plan_alert_writes_afresh" if afresh else "plan_writes_as_usual"))


def insert_alert(conn: Conn, patient_id: UUID, rule_set: str, content: AlertContent) -> UUID:
    """A new alert; its id (made here: nothing is fetched, so a pipeline goes on)."""
    alert_id = uuid4()
    conn.execute(
        query("insert_alert"),
        {"id": alert_id, "patient_id": patient_id, "rule_set": rule_set, **content.params()},
    )
    return alert_id


def raise_alert(conn: Conn, alert_id: UUID, content: AlertContent) -> None:
    conn.execute(query("raise_alert"), {"alert_id": alert_id, **content.params()})


def raise_alert_severity(conn: Conn, alert_id: UUID, severity: str, fired_at: datetime) -> None:
    """Raise an unresolved alert's severity for another rule's finding (its evidence stays)."""
    conn.execute(
        query("raise_alert_severity"),
        {"alert_id": alert_id, "severity": severity, "fired_at": fired_at},
    )


def touch_alerts(conn: Conn, touches: Mapping[UUID, datetime]) -> None:
    """Move each alert's last_fired_at on to its finding's fired_at (never back), in one
    statement: the rules' touches of a batch (``alerting.Touch``)."""
    if touches:
        conn.execute(
            query("touch_alerts"),
            {"alert_ids": list(touches), "fired_at": list(touches.values())},
        )


def resolve_by_rules(conn: Conn, alert_id: UUID, outcome: str) -> None:
    """The rules resolve an unresolved alert themselves (``alerting.Resolve``)."""
    conn.execute(query("resolve_alert_by_rules"), {"alert_id": alert_id, "outcome": outcome})


def worklist(
    conn: Conn,
    *,
    health_centre_id: UUID,
    patient_ids: Sequence[UUID],
    states: Sequence[str],
    severity: str | None = None,
    patient_id: UUID | None = None,
    assigned_to: UUID | None = None,
    unassigned: bool = False,
    rule_id: str | None = None,
    rule_kind: str | None = None,
    after: WorklistPosition | None = None,
    limit: int = 50,
) -> list[WorklistAlert]:
    with conn.cursor(row_factory=class_row(WorklistAlert)) as cur:
        return cur.execute(
            query("worklist"),
            {
                "health_centre_id": health_centre_id,
                "patient_ids": list(patient_ids),
                "states": list(states),
                "severity": severity,
                "patient_id": patient_id,
                "assigned_to": assigned_to,
                "unassigned": unassigned,
                "rule_id": rule_id,
                "rule_kind": rule_kind,
                "after_order": None if after is None else after.severity_order,
                "after_opened_at": None if after is None else after.opened_at,
                "after_id": None if after is None else after.id,
                "limit": limit,
            },
        ).fetchall()


def alert_in_scope(
    conn: Conn, alert_id: UUID, *, health_centre_id: UUID | None
) -> AlertDetail | None:
    with conn.cursor(row_factory=class_row(AlertDetail)) as cur:
        return cur.execute(
            query("alert_in_scope"), {"alert_id": alert_id, "health_centre_id": health_centre_id}
        ).fetchone()


def patient_alerts(
    conn: Conn, patient_id: UUID, *, since: datetime, until: datetime
) -> list[AlertDetail]:
    """The patient's alerts opened in [since, until), and older ones still unresolved."""
    with conn.cursor(row_factory=class_row(AlertDetail)) as cur:
        return cur.execute(
            query("patient_alerts"),
            {"patient_id": patient_id, "since": since, "until": until},
        ).fetchall()


@dataclass(frozen=True)
class FlagAlert:
    """What a FHIR Flag is made of (hemkoll.fhir.flag): the alert as the API reads it, or as
    its notification holds it (``hemkoll.fhir.flag.alert_from_payload``)."""

    id: UUID
    patient_id: UUID
    health_centre_id: UUID
    centre_name: str | None
    rule_id: str
    rule_kind: str
    state: str  # open, acknowledged, resolved (the alert state machine)
    severity: str
    opened_at: datetime
    resolved_at: datetime | None
    explanation_en: str
    updated_at: datetime


@dataclass(frozen=True)
class EvidenceReading:
    alert_id: UUID
    metric: str
    value: float
    measured_at: datetime
    device_id: UUID
    received_at: datetime


def flag_alert_in_scope(
    conn: Conn, alert_id: UUID, *, health_centre_id: UUID | None
) -> FlagAlert | None:
    with conn.cursor(row_factory=class_row(FlagAlert)) as cur:
        return cur.execute(
            query("flag_alert_in_scope"),
            {"alert_id": alert_id, "health_centre_id": health_centre_id},
        ).fetchone()


def flag_alerts_page(
    conn: Conn,
    patient_id: UUID,
    *,
    states: Sequence[str],
    updated_since: datetime,
    updated_until: datetime,
    limit: int,
    after: tuple[datetime, UUID] | None,
) -> list[FlagAlert]:
    """A page of the patient's alerts in ``states``, ordered by (opened_at, id) after ``after``."""
    after_at, after_id = after if after is not None else (None, None)
    with conn.cursor(row_factory=class_row(FlagAlert)) as cur:
        return cur.execute(
            query("flag_alerts_page"),
            {
                "patient_id": patient_id,
                "states": list(states),
                "updated_since": updated_since,
                "updated_until": updated_until,
                "after_opened_at": after_at,
                "after_id": after_id,
                "limit": limit,
            },
        ).fetchall()


def evidence_readings(conn: Conn, alert_ids: Sequence[UUID]) -> list[EvidenceReading]:
    """The readings that triggered each alert (migration 0018), by alert then time."""
    if not alert_ids:
        return []
    with conn.cursor(row_factory=class_row(EvidenceReading)) as cur:
        return cur.execute(
            query("alerts_evidence_readings"), {"alert_ids": list(alert_ids)}
        ).fetchall()


@dataclass(frozen=True)
class Unresolved:
    id: UUID
    state: str
    first_fired_at: datetime


def centre_unresolved(conn: Conn, centre: UUID) -> list[Unresolved]:
    """A health centre's unresolved alerts with their state and first finding, oldest first."""
    with conn.cursor(row_factory=class_row(Unresolved)) as cur:
        return cur.execute(query("centre_unresolved_alerts"), {"centre": centre}).fetchall()
