"""The index day by day (``rules.index_series``) is what the index rule decides: its open days
are the days the rule fires, with the rule switched on or off, and its scores are the scores
the findings carry; a patient without a baseline has one honestly flagged as such."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from hemkoll.rules import IndexRule, IndexSignal, RuleSet, evaluate
from hemkoll.rules.findings import epoch_us
from hemkoll.rules.index_series import index_series
from hemkoll.rules.preset import DETERIORATION_INDEX

TZ = ZoneInfo("Europe/Stockholm")
START = date(2025, 1, 6)
WOBBLE = (0.1, -0.1, 0.0, 0.1, -0.1, 0.0, 0.0)
NOW = datetime.combine(START + timedelta(days=120), time(12), tzinfo=TZ)
# Weight alone, usual variation 0.3 kg, no recent averaging: a day's score is its deviation.
WEIGHT_ONLY = IndexRule(
    id="idx",
    signals=(IndexSignal(metric="body_weight", sd_floor=0.3, cap=10.0),),
    short_days=1,
    yellow=5.0,
    recovery=2.0,
)


def _series(days: dict[str, list[float | None]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {}
    for k, (metric, values) in enumerate(days.items()):
        kept = [(d, v) for d, v in enumerate(values) if v is not None]
        moments = [datetime.combine(START + timedelta(days=d), time(7, k), TZ) for d, _ in kept]
        t = np.array([epoch_us(m) for m in moments], dtype=np.int64)
        v = np.array([v + WOBBLE[d % 7] for d, v in kept], dtype=np.float64)
        out[metric] = (t, v)
    return out


def _finding_days(rule: IndexRule, series: dict[str, tuple[np.ndarray, np.ndarray]]) -> list[date]:
    on = rule.model_copy(update={"enabled": True})
    found = evaluate(RuleSet(name="t", rules=(on,)), series, tz=TZ, now=NOW.astimezone(UTC))
    return [f.fired_at.astimezone(TZ).date() for f in found]


def test_days_above_the_opening_level_are_the_rules_alert_days() -> None:
    # Two clear episodes, each back below recovery at once: no day held open by hysteresis.
    weight: list[float | None] = [80.0] * 40 + [82.0] * 3 + [80.0] * 20 + [82.5] * 2 + [80.0] * 10
    series = _series({"body_weight": weight})
    found = index_series(WEIGHT_ONLY, series, tz=TZ, now=NOW)
    above = [d.day for d in found.days if d.score >= found.opening]
    alert_days = _finding_days(WEIGHT_ONLY, series)
    assert above == alert_days
    assert alert_days == [START + timedelta(days=d) for d in (40, 41, 42, 63, 64)]
    assert list(found.open_days) == alert_days
    day_40 = next(d for d in found.days if d.day == START + timedelta(days=40))
    assert day_40.score == pytest.approx(2.0 / 0.3)
    assert (found.opening, found.recovery) == (5.0, 2.0)


def test_open_days_follow_the_hysteresis_with_the_rule_off_too() -> None:
    # +2 kg opens, +0.9 kg (between recovery and opening) keeps it open, back closes it.
    weight: list[float | None] = [80.0] * 40 + [82.0] * 3 + [80.9] * 6 + [80.0] * 10
    series = _series({"body_weight": weight})
    off = WEIGHT_ONLY.model_copy(update={"enabled": False})
    found = index_series(off, series, tz=TZ, now=NOW)
    assert not found.enabled
    assert list(found.open_days) == _finding_days(off, series)
    held = [d for d in found.days if d.open and d.score < found.opening]
    assert len(held) == 6
    assert all(d.score >= found.recovery for d in held)


def test_the_presets_scores_are_the_scores_its_findings_carry() -> None:
    # Several signals, each day re-scored at each signal's first reading: the day's highest.
    n = 60
    weight: list[float | None] = [80.0] * 45 + [81.5, 82.2, 82.9, 83.4] + [83.4] * (n - 49)
    pulse: list[float | None] = [68.0] * 46 + [78.0] * (n - 46)
    breath: list[float | None] = [0.0] * 47 + [2.0] * (n - 47)
    series = _series({"body_weight": weight, "heart_rate": pulse, "symptom_breathlessness": breath})
    found = index_series(DETERIORATION_INDEX, series, tz=TZ, now=NOW)
    on = DETERIORATION_INDEX.model_copy(update={"enabled": True})
    findings = evaluate(RuleSet(name="t", rules=(on,)), series, tz=TZ, now=NOW.astimezone(UTC))
    assert findings, "the constructed episode must open the index"
    by_day = {d.day: d for d in found.days}
    for f in findings:
        day = by_day[f.fired_at.astimezone(TZ).date()]
        assert day.open
        assert day.score >= float(f.evidence["score"])  # type: ignore[arg-type]
    assert list(found.open_days) == [f.fired_at.astimezone(TZ).date() for f in findings]


def test_a_new_patient_has_no_baseline_and_no_score() -> None:
    series = _series({"body_weight": [80.0] * 5})
    found = index_series(WEIGHT_ONLY, series, tz=TZ, now=NOW)
    assert len(found.days) == 5
    assert not found.has_baseline
    assert all(d.score == 0.0 and not d.open for d in found.days)
    assert index_series(WEIGHT_ONLY, {}, tz=TZ, now=NOW).days == ()
