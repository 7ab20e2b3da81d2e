"""The demo's simulated nurse during the fast replay, on the replay's simulated clock.

While the past days are replayed (``hemkoll.demo.lockstep``), simulated time runs thousands of
times faster than the wall clock, so a nurse acting after wall-clock seconds would resolve
alerts weeks of replayed time late (or, stamped with the wall clock, weeks in the future of
every finding), and the rules worker, which judges a finding against when the nurse resolved
the alert, would decide otherwise than a backtest of the same readings. This nurse works the
centre's worklist at each of the replay's steps instead, exactly as the backtest's nurse does
(``hemkoll.rules.backtest``): she acknowledges each alert ``ACKNOWLEDGED_AFTER`` after its first
finding and resolves it ``RESOLVED_AFTER`` after, each action stamped with that simulated
moment, through the care team's own transitions (``nurse_actions``) as the staff member the
demo made for her. Her outcomes and notes are the live nurse's (``outcome_for``), so the
worklist reads the same before and after the replay catches up. Once it has, the webhook-driven
nurse (``hemkoll.simulator.receiver.Nurse``) takes the alerts still open.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from hemkoll.alerts import nurse_actions
from hemkoll.alerts.nurse_actions import STAFF_ACTOR, TransitionRefused
from hemkoll.rules.alerting import Outcome
from hemkoll.rules.backtest import ACKNOWLEDGED_AFTER, RESOLVED_AFTER
from hemkoll.simulator.receiver.nurse import ACKNOWLEDGE_NOTE, RESOLVE_NOTES, outcome_for
from hemkoll.store.alerts import Unresolved, centre_unresolved
from hemkoll.store.connect import Conn

log = logging.getLogger(__name__)


@dataclass(frozen=True, order=True)
class Due:
    at: datetime
    # Acknowledging first: at the same moment she acknowledges before she resolves.
    order: int
    alert_id: UUID
    action: Literal["acknowledge", "resolve"]


def dues(worklist: list[Unresolved]) -> list[Due]:
    """What the nurse has still to do on ``worklist``, in the order she does it."""
    out: list[Due] = []
    for alert in worklist:
        if alert.state == "open":
            out.append(Due(alert.first_fired_at + ACKNOWLEDGED_AFTER, 0, alert.id, "acknowledge"))
        out.append(Due(alert.first_fired_at + RESOLVED_AFTER, 1, alert.id, "resolve"))
    return sorted(out)


def next_resolve(worklist: list[Unresolved]) -> datetime | None:
    """When she next resolves an alert of ``worklist`` (None: nothing to resolve): the moment a
    replay must stop at, since a resolution changes what the rules decide of later findings
    (an acknowledgement changes nothing: the replay's step may pass it, and she stamps it
    with its own moment)."""
    return min((a.first_fired_at + RESOLVED_AFTER for a in worklist), default=None)


class ReplayNurse:
    def __init__(self, centre: UUID, staff_id: UUID, seed: int) -> None:
        self._centre = centre
        self._actor = f"{STAFF_ACTOR}{staff_id}"
        self._seed = seed
        self.acknowledged = 0
        self.resolved = 0
        # Someone else (the visitor) acted on the alert first.
        self.conflicts = 0

    def worklist(self, conn: Conn) -> list[Unresolved]:
        rows = centre_unresolved(conn, self._centre)
        conn.commit()
        return rows

    def next_resolve(self, conn: Conn) -> datetime | None:
        return next_resolve(self.worklist(conn))

    def act_until(self, conn: Conn, now: datetime) -> None:
        """Do everything due at or before ``now``, each at its own simulated moment."""
        for due in dues(self.worklist(conn)):
            if due.at > now:
                continue
            try:
                if due.action == "acknowledge":
                    nurse_actions.acknowledge(
                        conn, due.alert_id, by=self._actor, note=ACKNOWLEDGE_NOTE, at=due.at
                    )
                    self.acknowledged += 1
                else:
                    outcome = outcome_for(str(due.alert_id), self._seed)
                    nurse_actions.resolve(
                        conn,
                        due.alert_id,
                        Outcome(outcome),
                        by=self._actor,
                        note=RESOLVE_NOTES[outcome],
                        at=due.at,
                    )
                    self.resolved += 1
            except TransitionRefused:
                self.conflicts += 1
                log.info("the simulated nurse found an alert already handled by someone else")
            conn.commit()
