"""Trend rules (MACD): a short minus a long exponentially weighted average of daily values.

The moving average convergence divergence of daily weight was proposed for heart-failure
telemonitoring by Zhang et al. (Eur J Heart Fail 2009, TEN-HMS) and compared with rules of thumb
by Cuba Gyllensten et al. (JMIR Med Inform 2016): it reacts to a sustained rise over days rather
than to one heavy morning.

Each average of local day d weighs the first-of-day value of day d - k by (1 - a) ** k, with
a = 2 / (span + 1), over the last ``memory_days`` days (today included); days without a value
are left out and the weights of the days with one are normalised (pandas' ``ewm(adjust=True)``
over calendar days, cut off where the weights have faded), so a gap neither counts as a value
nor makes old readings look recent. The trend is ``short - long`` (``long - short`` for
``fall``). A level fires on each day with a value on which the trend reaches its amount and
at least ``min_days`` of the last ``long_days`` days have a value (``context.daily_level_cells``:
where it starts, and again each day it lasts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydantic import JsonValue

from hemkoll.rules import explain
from hemkoll.rules.arrays import BoolArray, FloatArray
from hemkoll.rules.config import Severity, TrendRule
from hemkoll.rules.findings import Finding, FindingContent, utc
from hemkoll.rules.kinds.context import NO_HITS, Context, Hits, daily_level_cells, local_date


def smoothing(span_days: int) -> float:
    """Exponential smoothing factor of an N-day span (the MACD convention 2 / (N + 1))."""
    return 2.0 / (span_days + 1.0)


def weighted_average(x: FloatArray, valid: BoolArray, span_days: int, memory: int) -> FloatArray:
    """Per cell: the exponentially weighted average of the valid cells of the last ``memory``
    columns (this one included), NaN where none has a value.

    Runs along the columns (days) with whole patients at a time: a truncated geometric sum
    obeys s[d] = r s[d - 1] + x[d] - r**memory x[d - memory].
    """
    xt = np.ascontiguousarray(np.where(valid, x, 0.0).T)
    return _day_major_average(xt, np.ascontiguousarray(valid.T), span_days, memory).T


def _day_major_average(
    xt: FloatArray, valid_t: BoolArray, span_days: int, memory: int
) -> FloatArray:
    """``weighted_average`` of day-major (W, P) arrays (``xt`` zero where not valid), (W, P).

    The recurrence steps one day at a time over every patient; in this layout a day is one
    contiguous row, where a (P, W) grid's column is a strided walk over every row of the grid
    (three times slower here). The arithmetic is the same operations in the same order, in
    place, so the averages are the same to the bit.
    """
    r = 1.0 - smoothing(span_days)
    tail = r**memory
    out = np.empty(xt.shape)
    s = np.zeros(xt.shape[1])
    n = np.zeros(xt.shape[1])
    dropped = np.empty(xt.shape[1])
    has = np.empty(xt.shape[1], dtype=bool)
    for d in range(xt.shape[0]):
        s *= r
        s += xt[d]
        n *= r
        n += valid_t[d]
        if d >= memory:
            s -= np.multiply(tail, xt[d - memory], out=dropped)
            n -= np.multiply(tail, valid_t[d - memory], out=dropped)
        np.greater(n, 0, out=has)
        row = out[d]
        row.fill(np.nan)
        np.divide(s, n, out=row, where=has)
    return out


def days_with_value(valid_t: BoolArray, days: int) -> npt.NDArray[np.int32]:
    """Per day d of a day-major (W, P) mask: how many of days d - days + 1 .. d are valid."""
    out = np.cumsum(valid_t, axis=0, dtype=np.int32)
    if days < out.shape[0]:
        out[days:] -= out[:-days]  # numpy reads the overlapping operand as it was before
    return out


@dataclass(frozen=True)
class Averages:
    """The two averages of one day, the trend (signed by direction) and days with a value."""

    short: float
    long: float
    trend: float
    days: int


def evaluate(rule: TrendRule, ctx: Context) -> Hits:
    grid = ctx.daily(rule.metric)
    if grid.value.size == 0:
        return NO_HITS
    # Days in hospital are left out as days without a value: not averaged, not judged.
    valid = grid.valid & ~ctx.in_stay(grid)
    # Centre each row on its first value so the running sums stay small.
    centre = np.where(valid[:, 0], grid.value[:, 0], 0.0)
    # Averages and counts run over day-major (W, P) copies (``_day_major_average``), made once;
    # the levels are read through transposed views, cells still in row-major order.
    valid_t = np.ascontiguousarray(valid.T)
    c_t = grid.value.T.copy()  # a copy even where the transpose is contiguous (one patient)
    c_t -= centre
    np.copyto(c_t, 0.0, where=~valid_t)
    short = _day_major_average(c_t, valid_t, rule.short_days, rule.memory_days)
    long = _day_major_average(c_t, valid_t, rule.long_days, rule.memory_days)
    trend_t = np.subtract(short, long, out=c_t)
    trend_t *= 1.0 if rule.direction == "rise" else -1.0
    count_t = days_with_value(valid_t, rule.long_days)
    base = np.ascontiguousarray((valid_t & (count_t >= rule.min_days)).T)
    rows, cols, reds = daily_level_cells(
        trend_t.T, grid, red=rule.red, yellow=rule.yellow, where=base
    )
    # What a finding shows, kept for the hits only: render keeps no (P, W) array.
    shown_short = short[cols, rows] + centre[rows]
    shown_long = long[cols, rows] + centre[rows]
    shown_trend = trend_t[cols, rows]
    shown_days = count_t[cols, rows]
    today_t, today_value, today_day = grid.t[rows, cols], grid.value[rows, cols], grid.day0[rows]

    def render(k: int) -> Finding:
        return finding(
            rule,
            severity="red" if reds[k] else "yellow",
            amount=(rule.red if reds[k] else rule.yellow) or 0.0,
            today=(int(today_t[k]), float(today_value[k]), int(today_day[k]) + int(cols[k])),
            averages=Averages(
                short=float(shown_short[k]),
                long=float(shown_long[k]),
                trend=float(shown_trend[k]),
                days=int(shown_days[k]),
            ),
        )

    return Hits(patient=rows, t=today_t, red=reds, render=render)


def finding(
    rule: TrendRule,
    *,
    severity: Severity,
    amount: float,
    today: tuple[int, float, int],
    averages: Averages,
) -> Finding:
    """Finding from today's (measured_at µs, value, local day) and that day's averages."""
    t, value, day = today
    en, sv = explain.trend(
        rule.metric,
        direction=rule.direction,
        short=(rule.short_days, averages.short),
        long=(rule.long_days, averages.long),
        trend=averages.trend,
        amount=amount,
    )
    evidence: dict[str, JsonValue] = {
        "metric": rule.metric,
        "direction": rule.direction,
        "value": value,
        "local_date": local_date(day),
        "short_average": averages.short,
        "long_average": averages.long,
        "trend": averages.trend,
        "amount": amount,
        "short_days": rule.short_days,
        "long_days": rule.long_days,
        "days_with_value": averages.days,
    }
    return Finding(rule.id, rule.kind, severity, utc(t), FindingContent(evidence, en, sv))
