"""Symptom answers and combinations of rules within a window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from hemkoll.rules import (
    ChangeRule,
    CombinationRule,
    OverrideLayer,
    RuleOverride,
    RuleSet,
    SymptomRule,
    effective_rules,
    evaluate,
)
from hemkoll.rules.findings import epoch_us

TZ = ZoneInfo("Europe/Stockholm")
T0 = datetime(2024, 5, 1, 5, tzinfo=UTC)


def days(*d: float) -> np.ndarray:
    return np.asarray([epoch_us(T0 + timedelta(days=x)) for x in d], dtype=np.int64)


BREATH = SymptomRule(
    id="breath",
    metric="symptom_breathlessness",
    yellow_score=2,
    red_score=3,
    worsening_points=1,
    worsening_window_hours=72,
)


def fired(
    rules: RuleSet, s: dict[str, tuple[np.ndarray, np.ndarray]]
) -> list[tuple[str, float, str]]:
    return [
        (f.rule_id, (f.fired_at - T0).total_seconds() / 86400, f.severity)
        for f in evaluate(rules, s, tz=TZ)
    ]


def answers(d: list[float], scores: list[float]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {"symptom_breathlessness": (days(*d), np.asarray(scores, dtype=float))}


def test_scores_and_worsening() -> None:
    rules = RuleSet(name="t", rules=(BREATH,))
    # 0 -> 1 worse (yellow, day 1); still 1 on day 2, worse than day 0's 0 (the run goes on:
    # yellow again, once that day); 2 on day 3 >= yellow score; 3 on day 4 red; back to 0,
    # then 1 on day 9 (worse vs 0 on day 8)
    got = fired(rules, answers([0, 1, 2, 3, 4, 8, 9], [0, 1, 1, 2, 3, 0, 1]))
    assert got == [
        ("breath", 1, "yellow"),
        ("breath", 2, "yellow"),
        ("breath", 3, "yellow"),
        ("breath", 4, "red"),
        ("breath", 9, "yellow"),
    ]
    # Two answers the same day in one run: the run fires once that day.
    got = fired(rules, answers([0, 1, 1.25, 1.5], [0, 2, 2, 2]))
    assert got == [("breath", 1, "yellow")]


def test_worsening_window_limits_the_comparison() -> None:
    rules = RuleSet(
        name="t", rules=(SymptomRule(id="w", metric="symptom_breathlessness", worsening_points=1),)
    )
    # the 0 is 4 days before the 1: outside 72 h, so no worsening
    assert fired(rules, answers([0, 4], [0, 1])) == []
    (f,) = evaluate(rules, answers([0, 3], [0, 1]), tz=TZ)
    assert f.evidence["window_lowest"] == 0.0
    assert f.explanation_en == "Breathlessness worsened from 0 to 1 of 3 within 72 hours."


COMBO = RuleSet(
    name="t",
    rules=(
        ChangeRule(id="gain", metric="body_weight", window_days=3, yellow=2.0),
        SymptomRule(id="worse", metric="symptom_breathlessness", worsening_points=1),
        CombinationRule(
            id="both",
            mode="all",
            rules=("gain", "worse"),
            window_hours=72,
            label_en="weight gain with worse breathlessness",
            label_sv="viktökning med ökad andfåddhet",
        ),
    ),
)


def combo_series(gain_day: int, worse_day: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    w_days = list(range(10))
    kg = [80.0 if d < gain_day else 82.5 for d in w_days]
    s_days = list(range(10))
    score = [0.0 if d < worse_day else 1.0 for d in s_days]
    return {
        "body_weight": (days(*w_days), np.asarray(kg)),
        "symptom_breathlessness": (days(*[d + 0.1 for d in s_days]), np.asarray(score)),
    }


def test_all_of_within_window_fires_red_at_the_later_finding() -> None:
    got = fired(COMBO, combo_series(gain_day=3, worse_day=5))
    assert ("both", 5.1, "red") in got
    # The first, when the later component (worse breathlessness, day 5.1) joins the gain.
    f = next(f for f in evaluate(COMBO, combo_series(3, 5), tz=TZ) if f.rule_id == "both")
    assert (f.fired_at - T0).total_seconds() / 86400 == pytest.approx(5.1)
    components = f.evidence["components"]
    assert isinstance(components, list)
    assert [c["rule_id"] for c in components if isinstance(c, dict)] == ["gain", "worse"]
    # In words, the components' own sentences: no rule ids.
    assert f.explanation_en.startswith("Weight gain with worse breathlessness within 72 hours: ")
    assert "Breathlessness worsened from" in f.explanation_en
    assert "Body weight is" in f.explanation_en
    assert "gain" not in f.explanation_en.split(": ", 1)[1].split()
    assert f.explanation_sv.startswith("Viktökning med ökad andfåddhet inom 72 timmar: ")


def test_all_of_outside_window_does_not_fire() -> None:
    got = fired(COMBO, combo_series(gain_day=1, worse_day=6))  # 5.1 days apart
    assert [g for g in got if g[0] == "both"] == []


def test_any_of_fires_at_each_component_and_disabled_component_blocks_all_of() -> None:
    any_of = effective_rules(
        COMBO,
        OverrideLayer(source="t", overrides=(RuleOverride(id="both", patch={"mode": "any"}),)),
    )
    found = fired(any_of, combo_series(1, 6))
    got = [g[1] for g in found if g[0] == "both"]
    components = sorted({g[1] for g in found if g[0] in ("gain", "worse")})
    # The gain holds days 1-3, the worse breathlessness from 6.1 as long as the 72-hour window
    # holds a 0: any-of fires at each of them.
    assert got == components
    assert components[0] == 1
    assert 6.1 in components
    disabled = effective_rules(
        COMBO, OverrideLayer(source="t", overrides=(RuleOverride(id="worse", enabled=False),))
    )
    assert [g for g in fired(disabled, combo_series(3, 5)) if g[0] == "both"] == []


def test_min_severity_red_ignores_yellow_components() -> None:
    red_only = effective_rules(
        COMBO,
        OverrideLayer(
            source="t", overrides=(RuleOverride(id="both", patch={"min_severity": "red"}),)
        ),
    )
    assert [g for g in fired(red_only, combo_series(3, 5)) if g[0] == "both"] == []
