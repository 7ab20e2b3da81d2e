"""Device protocol v1 parsing and unit conversion: pure functions, no services."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hemkoll.protocol.feedback import Feedback, Rejection
from hemkoll.protocol.measurements import METRICS, ReadingRejected, canonical_value
from hemkoll.protocol.payload import Envelope, check_message, check_reading, parse_envelope
from hemkoll.protocol.topics import device_id_from_topic, readings_topic
from hemkoll.store.types import Device, Reading

ENROLLED = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
GATEWAY = Device(uuid.uuid4(), uuid.uuid4(), "gateway", True, ENROLLED)


@pytest.mark.parametrize(
    ("metric", "value", "unit", "expected"),
    [
        ("body_weight", 80.0, "kg", 80.0),
        ("body_weight", 80500, "g", 80.5),
        ("body_weight", 176.37, "[lb_av]", 176.37 * 0.45359237),
        ("systolic_bp", 16.0, "kPa", 120.0),
        ("diastolic_bp", 80, "mm[Hg]", 80.0),
        ("heart_rate", 72, "{beats}/min", 72.0),
        ("body_temperature", 98.6, "[degF]", 37.0),
        ("body_temperature", 37.2, "Cel", 37.2),
        ("symptom_breathlessness", 2, "{score}", 2.0),
    ],
)
def test_units_convert_to_the_canonical_unit(
    metric: str, value: float, unit: str, expected: float
) -> None:
    assert canonical_value(metric, value, unit) == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize(
    ("metric", "value", "unit", "code"),
    [
        ("blood_sugar", 5.0, "mmol/L", "metric_unknown"),
        ("body_weight", 80.0, "lbs", "unit_not_allowed"),
        ("body_weight", float("nan"), "kg", "value_not_finite"),
        ("body_weight", float("inf"), "kg", "value_not_finite"),
        ("body_weight", 0.0, "kg", "value_implausible"),
        ("body_weight", 700.0, "kg", "value_implausible"),
        ("spo2", 140.0, "%", "value_implausible"),
        ("systolic_bp", 400.0, "mm[Hg]", "value_implausible"),
        ("body_temperature", 140.0, "[degF]", "value_implausible"),
        ("symptom_fatigue", 4.0, "{score}", "value_implausible"),
        ("symptom_fatigue", 0.5, "{score}", "value_implausible"),
    ],
)
def test_impossible_readings_are_refused_with_a_code(
    metric: str, value: float, unit: str, code: str
) -> None:
    with pytest.raises(ReadingRejected) as info:
        canonical_value(metric, value, unit)
    assert info.value.code == code
    assert info.value.reason


def _reading(**overrides: object) -> bytes:
    return orjson.dumps(
        {
            "metric": "body_weight",
            "value": 80,
            "unit": "kg",
            "measured_at": "2026-06-01T09:30:00+02:00",
            **overrides,
        }
    )


def test_measured_at_is_normalised_to_utc() -> None:
    outcome = check_reading(0, _reading(), device=GATEWAY, now=NOW)
    assert outcome == Reading(
        GATEWAY.patient_id, GATEWAY.id, "body_weight", 80.0, datetime(2026, 6, 1, 7, 30, tzinfo=UTC)
    )


def test_clock_tolerance_is_ten_minutes() -> None:
    ahead = (NOW + timedelta(minutes=9, seconds=59)).isoformat()
    too_far = (NOW + timedelta(minutes=10, seconds=1)).isoformat()
    assert isinstance(
        check_reading(0, _reading(measured_at=ahead), device=GATEWAY, now=NOW), Reading
    )
    outcome = check_reading(0, _reading(measured_at=too_far), device=GATEWAY, now=NOW)
    assert isinstance(outcome, Rejection)
    assert outcome.code == "measured_at_future"


def test_device_kind_limits_its_metrics() -> None:
    scale = Device(uuid.uuid4(), uuid.uuid4(), "scale", True, ENROLLED)
    outcome = check_reading(3, _reading(metric="spo2", unit="%", value=97), device=scale, now=NOW)
    assert outcome == Rejection(
        "metric_not_for_device", "readings[3]: a scale device does not report spo2", 3
    )


def test_envelope_limits() -> None:
    good = {"msg_id": "x", "readings": [orjson.loads(_reading())]}
    assert isinstance(parse_envelope(orjson.dumps(good)), Envelope)
    assert isinstance(parse_envelope(orjson.dumps({**good, "future_field": 1})), Envelope)
    too_many = parse_envelope(orjson.dumps({**good, "readings": good["readings"] * 501}))
    assert isinstance(too_many, Rejection)
    assert too_many.reason.startswith("readings:")


def test_topics_name_exactly_one_device() -> None:
    device = uuid.uuid4()
    assert device_id_from_topic("p", readings_topic("p", device)) == device
    assert device_id_from_topic("q", readings_topic("p", device)) is None
    assert device_id_from_topic("p", f"p/v1/devices/{device}/extra/readings") is None
    assert device_id_from_topic("p", f"p/v1/devices/{str(device).upper()}/readings") is None
    assert device_id_from_topic("p", f"p/v1/devices/{device.hex}/readings") is None


def test_feedback_status() -> None:
    bad = (Rejection("not_json", "payload is not JSON"),)
    assert Feedback("a", 2, 1).status == "accepted"
    assert Feedback("a", 0, 3).status == "accepted"
    assert Feedback("a", 1, 0, bad).status == "partial"
    assert Feedback(None, 0, 0, bad).status == "rejected"
    assert orjson.loads(Feedback(None, 0, 0, bad).to_json())["rejected"] == [
        {"index": None, "code": "not_json", "reason": "payload is not JSON"}
    ]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_any_bytes_get_an_envelope_or_a_reason(payload: bytes) -> None:
    outcome = parse_envelope(payload)
    assert isinstance(outcome, Envelope) or (outcome.code and outcome.reason)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "metric": st.sampled_from([*METRICS, "x", ""]) | st.text(max_size=5),
            "value": json_values,
            "unit": st.sampled_from(["kg", "%", "{score}", "Cel", "mm[Hg]"]) | json_values,
            "measured_at": st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat)
            | json_values,
        },
    )
    | json_values
)
def test_any_json_reading_is_checked_or_explained(value: object) -> None:
    outcome = check_reading(0, orjson.dumps(value), device=GATEWAY, now=NOW)
    if isinstance(outcome, Rejection):
        assert outcome.index == 0
        assert outcome.reason.startswith("readings[0]")
    else:
        metric = METRICS[outcome.metric]
        assert metric.plausible_low <= outcome.value <= metric.plausible_high
        assert ENROLLED <= outcome.measured_at <= NOW + timedelta(minutes=10)


def _sometimes(
    good: st.SearchStrategy[object], bad: st.SearchStrategy[object]
) -> st.SearchStrategy[object]:
    return st.one_of(good, good, good, bad)


_GOOD_READING = st.fixed_dictionaries(
    {
        "metric": st.sampled_from(["body_weight", "heart_rate", "spo2", "systolic_bp"]),
        "value": st.floats(min_value=0, max_value=400),
        "unit": st.sampled_from(["kg", "g", "/min", "%", "mm[Hg]"]),
        "measured_at": st.sampled_from(
            ["2026-06-01T11:00:00+02:00", "2026-05-01T00:00:00Z", "2025-01-01T00:00:00Z"]
        ),
    },
    optional={"extra": st.integers()},
)
_WRONG = {
    "metric": st.sampled_from(["", "x" * 70, 3]),
    "value": st.one_of(st.integers(min_value=10**30, max_value=10**400), st.text(max_size=3)),
    "unit": st.sampled_from(["", 7]),
    "measured_at": st.sampled_from(["2026-06-01T11:00:00", "x", ""]),
}
# Readings that are mostly well-formed (so that most messages pass the first decoding), now and
# then with one field wrong or missing.
_READING = _sometimes(
    _GOOD_READING,
    st.tuples(_GOOD_READING, st.sampled_from(sorted(_WRONG)), st.booleans()).flatmap(
        lambda spoil: (
            st.just({k: v for k, v in spoil[0].items() if k != spoil[1]})
            if spoil[2]
            else _WRONG[spoil[1]].map(lambda wrong: {**spoil[0], spoil[1]: wrong})
        )
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    msg_id=_sometimes(st.text(min_size=1, max_size=64), st.one_of(st.text(max_size=70), st.none())),
    readings=st.lists(_READING, min_size=1, max_size=4),
)
def test_the_one_pass_decoding_gives_the_verdicts_of_reading_by_reading(
    msg_id: object, readings: list[dict[str, object]]
) -> None:
    """A message decoded in one pass is checked exactly as when each reading is decoded on its
    own (the second pass, which says which reading is wrong)."""
    # json, not orjson: integers past 64 bits and NaN (which msgspec refuses) must get through.
    payload = json.dumps({"msg_id": msg_id, "readings": readings}).encode()
    envelope = parse_envelope(payload)
    if not isinstance(envelope, Envelope):
        return
    one_pass = check_message(envelope, device=GATEWAY, now=NOW)
    raw = [json.dumps(reading).encode() for reading in readings]
    by_reading = [check_reading(i, r, device=GATEWAY, now=NOW) for i, r in enumerate(raw)]
    assert list(one_pass.readings) == [r for r in by_reading if isinstance(r, Reading)]
    assert list(one_pass.rejections) == [r for r in by_reading if isinstance(r, Rejection)]
