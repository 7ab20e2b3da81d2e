"""Missing-measurement alerts tell the truth about the stored readings (issue 19).

Against the real database and the rules worker: readings stored as a replay or a device's
backlog, in the order the demo and a device send them, then the scheduler's look for passed
deadlines. A
missing-measurement alert never opens while a later reading of its metric is stored, and one
that opened before a backlog brought readings inside its window is resolved by the rules, with
the reason in its history.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from hemkoll.alerts.worker import RulesConfig, RulesWorker
from hemkoll.rules.alerting import READING_ARRIVED
from hemkoll.rules.config import RuleSet
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.store.connect import connect
from hemkoll.store.patients import set_monitoring_paused
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.types import Reading
from tests.helpers import enrol

PRESET = RuleSet(name="preset", rules=HEART_FAILURE.rules)
DAYS = 60


def _weights(patient, device, days: list[int], now: datetime) -> list[Reading]:  # type: ignore[no-untyped-def]
    """A weight on each of ``days`` (days before ``now``), in the morning."""
    morning = now.replace(hour=6, minute=30, second=0, microsecond=0)
    return [
        Reading(patient, device, "body_weight", 80.0, morning - timedelta(days=d)) for d in days
    ]


def _scheduled_pass(worker: RulesWorker, db_url: str) -> None:
    worker.queue_due()
    with connect(db_url) as conn:
        worker.process_due(conn)


def _alerts(db_url: str) -> list[tuple[str, str, str | None, datetime]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(  # type: ignore[return-value]
            "SELECT rule_id, state, outcome, first_fired_at FROM alerts ORDER BY opened_at"
        ).fetchall()


def test_a_replayed_history_opens_no_alert_for_a_silence_it_shows_ended(db_url: str) -> None:
    """The demo: past days replayed fast while monitoring is paused, then resumed."""
    e = enrol(db_url, kind="scale", enrolled_days_ago=DAYS + 1)
    now = datetime.now(UTC)
    # A weight every morning up to today but for a real three-day gap six weeks ago.
    days = [d for d in range(DAYS, -1, -1) if not 40 < d < 44]
    readings = [r for r in _weights(e.patient.id, e.device.id, days, now) if r.measured_at < now]
    worker = RulesWorker(RulesConfig(db_url, PRESET))
    with connect(db_url) as conn:
        assert set_monitoring_paused(conn, e.patient.id, paused=True)
        writer = ReadingWriter(conn)
        for week in range(0, len(readings), 7):  # the replay: oldest first, a batch at a time
            writer.write([readings[week : week + 7]], [])
            worker.process_due(conn)
        assert set_monitoring_paused(conn, e.patient.id, paused=False)
    _scheduled_pass(worker, db_url)
    assert [a for a in _alerts(db_url) if a[0].startswith("weight_missing")] == []


def test_an_alert_opened_before_a_backlog_arrived_is_resolved_by_the_rules(db_url: str) -> None:
    """A scale that could not upload for three days: the scheduled pass sees the silence; the
    backlog then shows a weight every morning."""
    e = enrol(db_url, kind="scale", enrolled_days_ago=20)
    now = datetime.now(UTC)
    worker = RulesWorker(RulesConfig(db_url, PRESET))
    sent = [r for r in _weights(e.patient.id, e.device.id, list(range(14, 3, -1)), now)]
    backlog = [
        r for r in _weights(e.patient.id, e.device.id, [3, 2, 1, 0], now) if r.measured_at < now
    ]
    with connect(db_url) as conn:
        ReadingWriter(conn).write([sent], [])
        worker.process_due(conn)
    _scheduled_pass(worker, db_url)
    opened = _alerts(db_url)
    assert [(rule, state) for rule, state, _, _ in opened] == [("weight_missing_48h", "open")]

    with connect(db_url) as conn:  # the backlog arrives: ingest queues the patient
        ReadingWriter(conn).write([backlog], [])
        worker.process_due(conn)
    _scheduled_pass(worker, db_url)
    assert [(rule, state, outcome) for rule, state, outcome, _ in _alerts(db_url)] == [
        ("weight_missing_48h", "resolved", READING_ARRIVED)
    ]
    with psycopg.connect(db_url) as conn:
        events = conn.execute(
            "SELECT kind, actor, details->>'reason', details->>'outcome' FROM alert_events"
            " ORDER BY id"
        ).fetchall()
    assert events == [
        ("opened", "rules", None, None),
        ("resolved", "rules", "readings_inside_window", READING_ARRIVED),
    ]


def test_a_silence_the_backlog_confirms_stays_open(db_url: str) -> None:
    """The backlog shows the patient really did not weigh herself for three days: the alert
    was right, and stays for the nurse."""
    e = enrol(db_url, kind="scale", enrolled_days_ago=20)
    now = datetime.now(UTC)
    worker = RulesWorker(RulesConfig(db_url, PRESET))
    with connect(db_url) as conn:
        ReadingWriter(conn).write(
            [_weights(e.patient.id, e.device.id, list(range(14, 3, -1)), now)], []
        )
        worker.process_due(conn)
    _scheduled_pass(worker, db_url)
    later = now - timedelta(minutes=1)
    with connect(db_url) as conn:
        ReadingWriter(conn).write(
            [[Reading(e.patient.id, e.device.id, "body_weight", 80, later)]], []
        )
        worker.process_due(conn)
    _scheduled_pass(worker, db_url)
    assert [(rule, state) for rule, state, _, _ in _alerts(db_url)] == [
        ("weight_missing_48h", "open")
    ]
