"""The batch writer: new readings counted per message, resends and redeliveries add nothing."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import psycopg

from hemkoll.store.connect import connect
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.types import DeadLetter, Reading
from tests.helpers import enrol

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night Europe/Stockholm moves to summer time


def test_stored_counts_per_message_and_duplicates_within_a_batch(db_url: str) -> None:
    device = enrol(db_url, kind="scale")
    patient, dev = device.patient.id, device.device.id
    a = [Reading(patient, dev, "body_weight", 80 + i, T0 + timedelta(hours=i)) for i in range(3)]
    b = [a[2], Reading(patient, dev, "body_weight", 85, T0 + timedelta(hours=5))]
    with connect(db_url) as conn:
        writer = ReadingWriter(conn)
        assert writer.write([a, b, []], []).stored == (3, 1, 0)
        # The same batch again (a redelivery after a crash before PUBACK): nothing new.
        assert writer.write([a, b, []], []).stored == (0, 0, 0)
        rows = conn.execute(
            "SELECT value, measured_at FROM readings ORDER BY measured_at"
        ).fetchall()
    assert rows == [
        (80.0, a[0].measured_at),
        (81.0, a[1].measured_at),
        (82.0, a[2].measured_at),
        (85.0, b[1].measured_at),
    ]


def test_a_conflicting_resend_keeps_the_first_value(db_url: str) -> None:
    device = enrol(db_url, kind="scale")
    first = Reading(device.patient.id, device.device.id, "body_weight", 80.0, T0)
    with connect(db_url) as conn:
        writer = ReadingWriter(conn)
        writer.write([[first]], [])
        assert writer.write(
            [[Reading(first.patient_id, first.device_id, first.metric, 99.0, T0)]], []
        ).stored == (0,)
        assert conn.execute("SELECT value FROM readings").fetchall() == [(80.0,)]


def test_a_redelivered_dead_letter_is_kept_once(db_url: str) -> None:
    payload = b"not json"
    letter = DeadLetter(
        received_at=T0,
        topic="hk/v1/devices/x/readings",
        device_id=None,
        msg_id=None,
        reading_index=None,
        reason_code="not_json",
        reason="payload is not JSON",
        payload=payload,
        payload_size=len(payload),
        payload_sha256=hashlib.sha256(payload).digest(),
    )
    with connect(db_url) as conn:
        writer = ReadingWriter(conn)
        writer.write([], [letter])
        writer.write([], [letter])
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM dead_letters").fetchone() == (1,)


def test_a_batch_partly_new_counts_exactly_and_rolls_up_each_reading_once(db_url: str) -> None:
    """The plain INSERT of a batch with some old readings is rolled back and the counting one
    runs: the counts, the rows and the hourly rollup are as if it had run alone."""
    device = enrol(db_url, kind="scale")
    patient, dev = device.patient.id, device.device.id
    old = [
        Reading(patient, dev, "body_weight", 80.0 + i, T0 + timedelta(minutes=i)) for i in range(4)
    ]
    new = [
        Reading(patient, dev, "body_weight", 90.0 + i, T0 + timedelta(minutes=10 + i))
        for i in range(3)
    ]
    with connect(db_url) as conn:
        writer = ReadingWriter(conn)
        assert writer.write([old], []).stored == (4,)  # all new
        assert writer.write([old[:2] + new[:1], old[2:], new[1:]], []).stored == (1, 0, 2)
        assert writer.write([old, new], []).stored == (0, 0)  # none new
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (7,)
        hour = conn.execute(
            "SELECT n, min_value, max_value, sum_value FROM readings_hourly"
            " WHERE patient_id = %s AND metric = 'body_weight'",
            (patient,),
        ).fetchall()
    assert hour == [(7, 80.0, 92.0, sum(r.value for r in old + new))]
