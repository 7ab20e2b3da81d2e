"""The personalised deterioration index (HeartLogic's idea on home measurements), vectorised.

Each signal's first-of-day values are put on one day grid per patient. For local day d:

- **recent value**: the mean of the signal's values on days d - short_days + 1 .. d; today's
  value counts from the moment it is measured, so the day's score is computed again at each of
  the day's first readings (an *event*), with the signals measured by then;
- **baseline**: the median of the values on days d - guard_days - baseline_days ..
  d - guard_days - 1 and the usual variation 1.4826 x their median absolute deviation (at least
  the signal's ``sd_floor``), from at least ``min_days`` values; days in hospital and
  ``after_discharge_days`` after a discharge are left out, and so are the days of an index alert
  (found by a first pass against a baseline without that exclusion, which bounds the memory);
- **score**: the sum over signals of ``weight`` x the recent value's deviation in the worse
  direction, in usual variations, clipped to [0, cap]; a signal without a baseline or a recent
  value counts 0 (a new patient's index says nothing until her baselines exist);
- **hysteresis**: the index is *open* at an event whose score is at least ``yellow``, and stays
  open at later events while the score is at least ``recovery``, for at most ``max_open_days``
  after the last event at ``yellow`` or above.

A finding fires at the first event of each local day on which the index is open (where it
opens, and again each day it lasts, as every daily rule does), red if that event's score
reaches ``red``. Everything at an event depends only on readings at or before it and on at most
``memory_days`` days before, so a live evaluation finds exactly the backtest's tail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pydantic import JsonValue

from hemkoll.rules import explain
from hemkoll.rules.arrays import BoolArray, FloatArray, IntArray
from hemkoll.rules.config import IndexRule
from hemkoll.rules.findings import Finding, FindingContent, utc
from hemkoll.rules.kinds.context import NO_HITS, Context, Hits, local_date
from hemkoll.rules.kinds.index_events import (
    Baseline,
    Events,
    Grid,
    contributions,
    events,
    rescored,
)
from hemkoll.rules.kinds.index_kernels import baselines, recent_means
from hemkoll.rules.localtime import local_days
from hemkoll.rules.series import NO_TIME, day_cells, day_range
from hemkoll.rules.stays import OPEN_END

# A normal distribution's SD is 1.4826 times its median absolute deviation.
MAD_TO_SD = 1.4826


def _grid(rule: IndexRule, ctx: Context) -> Grid | None:
    """The signals' day grid; one for the rules of a context that have the same signals."""
    return ctx.shared(("index-grid", *rule.metrics), lambda: _build_grid(rule.metrics, ctx))


def _build_grid(metrics: tuple[str, ...], ctx: Context) -> Grid | None:
    batches = [ctx.batch(m) for m in metrics]
    days = [ctx.reading_days(m) for m in metrics]
    has = np.stack([b.has_readings() for b in batches])
    if not has.any():
        return None
    ranges = [day_range(b, d) for b, d in zip(batches, days, strict=True)]
    big = np.iinfo(np.int64).max
    day0 = np.stack([np.where(h, f, big) for h, (f, _) in zip(has, ranges, strict=True)]).min(0)
    last = np.stack([np.where(h, la, -big) for h, (_, la) in zip(has, ranges, strict=True)]).max(0)
    anyone = has.any(axis=0)
    day0 = np.where(anyone, day0, 0)
    width = int((last - day0)[anyone].max()) + 1
    x = np.full((len(metrics), ctx.n_patients, width), np.nan)
    t = np.full((len(metrics), ctx.n_patients, width), NO_TIME, dtype=np.int64)
    for i, (batch, day) in enumerate(zip(batches, days, strict=True)):
        cells, first = day_cells(batch, day, day0, width)
        x[i].reshape(-1)[cells] = batch.v[first]
        t[i].reshape(-1)[cells] = batch.t[first]
    return Grid(day0=day0, x=x, t=t)


