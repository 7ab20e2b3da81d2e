"""What the enabled rules can say about one new reading: the ground for what the patient is told.

Pure. The patient is told "your measurements look as usual" only when every reading of her
message got the verdict ``usual``; a rule that is off never makes a message sound reassuring
(docs/patient-messages.md). The verdicts, most pressing first:

- ``severe``: a symptom answer at or above the programme's severe score. Always acknowledged
  with advice, whether or not a rule judges that symptom.
- ``outside``: outside a band of an enabled threshold rule. A band that waits for a second
  reading (``consecutive``) has not fired yet, so the patient is asked to measure again.
- ``notable``: a symptom answer at or above the programme's notable score: never "as usual".
- ``off_rule``: only a rule that is off finds it outside its limits (a disabled threshold band,
  by value; a disabled change, baseline or trend rule on the reading's local day, by
  ``off_rule_metrics``): nobody is told, and the patient is not told it looks as usual either.
- ``unjudged``: no enabled rule reads the metric (missing-measurement rules judge no value).
- ``usual``: an enabled threshold, change, baseline, trend, symptom or index rule reads the
  metric (an index reads each of its signals) and the value is inside every enabled band. The
  caller then asks ``can_judge`` whether one of those rules had what it needs to judge this
  very reading (a new patient's first weight is judged by no trend and no index), and makes it
  ``unjudged`` if none had.

Whether a rule *fired* is not decided here: the alerts it opens are (hemkoll.alerts.evaluation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np

from hemkoll.rules.arrays import IntArray
from hemkoll.rules.config import (
    Band,
    BaselineRule,
    ChangeRule,
    IndexRule,
    PatientAdvice,
    RuleSet,
    SymptomRule,
    ThresholdRule,
    TrendRule,
)
from hemkoll.rules.engine import evaluate_cohort
from hemkoll.rules.findings import epoch_us
from hemkoll.rules.localtime import local_days
from hemkoll.rules.series import Series, as_epoch_us
from hemkoll.rules.stays import Stay

Verdict = Literal["severe", "outside", "notable", "off_rule", "unjudged", "usual"]
# Most pressing first, as the patient's message weighs them (alerts.patient_messages).
VERDICTS: tuple[Verdict, ...] = ("severe", "outside", "notable", "off_rule", "unjudged", "usual")

# The kinds that judge a metric's values (a combination judges its components' findings, a
# missing-measurement rule the absence of values).
_JUDGING = (ThresholdRule, ChangeRule, BaselineRule, TrendRule, SymptomRule, IndexRule)
_Judging = ThresholdRule | ChangeRule | BaselineRule | TrendRule | SymptomRule | IndexRule


def _reads(rule: _Judging) -> tuple[str, ...]:
    """The metrics whose values the rule judges: an index each of its signals."""
    return rule.metrics if isinstance(rule, IndexRule) else (rule.metric,)


def is_symptom(metric: str) -> bool:
    return metric.startswith("symptom_")


def judging_metrics(rule_set: RuleSet) -> frozenset[str]:
    """The metrics an enabled rule of the set judges the values of."""
    return frozenset(
        metric
        for rule in rule_set.enabled()
        if isinstance(rule, _JUDGING)
        for metric in _reads(rule)
    )


def _outside(band: Band | None, value: float) -> bool:
    if band is None:
        return False
    return (band.low is not None and value < band.low) or (
        band.high is not None and value > band.high
    )


def verdict(rule_set: RuleSet, metric: str, value: float) -> Verdict:
    """What the enabled rules of ``rule_set`` (and its advice) say about one reading."""
    return Judges.of(rule_set).verdict(metric, value)


US_PER_HOUR = 3_600_000_000


def _judges_every_value(rule: _Judging) -> bool:
    """A threshold rule, and a symptom rule's scores, judge every value."""
    if isinstance(rule, ThresholdRule):
        return True
    return isinstance(rule, SymptomRule) and (
        rule.yellow_score is not None or rule.red_score is not None
    )


