"""Hospital stays in the engine's terms: per patient, intervals of epoch µs. Pure.

A patient in hospital is measured by the ward, not at home: her missing home readings say
nothing (missing-measurement rules are silent from admission until ``DISCHARGE_GRACE`` after
discharge), and her readings taken there, if a device came along, are not her home baseline
(personal-baseline and trend rules leave them out of their reference windows).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np

from hemkoll.rules.arrays import BoolArray, IntArray
from hemkoll.rules.findings import epoch_us

# A stay still open (no discharge recorded yet) lasts, for the rules, until the end of time.
OPEN_END = int(np.iinfo(np.int64).max)
# After discharge, missing-measurement rules stay silent this long: the first two days home
# the patient settles in, the devices come back out of the bag, and the care team's discharge
# follow-up call (within 48 h in the programme) covers her; an alert then would be noise.
DISCHARGE_GRACE = timedelta(hours=48)

Stay = tuple[datetime, datetime | None]
Intervals = tuple[tuple[int, int], ...]


def as_intervals(stays: Sequence[Stay], *, grace: timedelta = timedelta(0)) -> Intervals:
    """Stays as sorted, merged [start, end) µs intervals, each end ``grace`` later."""
    raw = sorted(
        (epoch_us(start), OPEN_END if end is None else epoch_us(end + grace))
        for start, end in stays
    )
    merged: list[tuple[int, int]] = []
    for start, end in raw:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def covered(intervals: Intervals, t: IntArray) -> BoolArray:
    """Which of the instants ``t`` fall inside one of the intervals."""
    inside = np.zeros(t.shape, dtype=bool)
    for start, end in intervals:
        inside |= (t >= start) & (t < end)
    return inside


def pushed_past(intervals: Intervals, t: IntArray) -> IntArray:
    """Each instant, or the end of the interval it falls inside (merged: never another's)."""
    out = t.copy()
    for start, end in intervals:
        inside = (t >= start) & (t < end)
        out[inside] = end
    return out


def silent_at(stays: Sequence[Stay], at: datetime) -> bool:
    """Whether ``at`` falls in one of the stays or its ``DISCHARGE_GRACE`` (the time the
    missing-measurement rules are silent)."""
    t = epoch_us(at)
    return any(start <= t < end for start, end in as_intervals(stays, grace=DISCHARGE_GRACE))
