"""Both generators answer the questionnaire's follow-up "Is this worse than usual for you?"
plausibly: asked only after a high answer, mostly "worse" in a build-up and mostly "not worse"
at the patient's usual state; the first generator's through the ingest parser."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time

import numpy as np
import pytest

from hemkoll.detection.readings import simulation_series
from hemkoll.protocol.measurements import FOLLOW_UP, FOLLOW_UP_FROM_SCORE
from hemkoll.simulator import Simulation, simulate
from hemkoll.simulator.independent import INDEPENDENT_DEFAULTS, IndependentCohort, generate
from hemkoll.simulator.parameters import DEFAULT_PARAMETERS

PATIENTS = 300
DAYS = 240


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(PATIENTS, DAYS, seed=515)


@pytest.fixture(scope="module")
def second() -> IndependentCohort:
    return generate(PATIENTS, DAYS, seed=616)


def test_first_asks_only_after_a_high_answer_and_sends_it_with_the_answers(
    sim: Simulation,
) -> None:
    m = sim.measured
    high = np.maximum(np.maximum(m.breathlessness, m.ankle_swelling), m.fatigue)
    asked = ~np.isnan(sim.follow_up)
    np.testing.assert_array_equal(asked, high >= FOLLOW_UP_FROM_SCORE)
    ingested = simulation_series(sim)
    assert ingested.rejected_readings < ingested.readings // 100
    checked = orphans = 0
    for series in ingested.series:
        if FOLLOW_UP not in series:
            continue
        t_f, v_f = (np.asarray(a) for a in series[FOLLOW_UP])
        assert set(np.unique(v_f)) <= {0.0, 1.0}
        # Each follow-up carries its questionnaire's measured_at, beside a high answer.
        answers = {
            int(t): v
            for metric in ("symptom_breathlessness", "symptom_ankle_swelling", "symptom_fatigue")
            for t, v in zip(*series[metric], strict=True)
            if v >= FOLLOW_UP_FROM_SCORE
        }
        orphans += sum(int(t) not in answers for t in t_f)
        checked += t_f.size
    # Only where the plan's device faults made ingest refuse the high answer beside it.
    assert checked > 1000
    assert orphans < checked // 100


def test_first_answers_worse_in_a_build_up_and_not_worse_at_her_usual(sim: Simulation) -> None:
    effect = np.maximum(sim.effects.breathlessness, sim.effects.ankle_swelling)
    asked = ~np.isnan(sim.follow_up)
    build_up = asked & (effect >= 1.0)
    usual = asked & (effect == 0) & (sim.effects.fatigue == 0)
    assert build_up.sum() > 200
    assert usual.sum() > 2000
    error = DEFAULT_PARAMETERS.follow_up_error_rate
    assert np.mean(sim.follow_up[build_up]) > 0.8
    # At her usual state "worse" only by mistake (binomial SE about 0.5 %).
    assert abs(np.mean(sim.follow_up[usual]) - error) < 0.025


def test_second_answers_as_its_own_model_says(second: IndependentCohort) -> None:
    e = second.effects
    days_with = {FOLLOW_UP: 0, "high": 0}
    yes_build, yes_usual = [], []
    # Questionnaires are answered in the daytime: the UTC day counts from the first midnight.
    start = int(datetime.combine(second.timeline.start, time(0), tzinfo=UTC).timestamp())
    for p, series in enumerate(second.series):
        if FOLLOW_UP not in series:
            continue
        t_f, v_f = (np.asarray(a) for a in series[FOLLOW_UP])
        assert set(np.unique(v_f)) <= {0.0, 1.0}
        days_with[FOLLOW_UP] += t_f.size
        b_v = np.asarray(series["symptom_breathlessness"][1])
        days_with["high"] += int((b_v >= FOLLOW_UP_FROM_SCORE).sum())
        day = ((t_f // 1_000_000 - start) // 86400).astype(int)
        rise = np.maximum(e.breathlessness[p, day], e.ankle_swelling[p, day])
        rise = np.maximum(rise, e.fatigue[p, day])
        yes_build += v_f[rise >= 1.0].tolist()
        yes_usual += v_f[rise == 0].tolist()
    # Asked at least on every day with a high breathlessness answer (and some others).
    assert days_with[FOLLOW_UP] >= days_with["high"] > 1000
    assert len(yes_build) > 50
    assert np.mean(yes_build) > 0.8
    assert abs(np.mean(yes_usual) - INDEPENDENT_DEFAULTS.follow_up_error_rate) < 0.025


def test_the_follow_up_does_not_change_what_else_is_simulated() -> None:
    # Its own random stream: the other readings of a seed are as they were without it.
    a = simulate(20, 60, seed=9)
    b = simulate(20, 60, seed=9, parameters=replace(DEFAULT_PARAMETERS, follow_up_error_rate=0.5))
    np.testing.assert_array_equal(a.measured.breathlessness, b.measured.breathlessness)
    np.testing.assert_array_equal(np.isnan(a.follow_up), np.isnan(b.follow_up))
    assert not np.array_equal(a.follow_up, b.follow_up, equal_nan=True)
