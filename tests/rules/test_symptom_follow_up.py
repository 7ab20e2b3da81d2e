"""A symptom rule reading the questionnaire's follow-up "Is this worse than usual for you?"."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from bench.rules_cohort import CohortSpec, cohort
from hemkoll.protocol.measurements import FOLLOW_UP
from hemkoll.rules import RuleSet, SymptomRule, evaluate, evaluate_cohort
from hemkoll.rules.baseline import evaluate_reference
from hemkoll.rules.findings import Finding, epoch_us
from hemkoll.rules.kinds.symptom import FOLLOW_UP_TOLERANCE_S, follow_up_answers
from hemkoll.rules.overrides import OverrideLayer, RuleOverride, effective_rules
from hemkoll.rules.series import build_batch

TZ = ZoneInfo("Europe/Stockholm")
START = date(2025, 3, 3)
AT_REST = SymptomRule(id="at_rest", metric="symptom_breathlessness", red_score=3, follow_up=True)
WITHOUT = AT_REST.model_copy(update={"follow_up": False})
SECOND = 1_000_000


def _t(day: int) -> int:
    return epoch_us(datetime.combine(START + timedelta(days=day), time(7, 30), tzinfo=TZ))


def _series(
    answers: list[float], follow_ups: dict[int, tuple[float, int]]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Daily breathlessness answers; follow_ups: day -> (answer, seconds after the answers)."""
    t = [_t(d) for d in range(len(answers))]
    days = sorted(follow_ups)
    return {
        "symptom_breathlessness": (np.array(t, dtype=np.int64), np.array(answers)),
        FOLLOW_UP: (
            np.array([_t(d) + follow_ups[d][1] * SECOND for d in days], dtype=np.int64),
            np.array([follow_ups[d][0] for d in days]),
        ),
    }


def _found(rule: SymptomRule, series: dict[str, tuple[np.ndarray, np.ndarray]]) -> list[Finding]:
    found = evaluate(RuleSet(name="t", rules=(rule,)), series, tz=TZ)
    ref = evaluate_reference(RuleSet(name="t", rules=(rule,)), series, tz=TZ)
    assert [(f.fired_at, f.severity, f.evidence, f.explanation_en) for f in found] == [
        (f.fired_at, f.severity, f.evidence, f.explanation_en) for f in ref
    ]
    return found


def _days(found: list[Finding]) -> list[int]:
    return [(f.fired_at.astimezone(TZ).date() - START).days for f in found]


def test_not_worse_than_usual_fires_no_score_level() -> None:
    series = _series([2.0, 3.0, 2.0, 3.0], {1: (0.0, 0), 3: (0.0, 0)})
    assert _days(_found(WITHOUT, series)) == [1, 3]
    assert _found(AT_REST, series) == []


def test_a_red_answer_worse_than_usual_fires_red_and_says_so() -> None:
    (found,) = _found(AT_REST, _series([2.0, 3.0], {1: (1.0, 0)}))
    assert found.severity == "red"
    assert found.evidence["worse_than_usual"] == 1.0
    assert "She answered that this is worse than usual for her." in found.explanation_en
    assert "Hon svarade att det är värre än vanligt för henne." in found.explanation_sv


def test_a_red_answer_without_a_follow_up_fires_as_without_the_parameter() -> None:
    (found,) = _found(AT_REST, _series([2.0, 3.0], {}))
    (plain,) = _found(WITHOUT, _series([2.0, 3.0], {}))
    assert (
        (found.fired_at, found.severity)
        == (plain.fired_at, plain.severity)
        == (
            found.fired_at,
            "red",
        )
    )
    assert found.evidence["worse_than_usual"] is None
    assert "did not answer whether this is worse than usual" in found.explanation_en
    assert "worse_than_usual" not in plain.evidence


