"""The index's compiled kernels give, to the last bit, what the numpy formulas they replaced give:
every baseline window sorted from scratch, every recent window summed on its own.

(The findings themselves are compared with the pure-Python reference in test_equivalence.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from hemkoll.rules.arrays import BoolArray, FloatArray, IntArray
from hemkoll.rules.kinds.index import MAD_TO_SD
from hemkoll.rules.kinds.index_kernels import baselines, recent_means, rescore, scored_events
from hemkoll.rules.localtime import US_PER_DAY
from hemkoll.rules.series import NO_TIME


def _median_of_sorted(ordered: FloatArray, n: IntArray) -> FloatArray:
    lo = np.clip((n - 1) // 2, 0, None)[..., np.newaxis]
    hi = np.clip(n // 2, 0, None)[..., np.newaxis]
    a = np.take_along_axis(ordered, lo, axis=-1)[..., 0]
    b = np.take_along_axis(ordered, hi, axis=-1)[..., 0]
    return np.asarray(np.where(n > 0, (a + b) / 2.0, np.nan), dtype=np.float64)


def _sorted_windows(
    x: FloatArray, allowed: BoolArray, lag: int, width: int, min_values: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Every window sorted on its own (NaN last), its median, then its deviations sorted."""
    y = np.where(allowed[np.newaxis], x, np.nan)
    padded = np.concatenate([np.full((*y.shape[:-1], lag), np.nan), y], axis=-1)
    win = sliding_window_view(padded, width, axis=-1)[..., : y.shape[-1], :]
    n = (~np.isnan(win)).sum(axis=-1)
    m = _median_of_sorted(np.sort(win, axis=-1), n)
    mad = _median_of_sorted(np.sort(np.abs(win - m[..., np.newaxis]), axis=-1), n)
    enough = n >= min_values
    return np.where(enough, m, np.nan), np.where(enough, MAD_TO_SD * mad, np.nan), n.astype(float)


def _cohort(seed: int, shape: tuple[int, int, int], missing: float) -> FloatArray:
    rng = np.random.default_rng(seed)
    x = rng.normal(70.0, 2.0, shape).round(1)
    x[0] = rng.integers(0, 4, shape[1:]).astype(float)  # symptom answers: ties everywhere
    x[rng.random(shape) < missing] = np.nan
    x[:, :3, 30:75] = np.nan  # weeks without a reading
    x[:, 3] = np.nan  # a patient who never measured
    x[:, 4, :] = 5.0  # one value, all the time
    return x


