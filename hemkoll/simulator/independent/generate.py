"""The second cohort generator: readings per patient and metric, and the ground-truth episodes.

``generate(patients, days, seed=...)`` gives what the detection bench consumes from the first
generator after ingest: per patient a mapping ``metric -> (measured_at µs, value)`` in canonical
units (pound scales converted by the protocol's unit table, every value checked by the
protocol's plausibility limits as ingest would), and the episodes as
``hemkoll.simulator.Episode`` records. It does not build device messages: the first generator
already tests the message path, and this one is for scoring rules on a different model.
See docs/simulator.md, "The second generator", and ``parameters.py`` for every number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from hemkoll.protocol.measurements import (
    FOLLOW_UP,
    FOLLOW_UP_FROM_SCORE,
    KG_PER_POUND,
    ReadingRejected,
    canonical_value,
)
from hemkoll.simulator.cohort import patient_references
from hemkoll.simulator.groundtruth import DISCHARGE_HOUR, Episode
from hemkoll.simulator.independent.episodes import (
    EpisodeEffects,
    EpisodeTable,
    draw_episodes,
    episode_effects,
)
from hemkoll.simulator.independent.parameters import INDEPENDENT_DEFAULTS, IndependentParameters
from hemkoll.simulator.timeline import Timeline, make_timeline

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
SeriesArrays = Mapping[str, tuple[IntArray, FloatArray]]

# Child streams of the seed, one per part (order fixed: it is the format).
_STREAMS = ("cohort", "episodes", "signals", "days", "faults", "follow_up")
DEFAULT_START = date(2025, 9, 1)
# Scales show 100 g or 0.2 lb steps (typical bathroom scales) [assumption].
KG_STEP = 0.1
LB_STEP = 0.2
SYMPTOM_TOP = 3.0
SPO2_CEILING = 100.0
# Minutes after the weighing: blood pressure and pulse, the oximeter, the questionnaire.
BP_AFTER_MIN, OX_AFTER_MIN, SQ_AFTER_MIN = 4.0, 8.0, 12.0
US_PER_SECOND = 1_000_000

METRICS = (
    "body_weight",
    "systolic_bp",
    "diastolic_bp",
    "heart_rate",
    "spo2",
    "symptom_breathlessness",
    "symptom_ankle_swelling",
    "symptom_fatigue",
    FOLLOW_UP,  # only on the days it is asked
)
FAULTS = ("scale_step", "scale_repeat", "oximeter_low", "pulse_miscount")


@dataclass(frozen=True)
class IndependentCohort:
    seed: int
    parameters: IndependentParameters
    timeline: Timeline
    references: tuple[str, ...]
    series: tuple[SeriesArrays, ...]
    episode_table: EpisodeTable
    episodes: tuple[Episode, ...]
    effects: EpisodeEffects
    pound_scale: BoolArray
    usual_breathlessness: IntArray
    measured_days: BoolArray  # patients x days with a routine
    faults: Mapping[str, int]
    readings: int
    rejected: int  # outside the protocol's plausible limits (as ingest would refuse)


def _ar1(rng: np.random.Generator, shape: tuple[int, int], sd: float, tau: float) -> FloatArray:
    phi = math.exp(-1.0 / tau)
    shocks = rng.normal(0.0, 1.0, shape)
    out = np.empty(shape, dtype=np.float64)
    out[:, 0] = sd * shocks[:, 0]
    innovation = sd * math.sqrt(1.0 - phi * phi)
    for d in range(1, shape[1]):
        out[:, d] = phi * out[:, d - 1] + innovation * shocks[:, d]
    return out


def _bumps(
    rng: np.random.Generator, shape: tuple[int, int], p: IndependentParameters
) -> FloatArray:
    """Benign weight bumps: Poisson events, exponential size, decaying after the day."""
    new = np.where(
        rng.random(shape) < p.bump_rate_per_day, rng.exponential(p.bump_mean_kg, shape), 0.0
    )
    keep = math.exp(-1.0 / p.bump_decay_days)
    out = np.empty(shape, dtype=np.float64)
    out[:, 0] = new[:, 0]
    for d in range(1, shape[1]):
        out[:, d] = keep * out[:, d - 1] + new[:, d]
    return out


def _usual(rng: np.random.Generator, n: int, probs: tuple[float, float, float]) -> IntArray:
    return rng.choice(3, size=n, p=np.asarray(probs)).astype(np.int64)


def _routine_days(
    rng: np.random.Generator,
    timeline: Timeline,
    effects: EpisodeEffects,
    p: IndependentParameters,
) -> BoolArray:
    """Patients x days: a morning routine took place (clustered, fading, weekends, away)."""
    patients, days = effects.in_hospital.shape
    mean, kappa = p.adherence_start, p.adherence_concentration
    start: FloatArray = np.asarray(rng.beta(mean * kappa, (1.0 - mean) * kappa, patients))
    d = np.arange(days, dtype=np.float64)
    fade = p.adherence_floor + (1.0 - p.adherence_floor) * np.exp(-d / p.adherence_fade_days)
    weekend = np.where(timeline.weekday >= 5, p.weekend_factor, 1.0)
    per_day: FloatArray = np.asarray(fade * weekend, dtype=np.float64)
    rate = start[:, np.newaxis] * per_day[np.newaxis, :]
    rate = np.where(effects.unwell, rate * p.unwell_factor, rate)
    rho = p.missed_day_persistence
    u = rng.random((patients, days))
    away_start = rng.random((patients, days)) < p.away_rate_per_day
    away_length = rng.integers(p.away_days[0], p.away_days[1] + 1, (patients, days))
    done = np.zeros((patients, days), dtype=bool)
    missed = np.zeros(patients, dtype=bool)
    away_left = np.zeros(patients, dtype=np.int64)
    for day in range(days):
        miss = 1.0 - rate[:, day]
        # A two-state chain with lag-one correlation rho keeps the day's mean miss rate.
        p_miss = np.where(missed, miss + rho * (1.0 - miss), miss * (1.0 - rho))
        away_left = np.where((away_left == 0) & away_start[:, day], away_length[:, day], away_left)
        today = (u[:, day] >= p_miss) & (away_left == 0) & ~effects.in_hospital[:, day]
        done[:, day] = today
        missed = ~today
        away_left = np.maximum(away_left - 1, 0)
    return done


def _symptom(
    rng: np.random.Generator, usual: IntArray, rise: FloatArray, p: IndependentParameters
) -> FloatArray:
    sd = (p.symptom_noise_sd + p.symptom_noise_per_step * usual)[:, np.newaxis]
    latent = usual[:, np.newaxis] + rise
    answer = np.rint(latent + sd * rng.normal(0.0, 1.0, rise.shape))
    return np.clip(answer, 0.0, SYMPTOM_TOP) + 0.0  # + 0.0: no negative zeros


def _follow_up(
    rng: np.random.Generator,
    values: Mapping[str, FloatArray],
    rises: tuple[FloatArray, ...],
    p: IndependentParameters,
) -> FloatArray:
    """Patients x days: "Is this worse than usual for you?" (1 yes, 0 no), NaN where not asked.

    Asked when an answer (breathlessness, ankle swelling, fatigue, in that order) is at least
    FOLLOW_UP_FROM_SCORE; "worse" when such a symptom's latent level has risen (``rises``, the
    episodes' effect) at least ``follow_up_worse_steps`` above her usual answer; flipped on
    ``follow_up_error_rate``.
    """
    answers = (
        values["symptom_breathlessness"],
        values["symptom_ankle_swelling"],
        values["symptom_fatigue"],
    )
    asked = np.zeros(answers[0].shape, dtype=bool)
    worse = np.zeros(asked.shape, dtype=bool)
    for answer, rise in zip(answers, rises, strict=True):
        high = answer >= FOLLOW_UP_FROM_SCORE
        asked |= high
        worse |= high & (rise >= p.follow_up_worse_steps)
    wrong = rng.random(asked.shape) < p.follow_up_error_rate
    return np.where(asked, (worse ^ wrong).astype(np.float64), np.nan)


def _episode_records(
    table: EpisodeTable, references: tuple[str, ...], timeline: Timeline
) -> tuple[Episode, ...]:
    zone = ZoneInfo(timeline.timezone)

    def moment(day: int, hour: float) -> datetime:
        local = datetime.combine(timeline.date_of(day), datetime.min.time())
        return (local + timedelta(seconds=round(hour * 3600))).replace(tzinfo=zone).astimezone(UTC)

    prodrome, gain_14d = table.prodrome_days(), table.gain_over(14)
    records = []
    for i in range(table.size):
        day, stay = int(table.onset_day[i]), int(table.stay_days[i])
        records.append(
            Episode(
                patient=references[int(table.patient[i])],
                onset_at=moment(day, float(table.admission_hour[i])),
                onset_date=timeline.date_of(day),
                kind="silent" if bool(table.silent[i]) else "weight",
                weight_gain_kg=float(table.weight_gain_kg[i]),
                gain_14d_kg=float(gain_14d[i]),
                prodrome_days=int(prodrome[i]),
                prodrome_start=timeline.date_of(day - int(prodrome[i])),
                hospital_days=stay,
                discharge_at=moment(day + stay, DISCHARGE_HOUR),
                heart_rate_rise=float(table.heart_rate_rise[i]),
                in_window=0 <= day < timeline.days,
            )
        )
    records.sort(key=lambda e: (e.patient, e.onset_at))
    return tuple(records)


def generate(
    patients: int,
    days: int,
    *,
    seed: int,
    start: date = DEFAULT_START,
    parameters: IndependentParameters = INDEPENDENT_DEFAULTS,
) -> IndependentCohort:
    """Generate ``patients`` patients for ``days`` days from local date ``start``."""
    if patients < 1:
        raise ValueError("a cohort needs at least one patient")
    p = parameters
    rngs = dict(
        zip(
            _STREAMS,
            (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(_STREAMS))),
            strict=True,
        )
    )
    timeline = make_timeline(start, days, p.timezone)
    shape = (patients, days)
    rc = rngs["cohort"]
    weight = np.clip(rc.normal(p.weight_mean_kg, p.weight_sd_kg, patients), *p.weight_range_kg)
    noise_kg = p.weight_noise_median_kg * np.exp(rc.normal(0.0, p.weight_noise_log_sd, patients))
    pounds = rc.random(patients) < p.pound_scale_fraction
    fibrillation = rc.random(patients) < p.atrial_fibrillation_fraction
    hr_noise = np.where(fibrillation, p.heart_rate_noise_sd[1], p.heart_rate_noise_sd[0])
    systolic = rc.normal(*p.systolic, patients)
    diastolic = np.minimum(rc.normal(*p.diastolic, patients), systolic - 20.0)
    heart_rate = rc.normal(*p.heart_rate, patients)
    spo2 = np.clip(rc.normal(*p.spo2, patients), *p.spo2_range)
    usual_b = _usual(rc, patients, p.usual_breathlessness)
    usual_s = _usual(rc, patients, p.usual_ankle_swelling)
    usual_f = _usual(rc, patients, p.usual_fatigue)
    habit = rc.normal(*p.habit_hour, patients)

    table = draw_episodes(rngs["episodes"], patients, days, p)
    effects = episode_effects(table, patients, days, p)

    rs = rngs["signals"]
    evening = rs.random(shape) < p.evening_weighing_fraction
    hour = np.where(
        evening,
        rs.uniform(*p.evening_hour, shape),
        habit[:, np.newaxis] + rs.normal(0.0, p.session_jitter_hours, shape),
    )
    true_weight = (
        weight[:, np.newaxis]
        + _ar1(rs, shape, p.weight_drift_sd_kg, p.weight_drift_time_constant_days)
        + _bumps(rs, shape, p)
        + effects.weight_kg
    )
    t_noise = rs.standard_t(p.weight_noise_df, shape) * math.sqrt(
        (p.weight_noise_df - 2.0) / p.weight_noise_df
    )
    values: dict[str, FloatArray] = {
        "body_weight": true_weight
        + noise_kg[:, np.newaxis] * t_noise
        + np.where(evening, p.evening_weight_kg, 0.0),
    }
    z_sys = rs.normal(0.0, 1.0, shape)
    z_dia = 0.6 * z_sys + 0.8 * rs.normal(0.0, 1.0, shape)
    values["systolic_bp"] = np.rint(
        systolic[:, np.newaxis] + effects.systolic + p.systolic_noise_sd * z_sys
    )
    values["diastolic_bp"] = np.rint(
        diastolic[:, np.newaxis] + 0.5 * effects.systolic + p.diastolic_noise_sd * z_dia
    )
    values["heart_rate"] = np.rint(
        heart_rate[:, np.newaxis]
        + effects.heart_rate
        + hr_noise[:, np.newaxis] * rs.normal(0.0, 1.0, shape)
    )
    values["spo2"] = np.minimum(
        np.rint(spo2[:, np.newaxis] + effects.spo2 + rs.normal(0.0, p.spo2_noise_sd, shape)),
        SPO2_CEILING,
    )
    breath = _symptom(rs, usual_b, effects.breathlessness, p)
    confused = (
        (usual_b[:, np.newaxis] == 2) & (breath == 2) & (rs.random(shape) < p.at_rest_confusion)
    )
    values["symptom_breathlessness"] = np.where(confused, SYMPTOM_TOP, breath)
    values["symptom_ankle_swelling"] = _symptom(rs, usual_s, effects.ankle_swelling, p)
    values["symptom_fatigue"] = _symptom(rs, usual_f, effects.fatigue, p)
    values[FOLLOW_UP] = _follow_up(
        rngs["follow_up"],
        values,
        (effects.breathlessness, effects.ankle_swelling, effects.fatigue),
        p,
    )

    routine = _routine_days(rngs["days"], timeline, effects, p)
    faults = _device_faults(rngs["faults"], values, routine, p)
    series, readings, rejected = _series(
        rngs["days"],
        values=values,
        routine=routine,
        hour=hour,
        pounds=pounds,
        timeline=timeline,
        p=p,
    )
    return IndependentCohort(
        seed=seed,
        parameters=p,
        timeline=timeline,
        references=patient_references(patients),
        series=series,
        episode_table=table,
        episodes=_episode_records(table, patient_references(patients), timeline),
        effects=effects,
        pound_scale=pounds,
        usual_breathlessness=usual_b,
        measured_days=routine,
        faults=faults,
        readings=readings,
        rejected=rejected,
    )


def _device_faults(
    rng: np.random.Generator,
    values: dict[str, FloatArray],
    routine: BoolArray,
    p: IndependentParameters,
) -> Mapping[str, int]:
    """Plausible but wrong values, in place; returns how many readings each fault touched."""
    shape = routine.shape
    steps = np.where(
        rng.random(shape) < p.scale_step_rate_per_day, rng.normal(0.0, p.scale_step_sd_kg, shape), 0
    )
    values["body_weight"] = values["body_weight"] + np.cumsum(steps, axis=1)
    # A stuck scale repeats the value of its previous weighing.
    weight = values["body_weight"]
    idx = np.where(routine, np.arange(shape[1])[np.newaxis, :], -1)
    last = np.maximum.accumulate(idx, axis=1)
    previous = np.full(shape, -1, dtype=np.int64)
    previous[:, 1:] = last[:, :-1]
    repeat = routine & (previous >= 0) & (rng.random(shape) < p.scale_repeat_rate)
    rows = np.nonzero(repeat)[0]
    weight[repeat] = weight[rows, previous[repeat]]
    low = routine & (rng.random(shape) < p.oximeter_low_rate)
    values["spo2"] = values["spo2"] - np.where(
        low, np.rint(rng.uniform(*p.oximeter_low_points, shape)), 0.0
    )
    miscount = routine & (rng.random(shape) < p.pulse_miscount_rate)
    factor = np.where(rng.random(shape) < 0.5, 2.0, 0.5)
    values["heart_rate"] = np.where(
        miscount, np.rint(values["heart_rate"] * factor), values["heart_rate"]
    )
    return MappingProxyType(
        {
            "scale_step": int((steps != 0).sum()),
            "scale_repeat": int(repeat.sum()),
            "oximeter_low": int(low.sum()),
            "pulse_miscount": int(miscount.sum()),
        }
    )


def _series(
    rng: np.random.Generator,
    *,
    values: dict[str, FloatArray],
    routine: BoolArray,
    hour: FloatArray,
    pounds: BoolArray,
    timeline: Timeline,
    p: IndependentParameters,
) -> tuple[tuple[SeriesArrays, ...], int, int]:
    patients = routine.shape[0]
    minutes = {"body_weight": 0.0, "systolic_bp": BP_AFTER_MIN, "diastolic_bp": BP_AFTER_MIN}
    minutes |= {"heart_rate": BP_AFTER_MIN, "spo2": OX_AFTER_MIN}
    device = {"body_weight": 0, "systolic_bp": 1, "diastolic_bp": 1, "heart_rate": 1, "spo2": 2}
    used = [routine & (rng.random(routine.shape) < p.device_use) for _ in range(4)]
    out: list[dict[str, tuple[IntArray, FloatArray]]] = [{} for _ in range(patients)]
    readings = rejected = 0
    for metric in METRICS:
        mask = used[device.get(metric, 3)]
        who, day = np.nonzero(mask)
        at_hour = hour[who, day] + minutes.get(metric, SQ_AFTER_MIN) / 60.0
        t = timeline.to_utc(day.astype(np.int64), at_hour) * US_PER_SECOND
        v = values[metric][who, day]
        if metric == FOLLOW_UP:  # sent only where asked
            asked = ~np.isnan(v)
            who, day, t, v = who[asked], day[asked], t[asked], v[asked]
        if metric == "body_weight":
            lb = np.rint(v / KG_PER_POUND / LB_STEP) * LB_STEP
            v = np.where(pounds[who], lb, np.rint(v / KG_STEP) * KG_STEP)
            units = np.where(pounds[who], "[lb_av]", "kg")
        else:
            units = np.full(v.size, _UNITS[metric])
        ok = np.ones(v.size, dtype=bool)
        for i in range(v.size):
            try:
                v[i] = canonical_value(metric, float(v[i]), str(units[i]))
            except ReadingRejected:
                ok[i] = False
        who, t, v = who[ok], t[ok], v[ok]
        readings += int(ok.sum())
        rejected += int((~ok).sum())
        bounds = np.searchsorted(who, np.arange(patients + 1))
        for k in range(patients):
            lo, hi = bounds[k], bounds[k + 1]
            if hi > lo:
                out[k][metric] = (t[lo:hi].astype(np.int64), v[lo:hi].astype(np.float64))
    return tuple(MappingProxyType(s) for s in out), readings, rejected


_UNITS = {
    "systolic_bp": "mm[Hg]",
    "diastolic_bp": "mm[Hg]",
    "heart_rate": "/min",
    "spo2": "%",
    "symptom_breathlessness": "{score}",
    "symptom_ankle_swelling": "{score}",
    "symptom_fatigue": "{score}",
    FOLLOW_UP: "{score}",
}
