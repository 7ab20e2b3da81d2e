"""Bad input through the whole ingest path: a real broker (the project's limits), ``hemkoll ingest``
as a process, the real database. Whatever a device sends, every message is either stored or
dead-lettered with a documented code and a reason, the device is told which in its feedback, and
ingest keeps running for everyone else.

* Cases the 32-message corpus (tests/test_malformed_corpus.py) does not have: Infinity tokens,
  a byte-order mark, invalid UTF-8 inside a string, UTF-32, nesting inside a reading, the ends
  of the calendar in UTC, 500 readings, exactly 64 KiB, a payload the broker itself refuses.
* Property-based (hypothesis): generated messages (structured ones with any field wrong, and
  byte-level mutations of them) published over MQTT, checked message by message.
* Two messages that stopped ingest for every device, found by the fuzzing and fixed: a NUL in a
  msg_id (PostgreSQL text cannot hold it; dead letters now replace it, the payload keeps it) and
  a time stamp whose offset takes it past the year 1 or 9999 (now refused as field_invalid).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hemkoll.protocol.measurements import METRICS
from hemkoll.protocol.payload import MAX_PAYLOAD_BYTES
from tests.conftest import Broker
from tests.helpers import count_readings, enrol, scalar
from tests.reliability.support import DeviceClient, documented_rejection_codes, ingest_running

pytestmark = pytest.mark.broker

NOW = datetime.now(UTC).replace(microsecond=0)
CODES = documented_rejection_codes()
# A string ingest must never write to its log, whatever happens to the message carrying it.
CANARY = f"canary-{uuid.uuid4().hex[:10]}"
GOOD = {"metric": "body_weight", "value": 80.5, "unit": "kg", "measured_at": NOW.isoformat()}
# Generated time stamps span the whole calendar, offsets included.
SAFE_YEARS = (1, 9999)


def _msg(**fields: Any) -> bytes:
    return orjson.dumps({"msg_id": "c", **fields})


def _one(**changes: Any) -> bytes:
    return _msg(readings=[{**GOOD, **changes}])


def _at(delta: timedelta) -> str:
    return (NOW - delta).isoformat()


EXTRA_CORPUS: list[tuple[str, bytes, list[str]]] = [
    ("Infinity", b'{"msg_id":"i","readings":[{"metric":"spo2","value":Infinity}]}', ["not_json"]),
    ("-Infinity", _one().replace(b"80.5", b"-Infinity"), ["not_json"]),
    ("-1e400", _one().replace(b"80.5", b"-1e400"), ["value_not_finite"]),
    ("400-digit integer", _one().replace(b"80.5", b"1" + b"0" * 400), ["value_not_finite"]),
    ("utf-8 byte-order mark", b"\xef\xbb\xbf" + _one(), ["not_json"]),
    ("invalid utf-8 in a string", _one().replace(b'"kg"', b'"k\xffg"'), ["not_utf8"]),
    ("utf-32", _one().decode().encode("utf-32"), ["not_utf8"]),
    ("escaped lone surrogate", _one(unit="\\ud800").replace(b"\\\\", b"\\"), ["not_json"]),
    (
        "nested in a reading",
        _msg(readings=[GOOD]).replace(b"}]", b',"x":' + b"[" * 3000 + b"]" * 3000 + b"}]"),
        ["not_json"],
    ),
    ("year 1 UTC", _one(measured_at="0001-01-01T00:00:00Z"), ["measured_at_before_enrolment"]),
    ("year 9999 UTC", _one(measured_at="9999-12-31T23:59:59Z"), ["measured_at_future"]),
    (
        "a day ahead, +14:00",
        _one(
            measured_at=(NOW + timedelta(days=1))
            .astimezone(timezone(timedelta(hours=14)))
            .isoformat()
        ),
        ["measured_at_future"],
    ),
    ("offset +24:00", _one(measured_at="2026-01-01T00:00:00+24:00"), ["field_invalid"]),
    (
        "nanoseconds",
        _one(measured_at="2026-01-01T00:00:00.123456789Z"),
        ["measured_at_before_enrolment"],
    ),
    (
        "msg_id of 64 emoji",
        orjson.dumps({"msg_id": "😀" * 64, "readings": [{**GOOD, "unit": "x"}]}),
        ["unit_not_allowed"],
    ),
    (
        "500 readings, one bad",
        _msg(
            readings=[{**GOOD, "measured_at": _at(timedelta(seconds=i))} for i in range(499)]
            + [{**GOOD, "value": 1e9}]
        ),
        ["value_implausible"],
    ),
    ("exactly 64 KiB", b"", ["unit_not_allowed"]),  # built below
    ("64 KiB + 1", b"", ["payload_too_large"]),  # built below
]


def _padded(size: int) -> bytes:
    body = orjson.dumps({"msg_id": "pad", "readings": [{**GOOD, "unit": "x"}], "pad": ""})
    return body.replace(b'"pad":""', b'"pad":"' + b"p" * (size - len(body)) + b'"')


EXTRA_CORPUS[-2] = ("exactly 64 KiB", _padded(MAX_PAYLOAD_BYTES), ["unit_not_allowed"])
EXTRA_CORPUS[-1] = ("64 KiB + 1", _padded(MAX_PAYLOAD_BYTES + 1), ["payload_too_large"])


@dataclass(frozen=True)
class Setup:
    broker: Broker
    db_url: str
    prefix: str
    log: Path
    gateway: str  # reports every metric
    scale: str  # body weight only


@pytest.fixture
def setup(own_broker: Broker, db_url: str, topic_prefix: str, tmp_path: Path) -> Setup:
    """Two devices enrolled 30 days ago, an own broker, ingest's log file."""
    gateway = str(enrol(db_url, kind="gateway", patient="P-FUZZ-1").device.id)
    scale = str(enrol(db_url, kind="scale", patient="P-FUZZ-2").device.id)
    return Setup(own_broker, db_url, topic_prefix, tmp_path / "ingest.log", gateway, scale)


