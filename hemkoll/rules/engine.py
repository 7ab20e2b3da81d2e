"""Evaluate a rule set: pure functions over numpy arrays, one code path for backtest and live.

``evaluate(rule_set, series, tz=..., now=...)`` returns every finding over the whole history it
is given. A backtest passes a patient's full history and keeps all findings. A live caller,
after storing new readings, passes the recent history (at least ``required_history``) and
keeps the findings fired at or after the earliest new reading (``findings_since``); a scheduler
for missing measurements passes ``now`` and keeps the findings fired after its previous run.
Because every rule is causal (a finding at time t depends only on readings measured at or
before t, and on ``now`` only for missing measurements) and fires where an episode starts and
again on each later local day it lasts (never where the history given happens to start), the
live findings are exactly the tail of the backtest's. The alerts layer should still deduplicate on
(patient, rule_id, fired_at), since overlapping windows report a finding again.

``evaluate_cohort`` runs the same kernels for many patients at once (one time zone, one rule
set); ``evaluate`` is a cohort of one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import numpy as np

from hemkoll.rules.config import (
    BaselineRule,
    ChangeRule,
    CombinationRule,
    IndexRule,
    MissingRule,
    PlainRule,
    RuleSet,
    SymptomRule,
    ThresholdRule,
    TrendRule,
)
from hemkoll.rules.findings import Content, Finding, FindingContent, epoch_us, utc
from hemkoll.rules.kinds import (
    change,
    combination,
    index,
    missing,
    personal,
    symptom,
    threshold,
    trend,
)
from hemkoll.rules.kinds.context import Context, Hits
from hemkoll.rules.series import NO_TIME, MetricBatch, Series, build_batch
from hemkoll.rules.stays import DISCHARGE_GRACE, Stay, as_intervals

# Live evaluation passes at least this much history beyond what the rules' windows need, so
# that the state on the previous day with a value (episode edges) is known across a few
# missed days.
LIVE_HISTORY_MARGIN = timedelta(days=7)


@dataclass(frozen=True)
class CohortFindings:
    """Findings of a cohort as columns per rule; Finding objects are built when asked for."""

    n_patients: int
    rule_ids: tuple[str, ...]
    kinds: tuple[str, ...]
    hits: tuple[Hits, ...]

    def count(self) -> int:
        return sum(len(h) for h in self.hits)

    def counts(self) -> dict[str, tuple[int, int]]:
        """Rule id -> (yellow findings, red findings) over the cohort."""
        return {
            rule_id: (int((~h.red).sum()), int(h.red.sum()))
            for rule_id, h in zip(self.rule_ids, self.hits, strict=True)
        }

    def _finding(self, rule: int, k: int) -> Finding:
        """The k-th finding of the ``rule``-th rule: its rule, severity and time from the
        columns, its evidence and sentences rendered when first read (``FindingContent.deferred``:
        ``alerting.decide`` reads none of them, and most findings only touch an alert)."""
        h = self.hits[rule]
        return Finding(
            self.rule_ids[rule],
            self.kinds[rule],
            "red" if h.red[k] else "yellow",
            utc(int(h.t[k])),
            FindingContent.deferred(partial(_content, h, k)),
        )

    def findings(self, patient: int) -> list[Finding]:
        """One patient's findings, ordered by fired_at (then by rule order)."""
        out = [
            self._finding(r, int(k))
            for r, h in enumerate(self.hits)
            for k in np.flatnonzero(h.patient == patient)
        ]
        out.sort(key=lambda f: f.fired_at)
        return out

    def after(self, cutoffs: Sequence[Mapping[str, int]]) -> list[list[Finding]]:
        """Every patient's findings fired after her cutoff for their rule (rule id -> epoch
        µs; a rule without one: all of them), ordered as ``findings``; only those are built
        (a live evaluation passes over the findings its alerts have seen,
        ``alerting.seen_until``)."""
        if len(cutoffs) != self.n_patients:
            raise ValueError(f"{len(cutoffs)} cutoffs for {self.n_patients} patients")
        out: list[list[Finding]] = [[] for _ in range(self.n_patients)]
        for r, (rule_id, h) in enumerate(zip(self.rule_ids, self.hits, strict=True)):
            if not len(h):
                continue
            cut = np.array([c.get(rule_id, NO_TIME) for c in cutoffs], dtype=np.int64)
            for k in np.flatnonzero(h.t > cut[h.patient]).tolist():
                out[int(h.patient[k])].append(self._finding(r, k))
        for findings in out:
            findings.sort(key=lambda f: f.fired_at)
        return out

    def fired_within(
        self, windows: Sequence[Mapping[str, tuple[int, int]]]
    ) -> list[frozenset[str]]:
        """Per patient, the rules of her ``windows`` (rule id -> (from, to), epoch µs, both
        inclusive) that fired within them; no finding is built (a live evaluation asks whether
        the readings still bear out an unresolved missing-measurement alert,
        ``alerting.Live.borne_out``)."""
        if len(windows) != self.n_patients:
            raise ValueError(f"{len(windows)} windows for {self.n_patients} patients")
        out: list[set[str]] = [set() for _ in range(self.n_patients)]
        for rule_id, h in zip(self.rule_ids, self.hits, strict=True):
            asked = [(p, w[rule_id]) for p, w in enumerate(windows) if rule_id in w]
            if not asked or not len(h):
                continue
            lo = np.full(self.n_patients, np.iinfo(np.int64).max, dtype=np.int64)
            hi = np.full(self.n_patients, np.iinfo(np.int64).min, dtype=np.int64)
            for p, (start, end) in asked:
                lo[p], hi[p] = start, end
            inside = (h.t >= lo[h.patient]) & (h.t <= hi[h.patient])
            for p in np.unique(h.patient[inside]).tolist():
                out[p].add(rule_id)
        return [frozenset(rules) for rules in out]

    def all(self) -> list[list[Finding]]:
        """Every patient's findings (their evidence and sentences rendered when read)."""
        out: list[list[Finding]] = [[] for _ in range(self.n_patients)]
        for r, h in enumerate(self.hits):
            for k, p in enumerate(h.patient.tolist()):
                out[p].append(self._finding(r, k))
        for findings in out:
            findings.sort(key=lambda f: f.fired_at)
        return out