def test_a_follow_up_is_matched_within_the_tolerance_only() -> None:
    inside = _series([3.0], {0: (0.0, FOLLOW_UP_TOLERANCE_S)})
    assert _found(AT_REST, inside) == []
    early = _series([2.0, 3.0], {1: (0.0, -FOLLOW_UP_TOLERANCE_S)})
    assert _found(AT_REST, early) == []
    # A "not worse" sent later than the tolerance belongs to no questionnaire of this answer.
    late = _series([3.0], {0: (0.0, FOLLOW_UP_TOLERANCE_S + 1)})
    (found,) = _found(AT_REST, late)
    assert found.severity == "red"
    assert found.evidence["worse_than_usual"] is None


def test_the_nearest_follow_up_counts_and_a_tie_counts_as_worse() -> None:
    near_no = _series([3.0], {0: (0.0, 10)})
    near_no[FOLLOW_UP] = (
        np.array([_t(0) + 10 * SECOND, _t(0) + 300 * SECOND], dtype=np.int64),
        np.array([0.0, 1.0]),
    )
    assert _found(AT_REST, near_no) == []
    tie = _series([3.0], {})
    tie[FOLLOW_UP] = (
        np.array([_t(0) - 60 * SECOND, _t(0) + 60 * SECOND], dtype=np.int64),
        np.array([0.0, 1.0]),
    )
    (found,) = _found(AT_REST, tie)
    assert found.evidence["worse_than_usual"] == 1.0


def test_the_follow_up_of_another_patient_is_not_hers() -> None:
    mine = _series([3.0, 3.0], {})
    other = _series([1.0, 1.0], {0: (0.0, 0), 1: (0.0, 0)})
    rules = RuleSet(name="t", rules=(AT_REST,))
    found = evaluate_cohort(rules, [mine, other], tz=TZ).all()
    # Hers fire each day (no follow-up); the other patient's "not worse" answers are not hers.
    assert [f.severity for f in found[0]] == ["red", "red"]
    assert found[1] == []


def test_a_yellow_score_follows_the_follow_up_and_worsening_does_not() -> None:
    rule = SymptomRule(
        id="b",
        metric="symptom_breathlessness",
        yellow_score=2,
        worsening_points=1,
        worsening_window_hours=24.0,
        follow_up=True,
    )
    # Day 1: 2 of 3, "not worse": no score level, but one step up from day 0 is a worsening.
    found = _found(rule, _series([1.0, 2.0, 2.0, 2.0], {1: (0.0, 0), 2: (0.0, 0), 3: (1.0, 0)}))
    assert _days(found) == [1, 3]
    assert found[0].evidence["worse_than_usual"] == 0.0
    assert found[0].explanation_en.startswith("Breathlessness worsened from 1 to 2")
    assert "not worse than usual" in found[0].explanation_en
    assert found[1].evidence["worse_than_usual"] == 1.0


def test_a_run_broken_by_not_worse_fires_again_at_the_next_worse_answer() -> None:
    # Two answers in one day: the morning's "not worse", the evening's "worse" fires.
    morning, evening = _t(0), _t(0) + 10 * 3600 * SECOND
    series = {
        "symptom_breathlessness": (np.array([morning, evening]), np.array([3.0, 3.0])),
        FOLLOW_UP: (np.array([morning, evening]), np.array([0.0, 1.0])),
    }
    (found,) = _found(AT_REST, series)
    assert found.fired_at == datetime.fromtimestamp(evening / SECOND, tz=UTC)


