"""Our readings as FHIR R4 Observations (pure: no I/O).

Vital signs carry the LOINC code the vital-signs profile requires and, beside it, the IEEE 11073
MDC code as the Personal Health Device IG does; symptom answers (no LOINC code in our catalogue)
carry hemkoll's own metric code and category ``survey``.

A cuff's systolic and diastolic (stored as two readings of one device and instant) are served as
one Observation, the vital-signs blood-pressure panel: code 85354-9 (MDC 150020) with the
components 8480-6 (MDC 150021) and 8462-4 (MDC 150022). A half that was never stored is a
component with ``dataAbsentReason`` unknown, as the BP profile allows (vs-3), so every blood
pressure is found by code 85354-9 and keeps its id when a late half arrives (docs/fhir.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any
from uuid import UUID

from fhir.resources.R4B.observation import Observation

from hemkoll.protocol.measurements import METRICS
from hemkoll.store.readings_query import (
    BLOOD_PRESSURE,
    BLOOD_PRESSURE_HALVES,
    BloodPressure,
    RawReading,
)

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
MDC = "urn:iso:std:iso:11073:10101"
HEMKOLL_METRIC = "urn:hemkoll:metric"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
VITAL_SIGNS_PROFILE = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
BP_PROFILE = "http://hl7.org/fhir/StructureDefinition/bp"
# IEEE 11073-10101 codes of our vital-sign metrics (MDC_MASS_BODY_ACTUAL, MDC_PRESS_BLD_NONINV_SYS,
# MDC_PRESS_BLD_NONINV_DIA, MDC_PULS_RATE_NON_INV, MDC_PULS_OXIM_SAT_O2, MDC_TEMP_BODY).
MDC_CODES: MappingProxyType[str, tuple[str, str]] = MappingProxyType(
    {
        "body_weight": ("188736", "MDC_MASS_BODY_ACTUAL"),
        "systolic_bp": ("150021", "MDC_PRESS_BLD_NONINV_SYS"),
        "diastolic_bp": ("150022", "MDC_PRESS_BLD_NONINV_DIA"),
        "heart_rate": ("149546", "MDC_PULS_RATE_NON_INV"),
        "spo2": ("150456", "MDC_PULS_OXIM_SAT_O2"),
        "body_temperature": ("150364", "MDC_TEMP_BODY"),
    }
)
# The vital-signs profile asks SpO2 to carry 2708-6 (oxygen saturation in arterial blood) too.
EXTRA_LOINC: MappingProxyType[str, str] = MappingProxyType({"spo2": "2708-6"})
# The panel's own codes (the BP profile's Observation.code; MDC_PRESS_BLD_NONINV).
PANEL_LOINC = ("85354-9", "Blood pressure panel with all children optional")
PANEL_MDC = ("150020", "MDC_PRESS_BLD_NONINV")

# What an Observation of the API is: a reading, or a cuff's pair (served as the panel).
Entry = RawReading | BloodPressure
# Every kind of entry the search serves: each metric but the halves, and the panel.
KINDS: frozenset[str] = frozenset(set(METRICS) - set(BLOOD_PRESSURE_HALVES) | {BLOOD_PRESSURE})


def _codes(metric: str) -> set[tuple[str, str]]:
    """The (system, code) pairs a metric's coding carries (as observation or component)."""
    loinc = METRICS[metric].loinc
    codes = {(LOINC, loinc)} if loinc is not None else {(HEMKOLL_METRIC, metric)}
    if metric in MDC_CODES:
        codes.add((MDC, MDC_CODES[metric][0]))
    if metric in EXTRA_LOINC:
        codes.add((LOINC, EXTRA_LOINC[metric]))
    return codes


def _kind_codes(kind: str) -> set[tuple[str, str]]:
    if kind == BLOOD_PRESSURE:
        return {(LOINC, PANEL_LOINC[0]), (MDC, PANEL_MDC[0])}
    return _codes(kind)


def _matches(token: str, codes: set[tuple[str, str]]) -> bool:
    system, _, code = token.rpartition("|")
    return any(c == code and (not system or s == system) for s, c in codes)


def kinds_for_code(token: str) -> set[str]:
    """The kinds whose ``Observation.code`` a ``code`` token (``system|code`` or ``code``) names."""
    return {kind for kind in KINDS if _matches(token, _kind_codes(kind))}


def kinds_for_component_code(token: str) -> set[str]:
    """The kinds with a component a ``component-code`` token names: the panel's halves."""
    halves = set().union(*(_codes(half) for half in BLOOD_PRESSURE_HALVES))
    return {BLOOD_PRESSURE} if _matches(token, halves) else set()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _kind(entry: Entry) -> str:
    if isinstance(entry, BloodPressure) or entry.metric in BLOOD_PRESSURE_HALVES:
        return BLOOD_PRESSURE
    return entry.metric


def observation_id(entry: Entry) -> str:
    """An id from the entry's key (FHIR ids: letters, digits, '-' and '.', at most 64):
    ``<device hex>.<micros since 1970>.<kind>``. A systolic or diastolic reading gives its
    panel's id (kind ``blood-pressure``), so a Flag's evidence names the panel."""
    micros = (entry.measured_at - _EPOCH) // _MICROSECOND
    return f"{entry.device_id.hex}.{micros}.{_kind(entry).replace('_', '-')}"


