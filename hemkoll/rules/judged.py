"""What the enabled rules can say about one new reading: the ground for what the patient is told.

Pure. The patient is told "your measurements look as usual" only when every reading of her
message got the verdict ``usual``; a rule that is off never makes a message sound reassuring
(docs/patient-messages.md). The verdicts, most pressing first:

- ``severe``: a symptom answer at or above the programme's severe score. Always acknowledged
  with advice, whether or not a rule judges that symptom.
- ``outside``: outside a band of an enabled threshold rule. A band that waits for a second
  reading (``consecutive``) has not fired yet, so the patient is asked to measure again.
- ``notable``: a symptom answer at or above the programme's notable score: never "as usual".
- ``unjudged``: no enabled rule reads the metric (missing-measurement rules judge no value).
- ``usual``: an enabled threshold, change, baseline, trend or symptom rule reads the metric and
  the value is inside every enabled band.

Whether a rule *fired* is not decided here: the alerts it opens are (hemkoll.alerts.evaluation).
"""

from __future__ import annotations

from typing import Literal

from hemkoll.rules.config import (
    Band,
    BaselineRule,
    ChangeRule,
    RuleSet,
    SymptomRule,
    ThresholdRule,
    TrendRule,
)

Verdict = Literal["severe", "outside", "notable", "unjudged", "usual"]
# Most pressing first, as the patient's message weighs them (alerts.patient_messages).
VERDICTS: tuple[Verdict, ...] = ("severe", "outside", "notable", "unjudged", "usual")

# The kinds that judge a metric's values (a combination judges its components' findings, a
# missing-measurement rule the absence of values).
_JUDGING = (ThresholdRule, ChangeRule, BaselineRule, TrendRule, SymptomRule)


def is_symptom(metric: str) -> bool:
    return metric.startswith("symptom_")


def judging_metrics(rule_set: RuleSet) -> frozenset[str]:
    """The metrics an enabled rule of the set judges the values of."""
    return frozenset(rule.metric for rule in rule_set.enabled() if isinstance(rule, _JUDGING))


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
    for rule in rule_set.enabled():
        if (
            isinstance(rule, ThresholdRule)
            and rule.metric == metric
            and (_outside(rule.yellow, value) or _outside(rule.red, value))
        ):
            return "outside"
    return "usual" if metric in judging_metrics(rule_set) else "unjudged"
