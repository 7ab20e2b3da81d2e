"""The deterioration index's inner loops, compiled (numba): a sliding baseline window kept
sorted, the recent means, and the events with their hysteresis.

numpy had to sort every day's baseline window from scratch, twice (the values, then their
deviations from the median): a (signals, patients, days, window) block per rule and pass, about
2 ms per patient per rule, most of a cohort evaluation's time (bench/rules.py). Here each
patient's window is one sorted buffer that a day changes by one value out and one in, and the
median absolute deviation is read off that buffer (the deviations below and above the median
are two sorted runs), so a day costs a few dozen steps instead of two sorts.

Every figure is computed with the same floating-point operations in the same order as the numpy
formulas they replace (documented at each), so the findings are the same to the last bit
(tests/rules/test_index_kernels.py compares them with those formulas).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

import numba
import numpy as np

from hemkoll.rules.arrays import BoolArray, FloatArray, IntArray

_F = TypeVar("_F", bound=Callable[..., object])


def _jit(function: _F) -> _F:
    """Compiled on first call; cached beside this module (numba's cache), so a process that
    starts (a rules worker, a test) loads the machine code instead of compiling for seconds."""
    return cast(_F, numba.njit(cache=True, nogil=True)(function))


def _inline(function: _F) -> _F:
    """A helper of the kernels, compiled into each caller: a call between compiled functions
    passes its arrays with reference counting, which cost half a window step."""
    return cast(_F, numba.njit(inline="always")(function))


@_inline
def _rank(buf: FloatArray, n: int, value: float, inclusive: bool) -> int:
    """How many of ``buf[:n]`` are below ``value`` (or at it, if ``inclusive``): a count, not a
    bisection, because a window is a few dozen values and a count has no branch to mispredict."""
    below = 0
    if inclusive:
        for k in range(n):
            below += buf[k] <= value
    else:
        for k in range(n):
            below += buf[k] < value
    return below


@_inline
def _insert(buf: FloatArray, n: int, value: float) -> None:
    """Insert ``value`` into the sorted ``buf[:n]`` (room for one more)."""
    at = _rank(buf, n, value, True)
    for k in range(n, at, -1):
        buf[k] = buf[k - 1]
    buf[at] = value


@_inline
def _middle_deviations(buf: FloatArray, n: int, m: float) -> tuple[float, float]:
    """The ``(n-1)//2``-th and ``n//2``-th smallest (from 0) of ``abs(buf[i] - m)`` over the
    sorted ``buf[:n]``, ``m`` its median. The deviations of the values below ``m``, read
    downwards, and of the others, read upwards, are two ascending runs: bisecting how many of
    the k + 1 smallest (k = n // 2) come from the first gives the k-th as the larger of the two
    runs' last taken, and the (k-1)-th as the second largest of those taken."""
    split = _rank(buf, n, m, False)
    k = n >> 1
    lo = max(0, k + 1 - (n - split))
    hi = min(k + 1, split)
    while lo < hi:
        i = (lo + hi) >> 1  # enough with i from the first run, if its next is not below
        # the second run's (k + 1 - i)-th
        more = abs(buf[split - 1 - i] - m) < abs(buf[split + k - i] - m)
        lo = i + 1 if more else lo
        hi = hi if more else i
    i = lo  # i from the first run, k + 1 - i from the second
    j = k + 1 - i
    a1 = abs(buf[split - i] - m) if i >= 1 else -np.inf
    b1 = abs(buf[split + j - 1] - m) if j >= 1 else -np.inf
    if n & 1:
        top = a1 if a1 > b1 else b1
        return top, top
    if a1 >= b1:  # the first run's is the k-th: the (k-1)-th is the next largest taken
        a2 = abs(buf[split - i + 1] - m) if i >= 2 else -np.inf
        return (a2 if a2 > b1 else b1), a1
    b2 = abs(buf[split + j - 2] - m) if j >= 2 else -np.inf
    return (a1 if a1 > b2 else b2), b1


@_inline
def _remove(buf: FloatArray, n: int, value: float) -> None:
    """Remove one ``value`` from the sorted ``buf[:n]`` (it is there)."""
    for k in range(_rank(buf, n, value, False), n - 1):
        buf[k] = buf[k + 1]


@_jit
def _baselines(
    x: FloatArray,
    allowed: BoolArray,
    rows: IntArray,
    first: IntArray,
    lag: int,
    width: int,
    min_values: int,
    mad_to_sd: float,
    med: FloatArray,
    sd: FloatArray,
    count: FloatArray,
) -> None:
    """Per signal, patient ``rows[q]`` and day d from ``first[q]`` on: the median, ``mad_to_sd``
    x the median absolute deviation (NaN both with fewer than ``min_values`` values), and the
    number of the values of days d - lag .. d - lag + width - 1 that are ``allowed``, written
    into ``med``, ``sd`` and ``count`` (the (signals, patients, days) values ``x``, NaN: none).

    Same as sorting each window (NaN last) and taking ``(s[(n-1)//2] + s[n//2]) / 2.0`` of the
    values and then of ``abs(value - median)``: the same order statistics, the same operations.
    """
    days = x.shape[2]
    buf = np.empty(width + 1)
    for i in range(x.shape[0]):
        for q in range(rows.size):
            p = rows[q]
            # The window is complete from ``first`` on if filled from ``width - 1`` days before.
            begin = max(0, first[q] - width + 1)
            # The first day put in: earlier ones are not in the buffer to be taken out.
            floor = max(0, begin - lag + width - 1)
            n = 0
            # The figures of the buffer as it is, once computed: a day whose value out equals
            # its value in, or that has neither, leaves it as it was (a symptom's usual answer
            # leaving and coming back, a week of missed days), and takes them again.
            known = False
            m = np.nan
            u = np.nan
            for d in range(begin, days):
                out = d - lag - 1  # the day that leaves the window
                new = d - lag + width - 1  # the day that enters it
                leaves = out >= floor and allowed[p, out] and not np.isnan(x[i, p, out])
                enters = new >= 0 and allowed[p, new] and not np.isnan(x[i, p, new])
                if leaves and enters and x[i, p, out] == x[i, p, new]:
                    pass  # the same value out and in: the same sorted buffer
                elif leaves or enters:
                    known = False
                    if leaves:
                        _remove(buf, n, x[i, p, out])
                        n -= 1
                    if enters:
                        _insert(buf, n, x[i, p, new])
                        n += 1
                if d < first[q]:
                    continue
                count[i, p, d] = n
                if not known:
                    known = True
                    if n < min_values or n == 0:
                        m = np.nan
                        u = np.nan
                    else:
                        m = (buf[(n - 1) >> 1] + buf[n >> 1]) / 2.0
                        a, b = _middle_deviations(buf, n, m)
                        u = mad_to_sd * ((a + b) / 2.0)
                med[i, p, d] = m
                sd[i, p, d] = u


@_jit
def _recent_means(x: FloatArray, days: int, today: FloatArray, before: FloatArray) -> None:
    """Per row of the (rows, D) values ``x`` (NaN: none) and day d: the mean of the values of
    days d - days + 1 .. d (``today``) and of d - days + 1 .. d - 1 (``before``), NaN if none.

    Each window summed on its own, left to right, as numpy's ``nansum`` over a window of fewer
    than eight (``(x0 + x1) + x2 ...``, the missing ones as 0.0), then divided by the count."""
    rows, width = x.shape
    pad = days - 1  # the days before the first, as missing
    value = np.zeros(width + pad)  # 0.0 where missing
    has = np.zeros(width + pad, dtype=np.int64)
    for r in range(rows):
        for k in range(width):
            v = x[r, k]
            ok = not np.isnan(v)  # a select, not a branch
            value[pad + k] = v if ok else 0.0
            has[pad + k] = ok
        for d in range(width):
            # padded columns d .. d + pad - 1: the days before today; d + pad: today
            total = value[d]  # numpy's sum starts from the first of the window
            n = has[d]
            for k in range(d + 1, d + pad):
                total += value[k]
                n += has[k]
            if pad == 0:  # no day before today in the window: the sum is today's alone
                n = 0
                before[r, d] = np.nan
            else:
                before[r, d] = total / n if n else np.nan
                total += value[d + pad]
            m = n + has[d + pad]
            today[r, d] = total / m if m else np.nan


@_inline
def _part(
    recent: float, med: float, sd: float, sign: float, floor: float, cap: float, weight: float
) -> float:
    """One signal's points: ``weight * clip(nan_to_num(sign * (recent - med) / max(sd, floor)),
    0, cap)``, as ``index_events.contributions`` computes them."""
    used = sd if np.isnan(sd) else max(sd, floor)
    z = sign * (recent - med) / used
    if np.isnan(z):
        z = 0.0
    elif z > cap:
        z = cap
    elif z < 0.0:
        z = 0.0
    return weight * z


@_inline
def _cell_order(valid: BoolArray, t: IntArray, p: int, c: int, order: IntArray) -> int:
    """The signals with a reading in patient ``p``'s day ``c``, put in ``order`` by time (then
    by signal); how many."""
    k = 0
    for i in range(valid.shape[0]):
        if valid[i, p, c]:
            j = k
            while j > 0 and t[order[j - 1], p, c] > t[i, p, c]:
                order[j] = order[j - 1]
                j -= 1
            order[j] = i
            k += 1
    return k


@_inline
def _score_at(
    valid: BoolArray, t: IntArray, p: int, c: int, at: int, now: FloatArray, was: FloatArray
) -> float:
    """The score at instant ``at`` of patient ``p``'s day ``c``: each signal's points with
    today's recent value if measured by then, else with the one before today, added in signal
    order (as numpy's sum over the signal axis)."""
    total = 0.0
    for s in range(valid.shape[0]):
        part = now[s] if valid[s, p, c] and t[s, p, c] <= at else was[s]
        total = part if s == 0 else total + part
    return total


@_inline
def _cell_parts(
    today: FloatArray,
    before: FloatArray,
    med: FloatArray,
    sd: FloatArray,
    params: FloatArray,
    p: int,
    c: int,
    now_part: FloatArray,
    was_part: FloatArray,
) -> None:
    """Each signal's points at patient ``p``'s day ``c``, with today's recent value
    (``now_part``) and with the one before today (``was_part``)."""
    for i in range(params.shape[1]):
        sign, floor, cap, weight = params[0, i], params[1, i], params[2, i], params[3, i]
        m, u = med[i, p, c], sd[i, p, c]
        now_part[i] = _part(today[i, p, c], m, u, sign, floor, cap, weight)
        was_part[i] = _part(before[i, p, c], m, u, sign, floor, cap, weight)


@_inline
def _is_open(
    times: IntArray, e: int, start: int, last_open: int, last_below: int, max_open_us: int
) -> bool:
    """The hysteresis at event ``e`` (the patient's first is ``start``), given the last of her
    events at or above the opening level and the last below recovery, up to ``e``: open if the
    score has been at the opening level since it last fell below recovery, at most
    ``max_open_us`` ago (``e`` itself below recovery has ``last_below == e``)."""
    return (
        last_open >= start and last_open > last_below and times[e] - times[last_open] <= max_open_us
    )


@_jit
def _events(
    valid: BoolArray,
    t: IntArray,
    today: FloatArray,
    before: FloatArray,
    med: FloatArray,
    sd: FloatArray,
    params: FloatArray,
    yellow: float,
    recovery: float,
    max_open_us: int,
) -> tuple[IntArray, IntArray, IntArray, IntArray, FloatArray, BoolArray]:
    """Every patient's events, in patient order, one per instant at which some
    signal has its first reading of a day, scored with the signals measured by then, and
    whether the index is open at each (see ``index_events.events``)."""
    n_signals = valid.shape[0]
    width = valid.shape[2]
    size = 0
    for p in range(valid.shape[1]):
        for c in range(width):
            for i in range(n_signals):
                if valid[i, p, c]:
                    size += 1
    patient = np.empty(size, dtype=np.int64)
    col = np.empty(size, dtype=np.int64)
    times = np.empty(size, dtype=np.int64)
    trigger = np.empty(size, dtype=np.int64)
    score = np.empty(size)
    opened = np.zeros(size, dtype=np.bool_)
    now_part = np.empty(n_signals)
    was_part = np.empty(n_signals)
    order = np.empty(n_signals, dtype=np.int64)
    e = 0
    for p in range(valid.shape[1]):
        start = e
        last_open = -1
        last_below = -1
        for c in range(width):
            k = _cell_order(valid, t, p, c, order)
            if k == 0:
                continue  # no reading this day: no event
            _cell_parts(today, before, med, sd, params, p, c, now_part, was_part)
            for q in range(k):
                i = order[q]
                at = t[i, p, c]
                if q > 0 and t[order[q - 1], p, c] == at:
                    continue  # one event per instant: the same score
                total = _score_at(valid, t, p, c, at, now_part, was_part)
                patient[e] = p
                col[e] = c
                times[e] = at
                trigger[e] = i
                score[e] = total
                if total >= yellow:
                    last_open = e
                if total < recovery:
                    last_below = e
                opened[e] = _is_open(times, e, start, last_open, last_below, max_open_us)
                e += 1
    return patient[:e], col[:e], times[:e], trigger[:e], score[:e], opened[:e]


@_jit
def _rescore(
    valid: BoolArray,
    t: IntArray,
    today: FloatArray,
    before: FloatArray,
    med: FloatArray,
    sd: FloatArray,
    params: FloatArray,
    rows: IntArray,
    first: IntArray,
    patient: IntArray,
    col: IntArray,
    times: IntArray,
    score: FloatArray,
    opened: BoolArray,
    yellow: float,
    recovery: float,
    max_open_us: int,
) -> None:
    """The events of ``_events`` (every patient's, sorted by patient) scored again, in place,
    for the patients ``rows`` from their day ``first`` on (their baselines changed from there;
    the events are the same instants), and the hysteresis carried on from the earlier ones."""
    n_signals = valid.shape[0]
    now_part = np.empty(n_signals)
    was_part = np.empty(n_signals)
    for q in range(rows.size):
        p = rows[q]
        start = np.searchsorted(patient, p)
        last_open = -1
        last_below = -1
        cell = -1
        e = start
        while e < patient.size and patient[e] == p:
            c = col[e]
            if c >= first[q]:
                if c != cell:
                    _cell_parts(today, before, med, sd, params, p, c, now_part, was_part)
                    cell = c
                score[e] = _score_at(valid, t, p, c, times[e], now_part, was_part)
            if score[e] >= yellow:
                last_open = e
            if score[e] < recovery:
                last_below = e
            if c >= first[q]:
                opened[e] = _is_open(times, e, start, last_open, last_below, max_open_us)
            e += 1


def baselines(
    x: FloatArray,
    allowed: BoolArray,
    rows: IntArray,
    first: IntArray,
    *,
    lag: int,
    width: int,
    min_values: int,
    mad_to_sd: float,
    out: tuple[FloatArray, FloatArray, FloatArray],
) -> None:
    """Each day's baseline window (days d - lag .. d - lag + width - 1) of the (signals,
    patients, days) values ``x`` where ``allowed``, for the patients ``rows`` from their day
    ``first`` on, written into ``out``: (median, usual variation, values), as ``_baselines``."""
    _baselines(
        x,
        allowed,
        np.ascontiguousarray(rows, dtype=np.int64),
        np.ascontiguousarray(first, dtype=np.int64),
        int(lag),
        int(width),
        int(min_values),
        float(mad_to_sd),
        *out,
    )


def recent_means(x: FloatArray, days: int) -> tuple[FloatArray, FloatArray]:
    """(with today, without today): per row and day, the mean of the values of the last
    ``days`` days (NaN: none) of the (..., D) values ``x``."""
    flat = np.ascontiguousarray(x, dtype=np.float64).reshape(-1, x.shape[-1])
    today, before = np.empty(flat.shape), np.empty(flat.shape)
    _recent_means(flat, days, today, before)
    return today.reshape(x.shape), before.reshape(x.shape)


def scored_events(
    valid: BoolArray,
    t: IntArray,
    recent: tuple[FloatArray, FloatArray],
    base: tuple[FloatArray, FloatArray],
    *,
    params: FloatArray,
    yellow: float,
    recovery: float,
    max_open_us: int,
) -> tuple[IntArray, IntArray, IntArray, IntArray, FloatArray, BoolArray]:
    """(patient, column, time, trigger, score, open) of every event, sorted by patient;
    ``params``: per signal (sign, floor, cap, weight) as a (4, S) array."""
    return _events(
        valid,
        t,
        recent[0],
        recent[1],
        base[0],
        base[1],
        np.ascontiguousarray(params, dtype=np.float64),
        float(yellow),
        float(recovery),
        int(max_open_us),
    )


def rescore(
    valid: BoolArray,
    t: IntArray,
    recent: tuple[FloatArray, FloatArray],
    base: tuple[FloatArray, FloatArray],
    events: tuple[IntArray, IntArray, IntArray, FloatArray, BoolArray],
    *,
    params: FloatArray,
    rows: IntArray,
    first: IntArray,
    yellow: float,
    recovery: float,
    max_open_us: int,
) -> None:
    """``scored_events``' (patient, column, time, score, open) of every patient, their score and
    open written again in place for the patients ``rows`` from their column ``first`` on."""
    patient, col, times, score, opened = events
    _rescore(
        valid,
        t,
        recent[0],
        recent[1],
        base[0],
        base[1],
        np.ascontiguousarray(params, dtype=np.float64),
        np.ascontiguousarray(rows, dtype=np.int64),
        np.ascontiguousarray(first, dtype=np.int64),
        patient,
        col,
        times,
        score,
        opened,
        float(yellow),
        float(recovery),
        int(max_open_us),
    )


def compile_kernels() -> None:
    """Compile (or load from numba's cache) every kernel now, on a tiny input: a service calls
    it before it says it is ready, so that its first patient does not wait seconds for it."""
    x = np.full((1, 1, 2), np.nan)
    x[0, 0, 1] = 1.0
    out = (np.empty(x.shape), np.empty(x.shape), np.empty(x.shape))
    rows = np.zeros(1, dtype=np.int64)
    baselines(x, ~np.isnan(x[0]), rows, rows, lag=1, width=1, min_values=1, mad_to_sd=1.0, out=out)
    recent = recent_means(x, 1)
    t = np.zeros(x.shape, dtype=np.int64)
    params = np.ones((4, 1))
    valid = ~np.isnan(x)
    patient, col, times, _, score, opened = scored_events(
        valid, t, recent, out[:2], params=params, yellow=1, recovery=1, max_open_us=1
    )
    rescore(
        valid,
        t,
        recent,
        out[:2],
        (patient, col, times, score, opened),
        params=params,
        rows=rows,
        first=rows,
        yellow=1,
        recovery=1,
        max_open_us=1,
    )
