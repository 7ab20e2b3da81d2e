"""Readings through the real broker into the real database: stored, deduplicated, fed back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from hemkoll.protocol.measurements import KG_PER_POUND
from hemkoll.store.connect import connect
from hemkoll.store.devices import deactivate_device
from tests.helpers import (
    Device,
    count_readings,
    enrol,
    message,
    reading,
    running_ingest,
    scalar,
    wait_until,
)


def test_readings_are_stored_converted_and_fed_back(
    db_url: str, machine_broker_url: str, topic_prefix: str
) -> None:
    device = enrol(db_url, kind="gateway")
    now = datetime.now(UTC).replace(microsecond=0)
    with (
        running_ingest(db_url, machine_broker_url, topic_prefix),
        Device(machine_broker_url, topic_prefix, str(device.device.id)) as dev,
    ):
        dev.publish(
            message(
                "m-1",
                reading("body_weight", 180.0, "[lb_av]", now - timedelta(minutes=5)),
                reading("systolic_bp", 16.0, "kPa", now - timedelta(minutes=4)),
                reading("body_temperature", 98.6, "[degF]", now - timedelta(minutes=3)),
                reading("spo2", 97, "%", now - timedelta(minutes=2)),
            )
        )
        [feedback] = dev.wait_feedback(1)
    assert feedback == {
        "msg_id": "m-1",
        "status": "accepted",
        "stored": 4,
        "duplicates": 0,
        "rejected": [],
    }
    stored = {row_metric: (value, patient) for row_metric, value, patient in _rows(db_url)}
    assert stored["body_weight"][0] == pytest.approx(180.0 * KG_PER_POUND)
    assert stored["systolic_bp"][0] == pytest.approx(120.0, abs=0.01)
    assert stored["body_temperature"][0] == pytest.approx(37.0)
    assert stored["spo2"][0] == 97.0
    assert {patient for _, patient in stored.values()} == {device.patient.id}


def _rows(db_url: str) -> list[tuple[str, float, object]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute("SELECT metric, value, patient_id FROM readings").fetchall()


def test_resent_backlog_adds_nothing(
    db_url: str, machine_broker_url: str, topic_prefix: str
) -> None:
    device = enrol(db_url, kind="scale")
    start = datetime.now(UTC) - timedelta(days=3)
    backlog = [
        reading("body_weight", 80 + i / 10, "kg", start + timedelta(hours=6 * i)) for i in range(12)
    ]
    with (
        running_ingest(db_url, machine_broker_url, topic_prefix),
        Device(machine_broker_url, topic_prefix, str(device.device.id)) as dev,
    ):
        dev.publish(message("backlog-1", *backlog))
        dev.wait_feedback(1)
        # The device did not see the feedback and resends, once with the same msg_id and once
        # as a new message that overlaps the old one and adds two new readings.
        dev.publish(message("backlog-1", *backlog))
        extra = [
            reading("body_weight", 81.5, "kg", start + timedelta(hours=6 * 11 + i)) for i in (1, 2)
        ]
        dev.publish(message("backlog-2", *backlog[6:], *extra))
        feedback = dev.wait_feedback(3)
    assert count_readings(db_url) == 14
    assert [(f["msg_id"], f["stored"], f["duplicates"]) for f in feedback] == [
        ("backlog-1", 12, 0),
        ("backlog-1", 0, 12),
        ("backlog-2", 2, 6),
    ]


def test_one_bad_reading_does_not_reject_the_good_ones(
    db_url: str, machine_broker_url: str, topic_prefix: str
) -> None:
    device = enrol(db_url, kind="blood_pressure_monitor")
    now = datetime.now(UTC)
    with (
        running_ingest(db_url, machine_broker_url, topic_prefix),
        Device(machine_broker_url, topic_prefix, str(device.device.id)) as dev,
    ):
        dev.publish(
            message(
                "mixed",
                reading("systolic_bp", 130, "mm[Hg]", now),
                reading("systolic_bp", 130, "mmHg", now - timedelta(minutes=1)),
                reading("diastolic_bp", 80, "mm[Hg]", now),
                reading("body_weight", 80, "kg", now),
            )
        )
        [feedback] = dev.wait_feedback(1)
    assert feedback["status"] == "partial"
    assert feedback["stored"] == 2
    assert [(r["index"], r["code"]) for r in feedback["rejected"]] == [
        (1, "unit_not_allowed"),
        (3, "metric_not_for_device"),
    ]
    assert count_readings(db_url) == 2
    letters = scalar(
        db_url,
        "SELECT array_agg(reason_code ORDER BY reading_index) FROM dead_letters WHERE msg_id = %s",
        ("mixed",),
    )
    assert letters == ["unit_not_allowed", "metric_not_for_device"]


def test_deactivated_device_is_refused(
    db_url: str, machine_broker_url: str, topic_prefix: str
) -> None:
    device = enrol(db_url, kind="scale")
    with connect(db_url) as conn:
        deactivate_device(conn, device.device.id)
    with (
        running_ingest(db_url, machine_broker_url, topic_prefix),
        Device(machine_broker_url, topic_prefix, str(device.device.id)) as dev,
    ):
        dev.publish(message("late", reading("body_weight", 80, "kg", datetime.now(UTC))))
        [feedback] = dev.wait_feedback(1)
    assert feedback["status"] == "rejected"
    assert feedback["rejected"][0]["code"] == "device_inactive"
    assert count_readings(db_url) == 0
    wait_until(
        lambda: scalar(db_url, "SELECT count(*) FROM dead_letters") == 1, 5, "the dead letter"
    )


POISON_KG = 66.6


def test_a_message_the_database_refuses_is_dead_lettered_alone(
    db_url: str, machine_broker_url: str, topic_prefix: str
) -> None:
    """Fault injection: a trigger (test-only) makes the database refuse one reading's value."""
    with psycopg.connect(db_url) as conn:
        conn.execute(
            f"""
            CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.value = {POISON_KG} THEN RAISE EXCEPTION 'poison'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_poison BEFORE INSERT ON readings
                FOR EACH ROW EXECUTE FUNCTION refuse_poison();
            """
        )
    device = enrol(db_url, kind="scale")
    now = datetime.now(UTC)
    with (
        running_ingest(db_url, machine_broker_url, topic_prefix),
        Device(machine_broker_url, topic_prefix, str(device.device.id)) as dev,
    ):
        # Published back to back so that they usually share a batch; either way only the
        # poisoned message may be refused.
        for i, kg in enumerate((80.0, POISON_KG, 81.0)):
            dev.publish(
                message(f"m{i}", reading("body_weight", kg, "kg", now - timedelta(minutes=i)))
            )
        feedback = dev.wait_feedback(3)
    by_msg = {f["msg_id"]: f for f in feedback}
    assert (by_msg["m0"]["stored"], by_msg["m2"]["stored"]) == (1, 1)
    assert by_msg["m1"]["status"] == "rejected"
    assert [r["code"] for r in by_msg["m1"]["rejected"]] == ["store_refused"]
    assert count_readings(db_url) == 2
    assert scalar(db_url, "SELECT reason_code FROM dead_letters") == "store_refused"