def can_judge(
    rule_set: RuleSet, series: Series, metric: str, at: datetime, *, tz: ZoneInfo
) -> bool:
    """Whether an enabled rule of the set had what it needs to judge the reading of ``metric``
    measured at ``at``, given the patient's history ``series``: a threshold rule, and a symptom
    rule's scores, judge every value; a symptom rule's worsening needs an earlier answer within
    its window; the daily rules (change, baseline, trend) judge only a local day's first value,
    a change rule against a value of its window's earlier days, a baseline or trend rule with
    ``min_days`` days with a value, an index with ``min_days`` days with a value of the signal
    in its baseline window. (Days in hospital, which baseline, trend and index rules leave
    out, are counted here: an upper bound, as the engine's findings decide alerts anyway.)"""
    today = int(local_days(np.array([epoch_us(at)], dtype=np.int64), tz)[0])
    return Judges.of(rule_set).can_judge(_History(series, tz), metric, at, today)


class _History:
    """One patient's readings per metric with their local days and the distinct days, sorted,
    each metric's taken once (``can_judge`` asks of every new reading)."""

    def __init__(self, series: Series, tz: ZoneInfo) -> None:
        self.series = series
        self.tz = tz
        self._days: dict[str, tuple[IntArray, IntArray, IntArray]] = {}

    def days(self, metric: str) -> tuple[IntArray, IntArray, IntArray]:
        """The metric's measured_at (epoch µs), the local day of each, the distinct days."""
        if metric not in self._days:
            got = self.series.get(metric)
            times = as_epoch_us(got[0]) if got is not None else np.zeros(0, dtype=np.int64)
            days = local_days(times, self.tz)
            self._days[metric] = (times, days, np.unique(days))
        return self._days[metric]


@dataclass(frozen=True)
class Judges:
    """What ``verdict`` and ``can_judge`` read of one rule set, taken from it once: a worker's
    batch asks them of every new reading of every patient (``judge_readings``)."""

    advice: PatientAdvice
    # Every threshold rule of a metric, on or off (a band of one that is off makes "off_rule").
    thresholds: Mapping[str, tuple[ThresholdRule, ...]]
    # The enabled rules that judge a metric's values, in the rule set's order.
    judging: Mapping[str, tuple[_Judging, ...]]
    # The metrics an enabled rule judges every value of (``_judges_every_value``).
    every_value: frozenset[str]

    @classmethod
    def of(cls, rule_set: RuleSet) -> Judges:
        thresholds: dict[str, list[ThresholdRule]] = {}
        judging: dict[str, list[_Judging]] = {}
        for rule in rule_set.rules:
            if isinstance(rule, ThresholdRule):
                thresholds.setdefault(rule.metric, []).append(rule)
            if rule.enabled and isinstance(rule, _JUDGING):
                for metric in _reads(rule):
                    judging.setdefault(metric, []).append(rule)
        return cls(
            rule_set.advice,
            {metric: tuple(rules) for metric, rules in thresholds.items()},
            {metric: tuple(rules) for metric, rules in judging.items()},
            frozenset(
                metric
                for metric, rules in judging.items()
                if any(_judges_every_value(rule) for rule in rules)
            ),
        )

    def verdict(self, metric: str, value: float) -> Verdict:
        """``verdict`` of the rule set."""
        if is_symptom(metric):
            if value >= self.advice.severe_score:
                return "severe"
            if value >= self.advice.notable_score:
                return "notable"
        off_outside = False
        for rule in self.thresholds.get(metric, ()):
            if _outside(rule.yellow, value) or _outside(rule.red, value):
                if rule.enabled:
                    return "outside"
                off_outside = True
        if off_outside:
            return "off_rule"
        return "usual" if metric in self.judging else "unjudged"

    def can_judge(self, history: _History, metric: str, at: datetime, today: int) -> bool:
        """``can_judge`` of the rule set, for the patient whose readings are ``history``;
        ``today``: the local day of ``at``."""
        if metric in self.every_value:
            return True  # the history (below) is not needed
        rules = self.judging.get(metric, ())
        if not rules:
            return False
        times, days, distinct = history.days(metric)
        t = epoch_us(at)
        first_of_day = not bool(np.any((days == today) & (times < t)))
        earlier = distinct[: np.searchsorted(distinct, today)]  # the days before today
        for rule in rules:
            if isinstance(rule, SymptomRule):
                since = t - round(rule.worsening_window_hours * US_PER_HOUR)
                if np.any((times < t) & (times >= since)):
                    return True
                continue
            if not first_of_day:
                continue
            if isinstance(rule, ChangeRule):
                judged = bool(np.any(earlier >= today - rule.window_days))
            elif isinstance(rule, BaselineRule):
                judged = (
                    int(np.count_nonzero(earlier >= today - rule.baseline_days)) >= rule.min_days
                )
            elif isinstance(rule, TrendRule):  # today and the days before it within long_days
                within = int(np.count_nonzero(earlier > today - rule.long_days))
                judged = 1 + within >= rule.min_days
            elif isinstance(rule, IndexRule):  # the signal's baseline window ends guard_days before
                last = today - rule.guard_days - 1
                window = (earlier >= last - rule.baseline_days + 1) & (earlier <= last)
                judged = int(np.count_nonzero(window)) >= rule.min_days
            else:  # a threshold rule judges every value (above)
                judged = True
            if judged:
                return True
        return False


