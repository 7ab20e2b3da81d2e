"""What the rules worker tells the patient after her readings, with the programme's preset, on
the real database: the readings that prompted the evaluation decide it, never silence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row

from hemkoll.alerts.patient_messages import AS_USUAL, TOLD_NOW
from hemkoll.alerts.worker import RulesConfig, RulesWorker
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.store.connect import connect
from hemkoll.store.devices import Enrolment
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.types import Reading
from tests.helpers import enrol

PHONE = "070-174 06 05"  # reserved for fiction by PTS


def _device_messages(db_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(db_url) as conn, conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT event, device_id, alert_id, payload FROM notifications"
            " WHERE channel = 'device' ORDER BY created_at"
        ).fetchall()


def _store(db_url: str, *batches: list[Reading]) -> None:
    """Each batch in its own ingest transaction, then one evaluation of what they queued."""
    with connect(db_url) as conn:
        for batch in batches:
            ReadingWriter(conn).write([batch], [])
        RulesWorker(RulesConfig(db_url, HEART_FAILURE)).process_due(conn)


def _enrol(db_url: str, kind: str, *, enrolled_days_ago: float = 30) -> Enrolment:
    e = enrol(db_url, kind=kind, enrolled_days_ago=enrolled_days_ago)
    with connect(db_url) as conn:
        conn.execute("UPDATE health_centres SET phone = %s", (PHONE,))
        conn.commit()
    return e


def test_severe_ankle_swelling_is_acknowledged_although_its_rule_is_off(db_url: str) -> None:
    e = _enrol(db_url, "symptom_questionnaire")
    at = datetime.now(UTC) - timedelta(minutes=5)
    answers = [
        Reading(e.patient.id, e.device.id, "symptom_breathlessness", 1.0, at),
        Reading(e.patient.id, e.device.id, "symptom_ankle_swelling", 3.0, at),
        Reading(e.patient.id, e.device.id, "symptom_fatigue", 1.0, at),
    ]
    _store(db_url, answers)
    [told] = _device_messages(db_url)
    text = told["payload"]["text"]
    assert told["event"] == "readings.severe_symptom"
    assert told["device_id"] == e.device.id
    assert "Du har svarat att svullnaden i dina anklar är svår." in text
    assert f"Ring din vårdcentral i dag på {PHONE}." in text
    assert "1177" in text
    assert "112" in text
    assert "som vanligt" not in text


def test_a_severe_answer_sent_before_a_calm_one_is_still_acknowledged(db_url: str) -> None:
    """Two messages queued before the worker came round: both are what it answers for."""
    e = _enrol(db_url, "symptom_questionnaire")
    at = datetime.now(UTC) - timedelta(minutes=30)
    _store(
        db_url,
        [Reading(e.patient.id, e.device.id, "symptom_ankle_swelling", 3.0, at)],
        [Reading(e.patient.id, e.device.id, "symptom_ankle_swelling", 0.0, at + timedelta(1))],
    )
    [told] = _device_messages(db_url)
    assert told["event"] == "readings.severe_symptom"
    # Answered once: the next reading is judged on its own.
    _store(db_url, [Reading(e.patient.id, e.device.id, "symptom_ankle_swelling", 0.0, at)])
    assert [m["event"] for m in _device_messages(db_url)][1:] == ["readings.received"]


def test_readings_no_enabled_rule_judges_are_saved_not_called_usual(db_url: str) -> None:
    """Programme v2 leaves diastolic pressure unjudged: a blood-pressure reading is "saved"."""
    e = _enrol(db_url, "blood_pressure_monitor")
    at = datetime.now(UTC) - timedelta(minutes=5)
    _store(
        db_url,
        [
            Reading(e.patient.id, e.device.id, "systolic_bp", 125.0, at),
            Reading(e.patient.id, e.device.id, "diastolic_bp", 80.0, at),
            Reading(e.patient.id, e.device.id, "heart_rate", 70.0, at),
        ],
    )
    [told] = _device_messages(db_url)
    assert told["event"] == "readings.received"
    assert "Dina mätvärden har sparats." in told["payload"]["text"]
    assert AS_USUAL.sv not in told["payload"]["text"]


def test_judged_readings_in_range_look_as_usual(db_url: str) -> None:
    e = _enrol(db_url, "pulse_oximeter")
    at = datetime.now(UTC) - timedelta(minutes=5)
    _store(
        db_url,
        [
            Reading(e.patient.id, e.device.id, "spo2", 97.0, at),
            Reading(e.patient.id, e.device.id, "heart_rate", 68.0, at),
        ],
    )
    [told] = _device_messages(db_url)
    assert (told["event"], told["payload"]["text"]) == (
        "readings.in_range",
        f"Tack. {AS_USUAL.sv}",
    )


def test_a_backlog_measured_before_the_rules_window_is_not_called_usual(db_url: str) -> None:
    e = _enrol(db_url, "pulse_oximeter", enrolled_days_ago=400)
    old = datetime.now(UTC) - timedelta(days=300)
    _store(db_url, [Reading(e.patient.id, e.device.id, "spo2", 97.0, old)])
    [told] = _device_messages(db_url)
    assert told["event"] == "readings.received"


def test_a_reading_outside_a_band_that_waits_for_a_second_asks_to_measure_again(
    db_url: str,
) -> None:
    e = _enrol(db_url, "blood_pressure_monitor")
    at = datetime.now(UTC) - timedelta(minutes=20)
    low = [Reading(e.patient.id, e.device.id, "systolic_bp", 75.0, at)]
    _store(db_url, low)
    [told] = _device_messages(db_url)
    assert told["event"] == "readings.measure_again"
    assert (
        "Ditt blodtryck var utanför dina gränser. Vila några minuter och mät igen."
        in (told["payload"]["text"])
    )
    # The second reading in a row opens the red alert: every device hears what red promises.
    _store(
        db_url,
        [Reading(e.patient.id, e.device.id, "systolic_bp", 76.0, at + timedelta(minutes=10))],
    )
    red = _device_messages(db_url)[1]
    assert red["event"] == "alert.opened"
    assert red["alert_id"] is not None
    assert TOLD_NOW.sv in red["payload"]["text"]
    assert f"ring dem på {PHONE}" in red["payload"]["text"]


def test_a_weight_gain_only_the_esc_rule_that_is_off_finds_is_saved_not_usual(
    db_url: str,
) -> None:
    """A new patient, four mornings, +2.3 kg in three days: the weight trend (on) has too few
    days to judge and ESC's 2 kg/3 days is off in v2, so nothing is opened; she is not told her
    measurements look as usual."""
    e = _enrol(db_url, "scale", enrolled_days_ago=5)
    today = datetime.now(UTC) - timedelta(minutes=5)
    for days_ago, kg in ((3, 80.0), (2, 80.5), (1, 81.2)):
        at = today - timedelta(days=days_ago)
        _store(db_url, [Reading(e.patient.id, e.device.id, "body_weight", kg, at)])
    before = len(_device_messages(db_url))
    _store(db_url, [Reading(e.patient.id, e.device.id, "body_weight", 82.3, today)])
    told = _device_messages(db_url)[before:]
    assert [m["event"] for m in told] == ["readings.received"]
    assert "Dina mätvärden har sparats." in told[0]["payload"]["text"]
    assert AS_USUAL.sv not in told[0]["payload"]["text"]
    with psycopg.connect(db_url) as conn:
        # (Storing the mornings one by one opened reminders, each ended by the next reading:
        # none is unresolved, so "saved" is not the "followed up" case.)
        unresolved = "SELECT count(*) FROM alerts WHERE state <> 'resolved'"
        assert conn.execute(unresolved).fetchone() == (0,)


def test_a_systolic_pressure_outside_only_the_guideline_band_that_is_off_is_saved(
    db_url: str,
) -> None:
    e = _enrol(db_url, "blood_pressure_monitor")
    at = datetime.now(UTC) - timedelta(minutes=5)
    # 165 mmHg: outside TELBIL's 100-160 (off in v2), inside the urgent 80-170 (on).
    _store(db_url, [Reading(e.patient.id, e.device.id, "systolic_bp", 165.0, at)])
    [told] = _device_messages(db_url)
    assert told["event"] == "readings.received"
    assert AS_USUAL.sv not in told["payload"]["text"]


def test_a_new_patient_s_first_weight_is_saved_not_called_usual(db_url: str) -> None:
    """Programme v2 judges weight by its trend alone, which needs 7 weighed days."""
    e = _enrol(db_url, "scale", enrolled_days_ago=0.5)
    at = datetime.now(UTC) - timedelta(minutes=5)
    _store(db_url, [Reading(e.patient.id, e.device.id, "body_weight", 80.0, at)])
    [told] = _device_messages(db_url)
    assert told["event"] == "readings.received"
    assert AS_USUAL.sv not in told["payload"]["text"]


def test_the_twelfth_morning_looks_as_usual_and_a_second_weighing_is_saved(db_url: str) -> None:
    # The preset reads weight with its deterioration index: seven weighed days in the baseline
    # window, which ends four days (the guard) before the day, so eleven mornings before this.
    e = _enrol(db_url, "scale", enrolled_days_ago=11.1)
    # The first second of the patient's local day (the default, Stockholm), so that a
    # weighing a second later is on the same day whenever the test runs.
    local = datetime.now(UTC).astimezone(ZoneInfo("Europe/Stockholm"))
    today = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)

    def weigh(at: datetime, kg: float = 80.0) -> Reading:
        return Reading(e.patient.id, e.device.id, "body_weight", kg, at)

    # Eleven mornings in one evaluation, then this morning's weight.
    _store(db_url, *[[weigh(today - timedelta(days=d), 80.1)] for d in range(11, 0, -1)])
    _store(db_url, [weigh(today)])
    events = [m["event"] for m in _device_messages(db_url)]
    assert events[-1] == "readings.in_range", events
    # The same morning again: the daily rules read only a day's first weight.
    _store(db_url, [weigh(today + timedelta(seconds=1), 80.2)])
    assert [m["event"] for m in _device_messages(db_url)][-1] == "readings.received"
