"""The simulator's statistics against its parameters.

Each tolerance is about four standard errors of the estimate at the sample size used (given in
the test), so a correct simulator fails by chance far less than once in a thousand runs; the
seeds are fixed anyway, so the tests are deterministic.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from hemkoll.protocol.measurements import KG_PER_POUND
from hemkoll.simulator import DEFAULT_PARAMETERS as P
from hemkoll.simulator import Simulation, simulate
from hemkoll.simulator.devices import LB
from hemkoll.simulator.episodes import draw_episodes
from hemkoll.simulator.parameters import DAYS_PER_YEAR, WEEKDAY_WEIGHT_PROFILE
from hemkoll.simulator.timeline import midsummer_curve, midsummer_eve

PATIENTS = 400
DAYS = 365


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(PATIENTS, DAYS, seed=20240621)


def _weights(sim: Simulation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Patient, day and value in kg of every weight reading (from the reading table)."""
    r = sim.plan.readings
    scale = r.metric == 0
    kg = np.where(r.unit[scale] == LB, r.value[scale] * KG_PER_POUND, r.value[scale])
    return r.patient[scale].astype(np.int64), r.day[scale].astype(np.int64), kg


def test_day_to_day_weight_noise_matches_each_patients_sd(sim: Simulation) -> None:
    patient, day, kg = _weights(sim)
    residual = kg - sim.true.weight_kg[patient, day]
    # Display rounding adds a uniform error: 0.1 kg steps, or 0.2 lb steps.
    step = np.where(sim.cohort.pound_scale[patient], 0.2 * KG_PER_POUND, 0.1)
    expected = math.sqrt(float(np.mean(sim.cohort.weight_noise_sd_kg[patient] ** 2 + step**2 / 12)))
    # About 110,000 readings: the SD is estimated to well under 1 %; allow 3 %.
    assert residual.size > 100_000
    assert np.std(residual) == pytest.approx(expected, rel=0.03)
    assert abs(float(np.mean(residual))) < 0.01
    # The patients' SDs have the documented median: SE of a median of 400 log-normal draws is
    # 1.25 * 0.3 / 20 in log units, about 0.0075 kg; allow 0.03 kg.
    assert np.median(sim.cohort.weight_noise_sd_kg) == pytest.approx(
        P.weight_noise_median_kg, abs=0.03
    )


def test_missed_days(sim: Simulation) -> None:
    patient, day, _ = _weights(sim)
    weighed = np.zeros((PATIENTS, DAYS), dtype=bool)
    weighed[patient, day] = True
    at_home = ~sim.effects.in_hospital
    share = weighed[at_home].mean()
    # Patients' adherence has SD about 0.12 (Beta, concentration 10): the cohort mean of 400
    # has SE about 0.006; allow 0.03 around FAST/MOBITEL's 77 %.
    assert share == pytest.approx(P.weighed_day_fraction, abs=0.03)
    assert not weighed[sim.effects.in_hospital].any()


def test_episode_rate_and_silent_share() -> None:
    patients, days = 5000, 365
    table = draw_episodes(np.random.default_rng(11), patients, days, P)
    inside = (table.onset_day >= 0) & (table.onset_day < days)
    count = int(inside.sum())
    rate = count / (patients * days / DAYS_PER_YEAR)
    # About 3,400 episodes: Poisson SE about 1.7 %; allow 7 %.
    assert rate == pytest.approx(P.episode_rate_per_patient_year, rel=0.07)
    silent = float(table.silent[inside].mean())
    # Binomial SE sqrt(0.25 / 3400) = 0.009; allow 0.035.
    assert silent == pytest.approx(P.silent_fraction, abs=0.035)
    # The documented calibration: mean gain over the last 14 days near Zhang 2009's +0.9 kg
    # (SE about 0.02 kg here; the model gives about 1.0 kg by construction).
    assert float(table.gain_over(14)[inside].mean()) == pytest.approx(0.9, abs=0.2)
    # Silent episodes gain little: |N(0, 0.3)| has mean 0.24 kg.
    assert float(table.weight_gain_kg[inside & table.silent].mean()) < 0.35