def judge_readings(
    judges: Judges,
    readings: Sequence[tuple[str, datetime, float]],
    series: Series,
    *,
    tz: ZoneInfo,
) -> list[tuple[str, Verdict]]:
    """What the enabled rules say of each new reading (metric, measured_at, value) of one
    patient whose history is ``series``: its ``verdict``, and "unjudged" for a "usual" that no
    rule had what it needs to judge (``can_judge``)."""
    history = _History(series, tz)
    todays = local_days(np.array([epoch_us(at) for _, at, _ in readings], dtype=np.int64), tz)
    out: list[tuple[str, Verdict]] = []
    for (metric, at, value), today in zip(readings, todays.tolist(), strict=True):
        said = judges.verdict(metric, value)
        if said == "usual" and not judges.can_judge(history, metric, at, today):
            said = "unjudged"
        out.append((metric, said))
    return out


def off_rules(rule_set: RuleSet) -> RuleSet | None:
    """The rule set's value-judging rules that are off, switched on (None if there are none):
    what they would find is never the ground of a reassuring message."""
    off = tuple(
        rule.model_copy(update={"enabled": True})
        for rule in rule_set.rules
        if not rule.enabled and isinstance(rule, _JUDGING)
    )
    return RuleSet(name=rule_set.name, rules=off, advice=rule_set.advice) if off else None


def off_rule_metrics(
    rule_set: RuleSet,
    series: Series,
    *,
    tz: ZoneInfo,
    now: datetime,
    since: datetime,
    stays: Sequence[Stay] = (),
) -> frozenset[str]:
    """The metrics on which a rule of ``rule_set`` that is off (``off_rules``) finds something
    fired at or after ``since``; the caller passes the local midnight before the patient's
    new readings, since the daily rules judge a day by its first value. ``series`` must hold
    the history those rules need (``engine.required_history(off_rules(rule_set))``)."""
    return off_rule_metrics_of_cohort(
        off_rules(rule_set), [series], tz=tz, now=now, since=[since], stays=[stays]
    )[0]


def off_rule_metrics_of_cohort(
    shadow: RuleSet | None,
    cohort: Sequence[Series],
    *,
    tz: ZoneInfo,
    now: datetime,
    since: Sequence[datetime],
    stays: Sequence[Sequence[Stay]],
) -> list[frozenset[str]]:
    """``off_rule_metrics`` of each patient of a cohort sharing a rule set (whose
    ``off_rules`` are ``shadow``) and a time zone: one ``evaluate_cohort`` for all of them, and
    no finding built (only when each rule fired is looked at)."""
    if shadow is None:
        return [frozenset() for _ in cohort]
    # An index that is off flags every signal it reads (which of them moved is in the finding,
    # not built here): none of them is the ground of a reassuring message.
    metric_of = {rule.id: _reads(rule) for rule in shadow.rules if isinstance(rule, _JUDGING)}
    found = evaluate_cohort(shadow, cohort, tz=tz, now=now, stays=stays)
    cut = np.array([epoch_us(at) for at in since], dtype=np.int64)
    flagged: list[set[str]] = [set() for _ in cohort]
    for rule_id, hits in zip(found.rule_ids, found.hits, strict=True):
        for patient in np.unique(hits.patient[hits.t >= cut[hits.patient]]).tolist():
            flagged[patient].update(metric_of[rule_id])
    return [frozenset(metrics) for metrics in flagged]
