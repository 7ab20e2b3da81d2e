"""The second cohort generator's statistics against its parameters, and its outputs.

One cohort of 500 patients x 365 days is shared by every test (about 1.5 s). Tolerances are
about four standard errors at that size (said in each test), so a correct generator fails by
chance far less than once in a thousand runs; the seed is fixed, so the tests are
deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from hemkoll.protocol.measurements import KG_PER_POUND
from hemkoll.simulator.independent import INDEPENDENT_DEFAULTS as P
from hemkoll.simulator.independent import IndependentCohort, generate
from hemkoll.simulator.independent.generate import METRICS

PATIENTS = 500
DAYS = 365
SEED = 424242


@pytest.fixture(scope="module")
def cohort() -> IndependentCohort:
    return generate(PATIENTS, DAYS, seed=SEED)


def _in_window(c: IndependentCohort) -> list[int]:
    index = {ref: i for i, ref in enumerate(c.references)}
    return [index[e.patient] for e in c.episodes if e.in_window]


def test_same_seed_same_cohort_and_another_seed_another() -> None:
    a, b, other = generate(20, 90, seed=5), generate(20, 90, seed=5), generate(20, 90, seed=6)
    assert a.episodes == b.episodes
    for sa, sb in zip(a.series, b.series, strict=True):
        assert sa.keys() == sb.keys()
        for metric in sa:
            assert np.array_equal(sa[metric][0], sb[metric][0])
            assert np.array_equal(sa[metric][1], sb[metric][1])
    assert not np.array_equal(a.series[0]["body_weight"][1], other.series[0]["body_weight"][1])


def test_episode_rate_and_frailty(cohort: IndependentCohort) -> None:
    counts = np.bincount(_in_window(cohort), minlength=PATIENTS)
    years = PATIENTS * DAYS / 365.25
    # About 300 onsets; with gamma frailty (shape 1.5) the count's variance is about
    # 500 x (0.6 + 0.6**2 / 1.5) = 420, SE 20: four SE is 27 % of the mean.
    assert counts.sum() / years == pytest.approx(P.episode_rate_per_patient_year, rel=0.27)
    # Frailty makes counts overdispersed (variance/mean about 1.4; 1 for equal risk).
    assert counts.var() / counts.mean() > 1.1


def test_silent_share(cohort: IndependentCohort) -> None:
    kinds = [e.kind for e in cohort.episodes]
    share = kinds.count("silent") / len(kinds)
    se = math.sqrt(P.silent_fraction * (1 - P.silent_fraction) / len(kinds))
    assert abs(share - P.silent_fraction) < 4 * se


def test_build_up_is_mostly_in_the_last_days(cohort: IndependentCohort) -> None:
    t = cohort.episode_table
    weight = ~t.silent
    # Logistic build-up with its midpoint 2-9 days before onset: at least half of the gain in
    # the last week for most episodes, and the ground truth's 14-day gain never above the total.
    last_week = t.gain_over(7)[weight] / t.weight_gain_kg[weight]
    assert np.median(last_week) > 0.5
    assert np.all(t.gain_over(14) <= t.weight_gain_kg + 1e-12)
    assert np.all((t.prodrome_days() >= 1) & (t.prodrome_days() <= 30))


def test_slow_phase_except_in_sudden_episodes(cohort: IndependentCohort) -> None:
    """Chaudhry 2007: a gradual rise from about 30 days before onset; sudden episodes have none."""
    t = cohort.episode_table
    sudden = t.midpoint_days < P.midpoint_days[0]  # sudden midpoints lie below the others'
    assert np.all(t.slow_share[sudden] == 0.0)
    lo, hi = P.slow_phase_share
    assert float(t.slow_share[~sudden].mean()) == pytest.approx((lo + hi) / 2.0, abs=0.03)
    # 20 days before onset the logistic part is nothing (its midpoint at most 9 days before,
    # scale at most 3 days): what there is comes from the ramp, share x 10 / 30.
    c20 = t.congestion(np.full((1, 1), -20.0))[:, 0]
    assert c20 == pytest.approx(t.slow_share * 10.0 / 30.0, abs=0.03)
    assert float(np.mean(c20[~sudden])) > 0.06
    assert np.all(t.congestion(np.full((1, 1), -30.0))[:, 0] < 0.01)
    assert np.all(t.congestion(np.zeros((1, 1)))[:, 0] == pytest.approx(1.0))


def test_units_are_canonical_and_pound_scales_converted(cohort: IndependentCohort) -> None:
    pounds = np.flatnonzero(cohort.pound_scale)
    kilos = np.flatnonzero(~cohort.pound_scale)
    assert pounds.size > 10
    for p in pounds[:10]:
        kg = cohort.series[p]["body_weight"][1]
        lb_steps = kg / KG_PER_POUND / 0.2
        assert np.allclose(lb_steps, np.rint(lb_steps), atol=1e-6)
    for p in kilos[:10]:
        steps = cohort.series[p]["body_weight"][1] / 0.1
        assert np.allclose(steps, np.rint(steps), atol=1e-6)
    for s in cohort.series:
        assert set(s) <= set(METRICS)
        for t, _ in s.values():
            assert np.all(np.diff(t) > 0)


def test_symptom_noise_grows_with_the_usual_answer(cohort: IndependentCohort) -> None:
    answers: dict[int, list[np.ndarray]] = {0: [], 2: []}
    for p, s in enumerate(cohort.series):
        usual = int(cohort.usual_breathlessness[p])
        if usual not in answers:
            continue
        answers[usual].append(s["symptom_breathlessness"][1])
    # Usual-2 patients answer 3 with P(noise > 0.5) plus the at-rest confusion (episodes add
    # a few more).
    sd2 = P.symptom_noise_sd + 2 * P.symptom_noise_per_step
    above = 0.5 * math.erfc(0.5 / sd2 / math.sqrt(2))
    expected = above + P.at_rest_confusion * (1 - 2 * above)
    v2 = np.concatenate(answers[2])
    v0 = np.concatenate(answers[0])
    share3 = float(np.mean(v2 == 3))
    # Episodes add some 3s on top of the quiet days' share; about 20,000 answers, SE 0.2 %.
    assert expected - 0.01 < share3 < expected + 0.03
    assert float(np.mean(v0 == 3)) < 0.005
    assert np.std(v2) > np.std(v0)


def test_measurement_days_cluster_fade_and_skip_weekends(cohort: IndependentCohort) -> None:
    done = cohort.measured_days
    assert done[:, :60].mean() > done[:, -60:].mean() + 0.05
    weekend = cohort.timeline.weekday >= 5
    assert done[:, weekend].mean() < done[:, ~weekend].mean()
    # Clustered misses: a miss is followed by a miss more often than the miss rate says.
    miss = ~done[:, :-1]
    after_miss = ~done[:, 1:][miss]
    assert after_miss.mean() > (~done).mean() + 0.1
    # Nothing measured in hospital.
    assert not np.any(done & cohort.effects.in_hospital)


def test_dry_weight_is_lower_after_a_discharge(cohort: IndependentCohort) -> None:
    t = cohort.episode_table
    k = next(
        i
        for i in range(t.size)
        if 40 < t.onset_day[i] < DAYS - 40
        and not np.any(
            (t.patient == t.patient[i])
            & (np.abs(t.onset_day - t.onset_day[i]) < 80)
            & (np.arange(t.size) != i)
        )
    )
    p, onset, stay = int(t.patient[k]), int(t.onset_day[k]), int(t.stay_days[k])
    w = cohort.effects.weight_kg[p]
    assert w[onset] == pytest.approx(t.weight_gain_kg[k] + w[onset - 35], abs=1e-6)
    assert w[onset + stay + 30] == pytest.approx(w[onset - 35] - t.weight_drop_kg[k], abs=1e-6)


def test_device_faults_at_their_rates(cohort: IndependentCohort) -> None:
    routine = int(cohort.measured_days.sum())
    for name, rate in (
        ("oximeter_low", P.oximeter_low_rate),
        ("pulse_miscount", P.pulse_miscount_rate),
        ("scale_repeat", P.scale_repeat_rate),
    ):
        expected = rate * routine
        assert abs(cohort.faults[name] - expected) < 4 * math.sqrt(expected), name
    steps = P.scale_step_rate_per_day * PATIENTS * DAYS
    assert abs(cohort.faults["scale_step"] - steps) < 4 * math.sqrt(steps)