def test_episodes_show_in_weight_heart_rate_and_symptoms(sim: Simulation) -> None:
    table = sim.episode_table
    onset = table.onset_day
    ok = (onset - 21 >= 0) & (onset < DAYS) & ~table.silent
    p, d = table.patient[ok], onset[ok]
    gain = sim.true.weight_kg[p, d] - sim.true.weight_kg[p, d - 21]
    assert float(np.mean(gain)) > 1.0
    rise = sim.true.heart_rate[p, d] - sim.true.heart_rate[p, d - 21]
    assert float(np.mean(rise)) == pytest.approx(P.heart_rate_rise[0], abs=2.0)
    assert float(np.mean(sim.true.breathlessness[p, d] - sim.true.breathlessness[p, d - 21])) > 1
    # No home measurements while in hospital; recovery: weight back near baseline a week after.
    after = d + 10 < DAYS
    back = sim.true.weight_kg[p[after], d[after] + 10] - sim.true.weight_kg[p[after], d[after] - 21]
    assert float(np.mean(back)) < 0.5


def test_weekly_rhythm_heavier_sunday_monday(sim: Simulation) -> None:
    patient, day, kg = _weights(sim)
    week = (sim.timeline.ordinal[day] - 1) // 7  # Monday-to-Sunday weeks
    key = patient * 1000 + week
    _, which, counts = np.unique(key, return_inverse=True, return_counts=True)
    mean = np.bincount(which, weights=kg) / counts
    full = counts[which] >= 5
    deviation = (kg - mean[which])[full]
    weekday = sim.timeline.weekday[day][full]
    by_day = np.array([deviation[weekday == w].mean() for w in range(7)])
    early = (by_day[6] + by_day[0]) / 2  # Sunday, Monday
    late = (by_day[3] + by_day[4]) / 2  # Thursday, Friday
    profile = np.asarray(WEEKDAY_WEIGHT_PROFILE)
    scale = (profile[6] + profile[0] - profile[3] - profile[4]) / 2 / np.ptp(profile)
    expected = float(np.mean(sim.cohort.weekly_amplitude_kg)) * scale
    # About 16,000 readings per weekday, noise 0.42 kg: SE of the difference about 0.007 kg.
    assert early > late
    assert early - late == pytest.approx(expected, rel=0.25)


def test_midsummer_bump(sim: Simulation) -> None:
    patient, day, kg = _weights(sim)
    eve = (midsummer_eve(2025) - sim.timeline.start).days
    clean = (sim.effects.weight_kg[patient, day] < 0.05) & ~sim.effects.in_hospital[patient, day]
    before = clean & (day >= eve - 15) & (day < eve - 1)  # two whole weeks before
    during = clean & (day >= eve - 1) & (day < eve + 6)  # the week of the peak

    def per_patient(mask: np.ndarray) -> np.ndarray:
        return np.bincount(patient[mask], weights=kg[mask], minlength=PATIENTS) / np.maximum(
            np.bincount(patient[mask], minlength=PATIENTS), 1
        )

    has_both = (np.bincount(patient[before], minlength=PATIENTS) > 3) & (
        np.bincount(patient[during], minlength=PATIENTS) > 3
    )
    bump = (per_patient(during) - per_patient(before))[has_both]
    curve = midsummer_curve(sim.timeline, P)[eve - 1 : eve + 6].mean()
    expected = float(np.mean(sim.cohort.midsummer_peak_kg[has_both])) * curve
    # SE about 0.03 kg (noise, drift over two weeks); allow 0.12 kg.
    assert float(np.mean(bump)) == pytest.approx(expected, abs=0.12)
    # The cohort's peaks: SE of the mean of 400 draws with SD 1.14 kg is 0.057; allow 0.23.
    assert float(np.mean(sim.cohort.midsummer_peak_kg)) == pytest.approx(
        P.midsummer_peak_kg, abs=0.23
    )
    # Back to baseline after about 20 days.
    assert midsummer_curve(sim.timeline, P)[eve + 2 + P.midsummer_return_days] == 0.0
    assert sim.timeline.date_of(eve) == midsummer_eve(2025)
    assert midsummer_eve(2025).weekday() == 4  # a Friday


