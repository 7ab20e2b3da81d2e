"""Our rows as FHIR R4 resources (pure: no I/O).

Vital signs carry the LOINC code the vital-signs profile requires and, beside it, the IEEE 11073
MDC code as the Personal Health Device IG does; symptom answers (no LOINC code in our catalogue)
carry hemkoll's own metric code and category ``survey``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any
from uuid import UUID

from fhir.resources.R4B.device import Device as FhirDevice
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient

from hemkoll.protocol.measurements import METRICS
from hemkoll.store.patients import PatientRecord
from hemkoll.store.readings_query import RawReading
from hemkoll.store.types import Device

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
MDC = "urn:iso:std:iso:11073:10101"
HEMKOLL_METRIC = "urn:hemkoll:metric"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
VITAL_SIGNS_PROFILE = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
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


def _instant(at: datetime) -> str:
    return at.isoformat()


def patient_resource(patient: PatientRecord) -> Patient:
    """The pseudonymous patient: our id and the centre's reference, nothing identifying."""
    return Patient.model_validate(
        {
            "resourceType": "Patient",
            "id": str(patient.id),
            "identifier": [
                {
                    "system": f"urn:hemkoll:centre:{patient.health_centre_id}",
                    "value": patient.reference,
                }
            ],
            "active": patient.discharged_at is None,
        }
    )


def metric_for_code(token: str) -> set[str]:
    """The metrics a ``code`` search token names (``system|code`` or ``code``)."""
    system, _, code = token.rpartition("|")
    found = set()
    for name, metric in METRICS.items():
        codes = {(LOINC, metric.loinc), (HEMKOLL_METRIC, name)}
        if name in MDC_CODES:
            codes.add((MDC, MDC_CODES[name][0]))
        if name in EXTRA_LOINC:
            codes.add((LOINC, EXTRA_LOINC[name]))
        if any(c == code and (not system or s == system) for s, c in codes):
            found.add(name)
    return found


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def observation_id(reading: RawReading) -> str:
    """An id from the reading's key (FHIR ids: letters, digits, '-' and '.', at most 64)."""
    micros = (reading.measured_at - _EPOCH) // _MICROSECOND
    return f"{reading.device_id.hex}.{micros}.{reading.metric.replace('_', '-')}"


def parse_observation_id(value: str) -> tuple[UUID, datetime, str] | None:
    """(device, measured_at, metric) of an ``observation_id``; None for anything else."""
    parts = value.split(".")
    if len(parts) != 3 or not parts[1].lstrip("-").isdigit():
        return None
    try:
        device_id = UUID(hex=parts[0])
        measured_at = _EPOCH + int(parts[1]) * _MICROSECOND
    except (ValueError, OverflowError):
        return None
    metric = parts[2].replace("-", "_")
    if metric not in METRICS or len(parts[0]) != 32:
        return None
    return device_id, measured_at, metric


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


def observation_resource(reading: RawReading, patient_id: object) -> Observation:
    metric = METRICS[reading.metric]
    coding: list[dict[str, Any]] = []
    if metric.loinc is not None:
        coding.append({"system": LOINC, "code": metric.loinc, "display": metric.description})
        if reading.metric in EXTRA_LOINC:
            coding.append({"system": LOINC, "code": EXTRA_LOINC[reading.metric]})
        category = "vital-signs"
    else:
        coding.append(
            {"system": HEMKOLL_METRIC, "code": reading.metric, "display": metric.description}
        )
        category = "survey"
    if reading.metric in MDC_CODES:
        code, display = MDC_CODES[reading.metric]
        coding.append({"system": MDC, "code": code, "display": display})
    body: dict[str, Any] = {
        "resourceType": "Observation",
        "id": observation_id(reading),
        "meta": {"lastUpdated": _instant(reading.received_at)},
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": category}]}],
        "code": {"coding": coding, "text": metric.description},
        "subject": {"reference": f"Patient/{patient_id}"},
        "device": {"reference": f"Device/{reading.device_id}"},
        "effectiveDateTime": _instant(reading.measured_at),
        "valueQuantity": {
            "value": reading.value,
            "unit": metric.canonical_unit,
            "system": UCUM,
            "code": metric.canonical_unit,
        },
    }
    if category == "vital-signs":
        body["meta"]["profile"] = [VITAL_SIGNS_PROFILE]
    return Observation.model_validate(body)


def device_resource(device: Device) -> FhirDevice:
    """A patient's device: its id, kind and whether it is active (no serial numbers held)."""
    return FhirDevice.model_validate(
        {
            "resourceType": "Device",
            "id": str(device.id),
            "status": "active" if device.active else "inactive",
            "type": {"coding": [{"system": "urn:hemkoll:device-kind", "code": device.kind}]},
            "patient": {"reference": f"Patient/{device.patient_id}"},
        }
    )
