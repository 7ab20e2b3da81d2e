"""The vectorised engine against the per-reading reference, and live against backtest."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.rules_cohort import CohortSpec, cohort
from hemkoll.rules import (
    HEART_FAILURE,
    Finding,
    OverrideLayer,
    RuleOverride,
    effective_rules,
    evaluate,
    evaluate_cohort,
    findings_since,
)
from hemkoll.rules import engine as engine_module
from hemkoll.rules.baseline import evaluate_reference
from hemkoll.rules.engine import required_history
from hemkoll.rules.findings import epoch_us

START = datetime(2024, 1, 1, tzinfo=UTC)
# Every rule of the preset, including those it leaves disabled: every kind.
RULES = effective_rules(
    HEART_FAILURE,
    OverrideLayer(
        source="test",
        overrides=tuple(
            RuleOverride(id=rule.id, enabled=True)
            for rule in HEART_FAILURE.rules
            if not rule.enabled
        ),
    ),
)


def _same_json(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _assert_same(engine: list[Finding], reference: list[Finding]) -> None:
    def key(f: Finding) -> tuple[datetime, str, str]:
        return (f.fired_at, f.rule_id, f.severity)

    assert [key(f) for f in engine] == [key(f) for f in reference]
    for e, r in zip(engine, reference, strict=True):
        assert _same_json(e.evidence, r.evidence), (e.evidence, r.evidence)
        assert (e.explanation_en, e.explanation_sv) == (r.explanation_en, r.explanation_sv)


@pytest.mark.parametrize("zone", ["Europe/Stockholm", "America/New_York"])
@pytest.mark.parametrize("messy", [False, True])
def test_engine_equals_reference_on_a_random_cohort(zone: str, messy: bool) -> None:
    spec = CohortSpec(
        patients=40,
        days=100,
        start_us=epoch_us(START),
        seed=11,
        shuffle=messy,
        duplicate_fraction=0.05 if messy else 0.0,
    )
    patients = cohort(spec)
    tz = ZoneInfo(zone)
    now = START + timedelta(days=101, hours=3)
    paused = [i % 7 == 0 for i in range(len(patients))]
    engine = evaluate_cohort(RULES, patients, tz=tz, now=now, paused=paused).all()
    assert sum(map(len, engine)) > 40 * 5  # the cohort exercises the rules
    kinds = {f.kind for fs in engine for f in fs}
    assert kinds == {
        "change",
        "baseline",
        "trend",
        "threshold",
        "symptom",
        "missing",
        "combination",
        "index",
    }
    for series, got, p in zip(patients, engine, paused, strict=True):
        _assert_same(got, evaluate_reference(RULES, series, tz=tz, now=now, paused=p))


def test_chunks_on_threads_find_what_one_chunk_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = CohortSpec(patients=23, days=90, start_us=epoch_us(START), seed=5)
    patients = cohort(spec)
    tz = ZoneInfo("Europe/Stockholm")
    now = START + timedelta(days=91)
    paused = [i % 5 == 0 for i in range(len(patients))]
    whole = evaluate_cohort(RULES, patients, tz=tz, now=now, paused=paused)
    monkeypatch.setattr(engine_module, "COHORT_CHUNK", 4)  # 6 chunks, the last of 3
    for threads in (1, 3):
        chunked = evaluate_cohort(RULES, patients, tz=tz, now=now, paused=paused, threads=threads)
        assert chunked.counts() == whole.counts()
        for got, expected in zip(chunked.all(), whole.all(), strict=True):
            _assert_same(got, expected)
    assert whole.count() > 23 * 3
    with pytest.raises(ValueError, match="threads"):
        evaluate_cohort(RULES, patients, tz=tz, now=now, threads=0)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), days=st.integers(1, 40), with_now=st.booleans())
def test_engine_equals_reference_property(seed: int, days: int, with_now: bool) -> None:
    spec = CohortSpec(
        patients=3,
        days=days,
        start_us=epoch_us(START),
        seed=seed,
        shuffle=True,
        duplicate_fraction=0.1,
    )
    tz = ZoneInfo("Europe/Stockholm")
    now = START + timedelta(days=days // 2, hours=9) if with_now else None
    for series in cohort(spec):
        _assert_same(
            evaluate(RULES, series, tz=tz, now=now),
            evaluate_reference(RULES, series, tz=tz, now=now),
        )


def _until(
    series: dict[str, tuple[np.ndarray, np.ndarray]], cut_us: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {m: (t[t <= cut_us], v[t <= cut_us]) for m, (t, v) in series.items()}


def test_live_findings_are_the_tail_of_the_backtest() -> None:
    """Evaluating day by day with the history so far reproduces the full backtest."""
    tz = ZoneInfo("Europe/Stockholm")
    spec = CohortSpec(patients=4, days=60, start_us=epoch_us(START), seed=5)
    end = START + timedelta(days=60)
    for raw in cohort(spec):
        series = {m: (np.asarray(t), np.asarray(v)) for m, (t, v) in raw.items()}
        backtest = evaluate(RULES, series, tz=tz, now=end)
        live: list[Finding] = []
        previous = START
        for d in range(1, 61):
            now = START + timedelta(days=d)
            # what a daily scheduler sees: the history up to now
            found = evaluate(RULES, _until(series, epoch_us(now)), tz=tz, now=now)
            live += [f for f in findings_since(found, previous) if f.fired_at < now]
            previous = now
        expected = [f for f in backtest if f.fired_at < end]
        assert [(f.fired_at, f.rule_id) for f in live] == [
            (f.fired_at, f.rule_id) for f in expected
        ]


def _between(
    series: dict[str, tuple[np.ndarray, np.ndarray]], start_us: int, cut_us: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {
        m: (t[(t >= start_us) & (t <= cut_us)], v[(t >= start_us) & (t <= cut_us)])
        for m, (t, v) in series.items()
    }


def test_live_with_the_workers_window_finds_the_backtest_even_for_long_runs() -> None:
    """As the rules worker evaluates: only ``required_history`` before now. A pulse above a
    red limit for 130 days (a run far longer than the window) fires once a day in both; the
    window's first reading is never taken for the start of a run."""
    tz = ZoneInfo("Europe/Stockholm")
    rules = effective_rules(
        HEART_FAILURE,
        OverrideLayer(
            source="t",
            overrides=(
                RuleOverride(
                    id="heart_rate_urgent",
                    patch={"red": {"low": 40, "high": 65, "consecutive": 2}},
                ),
            ),
        ),
    )
    spec = CohortSpec(patients=3, days=130, start_us=epoch_us(START), seed=11)
    end = START + timedelta(days=130)
    history = required_history(rules)
    # The run must be longer than the window (106 days with the preset's slow-drift index).
    assert history < timedelta(days=120)
    for raw in cohort(spec):
        series = {m: (np.asarray(t), np.asarray(v)) for m, (t, v) in raw.items()}
        t_hr = series["heart_rate"][0]
        series["heart_rate"] = (t_hr, np.full(t_hr.size, 72.0))
        backtest = evaluate(rules, series, tz=tz, now=end)
        live: list[Finding] = []
        previous = START
        for hours in range(12, 130 * 24, 12):
            now = START + timedelta(hours=hours)
            window = _between(series, epoch_us(now - history), epoch_us(now))
            found = evaluate(rules, window, tz=tz, now=now)
            live += [f for f in found if previous <= f.fired_at < now]
            previous = now
        expected = [f for f in backtest if f.fired_at < previous]
        assert [(f.fired_at, f.rule_id) for f in live] == [
            (f.fired_at, f.rule_id) for f in expected
        ]
        hr_days = {
            f.fired_at.astimezone(tz).date() for f in expected if f.rule_id == "heart_rate_urgent"
        }
        assert len(hr_days) >= 90  # the cohort skips some days
