"""The console's world: the API's two health centres and their staff (tests/api/conftest.py),
with 95 days of readings for centre A's patient (a weight gain over the last five days, a few
days without a reading) and alerts of realistic rules, one of them resolved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from hemkoll.store import alerts
from hemkoll.store.alerts import AlertContent
from hemkoll.store.connect import Conn, connect
from tests.api.conftest import CLIENT, Centre, World, client, world
from tests.console.browser import browser, server, shots

# The browser fixtures are defined once, here, for every browser test module: screenshots
# are kept side by side for the whole session.
__all__ = [
    "CLIENT",
    "Centre",
    "Seeded",
    "World",
    "browser",
    "client",
    "seeded",
    "server",
    "shots",
    "world",
]

TZ = ZoneInfo("Europe/Stockholm")
SEED_DAYS = 95
# Days before today without any reading: the charts must show them.
MISSING_DAYS = frozenset({4, 11, 12, 40})
ORIGIN = "http://testserver"


@dataclass
class Seeded:
    world: World
    trend_alert: UUID
    resolved_alert: UUID
    today: date


def weight_on(days_ago: int) -> float:
    """80 kg, then 0.7 kg more each of the last five days."""
    return round(80.0 + 0.7 * max(0, 6 - days_ago), 1)


def seed_readings(conn: Conn, centre: Centre, *, now: datetime) -> None:
    conn.execute(
        "UPDATE patients SET enrolled_at = %s WHERE id = %s",
        (now - timedelta(days=SEED_DAYS + 5), centre.patient_id),
    )
    today = now.astimezone(TZ).date()
    rows = []
    for ago in range(SEED_DAYS, 0, -1):
        if ago in MISSING_DAYS:
            continue
        morning = datetime.combine(today - timedelta(days=ago), time(7, 30), TZ)
        for minute, metric, value in (
            (0, "body_weight", weight_on(ago)),
            (5, "systolic_bp", 125.0 + ago % 7),
            (5, "diastolic_bp", 78.0 + ago % 3),
            (5, "heart_rate", 66.0 + ago % 5),
            (8, "spo2", 96.0 + ago % 2),
            (10, "symptom_breathlessness", 1.0 if ago <= 3 else 0.0),
        ):
            at = morning + timedelta(minutes=minute)
            rows.append((centre.patient_id, centre.device_id, metric, value, at))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO readings (patient_id, device_id, metric, value, measured_at) "
            "VALUES (%s, %s, %s, %s, %s)",
            rows,
        )


def add_alert(
    conn: Conn,
    patient_id: UUID,
    *,
    rule_id: str,
    rule_kind: str,
    severity: str,
    opened_at: datetime,
    explanation_en: str,
    explanation_sv: str,
    evidence: dict[str, object],
) -> UUID:
    content = AlertContent(
        rule_id=rule_id,
        rule_kind=rule_kind,
        severity=severity,
        fired_at=opened_at,
        evidence=evidence,
        explanation_en=explanation_en,
        explanation_sv=explanation_sv,
    )
    alert_id = alerts.insert_alert(conn, patient_id, "heart-failure programme v2", content)
    conn.execute(
        "UPDATE alerts SET opened_at = %s, severity_since = %s WHERE id = %s",
        (opened_at, opened_at, alert_id),
    )
    return alert_id


def add_late_systolic(
    conn: Conn, patient_id: UUID, *, measured_at: datetime, opened_at: datetime
) -> UUID:
    """A red systolic finding measured long before its alert opened (a device's backlog)."""
    alert_id = add_alert(
        conn,
        patient_id,
        rule_id="systolic_bp_urgent",
        rule_kind="threshold",
        severity="red",
        opened_at=opened_at,
        explanation_en="Systolic blood pressure 79 mmHg (below 80 mmHg).",
        explanation_sv="Systoliskt blodtryck 79 mmHg (under 80 mmHg).",
        evidence={"value": 79.0, "low": 80.0, "consecutive": 1},
    )
    conn.execute(
        "UPDATE alerts SET first_fired_at = %s, last_fired_at = %s WHERE id = %s",
        (measured_at, measured_at, alert_id),
    )
    return alert_id


REMINDER_RULES = ("weight_missing_48h", "bp_missing_72h", "weight_missing_by_noon")


def add_reminders(
    conn: Conn,
    patient_id: UUID,
    *,
    opened_at: datetime,
    rule_ids: tuple[str, ...] = REMINDER_RULES,
) -> list[UUID]:
    """Open missing-measurement reminders (rule kind ``missing``) for the patient, one per rule."""
    return [
        add_alert(
            conn,
            patient_id,
            rule_id=rule_id,
            rule_kind="missing",
            severity="yellow",
            opened_at=opened_at + timedelta(minutes=i),
            explanation_en="No reading has come for 48 hours.",
            explanation_sv="Ingen mätning har kommit på 48 timmar.",
            evidence={"after_hours": 48},
        )
        for i, rule_id in enumerate(rule_ids)
    ]


@pytest.fixture
def seeded(world: World, db_url: str) -> Seeded:
    now = datetime.now(UTC)
    with connect(db_url) as conn, conn.transaction():
        seed_readings(conn, world.a, now=now)
        trend = add_alert(
            conn,
            world.a.patient_id,
            rule_id="weight_trend",
            rule_kind="trend",
            severity="yellow",
            opened_at=now - timedelta(days=2, hours=3),
            explanation_en="Morning weight is rising: the 3-day average is 1.2 kg above the "
            "21-day average.",
            explanation_sv="Morgonvikten stiger: 3-dagarsmedelvärdet är 1,2 kg över "
            "21-dagarsmedelvärdet.",
            evidence={"macd_kg": 1.2, "short_days": 3, "long_days": 21},
        )
        opened = now - timedelta(days=20)
        resolved = add_alert(
            conn,
            world.a.patient_id,
            rule_id="spo2_urgent",
            rule_kind="threshold",
            severity="red",
            opened_at=opened,
            explanation_en="Oxygen saturation 88 % twice in a row (below 90 %).",
            explanation_sv="Syremättnad 88 % två gånger i rad (under 90 %).",
            evidence={"value": 88.0, "low": 90.0, "consecutive": 2},
        )
        conn.execute(
            "UPDATE alerts SET state = 'resolved', acknowledged_at = %s, resolved_at = %s, "
            "outcome = 'contacted_patient' WHERE id = %s",
            (opened + timedelta(minutes=30), opened + timedelta(hours=3), resolved),
        )
    return Seeded(world, trend, resolved, now.astimezone(TZ).date())


def sign_in(client: TestClient, token: str) -> None:
    """Sign the test client in to the console (its cookie jar keeps the session)."""
    answer = client.post(
        "/console/sign-in",
        data={"token": token},
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