def test_engine_equals_reference_on_a_random_cohort_with_follow_ups() -> None:
    rules = RuleSet(
        name="t",
        rules=(
            AT_REST,
            SymptomRule(
                id="swelling",
                metric="symptom_ankle_swelling",
                yellow_score=2,
                red_score=3,
                worsening_points=1,
                usual_days=14,
                follow_up=True,
            ),
        ),
    )
    start = datetime.combine(START, time(0), tzinfo=UTC)
    spec = CohortSpec(patients=30, days=60, start_us=epoch_us(start), seed=5, shuffle=True)
    patients = cohort(spec)
    rng = np.random.default_rng(5)
    for series in patients:
        t, v = (np.asarray(a) for a in series["symptom_breathlessness"])
        high = np.flatnonzero(v >= 2)
        # Some follow-ups at the answers' instant, some a little off, some far too late.
        shift = rng.choice([0, 30, -30, FOLLOW_UP_TOLERANCE_S * 3], high.size) * SECOND
        series[FOLLOW_UP] = (t[high] + shift, rng.integers(0, 2, high.size).astype(float))
    now = start + timedelta(days=61)
    engine = evaluate_cohort(rules, patients, tz=TZ, now=now).all()
    assert any(f.evidence["worse_than_usual"] == 1.0 for got in engine for f in got)
    assert any(f.evidence["worse_than_usual"] is None for got in engine for f in got)
    plain = RuleSet(
        name="t", rules=tuple(r.model_copy(update={"follow_up": False}) for r in rules.rules)
    )
    without = evaluate_cohort(plain, patients, tz=TZ, now=now).all()
    assert sum(map(len, engine)) < sum(map(len, without))
    for series, got in zip(patients, engine, strict=True):
        ref = evaluate_reference(rules, series, tz=TZ, now=now)
        assert [(f.fired_at, f.rule_id, f.severity, f.evidence) for f in got] == [
            (f.fired_at, f.rule_id, f.severity, f.evidence) for f in ref
        ]


def test_the_follow_up_is_no_symptom_scale_for_a_rule() -> None:
    with pytest.raises(ValueError, match="not a symptom answer"):
        SymptomRule(id="x", metric=FOLLOW_UP, yellow_score=1)


def test_a_clinician_turns_the_follow_up_off_for_one_patient_by_override() -> None:
    preset = RuleSet(name="t", rules=(AT_REST,))
    layer = OverrideLayer(
        source="patient:1 (Dr A)",
        overrides=(RuleOverride(id="at_rest", patch={"follow_up": False}),),
    )
    mine = effective_rules(preset, layer)
    series = _series([2.0, 3.0], {1: (0.0, 0)})
    assert evaluate(preset, series, tz=TZ) == []
    assert [f.severity for f in evaluate(mine, series, tz=TZ)] == ["red"]


def test_matching_holds_when_the_cohort_spans_too_long_for_one_packed_key() -> None:
    # Patient 0's answers at the ends of the calendar make patients x span overflow one int64
    # key: the follow-ups are then matched a group of patients at a time, with the same result.
    rng = np.random.default_rng(8)
    ends = (epoch_us(datetime(1, 1, 2, tzinfo=UTC)), epoch_us(datetime(9999, 12, 30, tzinfo=UTC)))
    answers, follow_ups = [], []
    for p in range(40):
        t = np.sort(rng.choice(np.arange(60) * 86_400 * SECOND, 20, replace=False)) + _t(0)
        if p == 0:
            t = np.concatenate(([ends[0]], t, [ends[1]]))
        shift = rng.choice([0, 45, -45, 2 * FOLLOW_UP_TOLERANCE_S], t.size) * SECOND
        answers.append((t, np.full(t.size, 3.0)))
        follow_ups.append((t + shift, rng.integers(0, 2, t.size).astype(float)))
    a, f = build_batch(answers, None), build_batch(follow_ups, None)
    assert a.n_patients * (ends[1] - ends[0]) > 2**63
    got = follow_up_answers(a, f, FOLLOW_UP_TOLERANCE_S * SECOND)
    expected = []
    for (t_a, _), (t_f, v_f) in zip(answers, follow_ups, strict=True):
        for t in t_a:
            gap = np.abs(t_f - t)
            near = gap <= FOLLOW_UP_TOLERANCE_S * SECOND
            expected.append(v_f[near][np.argmin(gap[near])] if near.any() else np.nan)
    np.testing.assert_array_equal(got, np.array(expected))
    assert np.isnan(got).any()
    assert set(got[~np.isnan(got)]) == {0.0, 1.0}
