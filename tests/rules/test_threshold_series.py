"""Input normalisation and threshold rules: gating, runs, gaps, messy input."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from hemkoll.rules import Band, RuleSet, ThresholdRule, evaluate
from hemkoll.rules.findings import epoch_us
from hemkoll.rules.series import build_batch, first_of_day

TZ = ZoneInfo("Europe/Stockholm")
T0 = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)


def at(hours: float) -> int:
    return epoch_us(T0 + timedelta(hours=hours))


def hr_rules(yellow: Band | None = None, red: Band | None = None) -> RuleSet:
    rule = ThresholdRule(id="hr", metric="heart_rate", yellow=yellow, red=red)
    return RuleSet(name="t", rules=(rule,))


def run(rules: RuleSet, hours: Sequence[float], values: Sequence[float]) -> list[tuple[float, str]]:
    series = {"heart_rate": (np.asarray([at(h) for h in hours]), np.asarray(values, float))}
    out = evaluate(rules, series, tz=TZ)
    return [((f.fired_at - T0).total_seconds() / 3600, f.severity) for f in out]


def test_build_batch_sorts_and_averages_duplicates() -> None:
    t = np.asarray([at(2), at(0), at(2), at(1), at(1)], dtype=np.int64)
    v = np.asarray([10.0, 1.0, 20.0, 5.0, np.nan])
    batch = build_batch([(t, v), None], now_us=None)
    assert batch.t.tolist() == [at(0), at(1), at(2)]
    assert batch.v.tolist() == [1.0, 5.0, 15.0]  # NaN dropped, duplicates averaged
    assert batch.offsets.tolist() == [0, 3, 3]


def test_build_batch_accepts_datetime64_and_ignores_readings_after_now() -> None:
    t = np.asarray([at(0) // 1000, at(5) // 1000]).astype("datetime64[ms]")
    batch = build_batch([(t, np.asarray([1.0, 2.0]))], now_us=at(3))
    assert batch.t.tolist() == [at(0)]


def test_build_batch_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="timestamps"):
        build_batch([(np.asarray([at(0)]), np.asarray([1.0, 2.0]))], now_us=None)


def test_first_of_day_uses_local_calendar_day() -> None:
    # 21:30 and 22:30 UTC on 1 May are 23:30 (1 May) and 00:30 (2 May) in Stockholm.
    t = np.asarray([at(15.5), at(16.5), at(17)], dtype=np.int64)
    grid = first_of_day(build_batch([(t, np.asarray([80.0, 81.0, 82.0]))], None), TZ)
    assert grid.value.tolist() == [[80.0, 81.0]]


def test_single_outlier_does_not_fire_with_two_consecutive() -> None:
    rules = hr_rules(yellow=Band(low=50, high=100, consecutive=2))
    assert run(rules, [0, 24, 48, 72], [70, 130, 70, 72]) == []
    assert run(rules, [0, 24, 48, 72], [70, 130, 125, 72]) == [(48, "yellow")]


def test_fires_once_per_run_and_again_after_return_inside() -> None:
    rules = hr_rules(yellow=Band(high=100))
    got = run(rules, [0, 1, 2, 3, 4, 5], [120, 120, 120, 80, 110, 111])
    assert got == [(0, "yellow"), (4, "yellow")]


def test_low_side_and_evidence() -> None:
    rules = hr_rules(yellow=Band(low=50, high=100, consecutive=2))
    series = {"heart_rate": (np.asarray([at(0), at(1)]), np.asarray([45.0, 44.0]))}
    (finding,) = evaluate(rules, series, tz=TZ)
    assert finding.evidence["side"] == "below"
    assert finding.evidence["limit"] == 50
    assert finding.evidence["readings"] == [
        [(T0).isoformat(), 45.0],
        [(T0 + timedelta(hours=1)).isoformat(), 44.0],
    ]
    assert finding.explanation_en.startswith("Heart rate 44 beats/min is below the limit of 50")
    assert "under gränsen 50" in finding.explanation_sv


def test_duration_gating() -> None:
    rules = hr_rules(yellow=Band(high=100, min_duration_minutes=120))
    # outside at 0 h, 1 h, 2 h: fires at 2 h when the run has lasted 120 minutes
    assert run(rules, [0, 1, 2, 3], [120, 120, 120, 120]) == [(2, "yellow")]
    # broken by a reading inside at 1.5 h: the run restarts and never lasts 2 h
    assert run(rules, [0, 1, 1.5, 2, 3], [120, 120, 90, 120, 120]) == []


def test_consecutive_and_duration_both_required() -> None:
    rules = hr_rules(yellow=Band(high=100, consecutive=3, min_duration_minutes=60))
    assert run(rules, [0, 0.1, 0.2, 2], [120, 120, 120, 120]) == [(2, "yellow")]


def test_gaps_do_not_break_a_run() -> None:
    rules = hr_rules(yellow=Band(high=100, consecutive=2))
    assert run(rules, [0, 240], [120, 120]) == [(240, "yellow")]


def test_red_suppresses_yellow_and_escalation_reports_red() -> None:
    rules = hr_rules(
        yellow=Band(low=50, high=100, consecutive=2), red=Band(low=40, high=110, consecutive=2)
    )
    # yellow run from 0 h; red run from 2 h: yellow at 1 h, red at 3 h
    assert run(rules, [0, 1, 2, 3, 4], [105, 105, 120, 120, 120]) == [(1, "yellow"), (3, "red")]
    # both gates met at the same reading: only red
    assert run(rules, [0, 1], [120, 120]) == [(1, "red")]


def test_no_readings_single_reading_and_other_metrics_only() -> None:
    rules = hr_rules(yellow=Band(high=100))
    assert evaluate(rules, {}, tz=TZ) == []
    assert run(rules, [], []) == []
    assert run(rules, [0], [101]) == [(0, "yellow")]
    assert evaluate(rules, {"spo2": (np.asarray([at(0)]), np.asarray([80.0]))}, tz=TZ) == []


def test_unsorted_and_duplicated_input_gives_the_same_findings() -> None:
    rules = hr_rules(yellow=Band(high=100, consecutive=2))
    hours, values = [0, 1, 2, 3, 4], [120, 80, 120, 130, 70]
    rng = np.random.default_rng(3)
    order = rng.permutation(len(hours))
    messy_h = [hours[i] for i in order] + [hours[3]]
    messy_v = [values[i] for i in order] + [values[3]]
    assert run(rules, messy_h, messy_v) == run(rules, hours, values) == [(3, "yellow")]


def test_duplicate_timestamps_are_averaged_before_comparison() -> None:
    rules = hr_rules(yellow=Band(high=100))
    assert run(rules, [0, 0], [90, 120]) == [(0, "yellow")]  # mean 105
    assert run(rules, [0, 0], [80, 110]) == []  # mean 95


def test_a_run_that_lasts_fires_again_each_local_day_once() -> None:
    """A red limit of 65/min for a pulse of 68-80 every morning and evening: the run never
    ends, and it is news on each day (once a day, at the day's first reading), as a nurse
    would hear of it once she has resolved the previous day's alert."""
    rules = hr_rules(red=Band(high=65))
    hours = [24 * d + h for d in range(10) for h in (1.5, 13.0)]  # 07:30 and 19:00 local
    pulse = [68.0 + (k * 7) % 13 for k in range(len(hours))]
    got = run(rules, hours, pulse)
    assert got == [(24.0 * d + 1.5, "red") for d in range(10)]
    # Local days, not UTC days: 23:30 and 00:30 local (21:30 and 22:30 UTC) are two days.
    assert run(rules, [15.5, 16.5], [70.0, 70.0]) == [(15.5, "red"), (16.5, "red")]
    # A reading back inside the band ends the run; the next one outside starts a new run.
    assert run(rules, [1.0, 2.0, 3.0], [70.0, 60.0, 70.0]) == [(1.0, "red"), (3.0, "red")]
