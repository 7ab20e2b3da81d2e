"""The deterioration index's events: each signal's first reading of a day scores the index at
its instant, with the hysteresis that keeps it open (``hemkoll.rules.kinds.index`` has the
grid, the baselines and the findings)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hemkoll.rules.arrays import BoolArray, FloatArray, IntArray
from hemkoll.rules.config import IndexRule
from hemkoll.rules.kinds.index_kernels import rescore, scored_events
from hemkoll.rules.localtime import US_PER_DAY

# Per signal, patient and day: the median, the usual variation before the floor, and how many
# values the baseline window held.
Baseline = tuple[FloatArray, FloatArray, FloatArray]


@dataclass(frozen=True)
class Grid:
    """The index's signals on one day grid: (S, P, D) values and times, per patient day 0."""

    day0: IntArray  # (P,)
    x: FloatArray  # (S, P, D), NaN where no value
    t: IntArray  # (S, P, D), NO_TIME where no value

    @property
    def valid(self) -> BoolArray:
        return ~np.isnan(self.x)


@dataclass(frozen=True)
class Events:
    """Every event (a signal's first reading of a day), sorted by patient and time."""

    patient: IntArray
    col: IntArray
    t: IntArray
    trigger: IntArray  # the signal whose reading it is
    score: FloatArray
    open: BoolArray


def contributions(
    rule: IndexRule,
    recent: FloatArray,
    med: FloatArray,
    sd: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """(z, contribution) per signal of the given recent values (leading axis: signal)."""
    sign = np.array([1.0 if s.direction == "rise" else -1.0 for s in rule.signals])
    floor = np.array([s.sd_floor for s in rule.signals])
    cap = np.array([s.cap for s in rule.signals])
    weight = np.array([s.weight for s in rule.signals])
    shape = (-1,) + (1,) * (recent.ndim - 1)
    used = np.maximum(sd, floor.reshape(shape))
    with np.errstate(invalid="ignore"):
        z = sign.reshape(shape) * (recent - med) / used
    part = weight.reshape(shape) * np.clip(np.nan_to_num(z, nan=0.0), 0.0, cap.reshape(shape))
    return z, part


def _params(rule: IndexRule) -> FloatArray:
    """Per signal (sign, floor, cap, weight), as the kernels read them: a (4, S) array."""
    return np.array(
        [
            [1.0 if s.direction == "rise" else -1.0 for s in rule.signals],
            [s.sd_floor for s in rule.signals],
            [s.cap for s in rule.signals],
            [s.weight for s in rule.signals],
        ]
    )


def events(
    rule: IndexRule, grid: Grid, recent: tuple[FloatArray, FloatArray], base: Baseline
) -> Events:
    """Every event, sorted by patient and time: an instant at which some signal has its first
    reading of a day, scored with each signal's points with today's recent value if it was
    measured by then, else with the one before today; one event per instant (readings of one
    device at the same time give one score), and whether the index is open there (the
    hysteresis, per patient)."""
    patient, col, t, trigger, score, opened = scored_events(
        grid.valid,
        grid.t,
        recent,
        (base[0], base[1]),
        params=_params(rule),
        yellow=rule.yellow,
        recovery=rule.recovery,
        max_open_us=rule.max_open_days * US_PER_DAY,
    )
    return Events(patient, col, t, trigger, score, opened)


def rescored(
    rule: IndexRule,
    grid: Grid,
    recent: tuple[FloatArray, FloatArray],
    base: Baseline,
    ev: Events,
    *,
    rows: IntArray,
    first: IntArray,
) -> Events:
    """``ev`` with the patients ``rows`` scored again against ``base`` from their column
    ``first`` on (where their baselines changed; the events are the same instants, so their
    scores and open flags are written over in place), the hysteresis carried on from before."""
    rescore(
        grid.valid,
        grid.t,
        recent,
        (base[0], base[1]),
        (ev.patient, ev.col, ev.t, ev.score, ev.open),
        params=_params(rule),
        rows=rows,
        first=first,
        yellow=rule.yellow,
        recovery=rule.recovery,
        max_open_us=rule.max_open_days * US_PER_DAY,
    )
    return ev
