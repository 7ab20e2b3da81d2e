"""Escalation to the care team's worklists: a red alert nobody at her health centre took goes to
the other units of her care team that see her, with or without the centre's escalation webhook,
and "sees her" is the access decision's, not a second rule (shares_with_care_team, 0022)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import psycopg
import pytest

from hemkoll.access.decision import Viewer, decide
from hemkoll.notify.escalation import escalate_due
from hemkoll.store import care_team, health_centres, patients, staff
from hemkoll.store.connect import Conn, connect
from hemkoll.store.health_centres import CentreSettings
from tests.helpers import scalar
from tests.notify.support import open_alert

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(days=3)
ENDED = NOW - timedelta(hours=1)
AFTER = timedelta(minutes=30)

# Each patient's sharing with the municipality's home care (H), and with another health centre
# of her own region (B): every combination, each on a patient of her own.
RELATIONSHIP = ("none", "open", "ended")
CONSENT = ("none", "in_force", "withdrawn")
BLOCK = ("none", "in_force", "lifted")
SAME_PROVIDER = ("none", "open")
STATES = list(itertools.product(RELATIONSHIP, CONSENT, BLOCK, SAME_PROVIDER))


def _units(conn: Conn) -> tuple[UUID, UUID, UUID, UUID, UUID]:
    """(home centre, its provider, a sister centre, home care, the municipality)."""
    home = health_centres.create_centre(
        conn, "VC Tuna", CentreSettings(escalate_after_minutes=int(AFTER.total_seconds() // 60))
    )
    sister = health_centres.create_centre(conn, "VC Norr", CentreSettings())
    municipality = care_team.create_provider(
        conn, name="Tuna kommun", kind="municipality", hsa_id=None
    )
    home_care = health_centres.create_centre(
        conn,
        "Hemsjukvården Tuna",
        CentreSettings(),
        care_provider_id=municipality.id,
        unit_kind="home_care",
    )
    region = care_team.unit_provider(conn, home.id)
    assert region is not None
    return home.id, region, sister.id, home_care.id, municipality.id


def _share(
    conn: Conn,
    patient_id: UUID,
    state: tuple[str, str, str, str],
    *,
    home_care: UUID,
    municipality: UUID,
    sister: UUID,
    by: UUID,
) -> None:
    relationship, consent, block, same_provider = state
    who = {"patient_id": patient_id}
    if relationship != "none":
        care_team.start_relationship(conn, **who, unit_id=home_care, recorded_by=by, now=EARLIER)
    if relationship == "ended":
        care_team.end_relationship(conn, **who, unit_id=home_care, now=ENDED)
    if consent != "none":
        care_team.record_consent(
            conn,
            **who,
            care_provider_id=municipality,
            scope="monitoring",
            recorded_by=by,
            now=EARLIER,
        )
    if consent == "withdrawn":
        care_team.withdraw_consent(conn, **who, care_provider_id=municipality, now=ENDED)
    if block != "none":
        care_team.record_block(
            conn, **who, care_provider_id=municipality, recorded_by=by, now=EARLIER
        )
    if block == "lifted":
        care_team.lift_block(conn, **who, care_provider_id=municipality, now=ENDED)
    if same_provider == "open":
        care_team.start_relationship(conn, **who, unit_id=sister, recorded_by=by, now=EARLIER)


def test_the_care_team_that_escalation_reaches_is_the_one_the_decision_lets_see_her(
    db_url: str,
) -> None:
    with connect(db_url) as conn, conn.transaction():
        home, region, sister, home_care, municipality = _units(conn)
        nurse = staff.create_staff(conn, name="nurse", role="nurse", health_centre_id=home)
        ids = []
        for n, state in enumerate(STATES):
            patient = patients.create_patient(
                conn,
                health_centre_id=home,
                reference=f"TUNA-{n:04d}",
                language="sv",
                timezone="Europe/Stockholm",
            )
            _share(
                conn,
                patient.id,
                state,
                home_care=home_care,
                municipality=municipality,
                sister=sister,
                by=nurse.id,
            )
            ids.append(patient.id)
        facts = care_team.sharing(conn, ids, staff_id=uuid4())
        viewers = [
            Viewer(uuid4(), "nurse", home_care, municipality),
            Viewer(uuid4(), "nurse", sister, region),
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
        home, _, sister, home_care, municipality = _units(conn)
        nurse = staff.create_staff(conn, name="nurse", role="nurse", health_centre_id=home)
        patient = patients.create_patient(
            conn,
            health_centre_id=home,
            reference="TUNA-0042",
            language="sv",
            timezone="Europe/Stockholm",
        )
        state = ("open", "in_force" if consent else "none", "none", "none")
        _share(
            conn,
            patient.id,
            state,
            home_care=home_care,
            municipality=municipality,
            sister=sister,
            by=nurse.id,
        )
        alert_id, _ = open_alert(conn, patient.id, severity="red", notify=False)
        conn.execute("UPDATE alerts SET severity_since = %s WHERE id = %s", (NOW, alert_id))
        conn.commit()
    return patient.id, alert_id


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
