"""When a patient's time-based rules could next fire without a new reading: her deadline. Pure.

Only the missing-measurement rules depend on the clock (every other rule is judged on readings,
see ``engine``). After each evaluation the worker stores the patient's next deadline and the
scheduler queues her again only once it has passed, so the cost of the time-based rules follows
readings and deadlines, not the number of patients enrolled (a sweep of every patient every 15
minutes needed N/900 evaluations a second).

A deadline may be early (an evaluation then finds nothing new: harmless), never late. Anything
else that changes what the rules would say (a reading, a rule change, a pause, a hospital stay)
queues the patient by itself and so recomputes her deadline.

- ``after_hours``: the newest reading of the metric + after_hours, pushed past hospital stays
  and their grace as ``kinds.missing`` does; a silence whose deadline has passed has fired
  already (one finding per silence), so it has no further deadline.
- ``by_local_time``: the next local day's deadline after ``now`` that is judged (not in a stay
  or its grace) and still open (no reading from that local midnight up to the deadline). The
  metric's monitoring must have begun (a reading before that deadline).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from hemkoll.rules.arrays import IntArray
from hemkoll.rules.config import MissingRule, RuleSet
from hemkoll.rules.findings import epoch_us, utc
from hemkoll.rules.kinds.missing import day_deadlines
from hemkoll.rules.localtime import US_PER_DAY, US_PER_HOUR, local_days, wall_to_utc
from hemkoll.rules.series import Series, as_epoch_us
from hemkoll.rules.stays import DISCHARGE_GRACE, OPEN_END, Intervals, Stay, as_intervals

# A stay or its grace can silence many days in a row: days past it are looked at in one go.
# Beyond this many days ahead a by_local_time deadline is not looked for (the patient is
# queued again by her discharge being recorded, which ends the open stay).
_DAYS_AHEAD = 64


def next_deadline(
    rule_set: RuleSet,
    series: Series,
    *,
    tz: ZoneInfo,
    now: datetime,
    paused: bool = False,
    stays: Sequence[Stay] = (),
) -> datetime | None:
    """The earliest instant after ``now`` at which a missing-measurement rule could fire on the
    readings given (the same ``series`` as ``engine.evaluate``); None: none can (paused, no
    missing rules, or none whose metric is being measured)."""
    if paused:
        return None
    now_us = epoch_us(now)
    silent = as_intervals(stays, grace=DISCHARGE_GRACE)
    candidates: list[int] = []
    for rule in rule_set.enabled():
        if not isinstance(rule, MissingRule):
            continue
        got = series.get(rule.metric)
        if got is None:
            continue
        t = as_epoch_us(got[0])
        t = t[t <= now_us]
        if t.size == 0:
            continue  # monitoring of the metric has not begun
        due = (
            _after_hours(rule.after_hours, int(t.max()), now_us, silent)
            if rule.after_hours is not None
            else _by_local_time(rule, np.sort(t), now_us, tz, silent)
        )
        if due is not None:
            candidates.append(due)
    return utc(min(candidates)) if candidates else None


def _after_hours(hours: float, newest: int, now_us: int, silent: Intervals) -> int | None:
    due = newest + round(hours * US_PER_HOUR)
    for start, end in silent:
        if start <= due < end:
            due = end
    # A missing rule fires once its deadline lies strictly before the horizon (now).
    if due == OPEN_END or due < now_us:
        return None  # in an open stay: never; passed: fired already
    return due


def _by_local_time(
    rule: MissingRule, t: IntArray, now_us: int, tz: ZoneInfo, silent: Intervals
) -> int | None:
    at = rule.by_local_time
    if at is None:  # validated away: exactly one of the two modes is set
        raise ValueError(f"missing rule {rule.id} has neither after_hours nor by_local_time")
    today = int(local_days(np.array([now_us], dtype=np.int64), tz)[0])
    days = np.arange(today, today + _DAYS_AHEAD, dtype=np.int64)
    deadlines = day_deadlines(days, at, tz)
    midnights = wall_to_utc(days * US_PER_DAY, tz)
    judged = deadlines >= now_us  # one at now has not fired yet (it fires strictly after)
    for start, end in silent:
        judged &= ~((deadlines >= start) & (deadlines < end))
    # A day already measured (from its local midnight up to the deadline) cannot fire.
    first_at_or_after_midnight = np.searchsorted(t, midnights, side="left")
    measured = (first_at_or_after_midnight < t.size) & (
        t[np.minimum(first_at_or_after_midnight, t.size - 1)] <= deadlines
    )
    open_days = np.flatnonzero(judged & ~measured & (deadlines > t[0]))
    return int(deadlines[open_days[0]]) if open_days.size else None
