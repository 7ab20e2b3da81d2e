"""The second generator's episodes: frail patients, logistic build-ups, uneven signals.

Onsets: each patient's own rate (the cohort mean times a gamma frailty), a Bernoulli draw per
day while at risk, none during a stay and ``refractory_days`` after it; the process starts
``BURN_IN_DAYS`` before the first simulated day. Build-up: a latent congestion
``c(k) = (1 - s) L(k) / L(0) + s r(k)`` on day ``k`` from onset (k <= 0), with ``L`` a logistic
curve of the episode's own midpoint and scale, so that most of it comes in the last days and a
sudden episode needs only one or two, and ``r`` a linear ramp over the last ``BUILD_UP_DAYS``
carrying the episode's slow share ``s`` (Chaudhry 2007's gradual gain from about 30 days before;
none for a sudden episode). Every signal follows ``c`` with the episode's own size: silent episodes
gain little weight, unreported ones raise the symptom answers little. After onset the symptoms,
heart rate and SpO2 settle with ``symptom_recovery_days`` and the weight comes back lower (a new
dry weight from the discharge on).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hemkoll.simulator.independent.parameters import DAYS_PER_YEAR, IndependentParameters

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Onsets are drawn from this many days before the first simulated day, so that episodes whose
# recovery reaches into it exist and the first day is not a fresh start.
BURN_IN_DAYS = 120
# The longest build-up followed before onset: past a month the logistic curve is nothing.
BUILD_UP_DAYS = 30
# Recovery followed for this many symptom time constants after onset (e^-8 is nothing).
RECOVERY_TIME_CONSTANTS = 8
# The ground truth's "prodrome" is where the congestion has reached a tenth of its peak.
PRODROME_LEVEL = 0.1


@dataclass(frozen=True)
class EpisodeTable:
    patient: IntArray
    onset_day: IntArray  # may lie outside 0..days-1
    admission_hour: FloatArray
    midpoint_days: FloatArray
    scale_days: FloatArray
    silent: BoolArray
    weight_gain_kg: FloatArray
    heart_rate_rise: FloatArray
    spo2_drop: FloatArray
    systolic_change: FloatArray
    breathlessness_rise: FloatArray
    ankle_swelling_rise: FloatArray
    fatigue_rise: FloatArray
    stay_days: IntArray
    weight_drop_kg: FloatArray
    slow_share: FloatArray  # share of the congestion reached by the slow linear ramp

    @property
    def size(self) -> int:
        return int(self.patient.size)

    def congestion(self, k: FloatArray) -> FloatArray:
        """Per episode (rows) and day from onset (columns, <= 0): the build-up, 1 at onset."""
        m = self.midpoint_days[:, np.newaxis]
        s = self.scale_days[:, np.newaxis]
        at_onset = 1.0 / (1.0 + np.exp(-m / s))
        curve = np.clip(1.0 / (1.0 + np.exp(-(k + m) / s)) / at_onset, 0.0, 1.0)
        ramp = np.clip((k + BUILD_UP_DAYS) / BUILD_UP_DAYS, 0.0, 1.0)
        share = self.slow_share[:, np.newaxis]
        return np.asarray((1.0 - share) * curve + share * ramp, dtype=np.float64)

    def prodrome_days(self) -> IntArray:
        """Days before onset from which the congestion exceeds ``PRODROME_LEVEL``."""
        k = -np.arange(BUILD_UP_DAYS + 1, dtype=np.float64)[np.newaxis, :]  # 0, -1, ..., -30
        above = self.congestion(k) > PRODROME_LEVEL
        # The build-up only rises, so the days above the level are the first ones counted back.
        days: IntArray = np.clip(above.sum(axis=1), 1, BUILD_UP_DAYS).astype(np.int64)
        return days

    def gain_over(self, days: int) -> FloatArray:
        before = self.congestion(np.full((1, 1), -float(days)))[:, 0]
        return np.asarray(self.weight_gain_kg * (1.0 - before), dtype=np.float64)


@dataclass(frozen=True)
class EpisodeEffects:
    """Patients x days: what the episodes add to each signal, and the hospital days."""

    weight_kg: FloatArray
    heart_rate: FloatArray
    spo2: FloatArray
    systolic: FloatArray
    breathlessness: FloatArray
    ankle_swelling: FloatArray
    fatigue: FloatArray
    unwell: BoolArray  # the last days before an onset
    in_hospital: BoolArray


def _onsets(
    rng: np.random.Generator, patients: int, days: int, p: IndependentParameters
) -> tuple[IntArray, IntArray, IntArray]:
    """(patient, onset day, stay) of every onset from the burn-in to past the last day."""
    frailty = rng.gamma(p.frailty_shape, 1.0 / p.frailty_shape, patients)
    mean_stay = (p.stay_days[0] + p.stay_days[1]) / 2.0
    rate = p.episode_rate_per_patient_year * frailty / DAYS_PER_YEAR
    # Raise the hazard while at risk so the calendar rate holds despite the days not at risk.
    hazard = np.clip(rate / np.maximum(1.0 - rate * (mean_stay + p.refractory_days), 0.05), 0, 1)
    at_risk_from = np.full(patients, -BURN_IN_DAYS, dtype=np.int64)
    who: list[IntArray] = []
    when: list[IntArray] = []
    stays: list[IntArray] = []
    for day in range(-BURN_IN_DAYS, days + BUILD_UP_DAYS):
        onset = np.flatnonzero((day >= at_risk_from) & (rng.random(patients) < hazard))
        if onset.size == 0:
            continue
        stay = rng.integers(p.stay_days[0], p.stay_days[1] + 1, onset.size)
        at_risk_from[onset] = day + stay + p.refractory_days + 1
        who.append(onset.astype(np.int64))
        when.append(np.full(onset.size, day, dtype=np.int64))
        stays.append(stay.astype(np.int64))
    if not who:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    patient, onset_day, stay = (np.concatenate(x) for x in (who, when, stays))
    order = np.lexsort((onset_day, patient))
    return patient[order], onset_day[order], stay[order]


def draw_episodes(
    rng: np.random.Generator, patients: int, days: int, p: IndependentParameters
) -> EpisodeTable:
    patient, onset_day, stay = _onsets(rng, patients, days, p)
    recovery = math.ceil(RECOVERY_TIME_CONSTANTS * p.symptom_recovery_days)
    keep = (onset_day - BUILD_UP_DAYS < days) & (onset_day + stay + recovery >= 0)
    patient, onset_day, stay = patient[keep], onset_day[keep], stay[keep]
    n = patient.size
    sudden = rng.random(n) < p.sudden_fraction
    silent = rng.random(n) < p.silent_fraction
    unreported = rng.random(n) < p.unreported_symptom_fraction
    felt = np.where(unreported, p.unreported_symptom_scale, 1.0)
    gain = p.weight_gain_median_kg * np.exp(rng.normal(0.0, p.weight_gain_log_sd, n))
    return EpisodeTable(
        patient=patient,
        onset_day=onset_day,
        admission_hour=rng.uniform(*p.admission_hour, n),
        midpoint_days=np.where(
            sudden, rng.uniform(*p.sudden_midpoint_days, n), rng.uniform(*p.midpoint_days, n)
        ),
        scale_days=np.where(
            sudden, rng.uniform(*p.sudden_scale_days, n), rng.uniform(*p.scale_days, n)
        ),
        silent=silent,
        weight_gain_kg=np.where(silent, np.abs(rng.normal(0.0, p.silent_gain_sd_kg, n)), gain),
        heart_rate_rise=np.clip(rng.normal(*p.heart_rate_rise, n), 0.0, None),
        spo2_drop=rng.uniform(*p.spo2_drop, n),
        systolic_change=rng.normal(*p.systolic_change, n),
        breathlessness_rise=felt * rng.uniform(*p.breathlessness_rise, n),
        ankle_swelling_rise=felt * rng.uniform(*p.ankle_swelling_rise, n),
        fatigue_rise=felt * rng.uniform(*p.fatigue_rise, n),
        stay_days=stay,
        weight_drop_kg=rng.uniform(*p.discharge_weight_drop_kg, n),
        # Drawn last so that the draws above are those of a cohort without a slow phase.
        slow_share=np.where(sudden, 0.0, rng.uniform(*p.slow_phase_share, n)),
    )


def episode_effects(
    table: EpisodeTable, patients: int, days: int, p: IndependentParameters
) -> EpisodeEffects:
    """Scatter every episode's curves onto the patients x days grid."""
    recovery = math.ceil(RECOVERY_TIME_CONSTANTS * p.symptom_recovery_days)
    offsets = np.arange(-BUILD_UP_DAYS, recovery + 1, dtype=np.int64)
    k = np.broadcast_to(offsets[np.newaxis, :].astype(np.float64), (table.size, offsets.size))
    before = k <= 0
    build = np.where(before, table.congestion(np.minimum(k, 0.0)), 0.0)
    settle = np.where(before, build, np.exp(-k / p.symptom_recovery_days))
    day = table.onset_day[:, np.newaxis] + offsets[np.newaxis, :]
    valid = (day >= 0) & (day < days)
    flat = (table.patient[:, np.newaxis] * days + day)[valid]

    def scatter(size: FloatArray, shape: FloatArray) -> FloatArray:
        grid = np.zeros(patients * days, dtype=np.float64)
        np.add.at(grid, flat, (size[:, np.newaxis] * shape)[valid])
        return grid.reshape(patients, days)

    def mark(where: BoolArray) -> BoolArray:
        grid = np.zeros(patients * days, dtype=np.bool_)
        grid[(table.patient[:, np.newaxis] * days + day)[valid & where]] = True
        return grid.reshape(patients, days)

    # The fluid is gone by discharge; from then on the dry weight is lower (a step kept).
    stay = table.stay_days[:, np.newaxis]
    step = np.zeros((patients, days + 1), dtype=np.float64)
    discharge = table.onset_day + table.stay_days + 1
    inside = (discharge >= 0) & (discharge < days)
    np.add.at(step, (table.patient[inside], discharge[inside]), -table.weight_drop_kg[inside])
    np.add.at(step[:, 0], table.patient[discharge < 0], -table.weight_drop_kg[discharge < 0])
    return EpisodeEffects(
        weight_kg=scatter(table.weight_gain_kg, build) + np.cumsum(step, axis=1)[:, :days],
        heart_rate=scatter(table.heart_rate_rise, settle),
        spo2=-scatter(table.spo2_drop, settle),
        systolic=scatter(table.systolic_change, settle),
        breathlessness=scatter(table.breathlessness_rise, settle),
        ankle_swelling=scatter(table.ankle_swelling_rise, settle),
        fatigue=scatter(table.fatigue_rise, settle),
        unwell=mark(before & (k > -p.unwell_days)),
        in_hospital=mark((k >= 1) & (k <= stay)),
    )
