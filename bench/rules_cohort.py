"""Seeded synthetic cohorts of heart-failure home readings, for the rules benchmark and tests.

Not a clinical simulator (hemkoll.simulator is): just enough structure to make every rule of
the programme fire sometimes. Per patient and day: a morning weight with personal noise and
occasional gain episodes, blood pressure, heart rate, SpO2 and three symptom answers that worsen
during some gain episodes; each device misses about a fifth of the days (FAST weighed on 76 % of
days, MOBITEL 78 % adherence). Values are in canonical units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hemkoll.rules.arrays import BoolArray, FloatArray, IntArray
from hemkoll.rules.localtime import US_PER_DAY, US_PER_HOUR
from hemkoll.rules.series import Series

# Fraction of days on which a device is not used (see the module docstring).
MISSED_DAY_FRACTION = 0.2
# Weight: adult HF population mean and spread (kg); personal day-to-day noise 0.2-0.7 kg is a
# guess (references.md [U]).
WEIGHT_MEAN_KG, WEIGHT_SD_KG = 82.0, 15.0
NOISE_LOW_KG, NOISE_HIGH_KG = 0.2, 0.7
# Gain episodes: up to 2 per patient, +1.5 to +4 kg over 3 to 10 days (Zhang: +0.9 +- 2.1 kg in
# 14 days; Gudmundsson: +2.3 kg within 30 days), then back over a week.
MAX_EPISODES = 2
GAIN_LOW_KG, GAIN_HIGH_KG = 1.5, 4.0
RAMP_LOW_DAYS, RAMP_HIGH_DAYS = 3, 10
RECOVERY_DAYS = 7
# Readings are taken between 05:00 and 09:00 UTC (morning in Europe).
FIRST_READING_HOUR, READING_SPAN_HOURS = 5, 4
# Some patients weigh a second time in the evening (exercises "first reading of the day").
SECOND_WEIGHING_FRACTION = 0.05
SECOND_WEIGHING_HOUR = 17
# Vital-sign population means, between-patient and day-to-day spreads.
SYSTOLIC = (125.0, 15.0, 9.0)
HEART_RATE = (72.0, 10.0, 6.0)
SPO2 = (96.5, 1.0, 1.2)


@dataclass(frozen=True)
class CohortSpec:
    patients: int
    days: int
    start_us: int  # UTC midnight of the first day
    seed: int
    # Test-only messiness: shuffle each patient's arrays and duplicate some readings.
    shuffle: bool = False
    duplicate_fraction: float = 0.0


def _episodes(rng: np.random.Generator, patients: int, days: int) -> tuple[FloatArray, BoolArray]:
    """Extra weight (P, D) from gain episodes, and the days (P, D) a gain is under way."""
    day = np.arange(days)[None, None, :]
    start = rng.integers(0, max(days - 5, 1), size=(patients, MAX_EPISODES, 1))
    active = rng.random((patients, MAX_EPISODES, 1)) < 0.5  # about one episode per patient
    ramp = rng.integers(RAMP_LOW_DAYS, RAMP_HIGH_DAYS + 1, size=(patients, MAX_EPISODES, 1))
    gain = rng.uniform(GAIN_LOW_KG, GAIN_HIGH_KG, size=(patients, MAX_EPISODES, 1))
    rel = day - start
    up = np.clip(rel / ramp, 0.0, 1.0)
    down = np.clip(1.0 - (rel - ramp) / RECOVERY_DAYS, 0.0, 1.0)
    shape = np.where(rel <= ramp, up, down) * (rel >= 0) * active
    rising = (rel >= 0) & (rel <= ramp) & active
    return np.asarray((gain * shape).sum(axis=1), dtype=np.float64), np.asarray(rising.any(axis=1))


def _times(rng: np.random.Generator, spec: CohortSpec) -> IntArray:
    offset = FIRST_READING_HOUR * US_PER_HOUR + rng.integers(
        0, READING_SPAN_HOURS * US_PER_HOUR, size=(spec.patients, spec.days)
    )
    return spec.start_us + np.arange(spec.days)[None, :] * US_PER_DAY + offset


def cohort(spec: CohortSpec) -> list[Series]:
    rng = np.random.default_rng(spec.seed)
    p, d = spec.patients, spec.days
    extra, rising = _episodes(rng, p, d)
    base = rng.normal(WEIGHT_MEAN_KG, WEIGHT_SD_KG, size=(p, 1)).clip(45.0, 160.0)
    noise = rng.uniform(NOISE_LOW_KG, NOISE_HIGH_KG, size=(p, 1))
    weight = base + extra + rng.normal(0.0, 1.0, size=(p, d)) * noise
    systolic = np.rint(
        rng.normal(SYSTOLIC[0], SYSTOLIC[1], (p, 1)) + rng.normal(0, SYSTOLIC[2], (p, d))
    )
    diastolic = np.rint(systolic * 0.6 + rng.normal(0.0, 5.0, (p, d)))
    heart_rate = np.rint(
        rng.normal(HEART_RATE[0], HEART_RATE[1], (p, 1)) + rng.normal(0, HEART_RATE[2], (p, d))
    )
    spo2 = np.rint(rng.normal(SPO2[0], SPO2[1], (p, 1)) + rng.normal(0, SPO2[2], (p, d))).clip(
        80, 100
    )
    # Symptoms: a stable personal level of 0 or 1, a one-step blip on about 3 % of days, and
    # worse on some days of a gain episode.
    worse = rising & (rng.random((p, d)) < 0.4)
    symptoms = [
        np.clip(
            rng.binomial(1, 0.4, (p, 1))
            + (rng.random((p, d)) < 0.03)
            + worse * rng.integers(1, 3, (p, d)),
            0,
            3,
        )
        for _ in range(3)
    ]
    scale_t, bp_t, q_t = _times(rng, spec), _times(rng, spec), _times(rng, spec)
    scale_on, bp_on, q_on = rng.random((3, p, d)) >= MISSED_DAY_FRACTION
    second = rng.random((p, d)) < SECOND_WEIGHING_FRACTION
    second_t = np.broadcast_to(
        spec.start_us + np.arange(d) * US_PER_DAY + SECOND_WEIGHING_HOUR * US_PER_HOUR, (p, d)
    )
    second_w = weight + rng.normal(0.4, 0.3, (p, d))
    out: list[Series] = []
    for i in range(p):
        s_on, b_on, q = scale_on[i], bp_on[i], q_on[i]
        w_t = np.concatenate([scale_t[i][s_on], second_t[i][second[i]]])
        w_v = np.concatenate([weight[i][s_on], second_w[i][second[i]]])
        order = np.argsort(w_t, kind="stable")
        series: dict[str, tuple[IntArray, FloatArray]] = {
            "body_weight": (w_t[order], w_v[order]),
            "systolic_bp": (bp_t[i][b_on], systolic[i][b_on]),
            "diastolic_bp": (bp_t[i][b_on], diastolic[i][b_on]),
            "heart_rate": (bp_t[i][b_on], heart_rate[i][b_on]),
            "spo2": (q_t[i][q], spo2[i][q]),
            "symptom_breathlessness": (q_t[i][q], symptoms[0][i][q].astype(np.float64)),
            "symptom_ankle_swelling": (q_t[i][q], symptoms[1][i][q].astype(np.float64)),
            "symptom_fatigue": (q_t[i][q], symptoms[2][i][q].astype(np.float64)),
        }
        if spec.shuffle or spec.duplicate_fraction > 0:
            series = {m: _mess(rng, t, v, spec) for m, (t, v) in series.items()}
        out.append(series)
    return out


def _mess(
    rng: np.random.Generator, t: IntArray, v: FloatArray, spec: CohortSpec
) -> tuple[IntArray, FloatArray]:
    dup = rng.random(t.size) < spec.duplicate_fraction
    t2, v2 = np.concatenate([t, t[dup]]), np.concatenate([v, v[dup]])
    if spec.shuffle:
        order = rng.permutation(t2.size)
        t2, v2 = t2[order], v2[order]
    return t2, v2
