"""Escalation of red alerts nobody acknowledged in time, with a clock the test controls."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from uuid import UUID

import psycopg
import pytest
from standardwebhooks import Webhook

from hemkoll.notify.dispatcher import Dispatcher
from hemkoll.notify.escalation import escalate_due
from hemkoll.store.connect import connect
from hemkoll.store.devices import Enrolment
from tests.helpers import scalar
from tests.notify.receiver import Receiver
from tests.notify.support import (
    PUBLIC_URL,
    dispatcher_config,
    new_secret,
    open_alert,
    set_escalation,
    state,
)

T0 = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
AFTER = timedelta(minutes=10)


def _alert(
    db_url: str, patient_id: UUID, *, rule_id: str = "spo2_low", severity: str = "red"
) -> UUID:
    """An alert that turned ``severity`` at T0 (its care-team webhook not queued)."""
    with connect(db_url) as conn:
        alert_id, _ = open_alert(conn, patient_id, rule_id=rule_id, severity=severity, notify=False)
        conn.execute("UPDATE alerts SET severity_since = %s WHERE id = %s", (T0, alert_id))
        conn.commit()
    return alert_id


def _escalate(db_url: str, now: datetime) -> int:
    with connect(db_url) as conn:
        return escalate_due(conn, now)


@pytest.fixture
def escalation_secret(db_url: str, enrolment: Enrolment, receiver: Receiver) -> str:
    secret = new_secret()
    set_escalation(db_url, enrolment.health_centre.id, receiver.url, secret, after=AFTER)
    return secret


def test_escalated_once_after_the_centres_time_and_not_before(
    db_url: str, enrolment: Enrolment, escalation_secret: str
) -> None:
    alert_id = _alert(db_url, enrolment.patient.id)
    assert _escalate(db_url, T0 + AFTER - timedelta(seconds=1)) == 0
    assert scalar(db_url, "SELECT count(*) FROM notifications") == 0
    assert _escalate(db_url, T0 + AFTER) == 1
    assert _escalate(db_url, T0 + AFTER + timedelta(seconds=30)) == 0
    assert _escalate(db_url, T0 + timedelta(days=1)) == 0

    assert scalar(db_url, "SELECT escalated_at FROM alerts") == T0 + AFTER
    with psycopg.connect(db_url) as conn:
        events = conn.execute(
            "SELECT kind, severity, actor, details FROM alert_events"
            " WHERE alert_id = %s AND kind = 'escalated'",
            (alert_id,),
        ).fetchall()
        notifications = conn.execute(
            "SELECT id, channel, event, payload FROM notifications WHERE alert_id = %s",
            (alert_id,),
        ).fetchall()
    [(kind, severity, actor, details)] = events
    assert (kind, severity, actor) == ("escalated", "red", "scheduler")
    assert details["contact"] == "Hemsjukvården Tuna, jour"
    assert details["escalate_after_s"] == 600
    [(notification_id, channel, event, payload)] = notifications
    assert (channel, event) == ("escalation", "alert.escalated")
    assert details["notification_id"] == str(notification_id)
    assert payload["data"]["escalation_contact"] == "Hemsjukvården Tuna, jour"


def test_acknowledged_yellow_and_resolved_alerts_are_not_escalated(
    db_url: str, enrolment: Enrolment, escalation_secret: str
) -> None:
    acknowledged = _alert(db_url, enrolment.patient.id, rule_id="a")
    _alert(db_url, enrolment.patient.id, rule_id="b", severity="yellow")
    resolved = _alert(db_url, enrolment.patient.id, rule_id="c")
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE alerts SET state = 'acknowledged', acknowledged_at = now() WHERE id = %s",
            (acknowledged,),
        )
        conn.execute(
            "UPDATE alerts SET state = 'resolved', resolved_at = now(),"
            " outcome = 'contacted_patient' WHERE id = %s",
            (resolved,),
        )
    assert _escalate(db_url, T0 + timedelta(days=1)) == 0
    assert scalar(db_url, "SELECT count(*) FROM alerts WHERE escalated_at IS NOT NULL") == 0


def test_the_clock_counts_from_when_the_alert_turned_red(
    db_url: str, enrolment: Enrolment, escalation_secret: str
) -> None:
    alert_id = _alert(db_url, enrolment.patient.id)
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE alerts SET opened_at = %s, severity_since = %s WHERE id = %s",
            (T0 - timedelta(hours=5), T0, alert_id),
        )
    assert _escalate(db_url, T0 + timedelta(minutes=5)) == 0
    assert _escalate(db_url, T0 + timedelta(minutes=10)) == 1


def test_a_centre_without_an_escalation_endpoint_is_reported_not_escalated(
    db_url: str, enrolment: Enrolment, caplog: pytest.LogCaptureFixture
) -> None:
    _alert(db_url, enrolment.patient.id)
    set_escalation(db_url, enrolment.health_centre.id, None, None, after=AFTER)
    with caplog.at_level(logging.WARNING):
        assert _escalate(db_url, T0 + AFTER) == 0
    assert "1 red alerts are due for escalation but 1 health centres" in caplog.text
    assert "TUNA-0042" not in caplog.text
    assert scalar(db_url, "SELECT count(*) FROM alerts WHERE escalated_at IS NOT NULL") == 0
    assert scalar(db_url, "SELECT count(*) FROM notifications") == 0


def test_concurrent_passes_escalate_each_alert_once(
    db_url: str, enrolment: Enrolment, escalation_secret: str
) -> None:
    for i in range(20):
        _alert(db_url, enrolment.patient.id, rule_id=f"r{i}")
    barrier = threading.Barrier(4)
    counts: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with connect(db_url) as conn:
                barrier.wait()
                counts.append(escalate_due(conn, T0 + AFTER))
        except BaseException as exc:  # noqa: BLE001 (reported by the assertion below)
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sum(counts) == 20
    assert scalar(db_url, "SELECT count(*) FROM alert_events WHERE kind = 'escalated'") == 20
    assert scalar(db_url, "SELECT count(DISTINCT alert_id) FROM notifications") == 20
    assert scalar(db_url, "SELECT count(*) FROM notifications") == 20


def test_the_dispatcher_escalates_on_its_clock_and_delivers_to_the_contact(
    db_url: str, enrolment: Enrolment, receiver: Receiver, escalation_secret: str
) -> None:
    alert_id = _alert(db_url, enrolment.patient.id)
    now = [T0]
    dispatcher = Dispatcher(dispatcher_config(db_url, clock=lambda: now[0]))
    assert dispatcher.escalate() == 0
    now[0] = T0 + AFTER
    assert dispatcher.escalate() == 1
    with connect(db_url) as conn:
        assert dispatcher.process_due(conn) == 1
    dispatcher.close()
    [request] = receiver.requests
    body = Webhook(escalation_secret).verify(request.body, request.headers)
    assert body["type"] == "alert.escalated"
    assert body["data"]["link"] == f"{PUBLIC_URL}/api/v1/alerts/{alert_id}"
    assert state(db_url, UUID(request.webhook_id)) == "delivered"
