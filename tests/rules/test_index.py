"""The deterioration index: its edges (no baseline yet, gaps, a discharge, converted units, a
patient far from population norms), hysteresis, and live evaluation equal to the backtest.

Each patient is built day by day: a morning routine at 07:00 local time, a value per signal,
with a small deterministic wobble (+-0.1 of the unit, so the median absolute deviation is below
every signal's floor and the usual variation is the floor: the scores are exact).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from hemkoll.protocol.measurements import KG_PER_POUND, canonical_value
from hemkoll.rules import (
    HEART_FAILURE,
    IndexRule,
    IndexSignal,
    OverrideLayer,
    RuleOverride,
    RuleSet,
    effective_rules,
    evaluate,
)
from hemkoll.rules.engine import required_history
from hemkoll.rules.findings import Finding, epoch_us
from hemkoll.rules.preset import DETERIORATION_DRIFT, DETERIORATION_INDEX

TZ = ZoneInfo("Europe/Stockholm")
START = date(2025, 1, 6)
WOBBLE = (0.1, -0.1, 0.0, 0.1, -0.1, 0.0, 0.0)

# One signal (weight, usual variation 0.3 kg: 1 kg = 3.33 points), no recent averaging, so each
# day's score is that day's weight deviation over 0.3 kg.
WEIGHT_ONLY = IndexRule(
    id="idx",
    signals=(IndexSignal(metric="body_weight", sd_floor=0.3, cap=10.0),),
    short_days=1,
    yellow=5.0,  # 1.5 kg
    recovery=2.0,  # 0.6 kg
)


def _morning(day: int, minutes: int = 0) -> int:
    moment = datetime.combine(START + timedelta(days=day), time(7, minutes), tzinfo=TZ)
    return epoch_us(moment)


def _series(days: dict[str, list[float | None]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {}
    for k, (metric, values) in enumerate(days.items()):
        kept = [(d, v) for d, v in enumerate(values) if v is not None]
        t = np.array([_morning(d, k) for d, _ in kept], dtype=np.int64)
        v = np.array([v + WOBBLE[d % 7] for d, v in kept], dtype=np.float64)
        out[metric] = (t, v)
    return out


def _days(findings: list[Finding]) -> list[int]:
    return [(f.fired_at.astimezone(TZ).date() - START).days for f in findings]


def _run(rule: IndexRule, series, **kw) -> list[Finding]:  # type: ignore[no-untyped-def]
    return evaluate(RuleSet(name="t", rules=(rule,)), series, tz=TZ, **kw)


def test_hysteresis_opens_at_yellow_holds_above_recovery_and_closes_below() -> None:
    weight: list[float | None] = [80.0] * 40
    weight += [82.0] * 3  # days 40-42: +2 kg, opens
    weight += [80.9] * 6  # days 43-48: +0.9 kg, between recovery and yellow: stays open
    weight += [80.0] * 10  # days 49-58: back, closes
    weight += [80.9] * 6  # days 59-64: +0.9 kg again: below yellow, no new alert
    weight += [82.0] * 2  # days 65-66: opens again
    found = _run(WEIGHT_ONLY, _series({"body_weight": weight}))
    assert _days(found) == [*range(40, 49), 65, 66]
    first = found[0]
    assert first.rule_id == "idx"
    assert first.severity == "yellow"
    assert first.evidence["score"] == pytest.approx(2.0 / 0.3)
    assert "body weight 2.0 kg above her usual" in first.explanation_en
    assert "kroppsvikt 2,0 kg över det vanliga" in first.explanation_sv


def test_the_latch_ends_after_max_open_days_without_a_day_at_yellow() -> None:
    weight: list[float | None] = [80.0] * 40 + [82.0] + [80.9] * 30
    found = _run(WEIGHT_ONLY, _series({"body_weight": weight}))
    assert _days(found) == list(range(40, 40 + WEIGHT_ONLY.max_open_days + 1))


def test_a_new_patient_has_no_index_until_her_baseline_exists() -> None:
    # 2 kg up from her eighth day: nothing until min_days values lie in the baseline window,
    # which ends guard_days before today; then it opens.
    weight: list[float | None] = [80.0] * 8 + [82.0] * 12
    found = _run(WEIGHT_ONLY, _series({"body_weight": weight}))
    assert min(_days(found)) == WEIGHT_ONLY.guard_days + WEIGHT_ONLY.min_days
    assert _run(WEIGHT_ONLY, {}) == []


def test_a_gap_of_weeks_leaves_no_stale_baseline() -> None:
    # 40 days at 80 kg, six weeks without readings, then 82 kg: against a month-old baseline
    # this would alert at once; the index waits for min_days new values (and then 82 is her
    # usual), so it never fires.
    weight: list[float | None] = [80.0] * 40 + [None] * 42 + [82.0] * 30
    assert _run(WEIGHT_ONLY, _series({"body_weight": weight})) == []
    # The same return without the gap alerts.
    assert _days(_run(WEIGHT_ONLY, _series({"body_weight": [80.0] * 40 + [82.0] * 3}))) == [
        40,
        41,
        42,
    ]


def test_weeks_after_a_discharge_are_not_her_baseline() -> None:
    # Home again after a stay, dried out to 77 kg for two weeks, then back at her usual 80 kg.
    weight: list[float | None] = [80.0] * 40 + [None] * 6 + [77.0] * 14 + [80.0] * 20
    admitted = datetime.combine(START + timedelta(days=40), time(12), tzinfo=TZ)
    discharged = datetime.combine(START + timedelta(days=45), time(14), tzinfo=TZ)
    series = _series({"body_weight": weight})
    # Without the stay, 80 kg against the fortnight at 77 kg reads as a 3 kg gain.
    assert _run(WEIGHT_ONLY, series)
    assert _run(WEIGHT_ONLY, series, stays=[(admitted, discharged)]) == []
    # Still in hospital (no discharge yet): its days are left out too.
    assert _run(WEIGHT_ONLY, series, stays=[(admitted, None)]) == []


def test_pounds_converted_to_kilograms_are_judged_in_kilograms() -> None:
    pounds = [176.4] * 40 + [180.8] * 3  # +4.4 lb = +2.0 kg
    t = np.array([_morning(d) for d in range(len(pounds))], dtype=np.int64)
    v = np.array([canonical_value("body_weight", lb, "[lb_av]") for lb in pounds])
    found = _run(WEIGHT_ONLY, {"body_weight": (t, v)})
    assert _days(found) == [40, 41, 42]
    assert found[0].evidence["score"] == pytest.approx(4.4 * KG_PER_POUND / 0.3)
    assert "body weight 2.0 kg above" in found[0].explanation_en


def test_a_patient_far_from_population_norms_is_judged_against_herself() -> None:
    # Resting pulse 112 /min and SpO2 88 % are her usual: the index is silent (the programme's
    # safety limits are another matter); a rise of 15 /min, a fall of 4 % and breathlessness a
    # step above her usual open it.
    rule = DETERIORATION_INDEX.model_copy(update={"enabled": True})
    usual = {"heart_rate": 112.0, "spo2": 88.0, "body_weight": 64.0, "symptom_breathlessness": 1}
    days = 60
    series = _series({m: [v] * days for m, v in usual.items()})
    assert _run(rule, series) == []
    worse = {
        "heart_rate": [112.0] * 50 + [127.0] * 10,
        "spo2": [88.0] * 50 + [84.0] * 10,
        "body_weight": [64.0] * days,
        "symptom_breathlessness": [1.0] * 50 + [2.0] * 10,
    }
    found = _run(rule, _series(worse))
    assert found
    assert min(_days(found)) >= 50
    text = found[0].explanation_en
    assert "heart rate" in text
    assert "oxygen saturation" in text
    assert "body weight" not in text


def test_a_signal_measured_later_in_the_morning_counts_from_its_instant() -> None:
    # Weight first (07:00), pulse a minute later: the day's score at 07:00 has only the
    # weight; the pulse's rise opens the index at 07:01, where the finding fires.
    rule = IndexRule(
        id="idx",
        signals=(
            IndexSignal(metric="body_weight", sd_floor=0.3),
            IndexSignal(metric="heart_rate", sd_floor=3.0),
        ),
        short_days=1,
        yellow=2.5,
        recovery=1.0,
    )
    series = _series({"body_weight": [80.0] * 41, "heart_rate": [70.0] * 40 + [85.0]})
    (only,) = _run(rule, series)
    assert only.fired_at == datetime.fromtimestamp(_morning(40, 1) / 1e6, tz=UTC)


def _ramp(base: float, total: float, days: int, start: int, length: int) -> list[float | None]:
    return [base + total * min(max((d - start) / length, 0.0), 1.0) for d in range(days)]


def test_the_drift_index_sees_a_slow_rise_the_fast_one_does_not() -> None:
    # Chaudhry 2007's slow phase: over three weeks +0.9 kg, pulse +6 /min and breathlessness
    # one step up. Against the three-day index (4-day guard, 21-day baseline) it never adds up
    # to 7: the baseline follows the rise. The week's average against the four weeks ending a
    # week before does reach the drift index's 6, once the rise has gone on for three weeks.
    days, start, length = 100, 70, 21
    series = _series(
        {
            "body_weight": _ramp(80.0, 0.9, days, start, length),
            "heart_rate": _ramp(70.0, 6.0, days, start, length),
            "symptom_breathlessness": [
                float(round(v)) for v in _ramp(1.0, 1.0, days, start, length) if v is not None
            ],
            "spo2": [96.0] * days,
        }
    )
    assert _run(DETERIORATION_INDEX, series) == []
    found = _run(DETERIORATION_DRIFT, series)
    assert _days(found) == list(range(92, days))
    text = found[0].explanation_en
    assert "body weight" in text
    assert "heart rate" in text
    assert found[0].evidence["score_limit"] == DETERIORATION_DRIFT.yellow
    # A smaller rise (0.8 kg, 5 /min, no step) is within her usual variation for both.
    smaller = _series(
        {
            "body_weight": _ramp(80.0, 0.8, days, start, length),
            "heart_rate": _ramp(70.0, 5.0, days, start, length),
            "symptom_breathlessness": [1.0] * days,
            "spo2": [96.0] * days,
        }
    )
    assert _run(DETERIORATION_DRIFT, smaller) == []


@pytest.mark.parametrize("preset_rule", [DETERIORATION_INDEX, DETERIORATION_DRIFT])
def test_live_with_the_workers_window_equals_the_backtest(preset_rule: IndexRule) -> None:
    rng = np.random.default_rng(3)
    days = 150
    base = {"body_weight": 80.0, "heart_rate": 70.0, "spo2": 96.0, "systolic_bp": 120.0}
    sd = {"body_weight": 0.4, "heart_rate": 4.0, "spo2": 1.0, "systolic_bp": 8.0}
    bumps = np.zeros(days)
    for onset in (50, 95, 130):  # three build-ups of a week
        bumps[onset - 7 : onset] = np.linspace(0.2, 1.0, 7)
    values: dict[str, list[float | None]] = {}
    for m, b in base.items():
        sign = -1.0 if m in ("spo2", "systolic_bp") else 1.0
        x = b + sd[m] * rng.normal(size=days) + sign * 3 * sd[m] * bumps
        values[m] = [None if rng.random() < 0.2 else float(v) for v in x]
    symptoms = np.clip(np.rint(1 + 2 * bumps + 0.4 * rng.normal(size=days)), 0, 3)
    values["symptom_breathlessness"] = [float(v) for v in symptoms]
    series = _series(values)
    rules = RuleSet(name="t", rules=(preset_rule.model_copy(update={"enabled": True}),))
    start = datetime.combine(START, time(0), tzinfo=TZ)
    end = start + timedelta(days=days)
    backtest = evaluate(rules, series, tz=TZ, now=end)
    assert len({f.fired_at.date() for f in backtest}) >= 3
    history = required_history(rules)
    live: list[Finding] = []
    previous = start
    for hours in range(12, days * 24, 12):
        now = start + timedelta(hours=hours)
        lo, hi = epoch_us(now - history), epoch_us(now)
        window = {
            m: (t[(t >= lo) & (t <= hi)], v[(t >= lo) & (t <= hi)]) for m, (t, v) in series.items()
        }
        found = evaluate(rules, window, tz=TZ, now=now)
        live += [f for f in found if previous <= f.fired_at < now]
        previous = now
    expected = [f for f in backtest if f.fired_at < previous]
    assert [(f.fired_at, f.evidence["score"]) for f in live] == [
        (f.fired_at, f.evidence["score"]) for f in expected
    ]


def test_the_preset_carries_the_index_and_an_override_changes_it() -> None:
    rule = HEART_FAILURE.rule("deterioration_index")
    assert isinstance(rule, IndexRule)
    # Version 3: both indexes on, the trends they replace off.
    drift = HEART_FAILURE.rule("deterioration_drift")
    assert isinstance(drift, IndexRule)
    assert rule.enabled
    assert drift.enabled
    assert (drift.short_days, drift.guard_days, drift.baseline_days) == (7, 7, 28)
    assert drift.signals == rule.signals
    for trend in ("weight_trend", "breathlessness_trend", "ankle_swelling_trend"):
        assert not HEART_FAILURE.rule(trend).enabled
    assert {s.metric for s in rule.signals} >= {"body_weight", "heart_rate", "spo2"}
    with pytest.raises(ValueError, match="recovery must be below yellow"):
        IndexRule(id="x", signals=rule.signals, yellow=3.0, recovery=3.0)
    mine = effective_rules(
        HEART_FAILURE,
        OverrideLayer(
            source="patient",
            overrides=(RuleOverride(id=rule.id, enabled=True, patch={"yellow": 9.0}),),
        ),
    ).rule(rule.id)
    assert isinstance(mine, IndexRule)
    assert mine.enabled
    assert mine.yellow == 9.0
    assert mine.signals == rule.signals