def test_extra_corpus_through_the_whole_path(setup: Setup) -> None:
    with (
        ingest_running(
            setup.db_url, setup.broker.url, setup.prefix, setup.log, warm_device=setup.gateway
        ) as ingest,
        DeviceClient(setup.broker.url, setup.prefix, [setup.gateway]) as device,
    ):
        before = count_readings(setup.db_url)
        for _, payload, _ in EXTRA_CORPUS:
            assert device.publish(setup.gateway, payload)
        feedback = device.wait_feedback(setup.gateway, len(EXTRA_CORPUS))
        assert ingest.alive, ingest.log_text()
    for (case, _, codes), told in zip(EXTRA_CORPUS, feedback, strict=True):
        assert [r["code"] for r in told["rejected"]] == codes, (case, told)
        assert all(r["reason"] for r in told["rejected"]), case
    # The 499 good readings of the 500 were stored; nothing else.
    assert count_readings(setup.db_url) - before == 499
    rejected = sum(len(f["rejected"]) for f in feedback)
    assert scalar(setup.db_url, "SELECT count(*) FROM dead_letters") == rejected


def test_a_payload_over_the_brokers_packet_limit_is_refused_there_and_ingest_carries_on(
    setup: Setup,
) -> None:
    """max_packet_size (1 MiB, deploy/mosquitto/conf.d): the broker drops the sender's
    connection without a PUBACK, so the device keeps the message; nothing reaches ingest."""
    url, gateway = setup.broker.url, setup.gateway
    with ingest_running(setup.db_url, url, setup.prefix, setup.log, warm_device=gateway) as ingest:
        with DeviceClient(url, setup.prefix, [gateway]) as sender:
            assert not sender.publish(gateway, _padded(2 * 1024 * 1024), timeout=3)
        with DeviceClient(url, setup.prefix, [gateway]) as device:
            good = _msg(readings=[{**GOOD, "measured_at": _at(timedelta(hours=1))}])
            assert device.publish(gateway, good)
            [told] = device.wait_feedback(gateway, 1)
        assert ingest.alive
    assert told["status"] == "accepted"
    assert scalar(setup.db_url, "SELECT count(*) FROM dead_letters") == 0


