"""Whether a reading is urgent: beyond a red limit of the programme, judged on its own.

Ingest asks this of every reading it stores, so that the rules workers evaluate a patient
whose new readings are severe before the routine ones queued ahead of her (the evaluation
queue's priority, migration 0023; docs/scaling.md). The limits are the red levels of the
programme's enabled single-reading rules (``preset.HEART_FAILURE``'s: systolic pressure
below 80 or above 170 mmHg, heart rate below 40 or above 110 /min, SpO2 below 90 %, severe
breathlessness), so there is one source for them.

Urgency only orders the queue; the evaluation decides what alerts. So the rules' gates
(``consecutive`` readings, ``min_duration_minutes``) are not applied here: the first reading
beyond a red limit is worth evaluating at once even if it takes a second one to alert. A
patient's or health centre's overrides are not read either (ingest would need a database read
per patient in its batch's transaction): a patient whose overrides narrow a red band is served
in arrival order until a reading crosses the programme's limit, and one whose overrides widen
it is served early for readings that will not alert her, which costs an evaluation, not an
alert. Rules that judge a reading against earlier ones (changes, trends, baselines,
combinations) are not single-reading limits and make nothing urgent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hemkoll.rules.config import RuleSet, SymptomRule, ThresholdRule


@dataclass(frozen=True)
class UrgentLimits:
    """Per metric, a value below ``below`` or above ``above`` or, for a symptom answer, at
    least ``at_least`` is urgent. Called as a function of (metric, value)."""

    below: dict[str, float] = field(default_factory=dict)
    above: dict[str, float] = field(default_factory=dict)
    at_least: dict[str, float] = field(default_factory=dict)

    def __call__(self, metric: str, value: float) -> bool:
        low = self.below.get(metric)
        if low is not None and value < low:
            return True
        high = self.above.get(metric)
        if high is not None and value > high:
            return True
        score = self.at_least.get(metric)
        return score is not None and value >= score


def urgent_limits(rule_set: RuleSet) -> UrgentLimits:
    """The red limits of ``rule_set``'s enabled threshold and symptom rules; where two rules
    judge one metric, the limit that makes more readings urgent (either would alert)."""
    below: dict[str, float] = {}
    above: dict[str, float] = {}
    at_least: dict[str, float] = {}
    for rule in rule_set.rules:
        if not rule.enabled:
            continue
        if isinstance(rule, ThresholdRule) and rule.red is not None:
            if rule.red.low is not None:
                below[rule.metric] = max(rule.red.low, below.get(rule.metric, rule.red.low))
            if rule.red.high is not None:
                above[rule.metric] = min(rule.red.high, above.get(rule.metric, rule.red.high))
        elif isinstance(rule, SymptomRule) and rule.red_score is not None:
            score = float(rule.red_score)
            at_least[rule.metric] = min(score, at_least.get(rule.metric, score))
    return UrgentLimits(below, above, at_least)
