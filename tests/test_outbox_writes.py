"""The outbox is written with the change it announces: the rules worker's alerts, the nurse's
acknowledgement, and the patient's reassurance after in-range readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from psycopg.rows import dict_row

from hemkoll.alerts.nurse_actions import acknowledge, resolve
from hemkoll.alerts.patient_messages import (
    ALERT_ACKNOWLEDGED,
    AS_USUAL,
    FOLLOWED_UP,
    TOLD_NOW,
    TOLD_TODAY,
)
from hemkoll.alerts.worker import RulesConfig, RulesWorker
from hemkoll.rules.alerting import Outcome
from hemkoll.rules.config import Band, RuleSet, ThresholdRule
from hemkoll.store import notifications
from hemkoll.store.connect import connect
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.types import Reading
from tests.helpers import enrol

SPO2 = RuleSet(
    name="test spo2 v1",
    rules=(ThresholdRule(id="spo2_low", metric="spo2", yellow=Band(low=94), red=Band(low=90)),),
)


def _notifications(db_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(db_url) as conn, conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT channel, event, device_id, alert_id, payload, state FROM notifications"
            " ORDER BY created_at, channel"
        ).fetchall()


def _store_and_evaluate(db_url: str, readings: list[Reading]) -> None:
    with connect(db_url) as conn:
        ReadingWriter(conn).write([readings], [])
        RulesWorker(RulesConfig(db_url, SPO2)).process_due(conn)


def test_an_opened_alert_notifies_the_centre_and_the_patient_in_their_language(
    db_url: str,
) -> None:
    e = enrol(db_url, kind="pulse_oximeter")
    scale = enrol(db_url, kind="scale")  # the same patient's other device
    at = datetime.now(UTC) - timedelta(hours=1)
    _store_and_evaluate(db_url, [Reading(e.patient.id, e.device.id, "spo2", 92.0, at)])
    rows = _notifications(db_url)
    webhooks = [r for r in rows if r["channel"] == "care_team"]
    devices = [r for r in rows if r["channel"] == "device"]
    assert [w["event"] for w in webhooks] == ["alert.opened"]
    data = webhooks[0]["payload"]["data"]
    assert data["patient_reference"] == "P-1"
    assert data["severity"] == "yellow"
    assert data["summary_sv"]
    assert set(data) >= {"alert_id", "rule_id", "opened_at", "summary_en"}
    assert "evidence" not in data  # a summary, not the readings
    assert {d["device_id"] for d in devices} == {e.device.id, scale.device.id}
    assert len({d["payload"]["text"] for d in devices}) == 1
    assert devices[0]["payload"]["text"].startswith(TOLD_TODAY.sv)  # yellow: today
    assert all(d["state"] == "pending" for d in rows)

    # A reading in range while the alert is unresolved: no new alert, and no "as usual" either:
    # the device that sent it hears that the centre knows of the earlier values.
    _store_and_evaluate(
        db_url, [Reading(e.patient.id, e.device.id, "spo2", 97.0, at + timedelta(minutes=5))]
    )
    later = _notifications(db_url)[len(rows) :]
    assert [(r["channel"], r["event"], r["device_id"]) for r in later] == [
        ("device", "readings.received", e.device.id)
    ]
    assert FOLLOWED_UP.sv in later[0]["payload"]["text"]
    assert AS_USUAL.sv not in later[0]["payload"]["text"]

    # A worse reading raises the severity to red: the centre hears of it, and every device of
    # the patient says what red promises (contact now).
    before = len(rows) + len(later)
    _store_and_evaluate(
        db_url, [Reading(e.patient.id, e.device.id, "spo2", 88.0, at + timedelta(minutes=10))]
    )
    raised = _notifications(db_url)[before:]
    assert sorted((r["channel"], r["event"]) for r in raised) == [
        ("care_team", "alert.severity_raised"),
        ("device", "alert.severity_raised"),
        ("device", "alert.severity_raised"),
    ]
    assert all(TOLD_NOW.sv in r["payload"]["text"] for r in raised if r["channel"] == "device")


def test_acknowledging_tells_the_patient_and_in_range_readings_reassure(db_url: str) -> None:
    e = enrol(db_url, kind="pulse_oximeter")
    with connect(db_url) as conn:
        conn.execute("UPDATE patients SET language = 'en'")
        conn.commit()
    at = datetime.now(UTC) - timedelta(hours=2)
    _store_and_evaluate(db_url, [Reading(e.patient.id, e.device.id, "spo2", 92.0, at)])
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT id FROM alerts").fetchone()
    assert row is not None
    alert_id = row[0]
    with connect(db_url) as conn:
        acknowledge(conn, alert_id, by="staff:test")
    acked = [r for r in _notifications(db_url) if r["event"] == "alert.acknowledged"]
    assert [(r["device_id"], r["payload"]["text"]) for r in acked] == [
        (e.device.id, ALERT_ACKNOWLEDGED.text_en)
    ]
    with connect(db_url) as conn:
        resolve(conn, alert_id, Outcome.CONTACTED_PATIENT, by="staff:test")
    _store_and_evaluate(
        db_url, [Reading(e.patient.id, e.device.id, "spo2", 97.0, at + timedelta(hours=1))]
    )
    reassured = [r for r in _notifications(db_url) if r["event"] == "readings.in_range"]
    assert [(r["device_id"], r["payload"]["text"]) for r in reassured] == [
        (e.device.id, f"Thank you. {AS_USUAL.en}")
    ]
    # A scheduled pass (no device sent anything) reassures nobody.
    with connect(db_url) as conn:
        conn.execute("INSERT INTO evaluation_queue (patient_id) VALUES (%s)", (e.patient.id,))
        conn.commit()
        RulesWorker(RulesConfig(db_url, SPO2)).process_due(conn)
    assert len([r for r in _notifications(db_url) if r["event"] == "readings.in_range"]) == 1


def test_a_failed_evaluation_writes_no_notification(db_url: str) -> None:
    e = enrol(db_url, kind="pulse_oximeter")
    with connect(db_url) as conn:
        # The outbox refuses rows for a while: the alert must not commit without its notice.
        conn.execute(
            "ALTER TABLE notifications ADD CONSTRAINT refuse CHECK (event <> 'alert.opened')"
        )
        conn.commit()
    at = datetime.now(UTC) - timedelta(hours=1)
    with connect(db_url) as conn:
        ReadingWriter(conn).write([[Reading(e.patient.id, e.device.id, "spo2", 91.0, at)]], [])
        worker = RulesWorker(RulesConfig(db_url, SPO2))
        worker.process_due(conn)
    assert (worker.evaluated, worker.failed) == (0, 1)
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM alerts").fetchone() == (0,)
        conn.execute("ALTER TABLE notifications DROP CONSTRAINT refuse")
        conn.execute("UPDATE evaluation_queue SET not_before = '-infinity'")
        conn.commit()
    with connect(db_url) as conn:
        RulesWorker(RulesConfig(db_url, SPO2)).process_due(conn)
    assert [r["event"] for r in _notifications(db_url) if r["channel"] == "care_team"] == [
        "alert.opened"
    ]


def test_a_webhook_about_an_alert_that_does_not_exist_fails_even_in_a_pipeline(
    db_url: str,
) -> None:
    # The notification's id is made client-side and nothing is fetched; the insert itself
    # refuses an alert that is not there (no centre), at the latest when the pipeline syncs.
    enrol(db_url, kind="pulse_oximeter")
    with connect(db_url) as conn:
        with pytest.raises(psycopg.errors.NotNullViolation), conn.pipeline():
            notifications.enqueue_alert_webhook(conn, uuid4(), event="alert.opened")
        conn.rollback()
    assert _notifications(db_url) == []
