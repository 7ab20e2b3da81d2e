"""Each patient's daily signals: the underlying level, and what a measurement that day shows.

``true`` holds the underlying values (baseline, drift, weekly rhythm, holidays, episodes) that a
detection report can compare against; ``measured`` adds the day-to-day noise, in canonical units,
before any device rounds or converts it. Both are patients x days arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hemkoll.simulator.cohort import Cohort
from hemkoll.simulator.episodes import EpisodeEffects
from hemkoll.simulator.parameters import SimulationParameters
from hemkoll.simulator.timeline import (
    Timeline,
    christmas_curve,
    midsummer_curve,
    weekly_profile,
)

FloatArray = npt.NDArray[np.float64]

# Highest oxygen saturation a pulse oximeter shows, and the symptom scale's top answer.
SPO2_CEILING = 100.0
SYMPTOM_TOP = 3.0


@dataclass(frozen=True)
class Signals:
    """Patients x days arrays, canonical units (kg, mm[Hg], /min, %, {score})."""

    weight_kg: FloatArray
    systolic: FloatArray
    diastolic: FloatArray
    heart_rate: FloatArray
    spo2: FloatArray
    breathlessness: FloatArray
    ankle_swelling: FloatArray
    fatigue: FloatArray


def _drift(
    rng: np.random.Generator, patients: int, days: int, params: SimulationParameters
) -> FloatArray:
    """A stationary AR(1) wander of the underlying weight, per patient."""
    phi = math.exp(-1.0 / params.weight_drift_time_constant_days)
    innovation = params.weight_drift_sd_kg * math.sqrt(1.0 - phi * phi)
    shocks = rng.normal(0.0, 1.0, (patients, days))
    drift = np.empty((patients, days), dtype=np.float64)
    drift[:, 0] = params.weight_drift_sd_kg * shocks[:, 0]
    for day in range(1, days):
        drift[:, day] = phi * drift[:, day - 1] + innovation * shocks[:, day]
    return drift


def true_signals(
    rng: np.random.Generator,
    cohort: Cohort,
    timeline: Timeline,
    effects: EpisodeEffects,
    params: SimulationParameters,
) -> Signals:
    patients, days = cohort.size, timeline.days
    ones = np.ones((1, days), dtype=np.float64)

    def column(values: FloatArray) -> FloatArray:
        return values[:, np.newaxis]

    weight = (
        column(cohort.weight_kg) * ones
        + _drift(rng, patients, days, params)
        + column(cohort.weekly_amplitude_kg) * weekly_profile(timeline)[np.newaxis, :]
        + column(cohort.midsummer_peak_kg) * midsummer_curve(timeline, params)[np.newaxis, :]
        + column(cohort.christmas_peak_kg) * christmas_curve(timeline, params)[np.newaxis, :]
        + effects.weight_kg
    )
    return Signals(
        weight_kg=weight,
        systolic=column(cohort.systolic) * ones,
        diastolic=column(cohort.diastolic) * ones,
        heart_rate=column(cohort.heart_rate) + effects.heart_rate,
        spo2=column(cohort.spo2) + effects.spo2,
        breathlessness=column(cohort.breathlessness) + effects.breathlessness,
        ankle_swelling=column(cohort.ankle_swelling) + effects.ankle_swelling,
        fatigue=column(cohort.fatigue) + effects.fatigue,
    )


def measured_signals(
    rng: np.random.Generator, cohort: Cohort, true: Signals, params: SimulationParameters
) -> Signals:
    """One measurement per patient and day: the true level plus that day's noise."""
    shape = true.weight_kg.shape

    def noise(sd: FloatArray) -> FloatArray:
        return sd[:, np.newaxis] * rng.normal(0.0, 1.0, shape)

    z_systolic = rng.normal(0.0, 1.0, shape)
    z_own = rng.normal(0.0, 1.0, shape)
    rho = params.bp_noise_correlation
    z_diastolic = rho * z_systolic + math.sqrt(1.0 - rho * rho) * z_own

    def score(latent: FloatArray) -> FloatArray:
        answer = np.rint(latent + rng.normal(0.0, params.symptom_noise_sd, shape))
        return np.clip(answer, 0.0, SYMPTOM_TOP)

    spo2 = np.rint(true.spo2 + rng.normal(0.0, params.spo2_noise_sd, shape))
    return Signals(
        weight_kg=true.weight_kg + noise(cohort.weight_noise_sd_kg),
        systolic=np.rint(true.systolic + cohort.systolic_noise_sd[:, np.newaxis] * z_systolic),
        diastolic=np.rint(true.diastolic + cohort.diastolic_noise_sd[:, np.newaxis] * z_diastolic),
        heart_rate=np.rint(true.heart_rate + noise(cohort.heart_rate_noise_sd)),
        spo2=np.minimum(spo2, SPO2_CEILING),
        breathlessness=score(true.breathlessness),
        ankle_swelling=score(true.ankle_swelling),
        fatigue=score(true.fatigue),
    )