def _content(hits: Hits, k: int) -> Content:
    return hits.render(k).content.get()


def evaluate(
    rule_set: RuleSet,
    series: Series,
    *,
    tz: ZoneInfo,
    now: datetime | None = None,
    paused: bool = False,
    stays: Sequence[Stay] = (),
) -> list[Finding]:
    """Every finding of the enabled rules over one patient's history, ordered by fired_at.

    ``series`` maps metric name to (measured_at, value) arrays (see hemkoll.rules.series).
    ``now`` bounds the evaluation: readings after it are ignored and missing-measurement
    deadlines up to it count; without it, missing measurements are judged up to the patient's
    newest reading. ``paused`` silences missing-measurement rules. ``stays`` (admitted,
    discharged or None while open) silence them too, for the stay and ``DISCHARGE_GRACE``
    after it, and their readings are left out of baseline and trend reference windows.
    """
    return evaluate_cohort(
        rule_set, [series], tz=tz, now=now, paused=[paused], stays=[stays]
    ).findings(0)


# Patients evaluated together. A whole cohort's (patients, days) arrays at once (10,000
# patients x 180 days: about 100 MB each, GBs in all) were mapped and page-faulted afresh by
# every kernel (glibc maps an allocation above 32 MB anew each time) and made the engine about
# twice as slow per patient (bench/rules.py: 10,000 against 2,000). 512 patients' (signals,
# patients, days) blocks of the index (7 x 512 x 186 values, 5 MB) stay nearer the CPU's caches
# than 1,024's: 10,000 x 180 days 4.76 -> 3.97 s; 256 and 128 were no faster.
COHORT_CHUNK = 512


