"""protocol/fhir_bundle (pure): a Bundle's envelope and entries, odd shapes included, become
readings or specific rejections, never an exception; the MQTT checks give the same answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import orjson
import pytest

from hemkoll.protocol import fhir_bundle
from hemkoll.protocol.feedback import Rejection
from hemkoll.protocol.payload import ReadingIn, check_reading
from hemkoll.store.types import Device, Reading

NOW = datetime(2026, 12, 3, 8, tzinfo=UTC)
DEVICE = Device(uuid4(), uuid4(), "scale", True, NOW - timedelta(days=10))
OWN = f"Device/{DEVICE.id}"


def weight(value: Any = 80.0, unit: Any = "kg", **rest: Any) -> dict[str, Any]:
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "device": {"reference": OWN},
        "effectiveDateTime": "2026-12-03T07:00:00+01:00",
        "valueQuantity": {"value": value, "system": "http://unitsofmeasure.org", "code": unit},
    }
    resource.update(rest)
    return {"resource": resource, "request": {"method": "POST", "url": "Observation"}}


def check(*entries: Any) -> list[tuple[Reading, ...] | str]:
    raw = fhir_bundle.parse_bundle(
        orjson.dumps({"resourceType": "Bundle", "type": "batch", "entry": list(entries)})
    )
    assert isinstance(raw, fhir_bundle.RawBundle)
    checked = fhir_bundle.check_bundle(raw, device=DEVICE, now=NOW)
    return [e.rejection.code if e.rejection else e.readings for e in checked.entries]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"\xff", "not_json"),
        (b"[]", "not_a_bundle"),
        (b'{"resourceType": "Observation"}', "not_a_bundle"),
        (b'{"resourceType": "Bundle", "type": "searchset"}', "bundle_type_invalid"),
        (b'{"resourceType": "Bundle", "type": "batch", "entry": {}}', "field_invalid"),
        (b"[" * 2000 + b"]" * 2000, "not_json"),
        (b'{"resourceType": "Bundle", "type": "batch", "entry": [1e400]}', "not_json"),
    ],
)
def test_unreadable_requests_are_refused_as_a_whole(body: bytes, code: str) -> None:
    refused = fhir_bundle.parse_bundle(body)
    assert isinstance(refused, Rejection)
    assert refused.code == code


def test_too_many_entries() -> None:
    entries = [weight()] * (fhir_bundle.MAX_BUNDLE_ENTRIES + 1)
    body = orjson.dumps({"resourceType": "Bundle", "type": "batch", "entry": entries})
    refused = fhir_bundle.parse_bundle(body)
    assert isinstance(refused, Rejection)
    assert refused.code == "too_many_entries"


def test_odd_entries_get_specific_reasons() -> None:
    no_request = weight()
    del no_request["request"]
    assert check(
        1,
        {},
        {"resource": [], "request": {}},
        no_request,
        {"resource": {"resourceType": "Flag"}, "request": {"method": "POST", "url": "Flag"}},
        weight(status="preliminary"),
        weight(device={"reference": "Device/someone-else"}),
        weight(device=None),
        weight(subject={"reference": f"Patient/{uuid4()}"}),
        weight(effectiveDateTime="2026-12-03"),
        weight(effectiveDateTime=12),
        weight(value=True),
        weight(value="80"),
        weight(unit=None),
        weight(valueQuantity={"value": 80, "code": "kg"}),
        weight(valueQuantity=[]),
        weight(code={"coding": "29463-7"}),
        weight(value=900),
        weight(effectiveDateTime="2026-12-04T07:00:00Z"),
        weight(effectiveDateTime="2026-11-01T07:00:00Z"),
        weight(code={"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}, unit="/min"),
    ) == [
        "field_missing",
        "field_missing",
        "field_missing",
        "request_invalid",
        "resource_not_supported",
        "status_not_final",
        "device_reference_invalid",
        "field_missing",
        "subject_mismatch",
        "field_invalid",
        "field_invalid",
        "field_invalid",
        "field_invalid",
        "field_missing",
        "unit_not_allowed",
        "field_missing",
        "code_unknown",
        "value_implausible",
        "measured_at_future",
        "measured_at_before_enrolment",
        "metric_not_for_device",
    ]


def test_a_reading_is_what_the_mqtt_check_makes_of_the_same_values() -> None:
    [readings] = check(weight(180, "[lb_av]"))
    at = datetime(2026, 12, 3, 6, tzinfo=UTC)
    assert readings == (
        check_reading(0, ReadingIn("body_weight", 180, "[lb_av]", at), device=DEVICE, now=NOW),
    )


def test_a_bp_panel_is_its_components_all_or_none() -> None:
    bp = Device(uuid4(), uuid4(), "blood_pressure_monitor", True, NOW - timedelta(days=1))

    def component(code: Any, value: float) -> dict[str, Any]:
        return {
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "valueQuantity": {
                "value": value,
                "system": "http://unitsofmeasure.org",
                "code": "mm[Hg]",
            },
        }

    def panel(*components: Any) -> dict[str, Any]:
        entry = weight(component=list(components))
        entry["resource"]["code"] = {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]}
        entry["resource"]["device"] = {"reference": f"Device/{bp.id}"}
        del entry["resource"]["valueQuantity"]
        return entry

    body = orjson.dumps(
        {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [
                panel(component("8480-6", 120), component("8462-4", 80), component("8478-0", 93)),
                panel(component("8480-6", 120)),
                panel(component("8480-6", 120), component("8462-4", 500)),
                panel("x", component("8480-6", 120), component("8480-6", 121)),
            ],
        }
    )
    raw = fhir_bundle.parse_bundle(body)
    assert isinstance(raw, fhir_bundle.RawBundle)
    entries = fhir_bundle.check_bundle(raw, device=bp, now=NOW).entries
    assert [(r.metric, r.value) for r in entries[0].readings] == [
        ("systolic_bp", 120),
        ("diastolic_bp", 80),
    ]
    assert [e.rejection.code if e.rejection else None for e in entries[1:]] == [
        "field_missing",
        "value_implausible",
        "field_invalid",
    ]
