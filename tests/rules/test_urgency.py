"""Which readings make their patient urgent in the evaluation queue (hemkoll.rules.urgency)."""

from __future__ import annotations

import pytest

from hemkoll.rules.config import Band, RuleSet, SymptomRule, ThresholdRule
from hemkoll.rules.preset import HEART_FAILURE, SPO2_RED_LOW, SYMPTOM_SEVERE
from hemkoll.rules.urgency import urgent_limits

URGENT = urgent_limits(HEART_FAILURE)


def _red(rule_id: str) -> Band:
    rule = HEART_FAILURE.rule(rule_id)
    assert isinstance(rule, ThresholdRule)
    assert rule.red is not None
    return rule.red


@pytest.mark.parametrize("rule_id", ["systolic_bp_urgent", "heart_rate_urgent", "spo2_urgent"])
def test_a_reading_beyond_the_programmes_red_band_is_urgent_and_its_limit_is_not(
    rule_id: str,
) -> None:
    band = _red(rule_id)
    rule = HEART_FAILURE.rule(rule_id)
    assert isinstance(rule, ThresholdRule)
    if band.low is not None:
        assert URGENT(rule.metric, band.low - 0.1)
        assert not URGENT(rule.metric, band.low)  # the engine fires strictly below
    if band.high is not None:
        assert URGENT(rule.metric, band.high + 0.1)
        assert not URGENT(rule.metric, band.high)  # and strictly above


def test_the_programmes_limits_are_the_ones_the_brief_names() -> None:
    assert URGENT("spo2", SPO2_RED_LOW - 1)
    assert not URGENT("spo2", SPO2_RED_LOW + 5)
    assert URGENT("systolic_bp", 185)
    assert URGENT("systolic_bp", 72)
    assert not URGENT("systolic_bp", 125)
    assert URGENT("heart_rate", 35)
    assert URGENT("heart_rate", 130)
    assert not URGENT("heart_rate", 72)


def test_a_severe_breathlessness_answer_is_urgent_a_moderate_one_is_not() -> None:
    assert URGENT("symptom_breathlessness", SYMPTOM_SEVERE)
    assert not URGENT("symptom_breathlessness", SYMPTOM_SEVERE - 1)


def test_metrics_without_an_enabled_red_limit_are_never_urgent() -> None:
    # Weight is judged against her earlier readings, not one reading; diastolic pressure and
    # ankle swelling have no enabled red level in the programme.
    for metric, value in [("body_weight", 250.0), ("diastolic_bp", 140.0)]:
        assert not URGENT(metric, value)
    assert not URGENT("symptom_ankle_swelling", 3)


def test_disabled_rules_make_nothing_urgent_and_the_widest_enabled_limit_wins() -> None:
    rules = RuleSet(
        name="t",
        rules=(
            ThresholdRule(id="a", metric="spo2", red=Band(low=88)),
            ThresholdRule(id="b", metric="spo2", red=Band(low=92)),
            ThresholdRule(id="c", metric="heart_rate", red=Band(high=100), enabled=False),
            SymptomRule(id="d", metric="symptom_fatigue", red_score=3, enabled=False),
        ),
    )
    urgent = urgent_limits(rules)
    assert urgent("spo2", 91)  # rule b would alert on it
    assert not urgent("spo2", 92)
    assert not urgent("heart_rate", 150)
    assert not urgent("symptom_fatigue", 3)
