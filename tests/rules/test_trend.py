"""Trend (MACD) rules on local-day values: averages, gaps, edges and messy input."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from pydantic import ValidationError

from hemkoll.rules import Finding, RuleSet, TrendRule, evaluate, required_history
from hemkoll.rules.baseline import evaluate_reference
from hemkoll.rules.findings import epoch_us

TZ = ZoneInfo("Europe/Stockholm")
# 07:00 local (CEST) on 1 May
T0 = datetime(2024, 5, 1, 5, 0, tzinfo=UTC)
RULE = TrendRule(
    id="w", metric="body_weight", short_days=3, long_days=21, min_days=7, yellow=0.8, red=1.5
)
RULES = RuleSet(name="t", rules=(RULE,))


def day(d: float) -> int:
    return epoch_us(T0 + timedelta(days=d))


def weights(days: Sequence[float], kg: Sequence[float]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {"body_weight": (np.asarray([day(d) for d in days]), np.asarray(kg, dtype=float))}


def same(a: Sequence[Finding], b: Sequence[Finding]) -> bool:
    """Same firings, evidence equal up to float rounding."""
    return [(f.fired_at, f.severity) for f in a] == [(f.fired_at, f.severity) for f in b] and all(
        f.evidence[k] == pytest.approx(g.evidence[k])
        for f, g in zip(a, b, strict=True)
        for k in f.evidence
    )


def fired(days: Sequence[float], kg: Sequence[float]) -> list[tuple[float, str]]:
    out = evaluate(RULES, weights(days, kg), tz=TZ)
    return [((f.fired_at - T0).total_seconds() / 86400, f.severity) for f in out]


def ewma(values: Sequence[float], span: int) -> float:
    """Weighted average of consecutive daily values, the last one today."""
    r = 1 - 2 / (span + 1)
    w = [r**k for k in range(len(values))][::-1]
    return float(np.dot(w, values) / sum(w))


def test_trend_is_short_minus_long_average_and_fires_each_day_then_escalates() -> None:
    kg = [80.0] * 20 + [80.0 + 0.4 * k for k in range(1, 11)]
    found = evaluate(RULES, weights(range(30), kg), tz=TZ)
    severities = [f.severity for f in found]
    # Yellow from the day the trend passes 0.8 kg, each day it holds, then red each day.
    assert severities == sorted(severities, key=["yellow", "red"].index)
    assert severities[0] == "yellow"
    assert "red" in severities
    fired_on = [f.evidence["local_date"] for f in found]
    assert fired_on == sorted(set(fired_on))  # one finding a day
    first = found[0]
    d = int(first.evidence["local_date"][-2:]) - 1  # days since 1 May
    assert first.evidence["short_average"] == pytest.approx(ewma(kg[: d + 1], 3))
    assert first.evidence["long_average"] == pytest.approx(ewma(kg[: d + 1], 21))
    assert first.evidence["trend"] == pytest.approx(ewma(kg[: d + 1], 3) - ewma(kg[: d + 1], 21))
    assert first.explanation_en.startswith("Body weight trend: the 3-day average ")
    assert "above the 21-day average" in first.explanation_en
    assert first.explanation_sv.startswith("Kroppsvikt, trend: medelvärdet för 3 dygn ")
    assert "(gräns 0,8 kg)" in first.explanation_sv


def test_steady_or_falling_weight_and_a_single_heavy_morning_are_quiet() -> None:
    assert fired(range(30), [80.0] * 30) == []
    assert fired(range(30), [90.0 - 0.3 * k for k in range(30)]) == []
    # one reading +1.5 kg: the 3-day average moves 0.75 kg at most, below 0.8
    assert fired(range(30), [80.0] * 29 + [81.4]) == []


def test_min_days_single_reading_and_no_readings() -> None:
    assert fired([0], [80.0]) == []
    assert fired([], []) == []
    # six weighed days in the last 21: silent however steep
    assert fired([0, 1, 2, 3, 4, 5], [80, 80, 80, 83, 86, 89]) == []


def test_gap_days_are_left_out_not_filled() -> None:
    # weighed every third day: the averages use the weighed days only, with calendar weights
    days = list(range(0, 60, 3))
    kg = [80.0] * 15 + [81.0, 82.0, 83.0, 84.0, 85.0]
    found = evaluate(RULES, weights(days, kg), tz=TZ)
    assert found
    first = found[0]
    k = round((first.fired_at - T0).total_seconds() / 86400)
    r3, r21 = 1 - 2 / 4, 1 - 2 / 22
    past = [(k - x, v) for x, v in zip(days, kg, strict=True) if x <= k]
    short = sum(r3**a * v for a, v in past) / sum(r3**a for a, _ in past)
    long = sum(r21**a * v for a, v in past) / sum(r21**a for a, _ in past)
    assert first.evidence["trend"] == pytest.approx(short - long)
    assert first.evidence["days_with_value"] == len([a for a, _ in past if a < 21])


def test_unsorted_and_duplicate_readings_give_the_same_findings() -> None:
    rng = np.random.default_rng(3)
    days = list(range(40))
    kg = list(80 + rng.normal(0, 0.3, 20)) + [80 + 0.25 * k for k in range(20)]
    clean = evaluate(RULES, weights(days, kg), tz=TZ)
    assert clean
    order = rng.permutation(len(days) + 5)
    messy_days = [float(x) for x in np.asarray(days + days[:5])[order]]
    messy_kg = np.asarray(kg + kg[:5])[order]
    assert same(evaluate(RULES, weights(messy_days, messy_kg), tz=TZ), clean)


def test_fall_direction_memory_and_reference_agree() -> None:
    loss = RuleSet(
        name="t",
        rules=(
            TrendRule(
                id="hr",
                metric="heart_rate",
                direction="fall",
                short_days=2,
                long_days=10,
                min_days=3,
                yellow=4,
            ),
        ),
    )
    s = {
        "heart_rate": (
            np.asarray([day(d) for d in range(20)]),
            np.asarray([70.0] * 12 + [60.0] * 8),
        )
    }
    found = evaluate(loss, s, tz=TZ)
    assert {f.rule_id for f in found} == {"hr"}
    assert "below the 10-day average" in found[0].explanation_en
    assert same(found, evaluate_reference(loss, s, tz=TZ))
    assert required_history(RULES) >= timedelta(days=RULE.memory_days + 1)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"short_days": 21, "long_days": 21}, "short_days must be below"),
        ({"min_days": 30}, "min_days exceeds"),
        ({"yellow": None, "red": None}, "yellow or a red"),
        ({"yellow": 2.0, "red": 1.0}, "red amount"),
    ],
)
def test_invalid_trend_rules_are_rejected(fields: dict[str, object], message: str) -> None:
    data = {**RULE.model_dump(), **fields}
    with pytest.raises(ValidationError, match=message):
        TrendRule.model_validate(data)
