"""What the enabled rules can vouch for about one reading (the ground for "as usual")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from hemkoll.protocol.measurements import METRICS
from hemkoll.rules.config import (
    Band,
    IndexRule,
    IndexSignal,
    MissingRule,
    PatientAdvice,
    RuleSet,
    SymptomRule,
    ThresholdRule,
    TrendRule,
)
from hemkoll.rules.findings import epoch_us
from hemkoll.rules.judged import (
    Judges,
    can_judge,
    judge_readings,
    judging_metrics,
    off_rules,
    verdict,
)
from hemkoll.rules.preset import HEART_FAILURE

PULSE = ThresholdRule(
    id="pulse",
    metric="heart_rate",
    yellow=Band(low=50, high=100, consecutive=2),
    red=Band(low=40, high=110, consecutive=2),
)


def _set(*rules: ThresholdRule | SymptomRule | MissingRule | TrendRule) -> RuleSet:
    return RuleSet(name="t", rules=rules)


def test_a_value_inside_an_enabled_band_is_usual_and_outside_asks_for_another() -> None:
    rules = _set(PULSE)
    assert verdict(rules, "heart_rate", 72) == "usual"
    # Outside the yellow band: the rule waits for a second reading before it fires, so the
    # patient is not told "as usual" meanwhile.
    assert verdict(rules, "heart_rate", 104) == "outside"
    assert verdict(rules, "heart_rate", 45) == "outside"


def test_a_disabled_rule_vouches_for_nothing() -> None:
    rules = _set(PULSE.model_copy(update={"enabled": False}))
    assert verdict(rules, "heart_rate", 72) == "unjudged"
    # Outside the band of the rule that is off: still never "as usual" (nor an alert).
    assert verdict(rules, "heart_rate", 130) == "off_rule"


def test_missing_measurement_rules_judge_no_value() -> None:
    rules = _set(MissingRule(id="m", metric="body_weight", after_hours=48))
    assert judging_metrics(rules) == frozenset()
    assert verdict(rules, "body_weight", 80.0) == "unjudged"


@pytest.mark.parametrize("enabled", [True, False])
def test_a_severe_answer_is_severe_whether_or_not_a_rule_reads_it(enabled: bool) -> None:
    rules = _set(
        SymptomRule(id="ankles", metric="symptom_ankle_swelling", yellow_score=2, enabled=enabled)
    )
    assert verdict(rules, "symptom_ankle_swelling", 3) == "severe"
    assert verdict(rules, "symptom_ankle_swelling", 2) == "notable"
    assert verdict(rules, "symptom_ankle_swelling", 0) == ("usual" if enabled else "unjudged")


def test_the_programme_sets_what_counts_as_severe_and_notable() -> None:
    advice = PatientAdvice(severe_score=2, notable_score=1)
    trend = TrendRule(id="t", metric="symptom_fatigue", short_days=5, long_days=28, yellow=0.6)
    rules = RuleSet(name="t", rules=(trend,), advice=advice)
    assert verdict(rules, "symptom_fatigue", 2) == "severe"
    assert verdict(rules, "symptom_fatigue", 1) == "notable"
    assert verdict(rules, "symptom_fatigue", 0) == "usual"


def test_the_preset_judges_what_it_has_rules_for_and_not_the_rest() -> None:
    judged = judging_metrics(HEART_FAILURE)
    # Diastolic pressure and temperature have no enabled rule in programme v3; weight and
    # fatigue are read by its deterioration indexes only.
    assert {"diastolic_bp", "body_temperature"}.isdisjoint(judged)
    assert {"body_weight", "systolic_bp", "heart_rate", "spo2", "symptom_fatigue"} <= judged
    assert judged <= set(METRICS)
    assert verdict(HEART_FAILURE, "diastolic_bp", 75) == "unjudged"
    assert verdict(HEART_FAILURE, "systolic_bp", 125) == "usual"
    assert verdict(HEART_FAILURE, "systolic_bp", 75) == "outside"  # the red band waits for two


def test_a_patients_readings_judged_at_once_as_each_alone() -> None:
    """``judge_readings`` (the worker's: what each rule set judges taken once, each metric's
    local days once per patient) says of each reading what ``verdict`` and ``can_judge`` say
    of it alone, with the rules as the programme has them and with every rule on."""

    tz = ZoneInfo("Europe/Stockholm")
    rng = np.random.default_rng(18)
    start = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)  # across the spring-forward of 29 March
    every_on = RuleSet(
        name="all on",
        rules=tuple(r.model_copy(update={"enabled": True}) for r in HEART_FAILURE.rules),
    )
    values = {"body_weight": (80.0, 2.0), "heart_rate": (75.0, 20.0), "spo2": (95.0, 3.0)}
    values |= {m: (1.5, 1.5) for m in ("symptom_breathlessness", "symptom_ankle_swelling")}
    checked = {"usual": 0, "unjudged": 0}
    for rule_set in (HEART_FAILURE, every_on):
        judges = Judges.of(rule_set)
        for _ in range(80):
            series = {}
            for metric, (mean, spread) in values.items():
                days = np.sort(rng.choice(45, size=int(rng.integers(0, 12)), replace=False))
                hours = rng.uniform(0, 3, days.size)
                times = [
                    start + timedelta(days=int(d), hours=float(h))
                    for d, h in zip(days, hours, strict=True)
                ]
                series[metric] = (
                    np.array([epoch_us(t) for t in times], np.int64),
                    rng.normal(mean, spread, days.size).round(),
                )
            new = [
                (metric, start + timedelta(days=45, hours=float(rng.uniform(0, 30))), float(v))
                for metric, (mean, spread) in values.items()
                for v in rng.normal(mean, spread, int(rng.integers(0, 3))).round()
            ]
            for metric, at, _ in new:  # the new readings are in the history, as the worker's
                t, v = series[metric]
                series[metric] = (np.append(t, epoch_us(at)), np.append(v, 0.0))
            alone = []
            for metric, at, value in new:
                said = verdict(rule_set, metric, value)
                if said == "usual" and not can_judge(rule_set, series, metric, at, tz=tz):
                    said = "unjudged"
                alone.append((metric, said))
                if said in checked:
                    checked[said] += 1
            assert judge_readings(judges, new, series, tz=tz) == alone
    assert min(checked.values()) > 0  # both outcomes of can_judge were asked


def test_an_index_judges_each_signal_once_its_baseline_window_has_enough_days() -> None:
    tz = ZoneInfo("Europe/Stockholm")
    rule = IndexRule(
        id="idx",
        signals=(
            IndexSignal(metric="body_weight", sd_floor=0.3),
            IndexSignal(metric="heart_rate", sd_floor=3.0),
        ),
        baseline_days=10,
        guard_days=3,
        min_days=7,
        yellow=5.0,
        recovery=2.0,
    )
    rules = RuleSet(name="t", rules=(rule,))
    assert {"body_weight", "heart_rate"} <= judging_metrics(rules)
    assert verdict(rules, "heart_rate", 70) == "usual"
    assert verdict(rules, "spo2", 96) == "unjudged"
    start = datetime(2025, 3, 1, 7, 0, tzinfo=tz)

    def weights(days: list[int]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        t = np.array([epoch_us(start + timedelta(days=d)) for d in days], dtype=np.int64)
        return {"body_weight": (t, np.full(t.size, 80.0))}

    today = start + timedelta(days=20)
    # The baseline window of day 20 is days 7-16: seven weighed days there judge, six do not,
    # and days in the guard (17-19) do not count.
    assert can_judge(rules, weights(list(range(10, 17))), "body_weight", today, tz=tz)
    assert not can_judge(rules, weights(list(range(11, 20))), "body_weight", today, tz=tz)
    # Only the day's first value (the index reads first-of-day values).
    later = weights([*range(7, 17), 20])
    assert not can_judge(rules, later, "body_weight", today + timedelta(hours=1), tz=tz)
    # An index that is off vouches for nothing and flags every signal it reads when it fires.
    off = RuleSet(name="t", rules=(rule.model_copy(update={"enabled": False}),))
    assert verdict(off, "heart_rate", 70) == "unjudged"
    shadow = off_rules(off)
    assert shadow is not None
    assert shadow.rule("idx").enabled
