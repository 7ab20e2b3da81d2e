"""A symptom rule judging a change from the patient's usual answer (``usual_days``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from bench.rules_cohort import CohortSpec, cohort
from hemkoll.rules import RuleSet, SymptomRule, evaluate, evaluate_cohort, required_history
from hemkoll.rules.baseline import evaluate_reference
from hemkoll.rules.findings import Finding, epoch_us

TZ = ZoneInfo("Europe/Stockholm")
START = date(2025, 3, 3)
AT_REST = SymptomRule(
    id="at_rest", metric="symptom_breathlessness", red_score=3, usual_days=28, usual_min_answers=7
)
PLAIN = AT_REST.model_copy(update={"usual_days": None})


def _answers(values: list[float]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    t = [
        epoch_us(datetime.combine(START + timedelta(days=d), time(7, 30), tzinfo=TZ))
        for d in range(len(values))
    ]
    return {"symptom_breathlessness": (np.array(t, dtype=np.int64), np.array(values))}


def _days(rule: SymptomRule, values: list[float]) -> list[int]:
    found = evaluate(RuleSet(name="t", rules=(rule,)), _answers(values), tz=TZ)
    return [(f.fired_at.astimezone(TZ).date() - START).days for f in found]


def test_a_patient_whose_usual_answer_is_the_score_is_not_alerted_every_day() -> None:
    always = [3.0] * 30
    assert _days(PLAIN, always) == list(range(30))
    # The score alone until she has seven earlier answers, then nothing new.
    assert _days(AT_REST, always) == list(range(7))


def test_a_change_from_the_usual_answer_still_alerts() -> None:
    assert _days(AT_REST, [1.0] * 20 + [3.0]) == [20]
    # From her usual "light exertion" (2) to "at rest" is a change: still red. (Telling a
    # misread question apart needs the follow-up "worse than usual?": SymptomRule.follow_up,
    # tests/rules/test_symptom_follow_up.py.)
    found = evaluate(RuleSet(name="t", rules=(AT_REST,)), _answers([2.0] * 20 + [3.0]), tz=TZ)
    assert [f.severity for f in found] == ["red"]
    assert found[0].evidence["usual_answer"] == 2.0
    assert found[0].evidence["usual_days"] == 28


def test_engine_equals_reference_and_live_equals_backtest_with_usual_answers() -> None:
    rules = RuleSet(
        name="t",
        rules=(
            AT_REST,
            SymptomRule(
                id="swelling",
                metric="symptom_ankle_swelling",
                yellow_score=2,
                worsening_points=1,
                usual_days=14,
            ),
        ),
    )
    start = datetime.combine(START, time(0), tzinfo=UTC)
    spec = CohortSpec(patients=30, days=80, start_us=epoch_us(start), seed=4, shuffle=True)
    patients = cohort(spec)
    now = start + timedelta(days=81)
    engine = evaluate_cohort(rules, patients, tz=TZ, now=now).all()
    assert sum(map(len, engine)) > 30
    for series, got in zip(patients, engine, strict=True):
        ref = evaluate_reference(rules, series, tz=TZ, now=now)
        assert [(f.fired_at, f.rule_id, f.severity, f.evidence) for f in got] == [
            (f.fired_at, f.rule_id, f.severity, f.evidence) for f in ref
        ]
    history = required_history(rules)
    for series, got in list(zip(patients, engine, strict=True))[:5]:
        arrays = {m: (np.asarray(t), np.asarray(v)) for m, (t, v) in series.items()}
        live: list[Finding] = []
        previous = start
        for d in range(1, 81):
            at = start + timedelta(days=d)
            lo, hi = epoch_us(at - history), epoch_us(at)
            window = {
                m: (t[(t >= lo) & (t <= hi)], v[(t >= lo) & (t <= hi)])
                for m, (t, v) in arrays.items()
            }
            live += [
                f for f in evaluate(rules, window, tz=TZ, now=at) if previous <= f.fired_at < at
            ]
            previous = at
        assert [(f.fired_at, f.rule_id) for f in live] == [
            (f.fired_at, f.rule_id) for f in got if f.fired_at < previous
        ]
