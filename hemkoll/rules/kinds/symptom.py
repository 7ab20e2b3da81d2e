"""Symptom-answer rules: an ordinal answer (0-3) at or above a score, or worse than recently.

Red fires when the answer is at least ``red_score``. Yellow fires when it is at least
``yellow_score`` or at least ``worsening_points`` above the lowest answer of the previous
``worsening_window_hours`` (answers strictly before this one). Each level fires at the first
answer of a run of answers meeting it, and again at the run's first answer of each later local
day (``series.run_firings``); a yellow finding is not reported while the same answer meets the
red score. With ``usual_days``, the score levels also need the answer to be above the
patient's usual answer: the median of her answers in the ``usual_days`` days before it (strictly
before), once there are ``usual_min_answers`` of them (``usual_answers``).
"""

from __future__ import annotations

import numpy as np
from pydantic import JsonValue

from hemkoll.rules import explain
from hemkoll.rules.arrays import BoolArray, FloatArray
from hemkoll.rules.config import Severity, SymptomRule
from hemkoll.rules.findings import Finding, iso, utc
from hemkoll.rules.kinds.context import NO_HITS, Context, Hits
from hemkoll.rules.localtime import US_PER_DAY, US_PER_HOUR
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


def usual_answers(batch: MetricBatch, window_us: int, min_answers: int) -> FloatArray:
    """Per answer: the median of the patient's earlier answers within the window; NaN while
    there are fewer than ``min_answers``. Gathers them lag by lag, as ``worsened`` does."""
    n = batch.t.size
    t, v = batch.t, batch.v
    earliest = t - window_us
    columns = []
    for lag in range(1, n):
        j = np.arange(-lag, n - lag, dtype=np.int64)
        ok = (j >= batch.seg_start) & (t[np.maximum(j, 0)] >= earliest)
        if not ok.any():
            break
        columns.append(np.where(ok, v[np.maximum(j, 0)], np.nan))
    if not columns:
        return np.full(n, np.nan)
    earlier = np.stack(columns, axis=1)
    ordered = np.sort(earlier, axis=1)  # NaN last
    count = (~np.isnan(earlier)).sum(axis=1)
    lo = np.take_along_axis(ordered, np.clip((count - 1) // 2, 0, None)[:, None], axis=1)[:, 0]
    hi = np.take_along_axis(ordered, np.clip(count // 2, 0, None)[:, None], axis=1)[:, 0]
    return np.asarray(np.where(count >= min_answers, (lo + hi) / 2.0, np.nan), dtype=np.float64)


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
    usual = np.full(n, np.nan)
    if rule.usual_days is not None:
        usual = usual_answers(batch, rule.usual_days * US_PER_DAY, rule.usual_min_answers)
    with np.errstate(invalid="ignore"):
        above = np.isnan(usual) | (v > usual)
    red = v >= rule.red_score if rule.red_score is not None else np.zeros(n, dtype=bool)
    at_yellow = v >= rule.yellow_score if rule.yellow_score is not None else np.zeros(n, bool)
    red &= above
    at_yellow &= above
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
            usual=None if np.isnan(usual[i]) else float(usual[i]),
        )

    return Hits(patient=batch.patient[at], t=batch.t[at], red=red_fire[at], render=render)


def finding(
    rule: SymptomRule,
    *,
    red: bool,
    worse: bool,
    answer: tuple[int, float],
    window_lowest: tuple[int, float] | None,
    usual: float | None = None,
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
    if rule.usual_days is not None:
        evidence["usual_answer"] = usual
        evidence["usual_days"] = rule.usual_days
    severity: Severity = "red" if red else "yellow"
    return Finding(rule.id, rule.kind, severity, utc(t), evidence, en, sv)
