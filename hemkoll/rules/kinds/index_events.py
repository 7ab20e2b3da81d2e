"""The deterioration index's events: each signal's first reading of a day scores the index at
its instant, with the hysteresis that keeps it open (``hemkoll.rules.kinds.index`` has the
grid, the baselines and the findings)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hemkoll.rules.arrays import BoolArray, FloatArray, IntArray
from hemkoll.rules.config import IndexRule
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


def events(
    rule: IndexRule,
    grid: Grid,
    recent: tuple[FloatArray, FloatArray],
    base: Baseline,
    rows: IntArray | None = None,
) -> Events:
    """Every event of the patients ``rows`` (None: all), scored and with the hysteresis."""
    patient, col, t, trigger, score = _event_scores(rule, grid, recent, base, rows)
    return Events(patient, col, t, trigger, score, _hysteresis(rule, patient, t, score))


_EventArrays = tuple[IntArray, IntArray, IntArray, IntArray, FloatArray]


def _event_scores(
    rule: IndexRule,
    grid: Grid,
    recent: tuple[FloatArray, FloatArray],
    base: Baseline,
    rows: IntArray | None,
) -> _EventArrays:
    """(patient, column, time, trigger, score) of every event, sorted by patient and time."""
    # Every cell with a value of some signal, each array gathered once: (S, cells).
    any_valid = grid.valid.any(axis=0)
    if rows is not None:
        chosen = np.zeros(any_valid.shape[0], dtype=bool)
        chosen[rows] = True
        any_valid &= chosen[:, np.newaxis]
    cell_p, cell_c = np.nonzero(any_valid)
    valid = grid.valid[:, cell_p, cell_c]
    times_at = grid.t[:, cell_p, cell_c]
    med, sd = (b[:, cell_p, cell_c] for b in base[:2])
    # Each signal's points with today's recent value and with the one before today, once: an
    # event takes, per signal, the first if the signal was measured by its instant (the
    # contributions are elementwise, so choosing after equals choosing before, to the bit).
    today_part, before_part = (
        contributions(rule, r[:, cell_p, cell_c], med, sd)[1] for r in recent
    )
    patients, cols, times, triggers, scores = [], [], [], [], []
    for i in range(grid.x.shape[0]):
        # Over every cell (contiguous, no gathers of the S x S arrays), then this signal's.
        at_all = times_at[i]
        # Signals measured by this reading's instant use today's value, the others not yet.
        measured = valid & (times_at <= at_all[np.newaxis, :])
        summed = np.where(measured, today_part, before_part).sum(axis=0)
        k = np.flatnonzero(valid[i])
        patients.append(cell_p[k])
        cols.append(cell_c[k])
        times.append(at_all[k])
        triggers.append(np.full(k.size, i))
        scores.append(summed[k])
    patient = np.concatenate(patients).astype(np.int64)
    col = np.concatenate(cols).astype(np.int64)
    t = np.concatenate(times)
    trigger = np.concatenate(triggers).astype(np.int64)
    score: FloatArray = np.concatenate(scores).astype(np.float64)
    # One event per instant: readings of one device at the same time give the same score.
    order = np.lexsort((trigger, t, patient))
    patient, col, t, trigger = (a[order] for a in (patient, col, t, trigger))
    score = score[order]
    first = np.ones(t.size, dtype=bool)
    first[1:] = (patient[1:] != patient[:-1]) | (t[1:] != t[:-1])
    return patient[first], col[first], t[first], trigger[first], score[first]


def replace_rows(rule: IndexRule, ev: Events, rows: IntArray, redone: Events) -> Events:
    """``ev`` with the events of the patients ``rows`` replaced by ``redone``'s (which holds
    only theirs), in order and with the hysteresis (per patient) over the whole."""
    keep = ~np.isin(ev.patient, rows)
    parts = [
        np.concatenate([a[keep], b])
        for a, b in (
            (ev.patient, redone.patient),
            (ev.col, redone.col),
            (ev.t, redone.t),
            (ev.trigger, redone.trigger),
            (ev.score, redone.score),
        )
    ]
    order = np.lexsort((parts[3], parts[2], parts[0]))
    patient, col, t, trigger, score = (a[order] for a in parts)
    return Events(patient, col, t, trigger, score, _hysteresis(rule, patient, t, score))


def _hysteresis(rule: IndexRule, patient: IntArray, t: IntArray, score: FloatArray) -> BoolArray:
    """Open at an event at ``yellow``; still open while at ``recovery``, within the latch."""
    idx = np.arange(t.size)
    seg = np.zeros(t.size, dtype=np.int64)
    if t.size:
        starts = np.flatnonzero(np.concatenate(([True], patient[1:] != patient[:-1])))
        seg[starts] = starts
        seg = np.maximum.accumulate(seg)
    last_open = np.maximum.accumulate(np.where(score >= rule.yellow, idx, -1))
    last_below = np.maximum.accumulate(np.where(score < rule.recovery, idx, -1))
    opened = last_open >= seg  # within the patient
    since = t - t[np.maximum(last_open, 0)]
    return np.asarray(
        opened
        & (last_open > last_below)
        & (since <= rule.max_open_days * US_PER_DAY)
        & (score >= rule.recovery),
        dtype=bool,
    )
