"""Her own targets in plain words, from her effective rule set and her usual values: "your
usual weight is about 81 kg; call if it rises more than 2 kg in 3 days". Pure: no I/O.

Only what a patient can act on is said: change rules (a rise or fall over days), the
threshold rules' first (yellow) level, and symptom scores. Baseline, trend and missing rules
are the care team's business and are not put to her as targets.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hemkoll.api.console.i18n import Formatter
from hemkoll.api.console.rules_view import metric_label, unit
from hemkoll.rules.config import ChangeRule, RuleSet, SymptomRule, ThresholdRule

# Her usual value: the median of her daily means over the last two weeks, once she has a week
# of them (as the baseline rules wait for before they speak).
USUAL_DAYS = 14
USUAL_MIN_DAYS = 7


@dataclass(frozen=True)
class Target:
    metric: str
    text: str


def usual(daily_means: Sequence[float]) -> float | None:
    recent = list(daily_means)[-USUAL_DAYS:]
    if len(recent) < USUAL_MIN_DAYS:
        return None
    return statistics.median(recent)


def _threshold(rule: ThresholdRule, t: Mapping[str, str], fmt: Formatter) -> str | None:
    band = rule.yellow or rule.red
    if band is None:
        return None
    name, u = metric_label(rule.metric, t).lower(), unit(rule.metric, t)
    if band.low is not None and band.high is not None:
        return t["mitt_target_between"].format(
            metric=name, low=fmt.figure(band.low), high=fmt.figure(band.high), unit=u
        )
    if band.low is not None:
        return t["mitt_target_above"].format(metric=name, value=fmt.figure(band.low), unit=u)
    if band.high is None:  # a band has low, high or both
        return None
    return t["mitt_target_below"].format(metric=name, value=fmt.figure(band.high), unit=u)


def targets(
    rule_set: RuleSet,
    usual_values: Mapping[str, float],
    t: Mapping[str, str],
    fmt: Formatter,
) -> list[Target]:
    """Her targets, one sentence each, in the order of her rule set; her usual value first
    for each metric that has one."""
    found: list[Target] = []
    said_usual: set[str] = set()
    # One range per metric: its first threshold rule with a yellow level (an urgent, red-only
    # rule's wider range would only repeat it less usefully), else its first.
    ranges: dict[str, ThresholdRule] = {}
    for rule in rule_set.rules:
        if isinstance(rule, ThresholdRule):
            kept = ranges.get(rule.metric)
            if kept is None or (kept.yellow is None and rule.yellow is not None):
                ranges[rule.metric] = rule
    for rule in rule_set.rules:
        if not isinstance(rule, (ChangeRule, ThresholdRule, SymptomRule)):
            continue
        if isinstance(rule, ThresholdRule) and ranges[rule.metric] is not rule:
            continue
        metric = rule.metric
        if metric in usual_values and metric not in said_usual:
            said_usual.add(metric)
            found.append(
                Target(
                    metric,
                    t["mitt_usual"].format(
                        metric=metric_label(metric, t).lower(),
                        value=fmt.number(usual_values[metric], 0 if metric != "body_weight" else 1),
                        unit=unit(metric, t),
                    ),
                )
            )
        text: str | None
        if isinstance(rule, ChangeRule):
            amounts = [a for a in (rule.yellow, rule.red) if a is not None]
            text = t[f"mitt_target_change_{rule.direction}"].format(
                metric=metric_label(metric, t).lower(),
                amount=fmt.figure(min(amounts)),
                unit=unit(metric, t),
                days=rule.window_days,
            )
        elif isinstance(rule, ThresholdRule):
            text = _threshold(rule, t, fmt)
        else:
            score = rule.yellow_score or rule.red_score
            text = (
                None
                if score is None
                else t["mitt_target_symptom"].format(
                    metric=metric_label(metric, t).lower(), score=score
                )
            )
        if text is not None and all(existing.text != text for existing in found):
            found.append(Target(metric, text))
    return found
