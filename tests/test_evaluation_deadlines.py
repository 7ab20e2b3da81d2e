"""Deadlines, not sweeps (issue 18), against the real database and the rules worker on a
simulated clock: an evaluation stores the patient's next deadline, the scheduler queues her
only once it has passed, and what the rules judge by (pause, rules, programme) queues her by
itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from hemkoll.alerts.evaluation import ARRIVAL_GRACE
from hemkoll.alerts.worker import RulesConfig, RulesWorker
from hemkoll.rules.config import RuleSet
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.store import rule_overrides
from hemkoll.store.connect import connect
from hemkoll.store.patients import set_monitoring_paused
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.types import Reading
from tests.helpers import enrol

PRESET = RuleSet(name="preset", rules=HEART_FAILURE.rules)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _deadline(db_url: str) -> tuple[datetime | None, str] | None:
    with psycopg.connect(db_url) as conn:
        return conn.execute(  # type: ignore[return-value]
            "SELECT due_at, programme FROM evaluation_deadlines"
        ).fetchone()


def _queued(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT count(*) FROM evaluation_queue").fetchone()
    assert row is not None
    return int(row[0])


def _alerts(db_url: str) -> list[tuple[str, str]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(  # type: ignore[return-value]
            "SELECT rule_id, state FROM alerts ORDER BY opened_at"
        ).fetchall()


def test_a_silence_is_found_at_its_deadline_and_not_by_looking_at_everyone(db_url: str) -> None:
    e = enrol(db_url, kind="scale", enrolled_days_ago=10)
    weighed = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    clock = Clock(weighed + timedelta(minutes=5))
    worker = RulesWorker(RulesConfig(db_url, PRESET), clock=clock)
    with connect(db_url) as conn:
        ReadingWriter(conn).write(
            [[Reading(e.patient.id, e.device.id, "body_weight", 81.0, weighed)]], []
        )
        assert worker.process_due(conn) == 1
    # The evaluation stored her deadline: 48 h after the weight (weight_missing_48h), judged
    # once a reading measured before it has had time to arrive.
    due = weighed + timedelta(hours=48) + ARRIVAL_GRACE
    assert _deadline(db_url) == (due, PRESET.fingerprint)

    clock.now = due - timedelta(seconds=1)
    worker.queue_due()
    assert _queued(db_url) == 0  # not yet: the scheduler does not touch her

    clock.now = due + timedelta(seconds=1)
    worker.queue_due()
    assert _queued(db_url) == 1
    with connect(db_url) as conn:
        assert worker.process_due(conn) == 1
    assert _alerts(db_url) == [("weight_missing_48h", "open")]
    # The silence has fired; no deadline is left until she weighs herself again.
    assert _deadline(db_url) == (None, PRESET.fingerprint)
    clock.now += timedelta(days=3)
    worker.queue_due()
    assert _queued(db_url) == 0


def test_pausing_changing_rules_and_a_new_programme_queue_the_patient(db_url: str) -> None:
    e = enrol(db_url, kind="scale", enrolled_days_ago=10)
    weighed = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    worker = RulesWorker(RulesConfig(db_url, PRESET))
    with connect(db_url) as conn:
        ReadingWriter(conn).write(
            [[Reading(e.patient.id, e.device.id, "body_weight", 81.0, weighed)]], []
        )
        worker.process_due(conn)
        assert set_monitoring_paused(conn, e.patient.id, paused=True)
        conn.commit()
    assert _queued(db_url) == 1
    with connect(db_url) as conn:
        worker.process_due(conn)
    assert _deadline(db_url) == (None, PRESET.fingerprint)  # paused: nothing is due

    with connect(db_url) as conn:
        assert set_monitoring_paused(conn, e.patient.id, paused=False)
        conn.commit()
        worker.process_due(conn)
    assert _deadline(db_url) == (weighed + timedelta(hours=48) + ARRIVAL_GRACE, PRESET.fingerprint)

    # Her weight-silence rule lengthened to 72 h: she is queued and her deadline moves.
    with connect(db_url) as conn:
        rule_overrides.insert_patient_overrides(
            conn,
            e.patient.id,
            {
                "source": "patient (test)",
                "overrides": [{"id": "weight_missing_48h", "patch": {"after_hours": 72}}],
            },
            changed_by="test",
            reason="travels",
        )
        conn.commit()
        assert _queued(db_url) == 1
        worker.process_due(conn)
    assert _deadline(db_url) == (weighed + timedelta(hours=72) + ARRIVAL_GRACE, PRESET.fingerprint)

    # A worker with another programme queues her once and stores its own fingerprint.
    other = RuleSet(name="other", rules=HEART_FAILURE.rules[:-1])
    second = RulesWorker(RulesConfig(db_url, other))
    with connect(db_url) as conn:
        assert second.queue_other_programme(conn) == 1
        second.process_due(conn)
        assert second.queue_other_programme(conn) == 0
    deadline = _deadline(db_url)
    assert deadline is not None
    assert deadline[1] == other.fingerprint
