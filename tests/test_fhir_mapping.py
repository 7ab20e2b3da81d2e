"""hemkoll.fhir's pure parts: an Observation id names its reading exactly (to the microsecond)
and anything else is refused; the outbox's evidence snapshot reads back as the reading; a cuff's
systolic and diastolic pair into one blood-pressure panel; every kind of Observation served
carries the vital-signs profiles' required elements (tests/fhir_profiles.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from hemkoll.fhir.observation import (
    entries,
    kinds_for_code,
    kinds_for_component_code,
    observation_id,
    observation_resource,
    parse_observation_id,
    reading_from_snapshot,
)
from hemkoll.protocol.measurements import METRICS
from hemkoll.store.readings_query import BloodPressure, RawReading
from tests.fhir_profiles import vital_signs_problems


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 11, 9, 8, 0, 0, 999999, tzinfo=UTC),
        datetime(2026, 11, 9, 8, 0, 0, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
    ],
)
def test_an_observation_id_names_its_reading_to_the_microsecond(at: datetime) -> None:
    device = uuid4()
    reading = RawReading("symptom_fatigue", 2.0, at, device, at)
    assert parse_observation_id(observation_id(reading)) == (device, at, "symptom_fatigue")


# A fixed device id: parametrised ids must be the same in every pytest-xdist worker.
DEVICE_HEX = "63618d499a1c45d7bf0fc83726ae0baa"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        "a.b.c",
        f"{DEVICE_HEX}.12.no-such-metric",
        f"{DEVICE_HEX}.x1.spo2",
        "1.2.spo2",
        # A half is served inside its panel, never on its own id.
        f"{DEVICE_HEX}.12.systolic-bp",
        f"{DEVICE_HEX}.12.diastolic-bp",
    ],
)
def test_anything_else_is_not_an_observation_id(value: str) -> None:
    assert parse_observation_id(value) is None


def test_a_snapshot_reads_back_as_the_reading() -> None:
    at = datetime(2026, 11, 9, 8, tzinfo=UTC)
    device = uuid4()
    reading = reading_from_snapshot(
        {
            "metric": "spo2",
            "value": 88,
            "measured_at": "2026-11-09T09:00:00+01:00",
            "device_id": str(device),
            "received_at": (at + timedelta(seconds=2)).isoformat(),
        }
    )
    assert reading == RawReading("spo2", 88.0, at, device, at + timedelta(seconds=2))
    with pytest.raises(ValueError, match="no UTC offset"):
        reading_from_snapshot({**reading.__dict__, "measured_at": "2026-11-09T08:00:00"})


AT = datetime(2026, 11, 9, 7, 30, tzinfo=UTC)
# Fixed ids: the parametrised cases below hold them (the same in every pytest-xdist worker).
CUFF = UUID("0f0e5b4a-6a3c-4bde-9d7e-2f4b1f7c0a01")
OTHER = UUID("5d2b7c1e-93a4-4f0b-8e6d-1a2b3c4d5e6f")


def _r(metric: str, value: float, device: UUID = CUFF, at: datetime = AT) -> RawReading:
    return RawReading(metric, value, at, device, at + timedelta(seconds=5))


def test_a_cuffs_two_halves_of_one_instant_are_one_panel_and_pulse_stays_apart() -> None:
    later = AT + timedelta(minutes=1)
    found = entries(
        [
            _r("diastolic_bp", 82),
            _r("heart_rate", 71),
            _r("systolic_bp", 128),
            _r("systolic_bp", 140, device=OTHER),  # another cuff: its own (lone) panel
            _r("diastolic_bp", 90, at=later),  # a minute later: not this pair
        ]
    )
    assert found == [
        BloodPressure(AT, CUFF, 128, 82, AT + timedelta(seconds=5)),
        _r("heart_rate", 71),
        BloodPressure(AT, OTHER, 140, None, AT + timedelta(seconds=5)),
        BloodPressure(later, CUFF, None, 90, later + timedelta(seconds=5)),
    ]
    # Either half names its panel, and the panel's id reads back as the panel.
    panel_id = observation_id(found[0])
    assert observation_id(_r("systolic_bp", 128)) == panel_id
    assert observation_id(_r("diastolic_bp", 82)) == panel_id
    assert panel_id.endswith(".blood-pressure")
    assert parse_observation_id(panel_id) == (CUFF, AT, "blood_pressure")


@pytest.mark.parametrize(
    ("token", "by_code", "by_component"),
    [
        ("85354-9", {"blood_pressure"}, set()),
        ("http://loinc.org|85354-9", {"blood_pressure"}, set()),
        ("urn:iso:std:iso:11073:10101|150020", {"blood_pressure"}, set()),
        ("8480-6", set(), {"blood_pressure"}),
        ("http://loinc.org|8462-4", set(), {"blood_pressure"}),
        ("urn:iso:std:iso:11073:10101|150021", set(), {"blood_pressure"}),
        ("urn:hemkoll:metric|8480-6", set(), set()),
        ("8867-4", {"heart_rate"}, set()),
        ("2708-6", {"spo2"}, set()),
    ],
)
def test_code_matches_observation_code_and_component_code_the_components(
    token: str, by_code: set[str], by_component: set[str]
) -> None:
    assert kinds_for_code(token) == by_code
    assert kinds_for_component_code(token) == by_component


VITALS = [m for m in METRICS if METRICS[m].loinc is not None and not m.endswith("_bp")]
SERVED = [
    *[_r(m, METRICS[m].plausible_low + 1) for m in VITALS],
    BloodPressure(AT, CUFF, 128, 82, AT),
    BloodPressure(AT, CUFF, 128, None, AT),
    BloodPressure(AT, CUFF, None, 82, AT),
    _r("diastolic_bp", 82),  # a half given alone is served as its panel
]


@pytest.mark.parametrize("entry", SERVED, ids=lambda e: observation_id(e).split(".")[-1])
def test_every_served_vital_sign_has_the_profiles_required_elements(
    entry: RawReading | BloodPressure,
) -> None:
    patient = uuid4()
    body = observation_resource(entry, patient).model_dump(mode="json", exclude_none=True)
    assert vital_signs_problems(body) == []
    assert body["subject"] == {"reference": f"Patient/{patient}"}
    if isinstance(entry, BloodPressure) or entry.metric.endswith("_bp"):
        codes = [c["code"] for c in body["code"]["coding"]]
        assert codes == ["85354-9", "150020"]
        values = {
            comp["code"]["coding"][0]["code"]: comp.get("valueQuantity", {}).get("value")
            for comp in body["component"]
        }
        systolic = entry.systolic if isinstance(entry, BloodPressure) else None
        diastolic = entry.diastolic if isinstance(entry, BloodPressure) else entry.value
        assert values == {"8480-6": systolic, "8462-4": diastolic}
        absent = [c for c in body["component"] if "dataAbsentReason" in c]
        assert len(absent) == [systolic, diastolic].count(None)


def test_the_profile_check_finds_what_a_panel_lacks() -> None:
    body = observation_resource(BloodPressure(AT, CUFF, 128, 82, AT), uuid4()).model_dump(
        mode="json", exclude_none=True
    )
    assert vital_signs_problems(body) == []
    no_diastolic = {**body, "component": body["component"][:1]}
    assert vital_signs_problems(no_diastolic) == ["BP panel has 0 components 8462-4, not 1"]
    bare = {**body, "component": [body["component"][0], {"code": body["component"][1]["code"]}]}
    assert "component[1] has neither value[x] nor dataAbsentReason" in vital_signs_problems(bare)
    kpa = [{**c, "valueQuantity": {**c["valueQuantity"], "code": "kPa"}} for c in body["component"]]
    assert any("kPa" in p for p in vital_signs_problems({**body, "component": kpa}))
    no_category = {k: v for k, v in body.items() if k != "category"}
    assert vital_signs_problems(no_category) == [
        "no category coding observation-category|vital-signs"
    ]