def _excluded_days(rule: IndexRule, ctx: Context, grid: Grid) -> BoolArray:
    """(P, D): days in hospital, and ``after_discharge_days`` after a discharge."""
    n, width = grid.x.shape[1], grid.x.shape[2]
    out = np.zeros((n, width), dtype=bool)
    for p, intervals in enumerate(ctx.stays):
        for admitted, discharged in intervals:
            first = int(local_days(np.asarray([admitted], dtype=np.int64), ctx.tz)[0])
            lo = max(first - int(grid.day0[p]), 0)
            if discharged == OPEN_END:  # still in hospital
                hi = width
            else:
                last = int(local_days(np.asarray([discharged], dtype=np.int64), ctx.tz)[0])
                hi = min(last + rule.after_discharge_days - int(grid.day0[p]) + 1, width)
            if hi > lo:
                out[p, lo:hi] = True
    return out


def _baseline(rule: IndexRule, grid: Grid, allowed: BoolArray) -> Baseline:
    """(median, usual variation before the floor, values): per signal, patient and day."""
    out = (np.empty(grid.x.shape), np.empty(grid.x.shape), np.empty(grid.x.shape))
    rows = np.arange(grid.x.shape[1])
    _baseline_into(
        rule, grid, allowed, rows=rows, first=np.zeros(rows.size, dtype=np.int64), out=out
    )
    return out


def _baseline_into(
    rule: IndexRule,
    grid: Grid,
    allowed: BoolArray,
    *,
    rows: IntArray,
    first: IntArray,
    out: Baseline,
) -> None:
    """``_baseline``'s figures for the patients ``rows`` from their day ``first`` on, in place."""
    baselines(
        grid.x,
        allowed,
        rows,
        first,
        lag=rule.guard_days + rule.baseline_days,
        width=rule.baseline_days,
        min_values=rule.min_days,
        mad_to_sd=MAD_TO_SD,
        out=out,
    )


@dataclass(frozen=True)
class _Scored:
    """The two passes' outcome: the grid, recent values, final baseline and events."""

    grid: Grid
    recent: tuple[FloatArray, FloatArray]
    base: Baseline
    ev: Events


def _scored(rule: IndexRule, ctx: Context) -> _Scored | None:
    grid = _grid(rule, ctx)
    if grid is None:
        return None
    excluded = _excluded_days(rule, ctx, grid)
    recent = recent_means(grid.x, rule.short_days)
    # Pass 1: alert days against a baseline that leaves out only hospital and discharge weeks.
    first_base = _baseline(rule, grid, ~excluded)
    first_pass = events(rule, grid, recent, first_base)
    alert_days = np.zeros(excluded.shape, dtype=bool)
    alert_days[first_pass.patient[first_pass.open], first_pass.col[first_pass.open]] = True
    # Pass 2: the baseline leaves out the alert days too (only patients with some change).
    # Only windows that hold an alert day change: those from the patient's first one on.
    alerted = np.flatnonzero(alert_days.any(axis=1))
    first_day = alert_days[alerted].argmax(axis=1) + rule.guard_days + 1
    base = first_base  # pass 1's figures are not needed again: recomputed in place
    _baseline_into(rule, grid, ~excluded & ~alert_days, rows=alerted, first=first_day, out=base)
    # Only the alerted patients' baselines changed, from their first_day on: only their events
    # from there are scored again (in place, as the baselines).
    ev = rescored(rule, grid, recent, base, first_pass, rows=alerted, first=first_day)
    return _Scored(grid, recent, base, ev)


@dataclass(frozen=True)
class Daily:
    """Per patient and local day ``day0[p] + column``: the day's highest event score (NaN: no
    event), whether the index was open at one of its events (the days it fires), and whether
    some signal had a baseline (without one a score of 0 says nothing)."""

    day0: IntArray  # (P,)
    score: FloatArray  # (P, D)
    open: BoolArray  # (P, D)
    baseline: BoolArray  # (P, D)


def daily(rule: IndexRule, ctx: Context) -> Daily | None:
    """The daily scores behind ``evaluate``'s findings; None if no signal has a value."""
    scored = _scored(rule, ctx)
    if scored is None:
        return None
    grid, ev = scored.grid, scored.ev
    shape = grid.x.shape[1:]
    score = np.full(shape, -np.inf)
    np.maximum.at(score, (ev.patient, ev.col), ev.score)
    opened = np.zeros(shape, dtype=bool)
    opened[ev.patient[ev.open], ev.col[ev.open]] = True
    return Daily(
        day0=grid.day0,
        score=np.where(np.isfinite(score), score, np.nan),
        open=opened,
        baseline=np.asarray(np.isfinite(scored.base[0]).any(axis=0), dtype=bool),
    )


