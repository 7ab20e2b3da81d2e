"""Escalation to the care team's worklists: a red alert nobody at her health centre took goes to
the other units of her care team that see her, with or without the centre's escalation webhook,
and "sees her" is the access decision's, not a second rule (shares_with_care_team, 0022)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import psycopg
import pytest

from hemkoll.access.decision import Viewer, decide
from hemkoll.notify.escalation import escalate_due
from hemkoll.store import care_team
from hemkoll.store.connect import connect
from tests.helpers import scalar
from tests.notify.support import open_alert
from tests.sharing_states import AFTER, NOW, STATES, Units


def test_the_care_team_that_escalation_reaches_is_the_one_the_decision_lets_see_her(
    db_url: str,
) -> None:
    with connect(db_url) as conn, conn.transaction():
        grid = Units.create(conn)
        ids = grid.every_state(conn)
        facts = care_team.sharing(conn, ids, staff_id=uuid4())
        viewers = [
            Viewer(uuid4(), "nurse", grid.home_care, grid.municipality),
            Viewer(uuid4(), "nurse", grid.sister, grid.region),
        ]
        mismatches = []
        for patient_id, state in zip(ids, STATES, strict=True):
            row = conn.execute("SELECT shares_with_care_team(%s, %s)", (patient_id, NOW)).fetchone()
            assert row is not None
            decided = any(decide(v, facts[patient_id], NOW).allowed for v in viewers)
            if row[0] != decided:
                mismatches.append((state, row[0], decided))
    assert not mismatches
    # The grid is not trivial: some patients are shared and some are not.
    assert {"open", "none"} <= {s[3] for s in STATES}


def _patient_with_home_care(db_url: str, *, consent: bool) -> tuple[UUID, UUID]:
    """A patient of a centre without an escalation webhook, the home care in her care team
    (with her consent or not), and a red alert red since NOW that nobody took."""
    with connect(db_url) as conn:
        grid = Units.create(conn)
        state = ("open", "in_force" if consent else "none", "none", "none")
        patient_id = grid.patient(conn, 42, state)
        alert_id, _ = open_alert(conn, patient_id, severity="red", notify=False)
        conn.execute("UPDATE alerts SET severity_since = %s WHERE id = %s", (NOW, alert_id))
        conn.commit()
    return patient_id, alert_id


@pytest.mark.parametrize("consent", [True, False], ids=["consent", "no-consent"])
def test_without_a_webhook_a_red_alert_escalates_to_the_home_care_that_sees_her(
    db_url: str, consent: bool
) -> None:
    _, alert_id = _patient_with_home_care(db_url, consent=consent)
    with connect(db_url) as conn:
        assert escalate_due(conn, NOW + AFTER - timedelta(seconds=1)) == 0
        escalated = escalate_due(conn, NOW + AFTER)
    if not consent:
        # Nobody else sees her: the alert stays with her centre (and the pass warns).
        assert escalated == 0
        assert scalar(db_url, "SELECT escalated_at FROM alerts") is None
        return
    assert escalated == 1
    assert scalar(db_url, "SELECT escalated_at FROM alerts") == NOW + AFTER
    # No webhook to queue: the home care's worklist is where it goes.
    assert scalar(db_url, "SELECT count(*) FROM notifications") == 0
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT details FROM alert_events WHERE alert_id = %s AND kind = 'escalated'",
            (alert_id,),
        ).fetchone()
    assert row is not None
    assert (row[0]["notification_id"], row[0]["care_team"]) == (None, True)
