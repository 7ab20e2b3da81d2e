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

from collections.abc import Sequence
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np

from hemkoll.rules.config import (
    Band,
    BaselineRule,
    ChangeRule,
    IndexRule,
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
    advice = rule_set.advice
    if is_symptom(metric):
        if value >= advice.severe_score:
            return "severe"
        if value >= advice.notable_score:
            return "notable"
    off_outside = False
    for rule in rule_set.rules:
        if (
            isinstance(rule, ThresholdRule)
            and rule.metric == metric
            and (_outside(rule.yellow, value) or _outside(rule.red, value))
        ):
            if rule.enabled:
                return "outside"
            off_outside = True
    if off_outside:
        return "off_rule"
    return "usual" if metric in judging_metrics(rule_set) else "unjudged"


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
    rules = [r for r in rule_set.enabled() if isinstance(r, _JUDGING) and metric in _reads(r)]
    if any(_judges_every_value(rule) for rule in rules):
        return True  # the history (below) is not needed
    if not rules:
        return False
    got = series.get(metric)
    times = as_epoch_us(got[0]) if got is not None else np.zeros(0, dtype=np.int64)
    t = epoch_us(at)
    days = local_days(times, tz)
    today = int(local_days(np.array([t], dtype=np.int64), tz)[0])
    first_of_day = not bool(np.any((days == today) & (times < t)))
    earlier = np.unique(days[days < today])
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
            judged = int(np.count_nonzero(earlier >= today - rule.baseline_days)) >= rule.min_days
        elif isinstance(rule, TrendRule):  # today and the days before it within long_days
            judged = 1 + int(np.count_nonzero(earlier > today - rule.long_days)) >= rule.min_days
        elif isinstance(rule, IndexRule):  # the signal's baseline window ends guard_days before
            last = today - rule.guard_days - 1
            window = (earlier >= last - rule.baseline_days + 1) & (earlier <= last)
            judged = int(np.count_nonzero(window)) >= rule.min_days
        else:  # a threshold rule judges every value (above)
            judged = True
        if judged:
            return True
    return False


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
