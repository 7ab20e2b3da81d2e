"""The simulated patients: each one's own baseline, variability and habits (numpy, per patient)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hemkoll.simulator.parameters import SimulationParameters

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# Pseudonymous references: "SIM-0001" ... wide enough for the cohort, at least four digits.
REFERENCE_PREFIX = "SIM-"
MIN_REFERENCE_DIGITS = 4


def patient_references(count: int) -> tuple[str, ...]:
    digits = max(MIN_REFERENCE_DIGITS, len(str(count)))
    return tuple(f"{REFERENCE_PREFIX}{number:0{digits}d}" for number in range(1, count + 1))


@dataclass(frozen=True)
class Cohort:
    """One entry per patient in every array, in the order of ``references``."""

    references: tuple[str, ...]
    weight_kg: FloatArray
    weight_noise_sd_kg: FloatArray
    weekly_amplitude_kg: FloatArray
    midsummer_peak_kg: FloatArray
    christmas_peak_kg: FloatArray
    pound_scale: BoolArray
    systolic: FloatArray
    systolic_noise_sd: FloatArray
    diastolic: FloatArray
    diastolic_noise_sd: FloatArray
    heart_rate: FloatArray
    heart_rate_noise_sd: FloatArray
    spo2: FloatArray
    breathlessness: FloatArray
    ankle_swelling: FloatArray
    fatigue: FloatArray
    # Share of days with a morning routine, the usual local hour of it.
    session_probability: FloatArray
    habit_hour: FloatArray

    @property
    def size(self) -> int:
        return len(self.references)


def _clipped_normal(
    rng: np.random.Generator, n: int, mean: float, sd: float, bounds: tuple[float, float]
) -> FloatArray:
    return np.clip(rng.normal(mean, sd, n), *bounds)


def draw_cohort(rng: np.random.Generator, count: int, params: SimulationParameters) -> Cohort:
    if count < 1:
        raise ValueError("a cohort needs at least one patient")
    p = params
    weight = _clipped_normal(
        rng, count, p.weight_mean_kg, p.weight_sd_kg, (p.weight_min_kg, p.weight_max_kg)
    )
    noise = np.clip(
        p.weight_noise_median_kg * np.exp(rng.normal(0.0, p.weight_noise_log_sd, count)),
        p.weight_noise_min_kg,
        p.weight_noise_max_kg,
    )
    weekly = weight * np.clip(
        rng.normal(p.weekly_amplitude_fraction_mean, p.weekly_amplitude_fraction_sd, count),
        0.0,
        None,
    )
    midsummer = rng.normal(p.midsummer_peak_kg, p.midsummer_peak_sd_kg, count)
    christmas = weight * rng.normal(p.christmas_peak_fraction, p.christmas_peak_fraction_sd, count)
    pounds = rng.random(count) < p.pound_scale_fraction
    systolic = _clipped_normal(
        rng, count, p.systolic_mean, p.systolic_sd, (p.systolic_min, p.systolic_max)
    )
    # Keep a pulse pressure of at least 20 mmHg.
    diastolic = np.minimum(
        _clipped_normal(
            rng, count, p.diastolic_mean, p.diastolic_sd, (p.diastolic_min, p.diastolic_max)
        ),
        systolic - 20.0,
    )
    heart_rate = _clipped_normal(
        rng, count, p.heart_rate_mean, p.heart_rate_sd, (p.heart_rate_min, p.heart_rate_max)
    )
    spo2 = _clipped_normal(rng, count, p.spo2_mean, p.spo2_sd, (p.spo2_min, p.spo2_max))
    mean = p.session_probability_mean
    kappa = p.adherence_concentration
    session_probability = rng.beta(mean * kappa, (1.0 - mean) * kappa, count)
    habit = _clipped_normal(rng, count, p.habit_hour[0], p.habit_hour[1], p.habit_hour_range)
    return Cohort(
        references=patient_references(count),
        weight_kg=weight,
        weight_noise_sd_kg=noise,
        weekly_amplitude_kg=weekly,
        midsummer_peak_kg=midsummer,
        christmas_peak_kg=christmas,
        pound_scale=pounds,
        systolic=systolic,
        systolic_noise_sd=rng.uniform(*p.systolic_noise_sd, count),
        diastolic=diastolic,
        diastolic_noise_sd=rng.uniform(*p.diastolic_noise_sd, count),
        heart_rate=heart_rate,
        heart_rate_noise_sd=rng.uniform(*p.heart_rate_noise_sd, count),
        spo2=spo2,
        breathlessness=rng.uniform(*p.breathlessness_base, count),
        ankle_swelling=rng.uniform(*p.ankle_swelling_base, count),
        fatigue=rng.uniform(*p.fatigue_base, count),
        session_probability=session_probability,
        habit_hour=habit,
    )
