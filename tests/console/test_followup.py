"""The programme follow-up figures (hemkoll.store.followup) against a small data set worked out
by hand, over ten local days of Europe/Stockholm that take in the change to summer time
(Sunday 29 March 2026: a 23-hour day), with readings near local midnight on both sides.

Health centre C, period 25 March - 3 April 2026 (ten days):

* P1 enrolled 20 March: 10 patient-days. Weighed on 25, 26 (twice), 27, 28 (23:30), 29 (01:30,
  the night of the change), 30 March, 1 April (23:30) and 3 April (00:15, which is 2 April in
  UTC): 8 days. Not on 31 March (a blood pressure only) or 2 April. Also 24 March and 4 April,
  outside the period.
* P2 enrolled 30 March 15:00: 5 patient-days (30 March - 3 April); weighed 30 March, 2 April.
* P3 enrolled 1 March, discharged 27 March 12:00: 2 patient-days (25, 26); weighed 25, 26 and
  27 (the discharge day, not a patient-day).
* P4 enrolled 5 April: none. Centre D's patient: not C's.

So 17 patient-days, 12 weighed (70.6 %), 3 patients monitored, 1 enrolled and 1 discharged in
the period, 2 enrolled at its end; 17 / 30.4375 = 0.5585 patient-months.

Alerts opened in the period: A1 (P1 weight_trend, 25 March 08:00; acknowledged after 30 min,
resolved after 2 h, contacted the patient), A2 (P1 spo2_urgent, 29 March 09:00 summer time;
10 min, 12 h, medication adjusted), A3 (P2 weight_trend, 2 April 10:00; 60 min, unresolved),
A4 (P3 weight_trend, 26 March 07:00; never acknowledged, resolved after 12 h, false alarm).
Outside it: 24 March 23:59 and 4 April 00:30 (P1), and one of centre D's. Hence 4 alerts,
weight_trend 3 (5.37 per patient-month) and spo2_urgent 1 (1.79), 3 acknowledged with a median
of 30 min, 3 resolved with a median of 12 h, one outcome each.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from hemkoll.api.console.catalogue import MONTHS
from hemkoll.store import devices, health_centres, patients
from hemkoll.store.connect import Conn, connect
from hemkoll.store.followup import DAYS_PER_MONTH, followup
from hemkoll.store.health_centres import CentreSettings
from tests.console.conftest import ORIGIN, Seeded, add_alert, sign_in

TZ = ZoneInfo("Europe/Stockholm")
FIRST, LAST = date(2026, 3, 25), date(2026, 4, 3)


def at(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"2026-{day}T{clock}").replace(tzinfo=TZ)


def _patient(
    conn: Conn, centre: UUID, ref: str, enrolled: datetime, discharged: datetime | None = None
) -> tuple[UUID, UUID]:
    patient = patients.create_patient(
        conn, health_centre_id=centre, reference=ref, language="sv", timezone="Europe/Stockholm"
    )
    device = devices.add_device(conn, patient.id, "scale").device.id
    conn.execute(
        "UPDATE patients SET enrolled_at = %s, discharged_at = %s WHERE id = %s",
        (enrolled, discharged, patient.id),
    )
    return patient.id, device


def _readings(
    conn: Conn, patient: UUID, device: UUID, *times: datetime, metric: str = "body_weight"
) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO readings (patient_id, device_id, metric, value, measured_at) "
            "VALUES (%s, %s, %s, 80.0, %s)",
            [(patient, device, metric, t) for t in times],
        )


def _alert(
    conn: Conn,
    patient: UUID,
    rule_id: str,
    opened: datetime,
    *,
    acknowledged: timedelta | None = None,
    resolved: timedelta | None = None,
    outcome: str | None = None,
) -> None:
    alert_id = add_alert(
        conn,
        patient,
        rule_id=rule_id,
        rule_kind="trend",
        severity="yellow",
        opened_at=opened,
        explanation_en="x",
        explanation_sv="x",
        evidence={},
    )
    state = "resolved" if resolved else ("acknowledged" if acknowledged else "open")
    conn.execute(
        "UPDATE alerts SET state = %s, acknowledged_at = %s, resolved_at = %s, outcome = %s "
        "WHERE id = %s",
        (
            state,
            opened + acknowledged if acknowledged else None,
            opened + resolved if resolved else None,
            outcome,
            alert_id,
        ),
    )


@pytest.fixture
def centre(db_url: str) -> UUID:
    with connect(db_url) as conn, conn.transaction():
        c = health_centres.create_centre(conn, "VC C", CentreSettings()).id
        d = health_centres.create_centre(conn, "VC D", CentreSettings()).id
        p1, d1 = _patient(conn, c, "P1", at("03-20", "10:00"))
        _readings(
            conn,
            p1,
            d1,
            at("03-24", "08:00"),
            at("03-25", "07:00"),
            at("03-26", "07:00"),
            at("03-26", "19:00"),
            at("03-27", "07:00"),
            at("03-28", "23:30"),
            at("03-29", "01:30"),
            at("03-30", "07:00"),
            at("04-01", "23:30"),
            at("04-03", "00:15"),
            at("04-04", "00:30"),
        )
        _readings(conn, p1, d1, at("03-31", "07:00"), metric="systolic_bp")
        p2, d2 = _patient(conn, c, "P2", at("03-30", "15:00"))
        _readings(conn, p2, d2, at("03-30", "18:00"), at("04-02", "08:00"))
        p3, d3 = _patient(conn, c, "P3", at("03-01", "09:00"), at("03-27", "12:00"))
        _readings(conn, p3, d3, at("03-25", "07:00"), at("03-26", "07:00"), at("03-27", "07:00"))
        p4, d4 = _patient(conn, c, "P4", at("04-05", "09:00"))
        _readings(conn, p4, d4, at("04-05", "10:00"))
        p5, d5 = _patient(conn, d, "P5", at("03-01", "09:00"))
        _readings(conn, p5, d5, at("03-26", "07:00"))
        minutes, hours = timedelta(minutes=1), timedelta(hours=1)
        _alert(
            conn,
            p1,
            "weight_trend",
            at("03-25", "08:00"),
            acknowledged=30 * minutes,
            resolved=2 * hours,
            outcome="contacted_patient",
        )
        _alert(
            conn,
            p1,
            "spo2_urgent",
            at("03-29", "09:00"),
            acknowledged=10 * minutes,
            resolved=12 * hours,
            outcome="medication_adjusted",
        )
        _alert(conn, p2, "weight_trend", at("04-02", "10:00"), acknowledged=60 * minutes)
        _alert(
            conn,
            p3,
            "weight_trend",
            at("03-26", "07:00"),
            resolved=12 * hours,
            outcome="false_alarm",
        )
        _alert(
            conn,
            p1,
            "bp_missing_72h",
            at("03-24", "23:59"),
            acknowledged=hours,
            resolved=hours,
            outcome="no_action_needed",
        )
        _alert(conn, p1, "weight_trend", at("04-04", "00:30"))
        _alert(conn, p5, "weight_trend", at("03-27", "08:00"))
    return c


def test_every_figure_matches_the_hand_count(db_url: str, centre: UUID) -> None:
    with connect(db_url) as conn:
        f = followup(
            conn,
            centre,
            first_day=FIRST,
            last_day=LAST,
            today=date(2026, 4, 20),
            tz="Europe/Stockholm",
        )
    assert (f.first_day, f.last_day) == (FIRST, LAST)
    assert (f.enrolment.enrolled, f.enrolment.discharged, f.enrolment.at_end) == (1, 1, 2)
    assert (f.adherence.patients, f.adherence.patient_days, f.adherence.weighed_days) == (3, 17, 12)
    assert f.adherence.share == pytest.approx(12 / 17)
    months = 17 / DAYS_PER_MONTH
    assert [(r.rule_id, r.alerts) for r in f.by_rule] == [("weight_trend", 3), ("spo2_urgent", 1)]
    assert [r.per_patient_month for r in f.by_rule] == pytest.approx([3 / months, 1 / months])
    assert f.by_rule[0].per_patient_month == pytest.approx(5.3713, abs=1e-4)
    r = f.response
    assert (r.alerts, r.acknowledged, r.resolved) == (4, 3, 3)
    assert r.median_acknowledge == timedelta(minutes=30)
    assert r.median_resolve == timedelta(hours=12)
    assert sorted((o.outcome, o.alerts) for o in f.outcomes) == [
        ("contacted_patient", 1),
        ("false_alarm", 1),
        ("medication_adjusted", 1),
    ]


def test_today_counts_for_alerts_but_not_yet_for_adherence(db_url: str, centre: UUID) -> None:
    """With today 2 April, the period ends today: A3 (opened 2 April 10:00) is one of its
    alerts. Patient-days and adherence stop at 1 April: P1 8 days (7 weighed), P2 3 (1), P3 2
    (2)."""
    with connect(db_url) as conn:
        f = followup(
            conn,
            centre,
            first_day=FIRST,
            last_day=LAST,
            today=date(2026, 4, 2),
            tz="Europe/Stockholm",
        )
    assert (f.last_day, f.adherence_last_day) == (date(2026, 4, 2), date(2026, 4, 1))
    assert (f.adherence.patient_days, f.adherence.weighed_days) == (13, 10)
    assert (f.response.alerts, f.response.acknowledged) == (4, 3)
    assert f.response.median_acknowledge == timedelta(minutes=30)


def test_today_is_the_centres_day_not_utcs(db_url: str, centre: UUID) -> None:
    """4 April 00:30 in Stockholm is still 3 April in UTC: on 4 April that alert is today's."""
    with connect(db_url) as conn:
        f = followup(
            conn,
            centre,
            first_day=FIRST,
            last_day=date(2026, 4, 4),
            today=date(2026, 4, 4),
            tz="Europe/Stockholm",
        )
    assert f.response.alerts == 5
    assert (f.by_rule[0].rule_id, f.by_rule[0].alerts) == ("weight_trend", 4)
    assert f.adherence_last_day == LAST
    assert (f.adherence.patient_days, f.adherence.weighed_days) == (17, 12)


