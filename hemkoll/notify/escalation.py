"""Escalation: a red alert nobody acknowledged in time goes to the centre's escalation contact.

"In time" is the health centre's ``escalate_after``, counted from when the alert turned red
(``severity_since``). The dispatcher's scheduler calls ``escalate_due`` every half minute; any
number of dispatchers may, at once: the due alerts are row-locked (SKIP LOCKED) for the
transaction that marks them escalated, writes the ``escalated`` event and queues the webhook,
so each alert is escalated once.

Where it goes: the centre's escalation webhook, if it has one, and the console worklists of the
other units of her care team that see her (a home-care unit with her consent: an escalated
alert is what their worklist shows of her, docs/access.md). An alert with neither cannot
escalate: it is left as it is (escalated as soon as either exists) and counted in a warning on
every pass, since a red alert is then waiting with nobody else told.
"""

from __future__ import annotations

import logging
from datetime import datetime

from hemkoll.store import alert_actions, notifications
from hemkoll.store.connect import Conn

log = logging.getLogger(__name__)

ACTOR = "scheduler"


def escalate_due(conn: Conn, now: datetime) -> int:
    """Escalate every red alert due at ``now`` (aware) whose centre can be; how many were.

    One transaction (committed here unless the caller has one open).
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    escalated = 0
    woken = False
    with conn.transaction():
        for due in alert_actions.lock_due_escalations(conn, now):
            if not alert_actions.mark_escalated(conn, due.alert_id, now):
                continue
            notification_id = (
                notifications.enqueue_alert_webhook(
                    conn,
                    due.alert_id,
                    event="alert.escalated",
                    channel="escalation",
                    evidence_from="earlier",
                )
                if due.has_endpoint
                else None
            )
            alert_actions.insert_event(
                conn,
                due.alert_id,
                kind="escalated",
                severity="red",
                actor=ACTOR,
                details={
                    "contact": due.escalation_contact,
                    "escalate_after_s": int(due.escalate_after.total_seconds()),
                    "notification_id": None if notification_id is None else str(notification_id),
                    "care_team": due.to_care_team,
                },
            )
            escalated += 1
            woken = woken or notification_id is not None
        if woken:
            notifications.notify_dispatchers(conn)
        stuck, centres = alert_actions.escalations_without_endpoint(conn, now)
    if escalated:
        log.info("escalated %d red alerts", escalated)
    if stuck:
        log.warning(
            "%d red alerts are due for escalation but %d health centres have no escalation "
            "endpoint and nobody else in those patients' care teams sees them; they stay with "
            "the health centre",
            stuck,
            centres,
        )
    return escalated
