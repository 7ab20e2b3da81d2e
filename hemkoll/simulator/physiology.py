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

from hemkoll.protocol.measurements import FOLLOW_UP_FROM_SCORE
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


def follow_up_answers(
    rng: np.random.Generator,
    cohort: Cohort,
    true: Signals,
    measured: Signals,
    params: SimulationParameters,
) -> FloatArray:
    """Per patient and day the answer to "Is this worse than usual for you?" (1 yes, 0 no), NaN
    where it is not asked (no symptom answer at FOLLOW_UP_FROM_SCORE or above).

    "Worse" when a symptom answered that high is ``follow_up_worse_steps`` above her usual
    latent level (during a build-up); a high answer from the day's noise at her usual level is
    "not worse". Either is flipped on ``follow_up_error_rate`` of the questionnaires.
    """
    high = [
        (measured.breathlessness, true.breathlessness, cohort.breathlessness),
        (measured.ankle_swelling, true.ankle_swelling, cohort.ankle_swelling),
        (measured.fatigue, true.fatigue, cohort.fatigue),
    ]
    asked = np.zeros(measured.breathlessness.shape, dtype=bool)
    worse = np.zeros(asked.shape, dtype=bool)
    for answer, latent, usual in high:
        at = answer >= FOLLOW_UP_FROM_SCORE
        asked |= at
        worse |= at & (latent - usual[:, np.newaxis] >= params.follow_up_worse_steps)
    wrong = rng.random(asked.shape) < params.follow_up_error_rate
    return np.where(asked, (worse ^ wrong).astype(np.float64), np.nan)