def _survives(setup: Setup, poison: bytes) -> tuple[bool, dict[str, Any] | None, int]:
    """Publish ``poison``, then a good message: (ingest alive, feedback of the poison if any,
    readings stored by the good one)."""
    url, gateway = setup.broker.url, setup.gateway
    with (
        ingest_running(setup.db_url, url, setup.prefix, setup.log, warm_device=gateway) as ingest,
        DeviceClient(url, setup.prefix, [gateway]) as device,
    ):
        before = count_readings(setup.db_url)
        device.publish(gateway, poison)
        device.publish(gateway, _msg(readings=[{**GOOD, "measured_at": _at(timedelta(hours=2))}]))
        try:
            told = device.wait_feedback(gateway, 2, timeout=5)
        except AssertionError:
            told = device.feedback[gateway]
        return ingest.alive, (told[0] if told else None), count_readings(setup.db_url) - before


def test_a_msg_id_with_a_nul_character_is_dead_lettered_not_fatal(setup: Setup) -> None:
    poison = b'{"msg_id":"a\\u0000b","readings":[{"metric":"body_weight"}]}'
    alive, told, stored = _survives(setup, poison)
    assert alive
    assert told is not None
    assert told["msg_id"] == "a\x00b"  # the device hears of its own msg_id
    assert told["status"] == "rejected"
    assert stored == 1
    # The dead letter keeps the raw payload (bytea); only its text columns lose the NUL.
    assert scalar(setup.db_url, "SELECT payload FROM dead_letters") == poison


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_a_time_stamp_at_the_ends_of_the_calendar_is_rejected_not_fatal(
    setup: Setup, stamp: str
) -> None:
    alive, told, stored = _survives(setup, _one(measured_at=stamp))
    assert alive
    assert told is not None
    assert [r["code"] for r in told["rejected"]] == ["field_invalid"]
    assert "measured_at" in told["rejected"][0]["reason"]
    assert stored == 1


# --- property-based: the whole path -------------------------------------------------------

UNITS = sorted({u for m in METRICS.values() for u in m.units})
OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_value = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
time_stamp = st.one_of(
    # recent: stored if everything else is right (the devices were enrolled 30 days ago)
    st.integers(0, 20 * 86400).map(lambda s: (NOW - timedelta(seconds=s)).isoformat()),
    # far past and future, any offset
    st.builds(
        lambda at, tz: at.replace(tzinfo=tz).isoformat(),
        st.datetimes(
            min_value=datetime(SAFE_YEARS[0], 1, 1),  # noqa: DTZ001 (an offset is added)
            max_value=datetime(SAFE_YEARS[1], 12, 31),  # noqa: DTZ001
        ),
        OFFSETS,
    ),
    st.sampled_from(["", "now", "2026-02-30T00:00:00Z", "2026-01-01T25:00:00Z", "2026-01-01"]),
    json_value,
)
value = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=0, max_value=350),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.integers(0, 3),
    json_value,
)
a_reading = st.fixed_dictionaries(
    {},
    optional={
        "metric": st.sampled_from(sorted(METRICS)) | st.text(max_size=8),
        "value": value,
        "unit": st.sampled_from(UNITS) | st.text(max_size=6),
        "measured_at": time_stamp,
        "note": st.just(CANARY),
    },
)
a_message = (
    st.fixed_dictionaries(
        {"readings": st.lists(a_reading | json_value, max_size=6) | json_value},
        optional={
            "msg_id": st.text(max_size=70) | st.just("a\x00b") | json_value,
            "sent_at": st.sampled_from(["0001-01-01T00:00:00+14:00", "garbage"]) | time_stamp,
            "note": st.just(CANARY),
        },
    )
    | json_value
)


