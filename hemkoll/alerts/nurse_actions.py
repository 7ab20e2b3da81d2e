"""The care team's side of the alert state machine: acknowledge, resolve, assign, comment.

Each transition is checked against ``alerting.TRANSITIONS``, made in one transaction with its
event (who, when, and the note or outcome), and refused with a specific reason otherwise.
Acknowledging also queues the patient's message ("a nurse has seen your measurements") in the
same transaction; resolving with a note writes the note in the patient's contact log too, of the
kind the outcome says (``CONTACT_KIND``), linked to the alert. The care-team API calls these;
so can the tests and an administrator's tools.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

from hemkoll.alerts.patient_messages import ALERT_ACKNOWLEDGED, tell
from hemkoll.rules.alerting import TRANSITIONS, AlertState, Outcome
from hemkoll.store import alert_actions, contact_log
from hemkoll.store.connect import Conn
from hemkoll.store.contact_log import ContactKind

# The contact log entry a resolve note becomes: a patient contacted was called; one referred
# was handed over to another care giver; the other outcomes are notes (no contact recorded).
CONTACT_KIND: Mapping[Outcome, ContactKind] = {
    Outcome.CONTACTED_PATIENT: "call_out",
    Outcome.REFERRED: "hand_over",
    Outcome.MEDICATION_ADJUSTED: "note",
    Outcome.NO_ACTION_NEEDED: "note",
    Outcome.FALSE_ALARM: "note",
}
STAFF_ACTOR = "staff:"


class TransitionRefused(ValueError):
    """An alert transition that is not allowed from the alert's state, with the reason."""


def _check(conn: Conn, alert_id: UUID, action: str) -> None:
    state = alert_actions.alert_state(conn, alert_id)
    if state is None:
        raise TransitionRefused(f"no alert {alert_id}")
    if AlertState(state) not in TRANSITIONS[action]:
        raise TransitionRefused(f"cannot {action} an alert that is {state}")


def acknowledge(
    conn: Conn, alert_id: UUID, *, by: str, note: str = "", at: datetime | None = None
) -> None:
    """``at``: when she acknowledged it (None: now; a replay's simulated nurse acts on the
    replay's simulated clock, which the rules worker judges resolutions by)."""
    with conn.transaction():
        _check(conn, alert_id, "acknowledge")
        acknowledged = alert_actions.acknowledge_alert(conn, alert_id, at)
        if acknowledged is None:  # changed state since the check (another nurse)
            raise TransitionRefused("the alert was changed by someone else; reload it")
        severity, patient_id = acknowledged
        alert_actions.insert_event(
            conn,
            alert_id,
            kind="acknowledged",
            severity=severity,
            actor=by,
            details={"note": note},
        )
        tell(conn, patient_id, ALERT_ACKNOWLEDGED, alert_id=alert_id)


def _staff_of(by: str) -> UUID | None:
    """The staff member an actor names (``Principal.actor``), None for anyone else."""
    if not by.startswith(STAFF_ACTOR):
        return None
    try:
        return UUID(by.removeprefix(STAFF_ACTOR))
    except ValueError:
        return None


def resolve(
    conn: Conn,
    alert_id: UUID,
    outcome: Outcome,
    *,
    by: str,
    note: str = "",
    at: datetime | None = None,
) -> None:
    """Resolve with an outcome (``at``: as ``acknowledge``'s); a note from a member of staff
    goes in the contact log too."""
    with conn.transaction():
        _check(conn, alert_id, "resolve")
        severity = alert_actions.resolve_alert(conn, alert_id, outcome.value, at)
        if severity is None:
            raise TransitionRefused("the alert was changed by someone else; reload it")
        alert_actions.insert_event(
            conn,
            alert_id,
            kind="resolved",
            severity=severity,
            actor=by,
            details={"outcome": outcome.value, "note": note},
        )
        author = _staff_of(by)
        if note.strip() and author is not None:
            patient_id = alert_actions.patient_of(conn, alert_id)
            contact_log.add(
                conn,
                patient_id,
                kind=CONTACT_KIND[outcome],
                text=note,
                author=author,
                alert_id=alert_id,
            )


def assign(conn: Conn, alert_id: UUID, staff_id: UUID | None, *, by: str) -> None:
    """Give the alert to a member of staff (None: to nobody); not once it is resolved."""
    with conn.transaction():
        if not alert_actions.assign(conn, alert_id, staff_id):
            raise TransitionRefused("cannot assign an alert that is resolved")
        alert_actions.insert_event(
            conn,
            alert_id,
            kind="assigned",
            severity=None,
            actor=by,
            details={"assigned_to": None if staff_id is None else str(staff_id)},
        )


def comment(conn: Conn, alert_id: UUID, text: str, *, by: str) -> None:
    if not text.strip():
        raise TransitionRefused("a comment needs some text")
    with conn.transaction():
        alert_actions.insert_event(
            conn, alert_id, kind="commented", severity=None, actor=by, details={"text": text}
        )
