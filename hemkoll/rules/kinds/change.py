"""Change rules: a local day's first reading against the previous days' lowest (or highest).

For a ``rise`` rule the reference of day d is the lowest first-of-day value of local days
d - window_days .. d - 1 (days without a reading are skipped; on a tie the most recent day
counts); the change is today's value minus the reference. ``fall`` mirrors this with the
highest value. A level fires on the first day its change reaches the amount after a day (with a
value) on which it did not, so a gain that persists is reported once.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import JsonValue

from hemkoll.rules import explain
from hemkoll.rules.arrays import FloatArray
from hemkoll.rules.config import ChangeRule, Severity
from hemkoll.rules.findings import Finding, FindingContent, iso, utc
from hemkoll.rules.kinds.context import NO_HITS, Context, Hits, daily_level_cells, local_date


def reference(x: FloatArray, window_days: int) -> FloatArray:
    """Lowest value of the previous ``window_days`` columns (NaN if none has a value)."""
    ref = np.full(x.shape, np.nan)
    for lag in range(1, min(window_days, x.shape[1] - 1) + 1):
        np.fmin(ref[:, lag:], x[:, :-lag], out=ref[:, lag:])
    return ref


def reference_column(x: FloatArray, p: int, d: int, window_days: int) -> int:
    """Column of the reference of cell (p, d): the most recent day holding the lowest value."""
    best, best_col = math.inf, -1
    for lag in range(1, min(window_days, d) + 1):
        value = float(x[p, d - lag])
        if value < best:
            best, best_col = value, d - lag
    return best_col


def evaluate(rule: ChangeRule, ctx: Context) -> Hits:
    grid = ctx.daily(rule.metric)
    if grid.value.size == 0:
        return NO_HITS
    sign = 1.0 if rule.direction == "rise" else -1.0
    x = sign * grid.value
    ref = reference(x, rule.window_days)
    delta = x - ref
    rows, cols, reds = daily_level_cells(delta, grid, red=rule.red, yellow=rule.yellow)

    def render(k: int) -> Finding:
        p, d = int(rows[k]), int(cols[k])
        r = reference_column(x, p, d, rule.window_days)
        day0 = int(grid.day0[p])
        amount = rule.red if reds[k] else rule.yellow
        return finding(
            rule,
            severity="red" if reds[k] else "yellow",
            amount=amount or 0.0,
            today=(int(grid.t[p, d]), float(grid.value[p, d]), day0 + d),
            reference=(int(grid.t[p, r]), float(grid.value[p, r]), day0 + r),
            delta=float(delta[p, d]),
        )

    return Hits(patient=rows, t=grid.t[rows, cols], red=reds, render=render)


def finding(
    rule: ChangeRule,
    *,
    severity: Severity,
    amount: float,
    today: tuple[int, float, int],
    reference: tuple[int, float, int],
    delta: float,
) -> Finding:
    """Finding from today's and the reference's (measured_at µs, value, local day)."""
    t, value, day = today
    ref_t, ref_value, ref_day = reference
    ref_date = local_date(ref_day)
    en, sv = explain.change(
        rule.metric,
        direction=rule.direction,
        delta=delta,
        window_days=rule.window_days,
        ref_value=ref_value,
        ref_date=ref_date,
    )
    evidence: dict[str, JsonValue] = {
        "metric": rule.metric,
        "direction": rule.direction,
        "value": value,
        "local_date": local_date(day),
        "reference_value": ref_value,
        "reference_at": iso(ref_t),
        "reference_local_date": ref_date,
        "change": delta,
        "amount": amount,
        "window_days": rule.window_days,
    }
    return Finding(rule.id, rule.kind, severity, utc(t), FindingContent(evidence, en, sv))
