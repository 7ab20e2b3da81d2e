"""A corpus of malformed messages through the real broker: each gets the right outcome and reason.

The ingest service must keep running through all of it, store nothing from the bad readings,
dead-letter every rejection with its reason, and tell the device why on its feedback topic.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg

from hemkoll.protocol.topics import readings_topic
from tests.helpers import Device, count_readings, enrol, running_ingest, scalar, wait_until

NOW = datetime.now(UTC).replace(microsecond=0)
GOOD = {"metric": "body_weight", "value": 80.5, "unit": "kg", "measured_at": NOW.isoformat()}


def _msg(**fields: Any) -> bytes:
    return orjson.dumps({"msg_id": "c", **fields})


def _one(**reading: Any) -> bytes:
    return _msg(readings=[{**GOOD, **reading}])


# (case, payload, expected reason codes in order: one per rejected reading, or one for the message)
CORPUS: list[tuple[str, bytes, list[str]]] = [
    ("latin-1 text", '{"msg_id": "å"}'.encode("latin-1"), ["not_utf8"]),
    ("utf-16 json", _one().decode().encode("utf-16"), ["not_utf8"]),
    ("truncated json", b'{"msg_id": "x", "readings": [', ["not_json"]),
    ("NaN literal", b'{"msg_id":"n","readings":[{"metric":"spo2","value":NaN}]}', ["not_json"]),
    ("number overflows a double", _one().replace(b"80.5", b"1e400"), ["value_not_finite"]),
    ("reading not an object", _msg(readings=["80 kg"]), ["field_invalid"]),
    ("deeply nested", b'{"msg_id":"d","x":' + b"[" * 2000 + b"]" * 2000 + b"}", ["not_json"]),
    ("top-level array", b"[1, 2, 3]", ["field_invalid"]),
    ("oversized", _msg(readings=[GOOD], pad="x" * 70_000), ["payload_too_large"]),
    ("no msg_id", orjson.dumps({"readings": [GOOD]}), ["field_missing"]),
    ("msg_id too long", orjson.dumps({"msg_id": "m" * 65, "readings": [GOOD]}), ["field_invalid"]),
    ("msg_id a number", orjson.dumps({"msg_id": 7, "readings": [GOOD]}), ["field_invalid"]),
    ("no readings", _msg(readings=[]), ["field_invalid"]),
    ("501 readings", _msg(readings=[GOOD] * 501), ["field_invalid"]),
    ("readings an object", _msg(readings={"a": GOOD}), ["field_invalid"]),
    ("sent_at naive", _msg(sent_at="2026-01-01T10:00:00", readings=[GOOD]), ["field_invalid"]),
    ("value a string", _one(value="80.5"), ["field_invalid"]),
    ("value a boolean", _one(value=True), ["field_invalid"]),
    ("no unit", _msg(readings=[{k: v for k, v in GOOD.items() if k != "unit"}]), ["field_missing"]),
    ("measured_at naive", _one(measured_at="2026-11-01T08:00:00"), ["field_invalid"]),
    ("measured_at epoch", _one(measured_at=1_700_000_000), ["field_invalid"]),
    ("measured_at garbage", _one(measured_at="yesterday"), ["field_invalid"]),
    ("unknown metric", _one(metric="blood_glucose"), ["metric_unknown"]),
    ("unit not allowed", _one(unit="stone"), ["unit_not_allowed"]),
    ("weight zero", _one(value=0), ["value_implausible"]),
    ("weight 700 kg", _one(value=700), ["value_implausible"]),
    ("spo2 140 %", _one(metric="spo2", value=140, unit="%"), ["value_implausible"]),
    ("huge integer", _one().replace(b"80.5", b"1" + b"0" * 30), ["value_implausible"]),
    (
        "score not whole",
        _one(metric="symptom_fatigue", value=1.5, unit="{score}"),
        ["value_implausible"],
    ),
    (
        "an hour ahead",
        _one(measured_at=(NOW + timedelta(hours=1)).isoformat()),
        ["measured_at_future"],
    ),
    ("year 1970", _one(measured_at="1970-01-01T00:00:00Z"), ["measured_at_before_enrolment"]),
    (
        "two bad among good",
        _msg(
            readings=[
                GOOD,
                {**GOOD, "unit": "lbs"},
                {**GOOD, "metric": "spo2", "unit": "%", "value": 99},
                {**GOOD, "value": -1},
            ]
        ),
        ["unit_not_allowed", "value_implausible"],
    ),
]


def test_malformed_corpus(db_url: str, machine_broker_url: str, topic_prefix: str) -> None:
    device = enrol(db_url, kind="gateway")
    device_id = str(device.device.id)
    stranger = str(uuid.uuid4())
    with (
        running_ingest(db_url, machine_broker_url, topic_prefix) as service,
        Device(machine_broker_url, topic_prefix, device_id) as dev,
    ):
        for _, payload, _ in CORPUS:
            dev.publish(payload)
        # Topics that follow the subscription filter but not the protocol, or name no device.
        dev.publish(_one(), topic=readings_topic(topic_prefix, stranger))
        dev.publish(_one(), topic=readings_topic(topic_prefix, "not-a-uuid"))
        dev.publish(_one(), topic=readings_topic(topic_prefix, device_id.upper()))
        feedback = dev.wait_feedback(len(CORPUS))
        wait_until(lambda: service.stats.messages == len(CORPUS) + 3, 10, "all messages handled")

    # The device heard about every message, in order, each with the expected reasons.
    assert len(feedback) == len(CORPUS)
    for (case, _, codes), told in zip(CORPUS, feedback, strict=True):
        assert [r["code"] for r in told["rejected"]] == codes, case
        assert all(r["reason"] for r in told["rejected"]), case
    mixed = feedback[-1]
    assert (mixed["status"], mixed["stored"]) == ("partial", 2)

    # Every rejection is dead-lettered with its payload's hash, topic and reason.
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT payload_sha256, topic, reason_code, reason, payload_size, length(payload)"
            " FROM dead_letters ORDER BY id"
        ).fetchall()
    by_payload: dict[bytes, list[str]] = {}
    for sha, topic, code, reason, size, kept in rows:
        assert reason
        assert kept == min(size, 64 * 1024) or (size > 64 * 1024 and kept == 4096)
        if topic == readings_topic(topic_prefix, device_id):
            by_payload.setdefault(bytes(sha), []).append(code)
    for case, payload, codes in CORPUS:
        assert by_payload[hashlib.sha256(payload).digest()] == codes, case
    topic_codes = {
        topic: code
        for _, topic, code, *_ in rows
        if topic != readings_topic(topic_prefix, device_id)
    }
    assert topic_codes == {
        readings_topic(topic_prefix, stranger): "device_unknown",
        readings_topic(topic_prefix, "not-a-uuid"): "topic_invalid",
        readings_topic(topic_prefix, device_id.upper()): "topic_invalid",
    }
    # Only the two good readings of the mixed message were stored.
    assert count_readings(db_url) == 2
    assert scalar(db_url, "SELECT count(DISTINCT measured_at) FROM readings") == 1
