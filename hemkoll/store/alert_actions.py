"""What is done to an alert once it is open, and its history (the ``alert_events`` table).

The care team acknowledges, resolves and assigns alerts (``hemkoll.alerts.nurse_actions`` checks
the transition); the escalation scheduler marks red alerts escalated. Each of these, and the
rules worker's opening and raising of an alert (``alerts``), appends an event to the alert's
history, which is read back here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query


@dataclass(frozen=True)
class AlertEvent:
    id: int
    at: datetime
    kind: str
    severity: str | None
    actor: str
    details: dict[str, Any]


@dataclass(frozen=True)
class NewEvent:
    """An entry to append to an alert's history."""

    alert_id: UUID
    kind: str
    severity: str | None
    actor: str
    details: dict[str, Any]


def insert_event(
    conn: Conn,
    alert_id: UUID,
    *,
    kind: str,
    severity: str | None,
    actor: str,
    details: dict[str, Any],
) -> None:
    insert_events(conn, [NewEvent(alert_id, kind, severity, actor, details)])


def insert_events(conn: Conn, events: Sequence[NewEvent]) -> None:
    """Append the events in their order, in one statement (a batch's, the rules worker's)."""
    if not events:
        return
    conn.execute(
        query("insert_alert_events"),
        {
            "alert_ids": [e.alert_id for e in events],
            "kinds": [e.kind for e in events],
            "severities": [e.severity for e in events],
            "actors": [e.actor for e in events],
            "details": [Jsonb(e.details) for e in events],
        },
    )


def events(conn: Conn, alert_id: UUID) -> list[AlertEvent]:
    with conn.cursor(row_factory=class_row(AlertEvent)) as cur:
        return cur.execute(query("alert_events"), {"alert_id": alert_id}).fetchall()


def acknowledge_alert(
    conn: Conn, alert_id: UUID, at: datetime | None = None
) -> tuple[str, UUID] | None:
    """Acknowledge an open alert (``at``: when, None: now); its severity and patient, or None
    if it is not open."""
    row = conn.execute(query("acknowledge_alert"), {"alert_id": alert_id, "at": at}).fetchone()
    return None if row is None else (str(row[1]), UUID(str(row[2])))


def resolve_alert(
    conn: Conn, alert_id: UUID, outcome: str, at: datetime | None = None
) -> str | None:
    """Resolve an open or acknowledged alert (``at``: when, None: now); its severity, or None
    if neither."""
    row = conn.execute(
        query("resolve_alert"), {"alert_id": alert_id, "outcome": outcome, "at": at}
    ).fetchone()
    return None if row is None else str(row[1])


def patient_of(conn: Conn, alert_id: UUID) -> UUID:
    row = conn.execute(query("alert_patient"), {"alert_id": alert_id}).fetchone()
    if row is None:
        raise LookupError(f"no alert {alert_id}")
    return UUID(str(row[0]))


def alert_state(conn: Conn, alert_id: UUID) -> str | None:
    row = conn.execute(query("alert_state"), {"alert_id": alert_id}).fetchone()
    return None if row is None else str(row[0])


def assign(conn: Conn, alert_id: UUID, staff_id: UUID | None) -> bool:
    """Assign an unresolved alert (None: unassign); False if it is resolved."""
    row = conn.execute(
        query("assign_alert"), {"alert_id": alert_id, "staff_id": staff_id}
    ).fetchone()
    return row is not None


@dataclass(frozen=True)
class DueEscalation:
    alert_id: UUID
    health_centre_id: UUID
    escalation_contact: str | None
    escalate_after: timedelta
    # Where it goes: the centre's escalation webhook, and/or the worklists of the other units
    # of her care team that see her (shares_with_care_team, migration 0022).
    has_endpoint: bool
    to_care_team: bool


def lock_due_escalations(conn: Conn, now: datetime) -> list[DueEscalation]:
    """Due escalations that someone else can take (the centre's escalation endpoint, or her
    care team), row-locked until the caller's transaction ends."""
    with conn.cursor(row_factory=class_row(DueEscalation)) as cur:
        return cur.execute(query("lock_due_escalations"), {"now": now}).fetchall()


def mark_escalated(conn: Conn, alert_id: UUID, now: datetime) -> bool:
    return (
        conn.execute(query("mark_alert_escalated"), {"alert_id": alert_id, "now": now}).fetchone()
        is not None
    )


def escalations_without_endpoint(conn: Conn, now: datetime) -> tuple[int, int]:
    """Red alerts due for escalation with nowhere to go (no endpoint, nobody else in her care
    team who sees her): (alerts, centres)."""
    row = conn.execute(query("escalations_without_endpoint"), {"now": now}).fetchone()
    return (0, 0) if row is None else (int(row[0]), int(row[1]))
