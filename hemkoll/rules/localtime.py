"""Vectorised local calendar for a zoneinfo time zone: UTC instants to local days and back.

``zoneinfo`` converts one datetime at a time; rules over thousands of patients need whole arrays.
We read each year's UTC-offset transitions from zoneinfo once (cached) and then convert arrays
with ``searchsorted``. Wall times that do not exist (spring forward) or exist twice (fall back)
resolve like ``datetime(..., tzinfo=tz)`` with ``fold=0`` does: the offset in force before the
transition, so a 02:30 deadline on the Swedish spring-forward day is 03:30 CEST and on the
fall-back day the first 02:30 (CEST).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from hemkoll.rules.arrays import IntArray

US_PER_SECOND = 1_000_000
SECONDS_PER_DAY = 86_400
US_PER_HOUR = 3_600 * US_PER_SECOND
US_PER_DAY = SECONDS_PER_DAY * US_PER_SECOND
# Zone offsets are sampled every 6 hours and the transitions then located to the second by
# bisection. No zone in the tz database changes offset twice within 6 hours.
_SAMPLE_STEP_S = 6 * 3_600
# Years covered around the data, so that windows reaching into a neighbouring year are covered.
_YEAR_MARGIN = 1
# datetime64 year numbering starts at 1970.
_EPOCH_YEAR = 1970
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The instants (µs since the epoch) a datetime can hold: years 1 to 9999.
_DATETIME_MIN_US = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
_DATETIME_MAX_US = (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - _EPOCH) // timedelta(
    microseconds=1
)


def _offset_s(tz: ZoneInfo, epoch_s: int) -> int:
    offset = datetime.fromtimestamp(epoch_s, tz=tz).utcoffset()
    if offset is None:  # a ZoneInfo always has an offset
        raise ValueError(f"time zone {tz} has no UTC offset")
    return int(offset.total_seconds())


@lru_cache(maxsize=4_096)
def _year(tz: ZoneInfo, year: int) -> tuple[int, tuple[tuple[int, int], ...]]:
    """Offset at the start of ``year`` (UTC) and the (instant, new offset) transitions in it."""
    start = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())
    first = _offset_s(tz, start)
    transitions: list[tuple[int, int]] = []
    prev_s, prev_off = start, first
    for s in range(start + _SAMPLE_STEP_S, end + _SAMPLE_STEP_S, _SAMPLE_STEP_S):
        s_clamped = min(s, end)
        off = _offset_s(tz, s_clamped)
        if off != prev_off:
            lo, hi = prev_s, s_clamped
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset_s(tz, mid) == prev_off:
                    lo = mid
                else:
                    hi = mid
            if hi < end:
                transitions.append((hi, off))
            prev_off = off
        prev_s = s_clamped
    return first, tuple(transitions)


@lru_cache(maxsize=256)
def _table(tz: ZoneInfo, first_year: int, last_year: int) -> tuple[IntArray, IntArray]:
    """Transition instants (µs) and offsets (µs); offsets[k] holds before transition k."""
    first, _ = _year(tz, first_year)
    instants: list[int] = []
    offsets: list[int] = [first * US_PER_SECOND]
    for year in range(first_year, last_year + 1):
        for instant, off in _year(tz, year)[1]:
            instants.append(instant * US_PER_SECOND)
            offsets.append(off * US_PER_SECOND)
    return np.asarray(instants, dtype=np.int64), np.asarray(offsets, dtype=np.int64)


def _utc_year(us: int) -> int:
    """The UTC calendar year of an instant (µs since the epoch)."""
    if _DATETIME_MIN_US <= us <= _DATETIME_MAX_US:  # datetime's (a tenth of numpy's time)
        return (_EPOCH + timedelta(microseconds=us)).year
    return int(
        np.array([us], dtype="datetime64[us]").astype("datetime64[Y]").astype(np.int64)[0]
    ) + (_EPOCH_YEAR)


def _years(lo_us: int, hi_us: int) -> tuple[int, int]:
    return _utc_year(lo_us) - _YEAR_MARGIN, _utc_year(hi_us) + _YEAR_MARGIN


def utc_offsets(t_us: IntArray, tz: ZoneInfo) -> IntArray:
    """UTC offset (µs) in force at each UTC instant."""
    if t_us.size == 0:
        return np.zeros(0, dtype=np.int64)
    instants, offsets = _table(tz, *_years(int(t_us.min()), int(t_us.max())))
    return offsets[np.searchsorted(instants, t_us, side="right")]


def local_days(t_us: IntArray, tz: ZoneInfo) -> IntArray:
    """Local calendar day of each UTC instant, as days since 1970-01-01 (local)."""
    local = utc_offsets(t_us, tz)  # a new array: worked on in place
    local += t_us
    local //= US_PER_DAY
    return local


def wall_to_utc(wall_us: IntArray, tz: ZoneInfo) -> IntArray:
    """UTC instant of each local wall time (µs since local 1970-01-01), resolved with fold=0."""
    if wall_us.size == 0:
        return np.zeros(0, dtype=np.int64)
    # A day of margin so the transition table covers the wall times' UTC instants.
    instants, offsets = _table(
        tz, *_years(int(wall_us.min()) - US_PER_DAY, int(wall_us.max()) + US_PER_DAY)
    )
    # fold=0 takes the earlier offset until the wall clock passes the transition under both
    # offsets, i.e. until instant + max(offset before, offset after).
    boundaries = instants + np.maximum(offsets[:-1], offsets[1:])
    return wall_us - offsets[np.searchsorted(boundaries, wall_us, side="right")]