def evaluate(rule: IndexRule, ctx: Context) -> Hits:
    scored = _scored(rule, ctx)
    if scored is None:
        return NO_HITS
    grid, ev = scored.grid, scored.ev
    today, before = scored.recent
    med, sd, count = scored.base
    day_key = ev.patient * (grid.x.shape[2] + 1) + ev.col
    open_key = day_key[ev.open]
    first_of_day = np.ones(open_key.size, dtype=bool)
    first_of_day[1:] = open_key[1:] != open_key[:-1]
    fire = np.flatnonzero(ev.open)[first_of_day]
    red = ev.score[fire] >= rule.red if rule.red is not None else np.zeros(fire.size, dtype=bool)
    # What the findings' evidence needs, (signals, findings): kept instead of the whole
    # cohort's (signals, patients, days) arrays, which a render closure would hold on to.
    fp, fc, ft = ev.patient[fire], ev.col[fire], ev.t[fire]
    measured = grid.valid[:, fp, fc] & (grid.t[:, fp, fc] <= ft)
    recent = np.where(measured, today[:, fp, fc], before[:, fp, fc])
    f_med, f_sd, f_count = med[:, fp, fc], sd[:, fp, fc], count[:, fp, fc]
    f_day = grid.day0[fp] + fc
    f_score = ev.score[fire]
    # Every finding's z and points at once; what a render reads, as Python numbers, made when
    # the first is rendered (numpy scalars one by one made a render cost about 200 µs).
    f_z, f_part = contributions(rule, recent, f_med, f_sd)
    table: list[list[list[float]]] = []

    def render(k: int) -> Finding:
        if not table:
            table.extend(a.T.tolist() for a in (recent, f_med, f_sd, f_count, f_z, f_part))
        r, m, u, n, z, part = (column[k] for column in table)
        signals = [
            SignalState(
                metric=s.metric,
                direction=s.direction,
                recent=_num(r[i]),
                median=_num(m[i]),
                usual_sd=max(u[i], s.sd_floor) if math.isfinite(u[i]) else None,
                baseline_values=int(n[i]),
                z=_num(z[i]),
                points=part[i],
            )
            for i, s in enumerate(rule.signals)
        ]
        return finding(
            rule,
            red=bool(red[k]),
            at=int(ft[k]),
            day=int(f_day[k]),
            score=float(f_score[k]),
            signals=signals,
        )

    return Hits(patient=fp, t=ft, red=red, render=render)


def _num(value: float) -> float | None:
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class SignalState:
    metric: str
    direction: str
    recent: float | None
    median: float | None
    usual_sd: float | None
    baseline_values: int
    z: float | None
    points: float


def finding(
    rule: IndexRule, *, red: bool, at: int, day: int, score: float, signals: list[SignalState]
) -> Finding:
    moved = sorted((s for s in signals if s.points > 0), key=lambda s: -s.points)
    en, sv = explain.index(
        score,
        rule.red if red and rule.red is not None else rule.yellow,
        [
            (s.metric, (s.recent or 0.0) - (s.median or 0.0), s.z or 0.0)
            for s in moved
            if s.recent is not None and s.median is not None
        ],
    )
    evidence: dict[str, JsonValue] = {
        "local_date": local_date(day),
        "score": score,
        "score_limit": rule.red if red and rule.red is not None else rule.yellow,
        "recovery": rule.recovery,
        "signals": [
            {
                "metric": s.metric,
                "direction": s.direction,
                "recent": s.recent,
                "baseline_median": s.median,
                "usual_sd": s.usual_sd,
                "baseline_values": s.baseline_values,
                "z": s.z,
                "points": s.points,
            }
            for s in signals
        ],
    }
    return Finding(
        rule.id, rule.kind, "red" if red else "yellow", utc(at), FindingContent(evidence, en, sv)
    )
