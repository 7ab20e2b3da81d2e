"""Personal-baseline rules: today's first reading against the patient's own recent days.

The baseline of local day d is the mean of the first-of-day values of days d - baseline_days ..
d - 1 and the variability their sample standard deviation (at least ``sd_floor``). The score is
the deviation from the baseline in those standard deviations: "weight 1.8 kg above the
patient's 14-day baseline, 3.1 times the usual variation". A level fires when at least
``min_days`` baseline days exist, the deviation is at least ``min_deviation`` and the score at
least the level's: on each such day (``context.daily_level_cells``: where it starts, and again
each day it lasts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import JsonValue

from hemkoll.rules import explain
from hemkoll.rules.arrays import FloatArray
from hemkoll.rules.config import BaselineRule, Severity
from hemkoll.rules.findings import Finding, FindingContent, utc
from hemkoll.rules.kinds.context import NO_HITS, Context, Hits, daily_level_cells, local_date


def _window_sums(a: FloatArray, days: int) -> FloatArray:
    """Per column d: the sum of columns d - days .. d - 1 (clipped at column 0)."""
    cum = np.cumsum(a, axis=1)
    out = np.zeros_like(cum)
    # column d sums columns < d: cum[d - 1] - cum[d - days - 1]
    out[:, 1:] = cum[:, :-1]
    if days < a.shape[1] - 1:
        out[:, days + 1 :] -= cum[:, : -days - 1]
    return out


def evaluate(rule: BaselineRule, ctx: Context) -> Hits:
    grid = ctx.daily(rule.metric)
    if grid.value.size == 0:
        return NO_HITS
    valid = grid.valid
    # Readings taken during a hospital stay are not the patient's home baseline: left out of
    # the windows (today's reading is still judged against the days at home).
    home = valid & ~ctx.in_stay(grid)
    # Centre each row on its first value so the running sums stay small and exact enough.
    centre = np.where(valid[:, 0], grid.value[:, 0], 0.0)[:, None]
    c = np.where(valid, grid.value - centre, 0.0)
    c_home = np.where(home, c, 0.0)
    n = _window_sums(home.astype(np.float64), rule.baseline_days)
    s1 = _window_sums(c_home, rule.baseline_days)
    s2 = _window_sums(c_home * c_home, rule.baseline_days)
    enough = valid & (n >= rule.min_days)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_c = s1 / n
        sd = np.sqrt(np.maximum((s2 - s1 * mean_c) / (n - 1), 0.0))
    sd_used = np.maximum(sd, rule.sd_floor)
    sign = 1.0 if rule.direction == "rise" else -1.0
    deviation = sign * (c - mean_c)
    score = deviation / sd_used
    base = enough & (deviation >= rule.min_deviation)
    rows, cols, reds = daily_level_cells(
        score, grid, red=rule.red_sd, yellow=rule.yellow_sd, where=base
    )

    def render(k: int) -> Finding:
        p, d = int(rows[k]), int(cols[k])
        return finding(
            rule,
            severity="red" if reds[k] else "yellow",
            score_limit=(rule.red_sd if reds[k] else rule.yellow_sd) or 0.0,
            today=(int(grid.t[p, d]), float(grid.value[p, d]), int(grid.day0[p]) + d),
            stats=Stats(
                mean=float(mean_c[p, d] + centre[p, 0]),
                sd=float(sd[p, d]),
                sd_used=float(sd_used[p, d]),
                days=int(n[p, d]),
                deviation=float(deviation[p, d]),
                score=float(score[p, d]),
            ),
        )

    return Hits(patient=rows, t=grid.t[rows, cols], red=reds, render=render)


@dataclass(frozen=True)
class Stats:
    """Baseline of one day: mean and SD of the window, days with a value, today's deviation."""

    mean: float
    sd: float
    sd_used: float
    days: int
    deviation: float
    score: float


def finding(
    rule: BaselineRule,
    *,
    severity: Severity,
    score_limit: float,
    today: tuple[int, float, int],
    stats: Stats,
) -> Finding:
    """Finding from today's (measured_at µs, value, local day) and its baseline statistics."""
    t, value, day = today
    en, sv = explain.baseline(
        rule.metric, rule.direction, stats.deviation, rule.baseline_days, stats.score
    )
    evidence: dict[str, JsonValue] = {
        "metric": rule.metric,
        "direction": rule.direction,
        "value": value,
        "local_date": local_date(day),
        "baseline_mean": stats.mean,
        "baseline_sd": stats.sd,
        "sd_used": stats.sd_used,
        "baseline_days_with_value": stats.days,
        "baseline_days": rule.baseline_days,
        "deviation": stats.deviation,
        "score": stats.score,
        "score_limit": score_limit,
    }
    return Finding(rule.id, rule.kind, severity, utc(t), FindingContent(evidence, en, sv))
