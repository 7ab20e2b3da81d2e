"""Alerts as the care team reads them: the worklist, one alert with its history, assignment.

The rules worker's writes are in ``evaluation``; the nurse's transitions are
``hemkoll.rules.nurse_actions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query


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
class AlertEvent:
    id: int
    at: datetime
    kind: str
    severity: str | None
    actor: str
    details: dict[str, Any]


@dataclass(frozen=True)
class WorklistPosition:
    """Where the previous page ended (the keyset cursor)."""

    severity_order: int
    opened_at: datetime
    id: UUID


def worklist(
    conn: Conn,
    *,
    health_centre_id: UUID,
    states: Sequence[str],
    severity: str | None = None,
    patient_id: UUID | None = None,
    assigned_to: UUID | None = None,
    rule_id: str | None = None,
    after: WorklistPosition | None = None,
    limit: int = 50,
) -> list[WorklistAlert]:
    with conn.cursor(row_factory=class_row(WorklistAlert)) as cur:
        return cur.execute(
            query("worklist"),
            {
                "health_centre_id": health_centre_id,
                "states": list(states),
                "severity": severity,
                "patient_id": patient_id,
                "assigned_to": assigned_to,
                "rule_id": rule_id,
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


def events(conn: Conn, alert_id: UUID) -> list[AlertEvent]:
    with conn.cursor(row_factory=class_row(AlertEvent)) as cur:
        return cur.execute(query("alert_events"), {"alert_id": alert_id}).fetchall()


def assign(conn: Conn, alert_id: UUID, staff_id: UUID | None) -> bool:
    """Assign an unresolved alert (None: unassign); False if it is resolved."""
    row = conn.execute(
        query("assign_alert"), {"alert_id": alert_id, "staff_id": staff_id}
    ).fetchone()
    return row is not None


@dataclass(frozen=True)
class NotificationOwner:
    health_centre_id: UUID
    patient_id: UUID
    alert_id: UUID | None


def notification_owner(conn: Conn, notification_id: UUID) -> NotificationOwner | None:
    with conn.cursor(row_factory=class_row(NotificationOwner)) as cur:
        return cur.execute(
            query("notification_owner"), {"notification_id": notification_id}
        ).fetchone()
