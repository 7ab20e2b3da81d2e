"""Metrics of device protocol v1: canonical UCUM unit, accepted units, LOINC code, plausible range.

Pure data and pure functions. Every value is converted on ingest to its metric's canonical unit;
a value outside the plausible range (in canonical units) is physiologically impossible or a
device fault and is rejected, never stored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

# Exact by definition: the international avoirdupois pound (UCUM [lb_av]) is 0.45359237 kg.
KG_PER_POUND = 0.45359237
# 1 mm[Hg] = 133.322387415 Pa (UCUM: 13.5951 g/cm3 * 9.80665 m/s2 * 1 mm).
KPA_PER_MMHG = 0.133322387415


def _identity(value: float) -> float:
    return value


@dataclass(frozen=True)
class Metric:
    name: str
    canonical_unit: str
    loinc: str | None
    description: str
    # Accepted UCUM unit -> conversion of a value in that unit to the canonical unit.
    units: MappingProxyType[str, Callable[[float], float]]
    plausible_low: float
    plausible_high: float
    # Ordinal scales (symptom answers) take whole numbers only.
    integer: bool = False
    # A yes/no answer (0 no, 1 yes): a value outside is refused in those words.
    yes_no: bool = False

    def to_canonical(self, value: float, unit: str) -> float:
        return self.units[unit](value)


def _units(
    mapping: dict[str, Callable[[float], float]],
) -> MappingProxyType[str, Callable[[float], float]]:
    return MappingProxyType(mapping)


_SCORE = _units({"{score}": _identity})
# The symptom questionnaire's follow-up answer (see its Metric below and FOLLOW_UP_FROM_SCORE).
FOLLOW_UP = "worse_than_usual"

METRICS: MappingProxyType[str, Metric] = MappingProxyType(
    {
        m.name: m
        for m in (
            Metric(
                "body_weight",
                "kg",
                "29463-7",
                "Body weight",
                _units(
                    {
                        "kg": _identity,
                        "g": lambda v: v / 1000.0,
                        "[lb_av]": lambda v: v * KG_PER_POUND,
                    }
                ),
                # Adults in home monitoring; 0 kg or 700 kg is a scale fault.
                20.0,
                350.0,
            ),
            Metric(
                "systolic_bp",
                "mm[Hg]",
                "8480-6",
                "Systolic blood pressure",
                _units({"mm[Hg]": _identity, "kPa": lambda v: v / KPA_PER_MMHG}),
                40.0,
                300.0,
            ),
            Metric(
                "diastolic_bp",
                "mm[Hg]",
                "8462-4",
                "Diastolic blood pressure",
                _units({"mm[Hg]": _identity, "kPa": lambda v: v / KPA_PER_MMHG}),
                20.0,
                200.0,
            ),
            Metric(
                "heart_rate",
                "/min",
                "8867-4",
                "Heart rate",
                _units({"/min": _identity, "{beats}/min": _identity}),
                20.0,
                300.0,
            ),
            Metric(
                "spo2",
                "%",
                "59408-5",
                "Oxygen saturation by pulse oximetry",
                _units({"%": _identity}),
                # Above 100 % is impossible; below 50 % a home oximeter reading is a fault.
                50.0,
                100.0,
            ),
            Metric(
                "body_temperature",
                "Cel",
                "8310-5",
                "Body temperature",
                _units({"Cel": _identity, "[degF]": lambda v: (v - 32.0) * 5.0 / 9.0}),
                25.0,
                45.0,
            ),
            Metric(
                "symptom_breathlessness",
                "{score}",
                None,
                "Breathlessness, 0 none to 3 at rest",
                _SCORE,
                0.0,
                3.0,
                integer=True,
            ),
            Metric(
                "symptom_ankle_swelling",
                "{score}",
                None,
                "Ankle swelling, 0 none to 3 severe",
                _SCORE,
                0.0,
                3.0,
                integer=True,
            ),
            Metric(
                "symptom_fatigue",
                "{score}",
                None,
                "Fatigue, 0 none to 3 severe",
                _SCORE,
                0.0,
                3.0,
                integer=True,
            ),
            # Asked weekly in the patient app, as TIM-HF2 did. No LOINC code: LOINC's
            # general-health items (SF-36 item 1, PROMIS Global01) carry their own answer list
            # (excellent .. poor, 1 = excellent), not this scale; hemkoll's own metric code
            # names it (FHIR: urn:hemkoll:metric|self_rated_health, category survey).
            Metric(
                "self_rated_health",
                "{score}",
                None,
                "Self-rated health, 1 very poor to 5 very good",
                _SCORE,
                1.0,
                5.0,
                integer=True,
            ),
            # The symptom questionnaire's follow-up "Is this worse than usual for you?", asked
            # when an answer is at or above FOLLOW_UP_FROM_SCORE (docs/protocol.md). Not a
            # ``symptom_`` metric: it is no 0-3 scale, and the rules read it only beside the
            # answers of the same questionnaire (hemkoll.rules.kinds.symptom). No LOINC code (a
            # question of hemkoll's own): hemkoll's metric code names it, as for
            # self_rated_health.
            Metric(
                FOLLOW_UP,
                "{score}",
                None,
                "Follow-up: is this worse than usual for you? 0 no, 1 yes",
                _SCORE,
                0.0,
                1.0,
                integer=True,
                yes_no=True,
            ),
        )
    }
)

_SYMPTOMS = frozenset(name for name in METRICS if name.startswith("symptom_"))
# The follow-up is asked when a symptom answer of the questionnaire is at least 2 (moderate:
# breathless on light exertion; 3 is at rest). These are the answers the programme acts on
# (preset: moderate asks for contact today, severe now; PatientAdvice.notable_score), and the
# confusion seen on the independent cohort is a patient at her usual 2 answering 3. Asking from
# 1 (mild) would ask most patients every day, for answers no rule raises an alert on.
FOLLOW_UP_FROM_SCORE = 2

# Which metrics each kind of device may report. A gateway (a tablet or hub relaying several
# devices) may report all of them.
METRICS_BY_DEVICE_KIND: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "scale": frozenset({"body_weight"}),
        "blood_pressure_monitor": frozenset({"systolic_bp", "diastolic_bp", "heart_rate"}),
        "pulse_oximeter": frozenset({"spo2", "heart_rate"}),
        "thermometer": frozenset({"body_temperature"}),
        "symptom_questionnaire": _SYMPTOMS | {FOLLOW_UP},
        # The patient app (one per patient, made on her first answer: hemkoll.store.devices):
        # the questionnaire answers that are readings.
        "patient_app": _SYMPTOMS | {FOLLOW_UP, "self_rated_health"},
        "gateway": frozenset(METRICS),
    }
)


class ReadingRejected(ValueError):
    """A reading that cannot be stored, with a machine-readable code and a specific reason."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def canonical_value(metric_name: str, value: float, unit: str) -> float:
    """Convert a reading to its canonical unit, or raise ReadingRejected saying why not."""
    metric = METRICS.get(metric_name)
    if metric is None:
        raise ReadingRejected(
            "metric_unknown", f"unknown metric {metric_name[:40]!r}; known: {', '.join(METRICS)}"
        )
    if unit not in metric.units:
        raise ReadingRejected(
            "unit_not_allowed",
            f"unit {unit[:20]!r} is not allowed for {metric.name}; "
            f"allowed: {', '.join(metric.units)}",
        )
    if not math.isfinite(value):
        raise ReadingRejected("value_not_finite", f"{metric.name} value is not a finite number")
    if metric.yes_no and value not in (0, 1):
        raise ReadingRejected(
            "value_implausible",
            f"{metric.name} is a yes/no answer: 0 (no) or 1 (yes), not {value:.6g}",
        )
    if metric.integer and value != int(value):
        raise ReadingRejected(
            "value_implausible", f"{metric.name} is an ordinal score and must be a whole number"
        )
    converted = metric.to_canonical(value, unit)
    if not metric.plausible_low <= converted <= metric.plausible_high:
        raise ReadingRejected(
            "value_implausible",
            f"{metric.name} {converted:.6g} {metric.canonical_unit} is outside the plausible "
            f"range {metric.plausible_low:g}-{metric.plausible_high:g} {metric.canonical_unit}",
        )
    return converted