def test_duplicate_and_malformed_rates(sim: Simulation) -> None:
    plan = sim.plan
    originals = ~plan.duplicate
    n = int(originals.sum())
    # About 470,000 messages: binomial SE 0.0002 for 2 %, 0.00008 for 0.3 %.
    assert plan.duplicate.sum() / n == pytest.approx(P.duplicate_rate, abs=0.001)
    faulty = plan.fault[originals] != 0
    assert float(faulty.mean()) == pytest.approx(P.malformed_rate, abs=0.0004)
    shares = np.bincount(plan.fault[originals][faulty], minlength=4)[1:] / faulty.sum()
    weights = np.asarray(P.malformed_kind_weights) / sum(P.malformed_kind_weights)
    # About 1,400 faults: SE of each share about 0.013; allow 0.06.
    assert shares == pytest.approx(weights, abs=0.06)


def test_measurement_times_and_clock_errors(sim: Simulation) -> None:
    r = sim.plan.readings
    scale = r.metric == 0
    local_hour = ((r.measured_at[scale] + sim.timeline.utc_offset[r.day[scale]]) % 86400) / 3600
    # Morning weighing: the habit is 5-11 h, days spread around it, clipped to 4-13 h; a clock
    # error of at most 150 s can push a reading a little outside.
    assert local_hour.min() > 3.9
    assert local_hour.max() < 13.1
    assert 6.5 < float(np.median(local_hour)) < 9.0


def test_slow_phase_from_a_month_before_then_divergence_in_the_final_week(sim: Simulation) -> None:
    """Chaudhry 2007: gradual gain from about 30 days before admission, most in the final week."""
    table = sim.episode_table
    assert table.slow_days == P.slow_phase_days == 30
    k = -np.arange(P.slow_phase_days + 5, dtype=np.float64)[::-1][np.newaxis, :]  # -34 .. 0
    shape = table.shape_before(k)
    assert np.all(shape[:, -1] == pytest.approx(1.0))  # the full size at onset
    assert np.all(shape[:, :5] == 0.0)  # nothing a month or more before
    assert np.all(np.diff(shape, axis=1) >= 0.0)  # it only rises
    # Before the steep prodrome (at most 21 days) only the slow ramp: share x (30 - 22) / 30.
    at_22 = table.shape_before(np.full((1, 1), -22.0))[:, 0]
    assert at_22 == pytest.approx(table.slow_share * 8.0 / 30.0)
    lo, hi = P.slow_phase_share
    assert float(table.slow_share.mean()) == pytest.approx((lo + hi) / 2.0, abs=0.02)
    # In the simulated weights: episodes with a weight signal have gained by 22 days before
    # onset (0.25 x 8/30 x about 1.8 kg = 0.12 kg on average; none without the slow phase), and
    # still most of the gain comes in the last week.
    onset = table.onset_day
    ok = (onset - 31 >= 0) & (onset < DAYS) & ~table.silent
    p, d = table.patient[ok], onset[ok]
    early = sim.effects.weight_kg[p, d - 22] - sim.effects.weight_kg[p, d - 31]
    assert float(np.mean(early)) > 0.05
    last_week = table.gain_over(7)[~table.silent] / table.weight_gain_kg[~table.silent]
    assert float(np.median(last_week)) > 0.5


def test_no_slow_phase_when_its_share_is_nought() -> None:
    params = replace(P, slow_phase_share=(0.0, 0.0))
    table = draw_episodes(np.random.default_rng(3), 200, 365, params)
    length = table.prodrome_days.astype(np.float64)
    k = np.full((1, 1), -7.0)
    convex = np.clip((length - 7.0) / length, 0.0, 1.0) ** 2
    assert table.shape_before(k)[:, 0] == pytest.approx(convex)
    assert np.all(table.shape_before(np.full((1, 1), -22.0)) == 0.0)
