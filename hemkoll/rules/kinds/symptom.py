"""Symptom-answer rules: an ordinal answer (0-3) at or above a score, or worse than recently.

Red fires when the answer is at least ``red_score``. Yellow fires when it is at least
``yellow_score`` or at least ``worsening_points`` above the lowest answer of the previous
``worsening_window_hours`` (answers strictly before this one). Each level fires at the first
answer of a run of answers meeting it, and again at the run's first answer of each later local
day (``series.run_firings``); a yellow finding is not reported while the same answer meets the
red score.
"""

from __future__ import annotations

import numpy as np
from pydantic import JsonValue

from hemkoll.rules import explain
from hemkoll.rules.arrays import BoolArray
from hemkoll.rules.config import Severity, SymptomRule
from hemkoll.rules.findings import Finding, iso, utc
from hemkoll.rules.kinds.context import NO_HITS, Context, Hits
from hemkoll.rules.localtime import US_PER_HOUR
from hemkoll.rules.series import MetricBatch, run_firings


def worsened(batch: MetricBatch, window_us: int, points: float) -> BoolArray:
    """Per answer: some earlier answer of the patient within the window is >= points lower.

    Walks back one answer at a time (lag 1, 2, ...) while any answer still has an earlier one
    inside its window; questionnaires are answered about daily, so a 72-hour window takes
    three or four vectorised steps.
    """
    n = batch.t.size
    t, v = batch.t, batch.v
    out = np.zeros(n, dtype=bool)
    limit = v - points
    earliest = t - window_us
    for lag in range(1, n):
        j = np.arange(-lag, n - lag, dtype=np.int64)
        ok = (j >= batch.seg_start) & (t[np.maximum(j, 0)] >= earliest)
        if not ok.any():
            break
        out |= ok & (v[np.maximum(j, 0)] <= limit)
    return out


def window_lowest(batch: MetricBatch, i: int, window_us: int) -> int:
    """Index of the lowest answer before answer i within the window (the latest on a tie)."""
    best = -1
    j = i - 1
    while j >= int(batch.seg_start[i]) and batch.t[j] >= batch.t[i] - window_us:
        if best < 0 or batch.v[j] < batch.v[best]:
            best = j
        j -= 1
    return best


def evaluate(rule: SymptomRule, ctx: Context) -> Hits:
    batch = ctx.batch(rule.metric)
    n = batch.t.size
    if n == 0:
        return NO_HITS
    v = batch.v
    window = round(rule.worsening_window_hours * US_PER_HOUR)
    red = v >= rule.red_score if rule.red_score is not None else np.zeros(n, dtype=bool)
    at_yellow = v >= rule.yellow_score if rule.yellow_score is not None else np.zeros(n, bool)
    worse = np.zeros(n, dtype=bool)
    if rule.worsening_points is not None:
        worse = worsened(batch, window, rule.worsening_points)
    day = ctx.reading_days(rule.metric)
    red_fire = run_firings(red, batch, day)
    yellow_fire = run_firings(at_yellow | worse, batch, day) & ~red
    at = np.flatnonzero(red_fire | yellow_fire)

    def render(k: int) -> Finding:
        i = int(at[k])
        j = window_lowest(batch, i, window) if rule.worsening_points is not None else -1
        return finding(
            rule,
            red=bool(red_fire[i]),
            worse=bool(worse[i]),
            answer=(int(batch.t[i]), float(v[i])),
            window_lowest=None if j < 0 else (int(batch.t[j]), float(batch.v[j])),
        )

    return Hits(patient=batch.patient[at], t=batch.t[at], red=red_fire[at], render=render)


def finding(
    rule: SymptomRule,
    *,
    red: bool,
    worse: bool,
    answer: tuple[int, float],
    window_lowest: tuple[int, float] | None,
) -> Finding:
    """Finding of an answer (measured_at µs, score); window_lowest: the lowest earlier one."""
    t, score = answer
    if red or not worse or window_lowest is None:
        limit = rule.red_score if red else rule.yellow_score
        if limit is None:  # unreachable: the level that fired has a score
            raise ValueError(f"symptom rule {rule.id} fired a level without a score")
        en, sv = explain.symptom_score(rule.metric, score, limit)
    else:
        en, sv = explain.symptom_worse(
            rule.metric, window_lowest[1], score, rule.worsening_window_hours
        )
    evidence: dict[str, JsonValue] = {
        "metric": rule.metric,
        "score": score,
        "yellow_score": rule.yellow_score,
        "red_score": rule.red_score,
        "worsening_points": rule.worsening_points,
        "window_lowest": None if window_lowest is None else window_lowest[1],
        "window_lowest_at": None if window_lowest is None else iso(window_lowest[0]),
    }
    severity: Severity = "red" if red else "yellow"
    return Finding(rule.id, rule.kind, severity, utc(t), evidence, en, sv)