def evaluate_cohort(
    rule_set: RuleSet,
    cohort: Sequence[Series],
    *,
    tz: ZoneInfo,
    now: datetime | None = None,
    paused: Sequence[bool] | None = None,
    stays: Sequence[Sequence[Stay]] | None = None,
    threads: int = 1,
) -> CohortFindings:
    """``evaluate`` for many patients sharing a time zone and a rule set, vectorised (in
    chunks of ``COHORT_CHUNK`` patients: a patient's findings do not depend on the others).

    ``threads`` > 1 evaluates the chunks on that many threads: the index's compiled kernels,
    most of the time, release the GIL (a backtest of a whole cohort on the machine's cores; a
    rules worker keeps one, its peers are the other workers)."""
    if threads < 1:
        raise ValueError(f"threads must be at least 1, not {threads}")
    n = len(cohort)
    if paused is not None and len(paused) != n:
        raise ValueError(f"paused has {len(paused)} flags for {n} patients")
    if stays is not None and len(stays) != n:
        raise ValueError(f"stays has {len(stays)} entries for {n} patients")
    ids = tuple(rule.id for rule in rule_set.enabled())
    kinds = tuple(rule.kind for rule in rule_set.enabled())
    starts = list(range(0, n, COHORT_CHUNK)) or [0]

    def chunk(start: int) -> dict[str, Hits]:
        return _evaluate_chunk(
            rule_set,
            cohort[start : start + COHORT_CHUNK],
            tz=tz,
            now=now,
            paused=None if paused is None else paused[start : start + COHORT_CHUNK],
            stays=None if stays is None else stays[start : start + COHORT_CHUNK],
        )

    if threads == 1 or len(starts) == 1:
        parts = [chunk(start) for start in starts]
    else:
        with ThreadPoolExecutor(min(threads, len(starts))) as pool:
            parts = list(pool.map(chunk, starts))
    if len(parts) == 1:
        return CohortFindings(n, ids, kinds, tuple(parts[0][i] for i in ids))
    return CohortFindings(n, ids, kinds, tuple(_joined([p[i] for p in parts], starts) for i in ids))


def _evaluate_chunk(
    rule_set: RuleSet,
    cohort: Sequence[Series],
    *,
    tz: ZoneInfo,
    now: datetime | None,
    paused: Sequence[bool] | None,
    stays: Sequence[Sequence[Stay]] | None,
) -> dict[str, Hits]:
    ctx = cohort_context(cohort, tz=tz, now=now, paused=paused, stays=stays)
    found: dict[str, Hits] = {}
    for rule in rule_set.enabled():
        if not isinstance(rule, CombinationRule):
            found[rule.id] = _run(rule, ctx)
    for rule in rule_set.enabled():
        if isinstance(rule, CombinationRule):
            found[rule.id] = combination.evaluate(rule, found)
    return found


def _joined(parts: list[Hits], starts: list[int]) -> Hits:
    """One rule's hits over the chunks (chunk c's patients from ``starts[c]``), in order."""
    bounds = np.cumsum([0] + [len(h) for h in parts])

    def render(k: int) -> Finding:
        c = int(np.searchsorted(bounds, k, side="right")) - 1
        return parts[c].render(k - int(bounds[c]))

    return Hits(
        patient=np.concatenate([h.patient + start for h, start in zip(parts, starts, strict=True)]),
        t=np.concatenate([h.t for h in parts]),
        red=np.concatenate([h.red for h in parts]),
        render=render,
    )


def cohort_context(
    cohort: Sequence[Series],
    *,
    tz: ZoneInfo,
    now: datetime | None = None,
    paused: Sequence[bool] | None = None,
    stays: Sequence[Sequence[Stay]] | None = None,
) -> Context:
    """What the kernels evaluate against (``evaluate_cohort``'s arguments, same meaning)."""
    now_us = epoch_us(now) if now is not None else None
    ctx = _context(cohort, tz, now_us, paused)
    if stays is not None:
        if len(stays) != len(cohort):
            raise ValueError(f"stays has {len(stays)} entries for {len(cohort)} patients")
        ctx = replace(
            ctx,
            stays=tuple(as_intervals(s) for s in stays),
            silent=tuple(as_intervals(s, grace=DISCHARGE_GRACE) for s in stays),
        )
    return ctx


