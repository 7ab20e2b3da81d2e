"""A FHIR R4 batch or transaction Bundle from a phone gateway, as protocol readings. Pure: no I/O.

The Bundle is shaped as the HL7 Personal Health Device (PHD) IG shapes an upload: a Device entry
(the measuring device), perhaps a Patient entry, and Observations that name the Device, carry an
``effectiveDateTime``, a LOINC code (an IEEE 11073 MDC code may stand beside it and is ignored)
and a UCUM ``valueQuantity``; a blood-pressure panel (85354-9) carries its values as components.

Each Observation becomes one or more ``ReadingIn`` (what a device sends over MQTT), checked by the
very function that checks MQTT readings (``payload.check_reading``: device kind, unit
conversion, plausible range, clock, enrolment), so both paths accept and refuse the same values.
A bad entry gets a ``Rejection`` (reason code, specific reason, the entry's index) and does not
reject the entries beside it; what to do with a rejection in a transaction is the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

import msgspec
import orjson

from hemkoll.protocol.feedback import Rejection
from hemkoll.protocol.measurements import METRICS
from hemkoll.protocol.payload import MAX_READINGS_PER_MESSAGE, ReadingIn, Timestamp, check_reading
from hemkoll.store.types import Device, Reading

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
BUNDLE_TYPES = frozenset({"batch", "transaction"})
# One entry per reading at most, as in an MQTT message.
MAX_BUNDLE_ENTRIES = MAX_READINGS_PER_MESSAGE
# Blood pressure panel with all children optional: its values are components.
BP_PANEL = "85354-9"
# The statuses of a result that stands (FHIR observation-status); "preliminary" and
# "entered-in-error" are not a measurement the rules should act on.
ACCEPTED_STATUSES = frozenset({"final", "amended", "corrected"})
# LOINC code -> metric, from the protocol's catalogue.
METRIC_BY_LOINC: MappingProxyType[str, str] = MappingProxyType(
    {m.loinc: name for name, m in METRICS.items() if m.loinc is not None}
)
# Resources taken beside the Observations: acknowledged, nothing stored (the device and the
# patient are those the credentials name).
CONTEXT_RESOURCES = frozenset({"Device", "Patient"})


@dataclass(frozen=True)
class RawBundle:
    """A Bundle whose envelope is readable: its type and entries, not yet checked."""

    type: str
    identifier: str | None
    entries: tuple[Any, ...]


@dataclass(frozen=True)
class CheckedEntry:
    """One entry's outcome: the readings it carries (checked, canonical), or why not."""

    index: int
    resource_type: str | None
    readings: tuple[Reading, ...] = ()
    rejection: Rejection | None = None


@dataclass(frozen=True)
class CheckedBundle:
    type: str
    identifier: str | None
    entries: tuple[CheckedEntry, ...]

    @property
    def rejections(self) -> tuple[Rejection, ...]:
        return tuple(e.rejection for e in self.entries if e.rejection is not None)


