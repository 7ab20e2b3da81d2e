"""The FHIR R4 vital-signs profiles' required elements, checked on an Observation's JSON
(http://hl7.org/fhir/R4/observation-vitalsigns.html): what fhir.resources' model validation does
not check (it knows the base resource, not profiles). A list of problems, empty when it conforms.

Checked for every vital sign (profile ``vitalsigns``): status, a category coding
observation-category ``vital-signs``, code with a coding, subject a Patient reference,
effective[x] (a dateTime of at least a day: vs-1), a value[x] or dataAbsentReason unless it has
components (vs-2), each component's code and value[x] or dataAbsentReason (vs-3), and every
valueQuantity with value, unit, system UCUM and code. The specific profiles' fixed LOINC codes
and UCUM units (body weight, heart rate, oxygen saturation with 2708-6, body temperature), and
the blood-pressure profile's: code 85354-9, exactly one systolic (8480-6) and one diastolic
(8462-4) component, each a mm[Hg] quantity or a dataAbsentReason, no value[x] of its own.
"""

from __future__ import annotations

from typing import Any

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
STATUSES = {"registered", "preliminary", "final", "amended", "corrected", "cancelled"}
VALUE_KEYS = {
    "valueQuantity",
    "valueCodeableConcept",
    "valueString",
    "valueBoolean",
    "valueInteger",
    "valueRange",
    "valueRatio",
    "valueSampledData",
    "valueTime",
    "valueDateTime",
    "valuePeriod",
}
# Specific profiles: the LOINC code they fix and the UCUM units they allow.
SPECIFIC = {
    "29463-7": {"kg", "g", "[lb_av]"},
    "8867-4": {"/min"},
    "2708-6": {"%"},
    "8310-5": {"Cel", "[degF]"},
}
BP = "85354-9"
BP_COMPONENTS = ("8480-6", "8462-4")


def _loinc(concept: dict[str, Any] | None) -> set[str]:
    return {
        str(c.get("code")) for c in (concept or {}).get("coding", []) if c.get("system") == LOINC
    }


def _quantity(where: str, q: dict[str, Any], units: set[str] | None) -> list[str]:
    problems = [f"{where}.{k} missing" for k in ("value", "unit", "system", "code") if k not in q]
    if q.get("system") != UCUM:
        problems.append(f"{where}.system is {q.get('system')!r}, not UCUM")
    if units is not None and q.get("code") not in units:
        problems.append(f"{where}.code {q.get('code')!r} is not one of {sorted(units)}")
    return problems


def _value_or_absent(where: str, element: dict[str, Any], units: set[str] | None) -> list[str]:
    values = VALUE_KEYS & set(element)
    if not values and "dataAbsentReason" not in element:
        return [f"{where} has neither value[x] nor dataAbsentReason"]
    if values and "dataAbsentReason" in element:
        return [f"{where} has both value[x] and dataAbsentReason"]
    if "valueQuantity" in element:
        return _quantity(f"{where}.valueQuantity", element["valueQuantity"], units)
    return []


def vital_signs_problems(obs: dict[str, Any]) -> list[str]:
    """What the Observation lacks for the vital-signs profile (and its specific profile)."""
    problems: list[str] = []
    if obs.get("resourceType") != "Observation":
        return ["not an Observation"]
    if obs.get("status") not in STATUSES:
        problems.append(f"status {obs.get('status')!r}")
    if not any(
        c.get("system") == CATEGORY and c.get("code") == "vital-signs"
        for cat in obs.get("category", [])
        for c in cat.get("coding", [])
    ):
        problems.append("no category coding observation-category|vital-signs")
    codes = _loinc(obs.get("code"))
    if not obs.get("code", {}).get("coding"):
        problems.append("code has no coding")
    if not str(obs.get("subject", {}).get("reference", "")).startswith("Patient/"):
        problems.append("subject is not a Patient reference")
    effective = obs.get("effectiveDateTime")
    if effective is None and "effectivePeriod" not in obs:
        problems.append("no effective[x]")
    elif effective is not None and len(str(effective)) < len("YYYY-MM-DD"):
        problems.append("effectiveDateTime less precise than a day (vs-1)")
    units = next((u for code, u in SPECIFIC.items() if code in codes), None)
    components = obs.get("component", [])
    if not components and "hasMember" not in obs:
        problems += _value_or_absent("Observation", obs, units)
    for i, component in enumerate(components):
        if not component.get("code", {}).get("coding"):
            problems.append(f"component[{i}].code has no coding")
        problems += _value_or_absent(f"component[{i}]", component, None)
    if BP in codes:
        problems += _blood_pressure_problems(obs)
    return problems


def _blood_pressure_problems(obs: dict[str, Any]) -> list[str]:
    problems = [f"BP panel has its own {k}" for k in VALUE_KEYS & set(obs)]
    components = obs.get("component", [])
    for code in BP_COMPONENTS:
        found = [c for c in components if code in _loinc(c.get("code"))]
        if len(found) != 1:
            problems.append(f"BP panel has {len(found)} components {code}, not 1")
            continue
        if "valueQuantity" in found[0]:
            problems += _quantity(f"component {code}", found[0]["valueQuantity"], {"mm[Hg]"})
        elif "dataAbsentReason" not in found[0]:
            problems.append(f"component {code} has neither valueQuantity nor dataAbsentReason")
    return problems
