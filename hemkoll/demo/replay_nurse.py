"""The demo's simulated nurse during the fast replay, on the replay's simulated clock.

While the past days are replayed (``hemkoll.demo.lockstep``), simulated time runs thousands of
times faster than the wall clock, so a nurse acting after wall-clock seconds would resolve
alerts weeks of replayed time late (or, stamped with the wall clock, weeks in the future of
every finding), and the rules worker, which judges a finding against when the nurse resolved
the alert, would decide otherwise than a backtest of the same readings. This nurse works the
centre's worklist at each of the replay's steps instead, exactly as the backtest's nurse does
(``hemkoll.rules.backtest``): she acknowledges each alert ``ACKNOWLEDGED_AFTER`` after its first
finding and resolves it ``RESOLVED_AFTER`` after, each action stamped with that simulated
moment: she acts through the care-team API as the staff member the demo made for her, with her
own token (the audit log records her), and the demo's API stamps the care team's actions with
the replay's clock (``ApiConfig.alert_clock``), set to the moment each is due while she acts.
Her outcomes and notes are the live nurse's (``outcome_for``), so the worklist reads the same
before and after the replay catches up. Once it has, the webhook-driven
nurse (``hemkoll.simulator.receiver.Nurse``) takes the alerts still open.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal
from uuid import UUID

import httpx

from hemkoll.rules.backtest import ACKNOWLEDGED_AFTER, RESOLVED_AFTER
from hemkoll.simulator.receiver.nurse import (
    ACKNOWLEDGE_NOTE,
    CONFLICT_STATUS,
    RESOLVE_NOTES,
    outcome_for,
)
from hemkoll.store.alerts import Unresolved, centre_unresolved
from hemkoll.store.connect import Conn

if TYPE_CHECKING:
    from hemkoll.demo.lockstep import SimulatedClock

log = logging.getLogger(__name__)

# The API is in this process and answers in milliseconds; a hung call fails the action.
REQUEST_TIMEOUT_S = 10.0


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


class ReplayNurse:
    """``api_url``/``token``: the care-team API and the simulated nurse's own token."""

    def __init__(self, centre: UUID, api_url: str, token: str, seed: int) -> None:
        self._centre = centre
        self._seed = seed
        self._client = httpx.Client(
            base_url=api_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=REQUEST_TIMEOUT_S,
        )
        self.acknowledged = 0
        self.resolved = 0
        # Someone else (the visitor) acted on the alert first (409).
        self.conflicts = 0
        # Any other answer, or none (logged).
        self.failures = 0

    def close(self) -> None:
        self._client.close()

    def worklist(self, conn: Conn) -> list[Unresolved]:
        rows = centre_unresolved(conn, self._centre)
        conn.commit()
        return rows

    def next_resolve(self, conn: Conn) -> datetime | None:
        """When she next resolves an alert (None: nothing to resolve): the moment a replay's
        step must stop at, since a resolution changes what the rules decide of later findings
        (an acknowledgement changes nothing: a step may pass it; she is stamped with its own
        moment all the same, ``act_until``)."""
        resolves = (d.at for d in dues(self.worklist(conn)) if d.action == "resolve")
        return min(resolves, default=None)

    def act_until(self, conn: Conn, now: datetime, clock: SimulatedClock) -> None:
        """Do everything due at or before ``now``, in order, the clock at each one's own
        moment while she acts (the API stamps her action with it), then at ``now`` again.
        (Only an acknowledgement of an alert opened in the step just evaluated can lie inside
        it; nothing is evaluated meanwhile, as the evaluation queue is empty.)"""
        try:
            for due in dues(self.worklist(conn)):
                if due.at > now:
                    break
                clock.set(due.at)
                self._perform(due)
        finally:
            clock.set(now)

    def _perform(self, due: Due) -> None:
        if due.action == "acknowledge":
            body = {"note": ACKNOWLEDGE_NOTE}
        else:
            outcome = outcome_for(str(due.alert_id), self._seed)
            body = {"outcome": outcome, "note": RESOLVE_NOTES[outcome]}
        path = f"/api/v1/alerts/{due.alert_id}/{due.action}"
        try:
            response = self._client.post(path, json=body)
        except httpx.HTTPError as exc:
            self.failures += 1
            log.warning(
                "replay nurse: %s of alert %s got no answer: %r", due.action, due.alert_id, exc
            )
            return
        if response.status_code == CONFLICT_STATUS:
            self.conflicts += 1
            log.info("replay nurse: alert %s was already handled (409)", due.alert_id)
        elif not response.is_success:
            self.failures += 1
            log.warning(
                "replay nurse: %s of alert %s answered %d",
                due.action,
                due.alert_id,
                response.status_code,
            )
        elif due.action == "acknowledge":
            self.acknowledged += 1
        else:
            self.resolved += 1