def _run(
    x: FloatArray,
    allowed: BoolArray,
    first: IntArray,
    *,
    lag: int,
    width: int,
    min_values: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    out = tuple(np.full(x.shape, -1.0) for _ in range(3))
    baselines(
        x,
        allowed,
        np.arange(x.shape[1]),
        first,
        lag=lag,
        width=width,
        min_values=min_values,
        mad_to_sd=MAD_TO_SD,
        out=(out[0], out[1], out[2]),
    )
    return out[0], out[1], out[2]


@pytest.mark.parametrize(("lag", "width"), [(25, 21), (35, 28), (7, 7), (60, 56)])
def test_baselines_equal_every_window_sorted(lag: int, width: int) -> None:
    x = _cohort(1, (3, 60, 200), missing=0.25)
    allowed = np.random.default_rng(2).random(x.shape[1:]) > 0.1  # stays, alert days
    fewest = min(7, width // 2)
    got = _run(
        x, allowed, np.zeros(x.shape[1], dtype=np.int64), lag=lag, width=width, min_values=fewest
    )
    want = _sorted_windows(x, allowed, lag, width, fewest)
    for g, w in zip(got, want, strict=True):
        assert np.array_equal(g, w, equal_nan=True)
    assert np.isfinite(got[0]).sum() > x.size // 2  # most days have a baseline
    assert np.isnan(got[0][:, 3]).all()  # no readings, no baseline


def test_baselines_from_a_later_day_equal_the_whole_run_there_and_leave_the_rest() -> None:
    """Pass 2 recomputes a patient's baselines from her first alert day's windows on only."""
    x = _cohort(3, (2, 40, 150), missing=0.2)
    allowed = np.ones(x.shape[1:], dtype=bool)
    first = np.random.default_rng(4).integers(0, 150, x.shape[1])
    got = _run(x, allowed, first, lag=25, width=21, min_values=7)
    want = _sorted_windows(x, allowed, 25, 21, 7)
    later = np.arange(x.shape[2])[np.newaxis, :] >= first[:, np.newaxis]
    for g, w in zip(got, want, strict=True):
        assert np.array_equal(g[:, later], w[:, later], equal_nan=True)
        assert (g[:, ~later] == -1.0).all()  # not written


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    width=st.integers(7, 30),
    guard=st.integers(0, 10),
    missing=st.floats(0.0, 0.9),
    min_values=st.integers(1, 10),
)
def test_baselines_property(
    seed: int, width: int, guard: int, missing: float, min_values: int
) -> None:
    x = _cohort(seed, (2, 8, 90), missing)
    allowed = np.random.default_rng(seed + 1).random(x.shape[1:]) > 0.2
    got = _run(
        x,
        allowed,
        np.zeros(x.shape[1], dtype=np.int64),
        lag=guard + width,
        width=width,
        min_values=min_values,
    )
    want = _sorted_windows(x, allowed, guard + width, width, min_values)
    for g, w in zip(got, want, strict=True):
        assert np.array_equal(g, w, equal_nan=True)


def _summed_windows(x: FloatArray, days: int) -> tuple[FloatArray, FloatArray]:
    pad = np.full((*x.shape[:-1], days), np.nan)
    win = sliding_window_view(np.concatenate([pad, x], axis=-1), days + 1, axis=-1)
    win = win[..., : x.shape[-1], :]
    with np.errstate(invalid="ignore", divide="ignore"):
        today = np.nansum(win[..., 1:], axis=-1) / (~np.isnan(win[..., 1:])).sum(axis=-1)
        before = np.nansum(win[..., 1:-1], axis=-1) / (~np.isnan(win[..., 1:-1])).sum(axis=-1)
    return today, before


@pytest.mark.parametrize("days", [1, 2, 3, 7])
def test_recent_means_equal_each_window_summed(days: int) -> None:
    x = _cohort(5, (3, 30, 120), missing=0.3)
    today, before = recent_means(x, days)
    want_today, want_before = _summed_windows(x, days)
    assert np.array_equal(today, want_today, equal_nan=True)
    assert np.array_equal(before, want_before, equal_nan=True)
    assert np.isnan(before).all() if days == 1 else np.isfinite(before).any()


def _times(x: FloatArray) -> IntArray:
    """Readings at 01:00 each day; the second signal's a minute later: two events a day."""
    t = np.where(np.isnan(x), NO_TIME, np.arange(x.shape[2]) * US_PER_DAY + 3_600_000_000)
    t[1] += 60_000_000
    return t


def _scored(
    x: FloatArray, base: tuple[FloatArray, FloatArray], yellow: float, recovery: float
) -> tuple[IntArray, IntArray, IntArray, IntArray, FloatArray, BoolArray]:
    return scored_events(
        ~np.isnan(x),
        _times(x),
        recent_means(x, 3),
        base,
        params=_PARAMS,
        yellow=yellow,
        recovery=recovery,
        max_open_us=5 * US_PER_DAY,
    )


# Three signals: two that count a rise, one a fall (sign, floor, cap, weight).
_PARAMS = np.array([[1.0, 1.0, -1.0], [0.5, 0.3, 1.0], [3.0, 3.0, 3.0], [1.0, 1.0, 0.5]])


def test_rescoring_from_a_day_equals_scoring_afresh_where_the_baselines_changed_from_it() -> None:
    x = _cohort(8, (3, 40, 150), missing=0.25)
    x[1:] = np.random.default_rng(9).normal(70.0, 2.0, x[1:].shape)  # noisier signals
    x[1:, np.isnan(x[0])] = np.nan
    old = _run(x, ~np.isnan(x[0]), np.zeros(40, np.int64), lag=25, width=21, min_values=7)
    # Later baselines that moved, as a second pass's do, from each patient's own day on.
    first = np.random.default_rng(10).integers(0, 160, 40)
    rows = np.flatnonzero(first < 150)
    new = tuple(b.copy() for b in old)
    for p in rows:
        new[0][:, p, first[p] :] += 1.5
        new[1][:, p, first[p] :] *= 0.5
    before = _scored(x, (old[0], old[1]), yellow=2.0, recovery=1.0)
    want = _scored(x, (new[0], new[1]), yellow=2.0, recovery=1.0)
    assert before[5].any()
    assert not np.array_equal(before[5], want[5])  # the change opens and closes the index
    patient, col, times, _, score, opened = (a.copy() for a in before)
    rescore(
        ~np.isnan(x),
        _times(x),
        recent_means(x, 3),
        (new[0], new[1]),
        (patient, col, times, score, opened),
        params=_PARAMS,
        rows=rows,
        first=first[rows],
        yellow=2.0,
        recovery=1.0,
        max_open_us=5 * US_PER_DAY,
    )
    assert np.array_equal(patient, want[0])  # the same instants, left as they were
    assert np.array_equal(col, want[1])
    assert np.array_equal(times, want[2])
    assert np.array_equal(score, want[4])
    assert np.array_equal(opened, want[5])
    assert not np.array_equal(score, before[4])