def test_an_empty_period_has_no_medians_and_no_share(db_url: str, centre: UUID) -> None:
    with connect(db_url) as conn:
        f = followup(
            conn,
            centre,
            first_day=date(2026, 1, 1),
            last_day=date(2026, 1, 31),
            today=date(2026, 4, 20),
            tz="Europe/Stockholm",
        )
        with pytest.raises(ValueError, match="starts"):
            followup(
                conn, centre, first_day=LAST, last_day=FIRST, today=LAST, tz="Europe/Stockholm"
            )
    assert f.adherence.patient_days == 0
    assert f.adherence.share is None
    assert f.by_rule == ()
    assert f.response.median_acknowledge is None
    assert f.response.median_resolve is None


def _figure(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', page)
    assert found is not None, element_id
    return html.unescape(found.group(1))


def test_the_page_counts_the_alerts_opened_today(client: TestClient, seeded: Seeded) -> None:
    """The world's alert was opened a moment ago: the default period (the last 90 days, today
    included) has three alerts, not two; the dates are ISO in the fields and in words beside
    them, in the page's language, never in a browser's format."""
    sign_in(client, seeded.world.a.tokens["nurse"])
    today = seeded.today
    first = today - timedelta(days=89)
    page = client.get("/console/follow-up").text
    assert _figure(page, "alerts") == "3"
    assert re.search(
        rf'<input id="until" name="until" type="text"[^>]*value="{today.isoformat()}"', page
    )
    assert re.search(rf'<input id="from"[^>]*value="{first.isoformat()}"', page)
    assert 'type="date"' not in page
    months = MONTHS["sv"]
    words = f"{first.day} {months[first.month - 1]} {first.year}"
    assert _figure(page, "period").startswith(f"{words} \u2013 ")
    assert "(90 dagar)" in _figure(page, "period")
    assert "i dag är inte slut än" in _figure(page, "adherence-until")
    # A period of one day, today: its alert counts, its adherence waits for the day to end.
    page = client.get(f"/console/follow-up?from={today}&until={today}").text
    assert _figure(page, "alerts") == "1"
    assert "(1 dag)" in _figure(page, "period")
    assert "räknas när dagen är slut" in _figure(page, "adherence-until")
    client.post("/console/language", data={"lang": "en"}, headers={"Origin": ORIGIN})
    page = client.get(f"/console/follow-up?from={today}&until={today}").text
    assert "(1 day)" in _figure(page, "period")
    assert f"{today.day} {MONTHS['en'][today.month - 1]} {today.year}" in _figure(page, "period")
