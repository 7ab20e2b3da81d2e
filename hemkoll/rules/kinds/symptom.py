"""Symptom-answer rules: an ordinal answer (0-3) at or above a score, or worse than recently.

Red fires when the answer is at least ``red_score``. Yellow fires when it is at least
``yellow_score`` or at least ``worsening_points`` above the lowest answer of the previous
``worsening_window_hours`` (answers strictly before this one). Each level fires at the first
answer of a run of answers meeting it, and again at the run's first answer of each later local
day (``series.run_firings``); a yellow finding is not reported while the same answer meets the
red score. With ``usual_days``, the score levels also need the answer to be above the
patient's usual answer: the median of her answers in the ``usual_days`` days before it (strictly
before), once there are ``usual_min_answers`` of them (``usual_answers``). With ``follow_up``,
the score levels also need the questionnaire's follow-up not to say "not worse than usual"
(``follow_up_answers``: the patient's ``worse_than_usual`` answer nearest the answer, within
``FOLLOW_UP_TOLERANCE_S``).
"""

from __future__ import annotations

import numpy as np
from pydantic import JsonValue

from hemkoll.protocol.measurements import FOLLOW_UP
from hemkoll.rules import explain
from hemkoll.rules.arrays import BoolArray, FloatArray, IntArray
from hemkoll.rules.config import Severity, SymptomRule
from hemkoll.rules.findings import Finding, FindingContent, iso, utc
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


# A questionnaire sends its answers and the follow-up with one measured_at (the device's and the
# patient app's); a device that stamps each answer as it is given spreads them over the minute
# or two a questionnaire takes. Ten minutes covers that with room, and is far below the day
# between questionnaires, so a follow-up is never matched to another questionnaire's answer.
FOLLOW_UP_TOLERANCE_S = 600
_FOLLOW_UP_TOLERANCE_US = FOLLOW_UP_TOLERANCE_S * 1_000_000


# Keys (patient, time) packed into one int64 stay below this; a cohort whose patients x time
# span would not fit is matched a group of patients at a time.
_KEY_LIMIT = 2**62


def follow_up_answers(
    answers: MetricBatch, follow_ups: MetricBatch, tolerance_us: int
) -> FloatArray:
    """Per answer: the value of the patient's follow-up nearest it in time, if within the
    tolerance (on a tie the higher value, "worse"); NaN if there is none.

    Both batches are sorted by (patient, time), so (patient, time) packed into one integer
    (patient x span + time) is sorted too, and one binary search finds each answer's two
    neighbouring follow-ups. The span leaves more than the tolerance between patients, so a
    neighbour within the tolerance is always the same patient's.
    """
    out = np.full(answers.t.size, np.nan)
    if answers.t.size == 0 or follow_ups.t.size == 0:
        return out
    t0 = min(int(answers.t.min()), int(follow_ups.t.min())) - tolerance_us
    span = max(int(answers.t.max()), int(follow_ups.t.max())) + tolerance_us - t0 + 1
    group = max(1, _KEY_LIMIT // span)
    for first in range(0, answers.n_patients, group):
        last = min(first + group, answers.n_patients)
        a = slice(int(answers.offsets[first]), int(answers.offsets[last]))
        f = slice(int(follow_ups.offsets[first]), int(follow_ups.offsets[last]))
        if a.start == a.stop or f.start == f.stop:
            continue
        key_a = (answers.patient[a] - first) * span + (answers.t[a] - t0)
        key_f = (follow_ups.patient[f] - first) * span + (follow_ups.t[f] - t0)
        out[a] = _nearest(key_a, key_f, follow_ups.v[f], tolerance_us)
    return out


def _nearest(key_a: IntArray, key_f: IntArray, v_f: FloatArray, tolerance_us: int) -> FloatArray:
    """Per key_a: v_f of the nearest key_f (sorted) within the tolerance, the higher on a tie."""
    after = np.searchsorted(key_f, key_a)
    out = np.full(key_a.size, np.nan)
    best_gap = np.full(key_a.size, tolerance_us + 1, dtype=np.int64)
    for neighbour in (after - 1, after):
        ok = (neighbour >= 0) & (neighbour < key_f.size)
        j = np.clip(neighbour, 0, key_f.size - 1)
        gap = np.abs(key_f[j] - key_a)
        value = v_f[j]
        nearer = ok & ((gap < best_gap) | ((gap == best_gap) & ~(value <= out)))
        out = np.where(nearer, value, out)
        best_gap = np.where(nearer, gap, best_gap)
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
    usual = np.full(n, np.nan)
    if rule.usual_days is not None:
        usual = usual_answers(batch, rule.usual_days * US_PER_DAY, rule.usual_min_answers)
    with np.errstate(invalid="ignore"):
        above = np.isnan(usual) | (v > usual)
    red = v >= rule.red_score if rule.red_score is not None else np.zeros(n, dtype=bool)
    at_yellow = v >= rule.yellow_score if rule.yellow_score is not None else np.zeros(n, bool)
    red &= above
    at_yellow &= above
    follow_up = np.full(n, np.nan)
    if rule.follow_up:
        follow_up = follow_up_answers(batch, ctx.batch(FOLLOW_UP), _FOLLOW_UP_TOLERANCE_US)
        usual_state = follow_up == 0  # she answered "not worse than usual"
        red &= ~usual_state
        at_yellow &= ~usual_state
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
            follow_up=None if np.isnan(follow_up[i]) else float(follow_up[i]),
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
    follow_up: float | None = None,
) -> Finding:
    """Finding of an answer (measured_at µs, score); window_lowest: the lowest earlier one;
    follow_up: the questionnaire's answer to "worse than usual?" (1 yes, 0 no), if any."""
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
    if rule.follow_up:
        evidence["worse_than_usual"] = follow_up
        more_en, more_sv = explain.follow_up(follow_up)
        en, sv = f"{en} {more_en}", f"{sv} {more_sv}"
    severity: Severity = "red" if red else "yellow"
    return Finding(rule.id, rule.kind, severity, utc(t), FindingContent(evidence, en, sv))