def required_history(rule_set: RuleSet) -> timedelta:
    """How much recent history a live evaluation should pass so its findings match a backtest."""
    longest = timedelta(days=1)
    for rule in rule_set.enabled():
        if isinstance(rule, ChangeRule):
            need = timedelta(days=rule.window_days + 1)
        elif isinstance(rule, BaselineRule):
            need = timedelta(days=rule.baseline_days + 1)
        elif isinstance(rule, TrendRule):
            need = timedelta(days=rule.memory_days + 1)
        elif isinstance(rule, SymptomRule):
            need = max(
                timedelta(hours=rule.worsening_window_hours),
                timedelta(days=(rule.usual_days or 0) + 1),
            )
        elif isinstance(rule, ThresholdRule):
            bands = [b for b in (rule.yellow, rule.red) if b is not None]
            need = max(timedelta(days=b.consecutive, minutes=b.min_duration_minutes) for b in bands)
        elif isinstance(rule, MissingRule):
            need = timedelta(hours=rule.after_hours or 24)
        elif isinstance(rule, IndexRule):
            need = timedelta(days=rule.memory_days + 1)
        else:
            need = timedelta(hours=rule.window_hours)
        longest = max(longest, need)
    # A combination looks back over its window from component findings, which need their own.
    windows = [r.window_hours for r in rule_set.enabled() if isinstance(r, CombinationRule)]
    extra = timedelta(hours=max(windows, default=0.0))
    return longest + extra + LIVE_HISTORY_MARGIN


class _Batches(Mapping[str, MetricBatch]):
    """The cohort's metrics, each normalised (``build_batch``) when a kernel first reads it: a
    metric that no enabled rule reads (diastolic pressure in the preset) costs nothing."""

    def __init__(self, cohort: Sequence[Series], now_us: int | None) -> None:
        self._cohort = cohort
        self._now_us = now_us
        self._metrics = sorted({m for series in cohort for m in series})
        self._built: dict[str, MetricBatch] = {}

    def __getitem__(self, metric: str) -> MetricBatch:
        batch = self._built.get(metric)
        if batch is None:
            if metric not in self._metrics:
                raise KeyError(metric)
            batch = build_batch([series.get(metric) for series in self._cohort], self._now_us)
            self._built[metric] = batch
        return batch

    def __iter__(self) -> Iterator[str]:
        return iter(self._metrics)

    def __len__(self) -> int:
        return len(self._metrics)


def _context(
    cohort: Sequence[Series], tz: ZoneInfo, now_us: int | None, paused: Sequence[bool] | None
) -> Context:
    n = len(cohort)
    if paused is not None and len(paused) != n:
        raise ValueError(f"paused has {len(paused)} flags for {n} patients")
    batches = _Batches(cohort, now_us)
    if now_us is not None:
        horizon = np.full(n, now_us, dtype=np.int64)
    else:
        # The newest reading of any metric: every metric is read (normalised) here.
        horizon = np.full(n, NO_TIME, dtype=np.int64)
        for batch in batches.values():
            has = batch.has_readings()
            newest = np.full(n, NO_TIME, dtype=np.int64)
            newest[has] = batch.t[batch.offsets[1:][has] - 1]
            horizon = np.maximum(horizon, newest)
    flags = np.zeros(n, dtype=bool) if paused is None else np.asarray(paused, dtype=bool)
    return Context(tz=tz, batches=batches, horizon=horizon, paused=flags)


def _run(rule: PlainRule, ctx: Context) -> Hits:
    if isinstance(rule, ThresholdRule):
        return threshold.evaluate(rule, ctx)
    if isinstance(rule, ChangeRule):
        return change.evaluate(rule, ctx)
    if isinstance(rule, BaselineRule):
        return personal.evaluate(rule, ctx)
    if isinstance(rule, TrendRule):
        return trend.evaluate(rule, ctx)
    if isinstance(rule, MissingRule):
        return missing.evaluate(rule, ctx)
    if isinstance(rule, SymptomRule):
        return symptom.evaluate(rule, ctx)
    if isinstance(rule, IndexRule):
        return index.evaluate(rule, ctx)
    raise TypeError(f"no kernel for rule kind {rule.kind!r}")
