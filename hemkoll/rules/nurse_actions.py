"""The nurse's side of the alert state machine: acknowledge, resolve with an outcome.

Each transition is checked against ``alerting.TRANSITIONS``, made in one transaction with its
event (who, when, and the note or outcome), and refused with a specific reason otherwise. The
care-team API calls these; so can the tests and an administrator's tools.
"""

from __future__ import annotations

from uuid import UUID

from hemkoll.rules.alerting import TRANSITIONS, AlertState, Outcome
from hemkoll.store import evaluation as store


class TransitionRefused(ValueError):
    """An alert transition that is not allowed from the alert's state, with the reason."""


def _check(conn: store.Conn, alert_id: UUID, action: str) -> None:
    state = store.alert_state(conn, alert_id)
    if state is None:
        raise TransitionRefused(f"no alert {alert_id}")
    if AlertState(state) not in TRANSITIONS[action]:
        raise TransitionRefused(f"cannot {action} an alert that is {state}")


def acknowledge(conn: store.Conn, alert_id: UUID, *, by: str, note: str = "") -> None:
    with conn.transaction():
        _check(conn, alert_id, "acknowledge")
        severity = store.acknowledge_alert(conn, alert_id)
        if severity is None:  # changed state since the check (another nurse)
            raise TransitionRefused("the alert was changed by someone else; reload it")
        store.insert_event(
            conn,
            alert_id,
            kind="acknowledged",
            severity=severity,
            actor=by,
            details={"note": note},
        )


def resolve(conn: store.Conn, alert_id: UUID, outcome: Outcome, *, by: str, note: str = "") -> None:
    with conn.transaction():
        _check(conn, alert_id, "resolve")
        severity = store.resolve_alert(conn, alert_id, outcome.value)
        if severity is None:
            raise TransitionRefused("the alert was changed by someone else; reload it")
        store.insert_event(
            conn,
            alert_id,
            kind="resolved",
            severity=severity,
            actor=by,
            details={"outcome": outcome.value, "note": note},
        )
