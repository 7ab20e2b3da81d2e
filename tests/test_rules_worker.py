"""The rules worker against the real database: queue, alerts, severity, concurrency, retries."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from hemkoll.alerts.evaluation import evaluate_patient
from hemkoll.alerts.nurse_actions import TransitionRefused, acknowledge, resolve
from hemkoll.alerts.worker import IDLE_WAIT_S, RulesConfig, RulesWorker
from hemkoll.rules.alerting import RECOVERY, RESOLUTION_COOLDOWN, Outcome
from hemkoll.rules.config import Band, RuleSet, ThresholdRule
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.store import evaluation_queue
from hemkoll.store.connect import connect
from hemkoll.store.patients import set_monitoring_paused
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.types import Reading
from tests.helpers import Device, enrol, message, reading, running_ingest, scalar, wait_until

SPO2 = RuleSet(
    name="test spo2 v1",
    rules=(ThresholdRule(id="spo2_low", metric="spo2", yellow=Band(low=94), red=Band(low=90)),),
)


def _store(db_url: str, readings: list[Reading]) -> None:
    with connect(db_url) as conn:
        ReadingWriter(conn).write([readings], [])


def _spo2(patient, device, values: list[float], start: datetime) -> list[Reading]:  # type: ignore[no-untyped-def]
    return [
        Reading(patient, device, "spo2", v, start + timedelta(hours=i))
        for i, v in enumerate(values)
    ]


def _process(db_url: str, rule_set: RuleSet = SPO2) -> RulesWorker:
    worker = RulesWorker(RulesConfig(db_url, rule_set))
    with connect(db_url) as conn:
        worker.process_due(conn)
    return worker


def test_ingest_queues_the_patient_and_the_worker_opens_one_alert(db_url: str) -> None:
    e = enrol(db_url, kind="pulse_oximeter")
    start = datetime.now(UTC) - timedelta(hours=10)
    _store(db_url, _spo2(e.patient.id, e.device.id, [97, 96, 93, 92], start))
    assert scalar(db_url, "SELECT count(*) FROM evaluation_queue") == 1

    worker = _process(db_url)
    assert (worker.evaluated, worker.failed) == (1, 0)
    assert scalar(db_url, "SELECT count(*) FROM evaluation_queue") == 0
    with psycopg.connect(db_url) as conn:
        alert = conn.execute(
            "SELECT rule_id, rule_set, state, severity, first_fired_at, evidence->>'value',"
            " explanation_en, explanation_sv FROM alerts"
        ).fetchone()
    assert alert is not None
    rule_id, rule_set, state, severity, fired_at, value, en, sv = alert
    assert (rule_id, rule_set, state, severity) == ("spo2_low", "test spo2 v1", "open", "yellow")
    assert fired_at == start + timedelta(hours=2)
    assert float(value) == 93.0
    assert en
    assert sv
    assert en != sv
    assert scalar(db_url, "SELECT array_agg(kind) FROM alert_events") == ["opened"]

    # The same readings again (a resend, a scheduled pass): nothing new.
    with connect(db_url) as conn:
        conn.execute("INSERT INTO evaluation_queue (patient_id) VALUES (%s)", (e.patient.id,))
        conn.commit()
    _process(db_url)
    assert scalar(db_url, "SELECT count(*) FROM alerts") == 1
    assert scalar(db_url, "SELECT count(*) FROM alert_events") == 1


def test_a_worse_reading_raises_the_open_alert(db_url: str) -> None:
    e = enrol(db_url, kind="pulse_oximeter")
    start = datetime.now(UTC) - timedelta(hours=10)
    _store(db_url, _spo2(e.patient.id, e.device.id, [97, 93], start))
    _process(db_url)
    _store(db_url, _spo2(e.patient.id, e.device.id, [89], start + timedelta(hours=5)))
    _process(db_url)
    assert scalar(db_url, "SELECT count(*) FROM alerts") == 1
    assert scalar(db_url, "SELECT severity FROM alerts") == "red"
    assert scalar(db_url, "SELECT (evidence->>'value')::float FROM alerts") == 89.0
    assert scalar(db_url, "SELECT array_agg(kind ORDER BY id) FROM alert_events") == [
        "opened",
        "severity_raised",
    ]


def test_a_resolved_alert_does_not_reopen_on_the_same_readings(db_url: str) -> None:
    e = enrol(db_url, kind="pulse_oximeter")
    start = datetime.now(UTC) - timedelta(hours=10)
    _store(db_url, _spo2(e.patient.id, e.device.id, [97, 93], start))
    _process(db_url)
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE alerts SET state = 'resolved', resolved_at = now(),"
            " outcome = 'contacted_patient'"
        )
    _store(db_url, _spo2(e.patient.id, e.device.id, [93], start + timedelta(hours=3)))
    _process(db_url)
    assert scalar(db_url, "SELECT count(*) FROM alerts") == 1


def test_two_concurrent_evaluations_open_one_alert(db_url: str) -> None:
    e = enrol(db_url, kind="pulse_oximeter")
    start = datetime.now(UTC) - timedelta(hours=10)
    _store(db_url, _spo2(e.patient.id, e.device.id, [97, 93, 92], start))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def evaluate() -> None:
        try:
            with connect(db_url) as conn, conn.transaction():
                barrier.wait()
                evaluate_patient(conn, SPO2, e.patient.id, now=datetime.now(UTC))
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=evaluate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert scalar(db_url, "SELECT count(*) FROM alerts") == 1
    assert scalar(db_url, "SELECT count(*) FROM alert_events") == 1


def test_a_failed_evaluation_is_kept_and_retried_later(db_url: str) -> None:
    e = enrol(db_url, kind="pulse_oximeter")
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE patients SET timezone = 'Mars/Olympus_Mons'")
    _store(db_url, _spo2(e.patient.id, e.device.id, [93], datetime.now(UTC) - timedelta(hours=1)))
    worker = _process(db_url)
    assert (worker.evaluated, worker.failed) == (0, 1)
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT attempts, last_error, not_before > now(), lease_until FROM evaluation_queue"
        ).fetchone()
    assert row == (1, "ZoneInfoNotFoundError", True, None)
    assert scalar(db_url, "SELECT count(*) FROM alerts") == 0


def test_publish_to_alert_end_to_end(
    db_url: str, machine_broker_url: str, topic_prefix: str
) -> None:
    """Device -> broker -> ingest -> queue + NOTIFY -> `hemkoll rules` -> alert, in seconds."""
    e = enrol(db_url, kind="pulse_oximeter")
    env = {**os.environ, "HEMKOLL_DATABASE_URL": db_url, "HEMKOLL_LOG_LEVEL": "INFO"}
    rules = subprocess.Popen(
        [sys.executable, "-m", "hemkoll", "rules"], env=env, stderr=subprocess.PIPE
    )
    try:
        # The preset's urgent SpO2 limit: red below 90 % on two readings in a row.
        wait_until(lambda: _listening(db_url), 15, "the rules worker to LISTEN")
        with (
            running_ingest(db_url, machine_broker_url, topic_prefix),
            Device(machine_broker_url, topic_prefix, str(e.device.id)) as dev,
        ):
            sent = time.monotonic()
            now = datetime.now(UTC)
            dev.publish(
                message(
                    "low",
                    reading("spo2", 87.125, "%", now - timedelta(minutes=2)),
                    reading("spo2", 86.375, "%", now),
                )
            )
            wait_until(lambda: scalar(db_url, "SELECT count(*) FROM alerts") == 1, 10, "the alert")
            took = time.monotonic() - sent
    finally:
        rules.send_signal(signal.SIGTERM)
        _, log = rules.communicate(timeout=20)
    assert scalar(db_url, "SELECT rule_id || ':' || severity FROM alerts") == "spo2_urgent:red"
    assert took < IDLE_WAIT_S, "NOTIFY should wake the worker before its idle poll"
    assert rules.returncode == 0
    # The log says what happened without the values, the patient or the device.
    for secret in (b"87.125", b"86.375", e.patient.reference.encode(), str(e.device.id).encode()):
        assert secret not in log


def _listening(db_url: str) -> bool:
    return bool(
        scalar(
            db_url,
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN%%'",
        )
    )


def test_missing_measurements_are_silent_while_monitoring_is_paused(db_url: str) -> None:
    e = enrol(db_url, kind="scale")
    last_weight = datetime.now(UTC) - timedelta(days=3)  # over the preset's 48 h silence
    _store(db_url, [Reading(e.patient.id, e.device.id, "body_weight", 80.0, last_weight)])
    preset = RuleSet(name="preset", rules=HEART_FAILURE.rules)
    with connect(db_url) as conn:
        assert set_monitoring_paused(conn, e.patient.id, paused=True)
        with conn.transaction():
            evaluate_patient(conn, preset, e.patient.id, now=datetime.now(UTC))
        assert scalar(db_url, "SELECT count(*) FROM alerts") == 0
        assert set_monitoring_paused(conn, e.patient.id, paused=False)
        with conn.transaction():
            evaluate_patient(conn, preset, e.patient.id, now=datetime.now(UTC))
    assert scalar(db_url, "SELECT rule_id FROM alerts") == "weight_missing_48h"


def test_nurse_transitions_follow_the_state_machine(db_url: str) -> None:
    e = enrol(db_url, kind="pulse_oximeter")
    start = datetime.now(UTC) - timedelta(hours=10)
    _store(db_url, _spo2(e.patient.id, e.device.id, [97, 93], start))
    _process(db_url)
    alert_id = scalar(db_url, "SELECT id FROM alerts")
    with connect(db_url) as conn:
        acknowledge(conn, alert_id, by="nurse Eva", note="calling her now")
        with pytest.raises(
            TransitionRefused, match="cannot acknowledge an alert that is acknowledged"
        ):
            acknowledge(conn, alert_id, by="nurse Eva")
        resolve(conn, alert_id, Outcome.CONTACTED_PATIENT, by="nurse Eva", note="fine, cold hands")
        with pytest.raises(TransitionRefused, match="cannot resolve an alert that is resolved"):
            resolve(conn, alert_id, Outcome.FALSE_ALARM, by="nurse Eva")
        with pytest.raises(TransitionRefused, match="no alert"):
            acknowledge(conn, e.patient.id, by="nurse Eva")
    assert (
        scalar(db_url, "SELECT state || ':' || outcome FROM alerts") == "resolved:contacted_patient"
    )
    with psycopg.connect(db_url) as conn:
        events = conn.execute(
            "SELECT kind, actor, details FROM alert_events ORDER BY id"
        ).fetchall()
    assert [(kind, actor) for kind, actor, _ in events] == [
        ("opened", "rules"),
        ("acknowledged", "nurse Eva"),
        ("resolved", "nurse Eva"),
    ]
    assert events[2][2] == {"outcome": "contacted_patient", "note": "fine, cold hands"}

    # A dip of the same severity soon after the resolution opens nothing (the cooldown) ...
    soon = datetime.now(UTC) + timedelta(minutes=1)
    _store(db_url, _spo2(e.patient.id, e.device.id, [97, 92], soon))
    with connect(db_url) as conn, conn.transaction():
        evaluate_patient(conn, SPO2, e.patient.id, now=soon + timedelta(hours=2))
    assert scalar(db_url, "SELECT count(*) FROM alerts") == 1
    # ... nor after the cooldown while the deterioration goes on (a finding within RECOVERY
    # of the alert's last one) ...
    later = soon + RESOLUTION_COOLDOWN + timedelta(hours=1)
    _store(db_url, _spo2(e.patient.id, e.device.id, [97, 92], later))
    with connect(db_url) as conn, conn.transaction():
        evaluate_patient(conn, SPO2, e.patient.id, now=later + timedelta(hours=2))
    assert scalar(db_url, "SELECT count(*) FROM alerts") == 1
    # ... and one after recovery opens a new alert beside the resolved one.
    recovered = later + RECOVERY + timedelta(hours=2)
    _store(db_url, _spo2(e.patient.id, e.device.id, [97, 92], recovered))
    with connect(db_url) as conn, conn.transaction():
        evaluate_patient(conn, SPO2, e.patient.id, now=recovered + timedelta(hours=2))
    assert scalar(db_url, "SELECT array_agg(state ORDER BY opened_at) FROM alerts") == [
        "resolved",
        "open",
    ]


def test_one_failing_patient_does_not_hold_up_its_batch(db_url: str) -> None:
    good = enrol(db_url, kind="pulse_oximeter", patient="P-good")
    bad = enrol(db_url, kind="pulse_oximeter", patient="P-bad")
    start = datetime.now(UTC) - timedelta(hours=3)
    _store(db_url, _spo2(good.patient.id, good.device.id, [97, 92], start))
    _store(db_url, _spo2(bad.patient.id, bad.device.id, [97, 92], start))
    with connect(db_url) as conn:
        # A stored layer that no longer fits the rules: this patient's evaluation fails.
        conn.execute(
            "INSERT INTO rule_overrides (patient_id, version, layer, changed_by, reason)"
            ' VALUES (%s, 1, \'{"source": "x", "overrides": [{"id": "gone"}]}\', \'t\', \'t\')',
            (bad.patient.id,),
        )
        conn.commit()
    worker = _process(db_url)
    assert (worker.evaluated, worker.failed) == (1, 1)
    with psycopg.connect(db_url) as conn:
        alerted = conn.execute("SELECT patient_id FROM alerts").fetchall()
        queued = conn.execute("SELECT patient_id, last_error FROM evaluation_queue").fetchall()
    assert alerted == [(good.patient.id,)]
    assert [patient for patient, _ in queued] == [bad.patient.id]
    assert queued[0][1]  # the error's class is kept for the operator


def test_a_patient_requested_again_keeps_its_place_and_is_evaluated_again(db_url: str) -> None:
    e = enrol(db_url, kind="pulse_oximeter")
    start = datetime.now(UTC) - timedelta(hours=3)
    _store(db_url, _spo2(e.patient.id, e.device.id, [97], start))
    with psycopg.connect(db_url) as conn:
        first = conn.execute("SELECT requested_at, generation FROM evaluation_queue").fetchone()
    # More readings while the patient waits: same place in the queue, a newer generation.
    _store(db_url, _spo2(e.patient.id, e.device.id, [96], start + timedelta(hours=1)))
    with psycopg.connect(db_url) as conn:
        second = conn.execute("SELECT requested_at, generation FROM evaluation_queue").fetchone()
    assert first is not None
    assert second is not None
    assert second[0] == first[0]
    assert second[1] == first[1] + 1
    # Finishing with the older generation (newer readings came meanwhile) keeps the row.
    with connect(db_url) as conn:
        [claimed] = evaluation_queue.claim(conn, limit=10, lease_s=60)
        _store(db_url, _spo2(e.patient.id, e.device.id, [95], start + timedelta(hours=2)))
        with conn.transaction():
            evaluation_queue.finish(conn, [claimed])
    assert scalar(db_url, "SELECT count(*) FROM evaluation_queue") == 1
    assert scalar(db_url, "SELECT lease_until IS NULL FROM evaluation_queue")
    _process(db_url)
    assert scalar(db_url, "SELECT count(*) FROM evaluation_queue") == 0


def test_a_backlog_read_ahead_batch_by_batch_gives_each_patient_her_own_outcome(
    db_url: str,
) -> None:
    # Five patients, batches of two: the second and third batches are claimed, and their
    # readings read, on the worker's second connection while the batch before is evaluated.
    start = datetime.now(UTC) - timedelta(hours=10)
    low = {0, 2, 3}  # these patients' SpO2 falls below the yellow band; the others' does not
    devices = {}
    for n in range(5):
        e = enrol(db_url, kind="pulse_oximeter", patient=f"P-{n}")
        devices[e.device.id] = n
        values = [97, 96, 93, 92] if n in low else [97, 96, 97, 98]
        _store(db_url, _spo2(e.patient.id, e.device.id, values, start))
    worker = RulesWorker(RulesConfig(db_url, SPO2), batch=2)
    with connect(db_url) as conn:
        assert worker.process_due(conn) == 5
    assert (worker.evaluated, worker.failed) == (5, 0)
    assert scalar(db_url, "SELECT count(*) FROM evaluation_queue") == 0
    with psycopg.connect(db_url) as conn:
        alerted = conn.execute(
            "SELECT p.reference, a.first_fired_at FROM alerts AS a"
            " JOIN patients AS p ON p.id = a.patient_id ORDER BY 1"
        ).fetchall()
        told = conn.execute(
            "SELECT device_id, event FROM notifications WHERE channel = 'device'"
        ).fetchall()
    assert alerted == [(f"P-{n}", start + timedelta(hours=2)) for n in sorted(low)]
    assert sorted((devices[d], event) for d, event in told) == [
        (n, "alert.opened" if n in low else "readings.in_range") for n in range(5)
    ]