class _EntryRejected(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def parse_bundle(body: bytes) -> RawBundle | Rejection:
    """Read a Bundle's envelope, or say why the request as a whole cannot be read."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return Rejection("not_json", f"the body is not JSON: {exc}")
    if not isinstance(doc, dict) or doc.get("resourceType") != "Bundle":
        return Rejection("not_a_bundle", "the body is not a FHIR Bundle (resourceType 'Bundle')")
    kind = doc.get("type")
    if kind not in BUNDLE_TYPES:
        return Rejection(
            "bundle_type_invalid",
            f"Bundle.type is {str(kind)[:30]!r}; this endpoint takes 'batch' or 'transaction'",
        )
    entries = doc.get("entry", [])
    if not isinstance(entries, list):
        return Rejection("field_invalid", "Bundle.entry must be an array")
    if len(entries) > MAX_BUNDLE_ENTRIES:
        return Rejection(
            "too_many_entries",
            f"the Bundle has {len(entries)} entries; at most {MAX_BUNDLE_ENTRIES}",
        )
    identifier = doc.get("identifier")
    value = identifier.get("value") if isinstance(identifier, dict) else None
    return RawBundle(kind, value if isinstance(value, str) else None, tuple(entries))


def check_bundle(bundle: RawBundle, *, device: Device, now: datetime) -> CheckedBundle:
    """Check every entry against the authenticated ``device`` at ``now``."""
    own = f"Device/{device.id}"
    device_refs = {own} | {
        entry["fullUrl"]
        for entry in bundle.entries
        if isinstance(entry, dict)
        and isinstance(entry.get("fullUrl"), str)
        and isinstance(entry.get("resource"), dict)
        and entry["resource"].get("resourceType") == "Device"
    }
    checked = tuple(
        _check_entry(index, entry, device, device_refs, now)
        for index, entry in enumerate(bundle.entries)
    )
    return CheckedBundle(bundle.type, bundle.identifier, checked)


def _check_entry(
    index: int, entry: Any, device: Device, device_refs: set[str], now: datetime
) -> CheckedEntry:
    at = f"entry[{index}]"
    resource = entry.get("resource") if isinstance(entry, dict) else None
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    name = kind if isinstance(kind, str) else None
    try:
        readings_in = _entry_readings(
            at, entry, resource, name, device=device, device_refs=device_refs
        )
    except _EntryRejected as exc:
        return CheckedEntry(index, name, rejection=Rejection(exc.code, exc.reason, index))
    readings: list[Reading] = []
    for reading_in in readings_in:
        outcome = check_reading(index, reading_in, device=device, now=now, at=at)
        if isinstance(outcome, Rejection):  # a panel is one measurement: all of it or none
            return CheckedEntry(index, name, rejection=outcome)
        readings.append(outcome)
    return CheckedEntry(index, name, tuple(readings))


def _entry_readings(
    at: str, entry: Any, resource: Any, name: str | None, *, device: Device, device_refs: set[str]
) -> list[ReadingIn]:
    """The readings an entry carries (none for a Device or Patient), or _EntryRejected."""
    if not isinstance(resource, dict) or name is None:
        raise _EntryRejected("field_missing", f"{at}: the entry has no resource")
    _check_request(at, entry, name)
    if name in CONTEXT_RESOURCES:
        return []
    if name != "Observation":
        raise _EntryRejected(
            "resource_not_supported",
            f"{at}: a {name[:40]} is not taken here; send Observations (and their Device)",
        )
    return _observation_readings(at, resource, device, device_refs)


def _check_request(at: str, entry: dict[str, Any], name: str) -> None:
    request = entry.get("request")
    if not isinstance(request, dict):
        raise _EntryRejected("request_invalid", f"{at}: the entry has no request")
    method, url = request.get("method"), request.get("url")
    if method not in ("POST", "PUT") or not isinstance(url, str) or not url.startswith(name):
        raise _EntryRejected(
            "request_invalid",
            f"{at}: request must be POST or PUT to {name} (got {str(method)[:10]} {str(url)[:40]})",
        )


def _observation_readings(
    at: str, obs: dict[str, Any], device: Device, device_refs: set[str]
) -> list[ReadingIn]:
    status = obs.get("status")
    if status not in ACCEPTED_STATUSES:
        raise _EntryRejected(
            "status_not_final",
            f"{at}: Observation.status is {str(status)[:20]!r}; "
            f"taken: {', '.join(sorted(ACCEPTED_STATUSES))}",
        )
    ref = _reference(obs.get("device"))
    if ref is None:
        raise _EntryRejected("field_missing", f"{at}: Observation.device is missing")
    if ref not in device_refs:
        raise _EntryRejected(
            "device_reference_invalid",
            f"{at}: Observation.device {ref[:80]!r} is neither a Device entry of this Bundle "
            "nor the device whose credentials sent it",
        )
    subject = _reference(obs.get("subject"))
    if (
        subject is not None
        and subject.startswith("Patient/")
        and subject != f"Patient/{device.patient_id}"
    ):
        raise _EntryRejected(
            "subject_mismatch", f"{at}: Observation.subject is another patient than the device's"
        )
    measured_at = _effective(at, obs)
    loinc = _loinc_codes(obs.get("code"))
    if BP_PANEL in loinc:
        return _panel(at, obs, measured_at)
    metric = next((METRIC_BY_LOINC[c] for c in loinc if c in METRIC_BY_LOINC), None)
    if metric is None:
        raise _EntryRejected(
            "code_unknown",
            f"{at}: Observation.code has no LOINC code taken here; taken: "
            f"{', '.join([*METRIC_BY_LOINC, BP_PANEL])}",
        )
    value, unit = _quantity(f"{at}.valueQuantity", obs.get("valueQuantity"))
    return [ReadingIn(metric, value, unit, measured_at)]


def _panel(at: str, obs: dict[str, Any], measured_at: datetime) -> list[ReadingIn]:
    """A blood-pressure panel's components we keep (systolic, diastolic, and a heart rate if
    given); a component of another code (mean arterial pressure) is not a metric here."""
    components = obs.get("component")
    if not isinstance(components, list):
        raise _EntryRejected("field_missing", f"{at}: the blood-pressure panel has no component")
    readings: dict[str, ReadingIn] = {}
    for i, component in enumerate(components):
        codes = _loinc_codes(component.get("code") if isinstance(component, dict) else None)
        metric = next((METRIC_BY_LOINC[c] for c in codes if c in METRIC_BY_LOINC), None)
        if metric is None or not isinstance(component, dict):
            continue
        if metric in readings:
            raise _EntryRejected("field_invalid", f"{at}.component[{i}]: {metric} given twice")
        value, unit = _quantity(
            f"{at}.component[{i}].valueQuantity", component.get("valueQuantity")
        )
        readings[metric] = ReadingIn(metric, value, unit, measured_at)
    for needed in ("systolic_bp", "diastolic_bp"):
        if needed not in readings:
            raise _EntryRejected(
                "field_missing",
                f"{at}: the blood-pressure panel has no {needed} component "
                f"(LOINC {METRICS[needed].loinc})",
            )
    return list(readings.values())


def _reference(value: Any) -> str | None:
    ref = value.get("reference") if isinstance(value, dict) else None
    return ref if isinstance(ref, str) else None


def _loinc_codes(concept: Any) -> list[str]:
    codings = concept.get("coding") if isinstance(concept, dict) else None
    if not isinstance(codings, list):
        return []
    return [
        c["code"]
        for c in codings
        if isinstance(c, dict) and c.get("system") == LOINC and isinstance(c.get("code"), str)
    ]


def _effective(at: str, obs: dict[str, Any]) -> datetime:
    value = obs.get("effectiveDateTime")
    if value is None:
        raise _EntryRejected(
            "field_missing",
            f"{at}: Observation.effectiveDateTime is missing (a period is not taken)",
        )
    try:
        return msgspec.convert(value, Timestamp)
    except msgspec.ValidationError:
        raise _EntryRejected(
            "field_invalid",
            f"{at}: Observation.effectiveDateTime must be an instant with a time zone "
            "(e.g. 2026-12-03T07:15:00+01:00)",
        ) from None


def _quantity(at: str, quantity: Any) -> tuple[float, str]:
    if not isinstance(quantity, dict):
        raise _EntryRejected("field_missing", f"{at} is missing")
    value, code, system = quantity.get("value"), quantity.get("code"), quantity.get("system")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _EntryRejected("field_invalid", f"{at}.value must be a number")
    if not isinstance(code, str) or not code:
        raise _EntryRejected("field_missing", f"{at}.code (the UCUM unit) is missing")
    if system != UCUM:
        raise _EntryRejected(
            "unit_not_allowed", f"{at}.system must be {UCUM} (units are UCUM codes)"
        )
    return float(value), code
