"""The questionnaire's follow-up "worse than usual?" (``worse_than_usual``) through the real
broker into the real database: stored beside the answers of its questionnaire, a bad value
dead-lettered with a reason that says what the value may be, refused from a device that does
not ask it; the rules read it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from hemkoll.alerts.worker import RulesConfig, RulesWorker
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.store.connect import connect
from tests.helpers import Device, enrol, message, reading, running_ingest


def _questionnaire(msg_id: str, at: datetime, breathlessness: float, follow_up: float) -> bytes:
    return message(
        msg_id,
        reading("symptom_breathlessness", breathlessness, "{score}", at),
        reading("symptom_ankle_swelling", 1, "{score}", at),
        reading("symptom_fatigue", 0, "{score}", at),
        reading("worse_than_usual", follow_up, "{score}", at),
    )


def test_the_follow_up_is_stored_checked_and_read_by_the_rules(
    db_url: str, machine_broker_url: str, topic_prefix: str
) -> None:
    quiet = enrol(db_url, kind="symptom_questionnaire", patient="P-USUAL")
    worse = enrol(db_url, kind="symptom_questionnaire", patient="P-WORSE")
    scale = enrol(db_url, kind="scale", patient="P-SCALE")
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    with (
        running_ingest(db_url, machine_broker_url, topic_prefix),
        Device(machine_broker_url, topic_prefix, str(quiet.device.id)) as q1,
        Device(machine_broker_url, topic_prefix, str(worse.device.id)) as q2,
        Device(machine_broker_url, topic_prefix, str(scale.device.id)) as s,
    ):
        q1.publish(_questionnaire("q-1", now, 3, 0))
        q2.publish(_questionnaire("q-2", now, 3, 1))
        q2.publish(_questionnaire("q-3", now + timedelta(minutes=1), 2, 2))
        s.publish(message("s-1", reading("worse_than_usual", 1, "{score}", now)))
        [told_q1] = q1.wait_feedback(1)
        told_q2 = q2.wait_feedback(2)
        [told_s] = s.wait_feedback(1)
    assert (told_q1["stored"], told_q1["rejected"]) == (4, [])
    assert (told_q2[0]["stored"], told_q2[0]["rejected"]) == (4, [])
    # A follow-up of 2 is refused on its own, saying what it may be; its answers are stored.
    assert told_q2[1]["stored"] == 3
    assert told_q2[1]["rejected"] == [
        {
            "index": 3,
            "code": "value_implausible",
            "reason": "readings[3]: worse_than_usual is a yes/no answer: 0 (no) or 1 (yes), not 2",
        }
    ]
    assert [r["code"] for r in told_s["rejected"]] == ["metric_not_for_device"]
    with psycopg.connect(db_url) as conn:
        stored = conn.execute(
            "SELECT p.reference, r.value, r.measured_at FROM readings AS r"
            " JOIN patients AS p ON p.id = r.patient_id"
            " WHERE r.metric = 'worse_than_usual' ORDER BY p.reference"
        ).fetchall()
        dead = conn.execute(
            "SELECT reason_code, reason, reading_index FROM dead_letters ORDER BY id"
        ).fetchall()
    assert stored == [("P-USUAL", 0.0, now), ("P-WORSE", 1.0, now)]
    assert dead == [
        (
            "value_implausible",
            "readings[3]: worse_than_usual is a yes/no answer: 0 (no) or 1 (yes), not 2",
            3,
        ),
        (
            "metric_not_for_device",
            "readings[0]: a scale device does not report worse_than_usual",
            0,
        ),
    ]
    # The preset's at-rest rule reads the follow-up: "not worse" opens nothing, "worse" a red
    # alert whose evidence says what she answered.
    assert HEART_FAILURE.rule("breathlessness_at_rest").model_dump()["follow_up"] is True
    worker = RulesWorker(RulesConfig(db_url, HEART_FAILURE))
    with connect(db_url) as conn:
        worker.process_due(conn)
    assert worker.failed == 0
    with psycopg.connect(db_url) as conn:
        alerts = conn.execute(
            "SELECT p.reference, a.severity, a.evidence->'worse_than_usual', a.explanation_sv"
            " FROM alerts AS a"
            " JOIN patients AS p ON p.id = a.patient_id"
            " WHERE a.rule_id = 'breathlessness_at_rest' ORDER BY p.reference"
        ).fetchall()
    assert [a[:3] for a in alerts] == [("P-WORSE", "red", 1.0)]
    assert "Hon svarade att det är värre än vanligt för henne." in alerts[0][3]