def parse_observation_id(value: str) -> tuple[UUID, datetime, str] | None:
    """(device, measured_at, kind) of an ``observation_id``; None for anything else."""
    parts = value.split(".")
    if len(parts) != 3 or not parts[1].lstrip("-").isdigit():
        return None
    try:
        device_id = UUID(hex=parts[0])
        measured_at = _EPOCH + int(parts[1]) * _MICROSECOND
    except (ValueError, OverflowError):
        return None
    kind = parts[2].replace("-", "_")
    if kind not in KINDS or len(parts[0]) != 32:
        return None
    return device_id, measured_at, kind


def entries(readings: Iterable[RawReading]) -> list[Entry]:
    """The readings as served: a device's systolic and diastolic of one instant paired into a
    ``BloodPressure`` (in the place of its first half), every other reading as it is."""
    found: list[Entry] = []
    halves: dict[tuple[UUID, datetime], dict[str, RawReading]] = {}
    for reading in readings:
        if reading.metric not in BLOOD_PRESSURE_HALVES:
            found.append(reading)
            continue
        key = (reading.device_id, reading.measured_at)
        if key not in halves:
            halves[key] = {}
            found.append(reading)  # its place, replaced by the pair below
        halves[key][reading.metric] = reading
    return [_paired(e, halves) if isinstance(e, RawReading) else e for e in found]


def _paired(
    reading: RawReading, halves: Mapping[tuple[UUID, datetime], Mapping[str, RawReading]]
) -> Entry:
    pair = halves.get((reading.device_id, reading.measured_at))
    if reading.metric not in BLOOD_PRESSURE_HALVES or pair is None:
        return reading
    systolic, diastolic = pair.get("systolic_bp"), pair.get("diastolic_bp")
    return BloodPressure(
        reading.measured_at,
        reading.device_id,
        None if systolic is None else systolic.value,
        None if diastolic is None else diastolic.value,
        max(r.received_at for r in pair.values()),
    )


def reading_from_snapshot(item: Mapping[str, Any]) -> RawReading:
    """A reading as the outbox snapshots it (store/queries/notifications.sql)."""
    return RawReading(
        metric=str(item["metric"]),
        value=float(item["value"]),
        measured_at=_aware(str(item["measured_at"])),
        device_id=UUID(str(item["device_id"])),
        received_at=_aware(str(item["received_at"])),
    )


def _aware(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return at.astimezone(UTC)


def _coding(metric: str) -> list[dict[str, Any]]:
    m = METRICS[metric]
    if m.loinc is None:
        return [{"system": HEMKOLL_METRIC, "code": metric, "display": m.description}]
    coding: list[dict[str, Any]] = [{"system": LOINC, "code": m.loinc, "display": m.description}]
    if metric in EXTRA_LOINC:
        coding.append({"system": LOINC, "code": EXTRA_LOINC[metric]})
    if metric in MDC_CODES:
        code, display = MDC_CODES[metric]
        coding.append({"system": MDC, "code": code, "display": display})
    return coding


def _quantity(metric: str, value: float) -> dict[str, Any]:
    unit = METRICS[metric].canonical_unit
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _common(entry: Entry, patient_id: object, category: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": observation_id(entry),
        "meta": {"lastUpdated": entry.received_at.isoformat()},
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": category}]}],
        "subject": {"reference": f"Patient/{patient_id}"},
        "device": {"reference": f"Device/{entry.device_id}"},
        "effectiveDateTime": entry.measured_at.isoformat(),
    }


def observation_resource(entry: Entry, patient_id: object) -> Observation:
    """The Observation of a reading, or of a cuff's pair (the panel)."""
    if isinstance(entry, BloodPressure) or entry.metric in BLOOD_PRESSURE_HALVES:
        return _panel(entry if isinstance(entry, BloodPressure) else _alone(entry), patient_id)
    metric = METRICS[entry.metric]
    category = "survey" if metric.loinc is None else "vital-signs"
    body = _common(entry, patient_id, category)
    body["code"] = {"coding": _coding(entry.metric), "text": metric.description}
    body["valueQuantity"] = _quantity(entry.metric, entry.value)
    if category == "vital-signs":
        body["meta"]["profile"] = [VITAL_SIGNS_PROFILE]
    return Observation.model_validate(body)


def _alone(reading: RawReading) -> BloodPressure:
    """A half read without its partner, as a panel of that half only."""
    systolic = reading.value if reading.metric == "systolic_bp" else None
    diastolic = reading.value if reading.metric == "diastolic_bp" else None
    return BloodPressure(
        reading.measured_at, reading.device_id, systolic, diastolic, reading.received_at
    )


def _panel(bp: BloodPressure, patient_id: object) -> Observation:
    body = _common(bp, patient_id, "vital-signs")
    body["meta"]["profile"] = [VITAL_SIGNS_PROFILE, BP_PROFILE]
    body["code"] = {
        "coding": [
            {"system": LOINC, "code": PANEL_LOINC[0], "display": PANEL_LOINC[1]},
            {"system": MDC, "code": PANEL_MDC[0], "display": PANEL_MDC[1]},
        ],
        "text": "Blood pressure",
    }
    body["component"] = [
        _component("systolic_bp", bp.systolic),
        _component("diastolic_bp", bp.diastolic),
    ]
    return Observation.model_validate(body)


def _component(metric: str, value: float | None) -> dict[str, Any]:
    component: dict[str, Any] = {
        "code": {"coding": _coding(metric), "text": METRICS[metric].description}
    }
    if value is None:
        # Not stored (the cuff's message had only the other half): the BP profile's vs-3.
        component["dataAbsentReason"] = {
            "coding": [{"system": DATA_ABSENT_REASON, "code": "unknown", "display": "Unknown"}]
        }
    else:
        component["valueQuantity"] = _quantity(metric, value)
    return component
