"""Change-over-a-window and personal-baseline rules on local-day (morning) values."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from hemkoll.rules import BaselineRule, ChangeRule, RuleSet, evaluate
from hemkoll.rules.findings import epoch_us

TZ = ZoneInfo("Europe/Stockholm")
# 07:00 local (CEST) on 1 May
T0 = datetime(2024, 5, 1, 5, 0, tzinfo=UTC)


def day(d: float) -> int:
    return epoch_us(T0 + timedelta(days=d))


def weights(days: Sequence[float], kg: Sequence[float]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {"body_weight": (np.asarray([day(d) for d in days]), np.asarray(kg, dtype=float))}


def fired_days(
    rules: RuleSet, days: Sequence[float], kg: Sequence[float]
) -> list[tuple[float, str]]:
    out = evaluate(rules, weights(days, kg), tz=TZ)
    return [((f.fired_at - T0).total_seconds() / 86400, f.severity) for f in out]


GAIN_3D = RuleSet(
    name="t",
    rules=(ChangeRule(id="g3", metric="body_weight", window_days=3, yellow=2.0, red=3.0),),
)


def test_gain_against_lowest_value_in_window() -> None:
    # lowest of days 1-3 is 79.0 on day 2; day 4 is 81.2: +2.2 kg
    (f,) = evaluate(GAIN_3D, weights([0, 1, 2, 3, 4], [80, 80.5, 79, 80, 81.2]), tz=TZ)
    assert f.severity == "yellow"
    assert f.evidence["reference_value"] == 79.0
    assert f.evidence["reference_local_date"] == "2024-05-03"
    assert f.evidence["change"] == pytest.approx(2.2)
    assert f.explanation_en == (
        "Body weight is 2.2 kg higher than the lowest morning value of the previous 3 days "
        "(79.0 kg on 2024-05-03)."
    )
    assert f.explanation_sv == (
        "Kroppsvikt är 2,2 kg högre än det lägsta morgonvärdet under de senaste 3 dygnen "
        "(79,0 kg den 2024-05-03)."
    )


def test_window_excludes_older_days_and_missing_days_are_skipped() -> None:
    # day 0 (78 kg) is 4 days before day 4: outside the window
    assert fired_days(GAIN_3D, [0, 1, 4], [78, 79.5, 80.1]) == []
    # days 2 and 3 missing: day 1 is still within 3 days of day 4
    assert fired_days(GAIN_3D, [0, 1, 4], [78, 78, 80.1]) == [(4, "yellow")]


def test_fires_each_day_the_gain_holds_and_red_escalates() -> None:
    got = fired_days(GAIN_3D, [0, 1, 2, 3, 4], [80, 82.1, 82.3, 83.2, 80])
    # day 1 +2.1 yellow; day 2 +2.3 still (again: a nurse who resolved it hears again); day 3
    # +3.2 red; day 4 lower than all of the previous 3 days: quiet
    assert got == [(1, "yellow"), (2, "yellow"), (3, "red")]


def test_only_first_reading_of_the_local_day_counts() -> None:
    # evening reading of day 1 (+3 kg) is ignored; its morning value is 80.5
    days, kg = [0, 1, 1 + 12 / 24], [80, 80.5, 83]
    assert fired_days(GAIN_3D, days, kg) == []


def test_fall_direction_and_single_and_no_readings() -> None:
    loss = RuleSet(
        name="t",
        rules=(
            ChangeRule(id="l1", metric="body_weight", direction="fall", window_days=1, yellow=1),
        ),
    )
    (f,) = evaluate(loss, weights([0, 1], [80, 78.9]), tz=TZ)
    assert f.evidence["change"] == pytest.approx(1.1)
    assert "lower than the highest" in f.explanation_en
    assert fired_days(loss, [0], [80]) == []
    assert fired_days(loss, [], []) == []


def test_local_day_aggregation_across_dst_spring_forward() -> None:
    # 30 and 31 March 2024 at 07:00 local: 06:00 UTC (CET) and 05:00 UTC (CEST)
    t = [datetime(2024, 3, 30, 6, tzinfo=UTC), datetime(2024, 3, 31, 5, tzinfo=UTC)]
    one_day = RuleSet(
        name="t", rules=(ChangeRule(id="g1", metric="body_weight", window_days=1, yellow=1),)
    )
    series = {"body_weight": (np.asarray([epoch_us(x) for x in t]), np.asarray([80.0, 81.5]))}
    (f,) = evaluate(one_day, series, tz=TZ)
    assert f.evidence["local_date"] == "2024-03-31"
    assert f.evidence["reference_local_date"] == "2024-03-30"


BASELINE = RuleSet(
    name="t",
    rules=(
        BaselineRule(
            id="b",
            metric="body_weight",
            baseline_days=14,
            min_days=7,
            yellow_sd=3.0,
            red_sd=6.0,
            min_deviation=1.0,
            sd_floor=0.3,
        ),
    ),
)


def test_baseline_deviation_in_units_of_personal_variation() -> None:
    rng = np.random.default_rng(5)
    base = list(80 + rng.normal(0, 0.4, 14))
    mean, sd = float(np.mean(base)), float(np.std(base, ddof=1))
    today = mean + 4 * sd + 0.01
    (f,) = evaluate(BASELINE, weights(list(range(15)), [*base, today]), tz=TZ)
    assert f.severity == "yellow"
    assert f.evidence["baseline_mean"] == pytest.approx(mean)
    assert f.evidence["baseline_sd"] == pytest.approx(sd)
    assert f.evidence["score"] == pytest.approx((today - mean) / max(sd, 0.3))
    assert f.explanation_en.startswith("Body weight ")
    assert "14-day baseline" in f.explanation_en
    assert "times the usual day-to-day variation" in f.explanation_en


def test_baseline_needs_min_days_min_deviation_and_sd_floor() -> None:
    # six baseline days only: silent
    assert fired_days(BASELINE, [0, 1, 2, 3, 4, 5, 6], [80] * 6 + [85]) == []
    # perfectly stable week: SD 0 -> floor 0.3; +0.9 kg is 3 floors but below 1 kg minimum
    assert fired_days(BASELINE, list(range(8)), [80] * 7 + [80.9]) == []
    # +1.2 kg: 4 floors -> yellow; +2 kg: 6.7 floors -> red
    assert fired_days(BASELINE, list(range(8)), [80] * 7 + [81.2]) == [(7, "yellow")]
    assert fired_days(BASELINE, list(range(8)), [80] * 7 + [82]) == [(7, "red")]
