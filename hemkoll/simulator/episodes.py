"""Deterioration episodes: when they happen, how large they are, and their effect on each day.

An episode's onset is the admission for worsening heart failure. Before it, a slow phase over
the last month (a linear ramp carrying the episode's ``slow_share`` of its size, Chaudhry 2007's
gradual gain from about 30 days before) and a prodrome of one to three weeks: the rest gained
along a convex curve (most in the final week, where Chaudhry's curves diverge), resting heart
rate and symptom scores rising with it. Silent episodes gain little or no weight. The patient is in
hospital for the stay (no home measurements), and the excess fluid and symptoms go away over days
after onset. Onsets follow a renewal process per patient: while at risk a constant hazard, then
no new episode during the stay and a refractory period. The process starts a year before the
simulation so that the first simulated day is a typical day, not a fresh start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hemkoll.simulator.parameters import DAYS_PER_YEAR, SimulationParameters

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# A year of burn-in makes the process stationary by the first simulated day.
BURN_IN_DAYS = 365
# Effects after onset are followed for ten symptom time constants (e^-10 is nothing).
RECOVERY_TIME_CONSTANTS = 10


@dataclass(frozen=True)
class EpisodeTable:
    """Episodes that touch the simulated days, one entry per episode in every array."""

    patient: IntArray  # index into the cohort
    onset_day: IntArray  # simulated day of admission (may lie outside 0..days-1)
    admission_hour: FloatArray  # local hour of admission on that day
    prodrome_days: IntArray
    silent: BoolArray
    weight_gain_kg: FloatArray
    heart_rate_rise: FloatArray
    breathlessness_rise: FloatArray
    ankle_swelling_rise: FloatArray
    fatigue_rise: FloatArray
    spo2_drop: FloatArray
    stay_days: IntArray
    slow_share: FloatArray  # share of the size reached by the slow phase's linear ramp
    slow_days: int  # the slow phase's length (the same for every episode)

    @property
    def size(self) -> int:
        return int(self.patient.size)

    def shape_before(self, k: FloatArray) -> FloatArray:
        """Per episode (rows) and day from onset (columns, <= 0): the build-up, 1 at onset."""
        length = self.prodrome_days[:, np.newaxis].astype(np.float64)
        steep = np.clip((k + length) / length, 0.0, 1.0) ** 2
        slow = np.clip((k + self.slow_days) / self.slow_days, 0.0, 1.0)
        share = self.slow_share[:, np.newaxis]
        return np.asarray((1.0 - share) * steep + share * slow, dtype=np.float64)

    def gain_over(self, days: int) -> FloatArray:
        """Weight gained over the last ``days`` before onset (for comparison with studies)."""
        before = self.shape_before(np.full((1, 1), -float(days)))[:, 0]
        return np.asarray(self.weight_gain_kg * (1.0 - before), dtype=np.float64)


@dataclass(frozen=True)
class EpisodeEffects:
    """Per patient and day (shape patients x days): what the episodes add to each signal."""

    weight_kg: FloatArray
    heart_rate: FloatArray
    breathlessness: FloatArray
    ankle_swelling: FloatArray
    fatigue: FloatArray
    spo2: FloatArray  # negative: a drop
    in_hospital: BoolArray


def build_up_days(params: SimulationParameters) -> int:
    """The longest build-up before an onset: the slow phase or the longest prodrome."""
    return max(params.prodrome_days[1], params.slow_phase_days)


def _onsets(
    rng: np.random.Generator, patients: int, days: int, params: SimulationParameters
) -> tuple[FloatArray, IntArray]:
    """Onset times (days, fractional, from the first simulated day) and stays, per slot."""
    hazard_per_day = params.hazard_at_risk_per_year / DAYS_PER_YEAR
    horizon = BURN_IN_DAYS + days + build_up_days(params)
    expected = horizon * params.episode_rate_per_patient_year / DAYS_PER_YEAR
    slots = math.ceil(2 * expected + 8 * math.sqrt(expected) + 4)
    while True:
        waits = rng.exponential(1.0 / hazard_per_day, (patients, slots))
        stays = rng.integers(params.stay_days[0], params.stay_days[1] + 1, (patients, slots))
        not_at_risk = np.zeros_like(waits)
        not_at_risk[:, 1:] = stays[:, :-1] + params.refractory_days
        onsets = np.cumsum(waits + not_at_risk, axis=1) - BURN_IN_DAYS
        if bool(np.all(onsets[:, -1] > days + build_up_days(params))):
            return onsets, stays.astype(np.int64)
        slots *= 2


def draw_episodes(
    rng: np.random.Generator, patients: int, days: int, params: SimulationParameters
) -> EpisodeTable:
    onsets, stays = _onsets(rng, patients, days, params)
    onset_day = np.floor(onsets).astype(np.int64)
    recovery = math.ceil(RECOVERY_TIME_CONSTANTS * params.symptom_recovery_days)
    # Keep episodes whose prodrome or recovery touches the simulated days.
    keep = (onset_day - build_up_days(params) < days) & (onset_day + stays + recovery >= 0)
    patient_index, slot = np.nonzero(keep)
    n = patient_index.size
    silent = rng.random(n) < params.silent_fraction
    signal_gain = params.weight_gain_median_kg * np.exp(
        rng.normal(0.0, params.weight_gain_log_sd, n)
    )
    silent_gain = np.abs(rng.normal(0.0, params.silent_gain_sd_kg, n))
    return EpisodeTable(
        patient=patient_index.astype(np.int64),
        onset_day=onset_day[patient_index, slot],
        admission_hour=rng.uniform(*params.admission_hour, n),
        prodrome_days=rng.integers(params.prodrome_days[0], params.prodrome_days[1] + 1, n),
        silent=silent,
        weight_gain_kg=np.where(silent, silent_gain, signal_gain),
        heart_rate_rise=np.clip(rng.normal(*params.heart_rate_rise, n), 0.0, None),
        breathlessness_rise=rng.uniform(*params.breathlessness_rise, n),
        ankle_swelling_rise=rng.uniform(*params.ankle_swelling_rise, n),
        fatigue_rise=rng.uniform(*params.fatigue_rise, n),
        spo2_drop=rng.uniform(*params.spo2_drop, n),
        stay_days=stays[patient_index, slot],
        # Drawn last so that the draws above are those of a cohort without a slow phase.
        slow_share=rng.uniform(*params.slow_phase_share, n),
        slow_days=params.slow_phase_days,
    )


def episode_effects(
    table: EpisodeTable, patients: int, days: int, params: SimulationParameters
) -> EpisodeEffects:
    """Scatter every episode's curves onto the patients x days grid."""
    recovery = math.ceil(RECOVERY_TIME_CONSTANTS * params.symptom_recovery_days)
    offsets = np.arange(-build_up_days(params), recovery + 1, dtype=np.int64)
    k = offsets[np.newaxis, :].astype(np.float64)  # days from onset, per episode row
    rising = table.shape_before(np.minimum(k, 0.0))
    after = k > 0
    weight_shape = np.where(after, np.exp(-k / params.weight_recovery_days), rising)
    symptom_shape = np.where(after, np.exp(-k / params.symptom_recovery_days), rising)
    day = table.onset_day[:, np.newaxis] + offsets[np.newaxis, :]
    valid = (day >= 0) & (day < days)
    flat = (table.patient[:, np.newaxis] * days + day)[valid]

    def scatter(size: FloatArray, shape: FloatArray) -> FloatArray:
        grid = np.zeros(patients * days, dtype=np.float64)
        np.add.at(grid, flat, (size[:, np.newaxis] * shape)[valid])
        return grid.reshape(patients, days)

    hospital = np.zeros(patients * days, dtype=np.bool_)
    stay = (k >= 1) & (k <= table.stay_days[:, np.newaxis])
    hospital[(table.patient[:, np.newaxis] * days + day)[valid & stay]] = True
    return EpisodeEffects(
        weight_kg=scatter(table.weight_gain_kg, weight_shape),
        heart_rate=scatter(table.heart_rate_rise, symptom_shape),
        breathlessness=scatter(table.breathlessness_rise, symptom_shape),
        ankle_swelling=scatter(table.ankle_swelling_rise, symptom_shape),
        fatigue=scatter(table.fatigue_rise, symptom_shape),
        spo2=-scatter(table.spo2_drop, symptom_shape),
        in_hospital=hospital.reshape(patients, days),
    )