def _number_token(text: str, token: str) -> str:
    for old in ("80.5", "0.0", "1"):
        if old in text:
            return text.replace(old, token, 1)
    return text


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    """A message encoded as a device might get it wrong."""
    text = json.dumps(draw(a_message), ensure_ascii=draw(st.booleans()))
    how = draw(
        st.sampled_from(
            ["utf-8"] * 6
            + ["token", "utf-16", "latin-1", "bom", "truncated", "nested", "oversized", "bytes"]
        )
    )
    if how == "token":
        token = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 500]))
        return _number_token(text, token).encode("utf-8", "surrogatepass")
    if how == "utf-16":
        return text.encode("utf-16", "surrogatepass")
    if how == "latin-1":
        return text.encode("latin-1", "replace")
    if how == "bom":
        return b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")
    if how == "truncated":
        raw = text.encode("utf-8", "surrogatepass")
        return raw[: draw(st.integers(0, max(len(raw) - 1, 0)))]
    if how == "nested":
        depth = draw(st.integers(10, 5000))
        return f'{{"msg_id":"n","readings":{"[" * depth}{"]" * depth}}}'.encode()
    if how == "oversized":
        pad = "p" * draw(st.integers(MAX_PAYLOAD_BYTES - len(text), MAX_PAYLOAD_BYTES + 2048))
        return text.replace("{", f'{{"pad":"{pad}",', 1).encode("utf-8", "surrogatepass")
    if how == "bytes":
        return draw(st.binary(max_size=300))
    return text.encode("utf-8", "surrogatepass")


def _check_feedback(told: dict[str, Any]) -> None:
    assert told["status"] in ("accepted", "partial", "rejected"), told
    rejected = told["rejected"]
    for r in rejected:
        assert r["code"] in CODES, r
        assert isinstance(r["reason"], str), r
        assert r["reason"], r
    whole = [r for r in rejected if r["index"] is None]
    if whole:  # the message as a whole: nothing else is said about it
        assert len(rejected) == 1, told
        assert told["stored"] == told["duplicates"] == 0, told
    indexes = [r["index"] for r in rejected if r["index"] is not None]
    assert len(set(indexes)) == len(indexes), told
    kept = told["stored"] + told["duplicates"]
    expected = "accepted" if not rejected else "partial" if kept else "rejected"
    assert told["status"] == expected, told


@pytest.mark.timeout(240)
def test_generated_messages_are_each_stored_or_explained_and_ingest_keeps_running(
    setup: Setup,
) -> None:
    db_url, gateway, scale, log = setup.db_url, setup.gateway, setup.scale, setup.log
    totals = {"messages": 0, "stored": 0}
    letters: set[tuple[bytes, bool, int | None]] = set()
    with (
        ingest_running(db_url, setup.broker.url, setup.prefix, log, warm_device=gateway) as ingest,
        DeviceClient(setup.broker.url, setup.prefix, [gateway, scale]) as device,
    ):
        stored_before = count_readings(db_url)

        @settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(st.lists(st.tuples(st.booleans(), payloads()), min_size=1, max_size=8))
        def publish_and_check(batch: list[tuple[bool, bytes]]) -> None:
            seen = {gateway: device.count(gateway), scale: device.count(scale)}
            sent = {gateway: 0, scale: 0}
            for to_scale, payload in batch:
                target = scale if to_scale else gateway
                assert device.publish(target, payload)
                sent[target] += 1
            told = {
                target: device.wait_feedback(target, seen[target] + count)[seen[target] :]
                for target, count in sent.items()
            }
            for to_scale, payload in batch:
                one = told[scale if to_scale else gateway].pop(0)
                _check_feedback(one)
                totals["stored"] += one["stored"]
                digest = hashlib.sha256(payload).digest()
                # A dead letter is kept once per (payload, topic, reading): a resent bad
                # message is not kept twice.
                letters.update((digest, to_scale, r["index"]) for r in one["rejected"])
            totals["messages"] += len(batch)
            assert ingest.alive, ingest.log_text()[-3000:]

        publish_and_check()
        assert ingest.alive
    assert totals["messages"] >= 40
    # What the devices were told is what the database holds.
    assert count_readings(db_url) - stored_before == totals["stored"]
    with psycopg.connect(db_url) as conn:
        kept = conn.execute("SELECT reason_code, reason FROM dead_letters").fetchall()
        stored = conn.execute(
            "SELECT metric, value, measured_at FROM readings WHERE device_id = ANY(%s::uuid[])",
            ([gateway, scale],),
        ).fetchall()
    assert len(kept) == len(letters)
    assert all(code in CODES and reason for code, reason in kept)
    for metric, stored_value, measured_at in stored:
        spec = METRICS[metric]
        assert spec.plausible_low <= stored_value <= spec.plausible_high
        assert measured_at <= datetime.now(UTC) + timedelta(minutes=10)
    assert CANARY not in log.read_text(errors="replace")
