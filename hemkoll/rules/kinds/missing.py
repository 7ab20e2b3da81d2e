"""Missing-measurement rules: silence for N hours, or no reading by a local time of day.

Both start with the patient's first reading of the metric (before it, monitoring of the metric
had not begun) and end at the patient's horizon (``now``, or its newest reading of any metric
when no ``now`` is given). They are silent for paused patients (holiday), and during a
hospital stay and ``stays.DISCHARGE_GRACE`` after it: for ``after_hours``, a silence whose
deadline falls there is due at the end of the grace instead (still silent then: it fires
there; open stay: never); for ``by_local_time``, a day whose deadline falls there is not judged.

- ``after_hours``: after each reading, if the next one (or the horizon) comes later than
  reading + after_hours, the rule fires at that deadline. One finding per silence.
- ``by_local_time``: for every local calendar day of the patient's time zone, if no reading was
  measured between local midnight and the deadline (inclusive) and the deadline has passed, the
  rule fires at the deadline. Deadlines are resolved DST-correctly (see localtime): a wall time
  skipped by spring-forward moves to the same time after the gap, an ambiguous one on fall-back
  day takes its first occurrence.

A late upload of a reading measured before the deadline removes the finding from a later
evaluation; the alerts layer keeps what it has already reported.
"""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import JsonValue

from hemkoll.rules import explain
from hemkoll.rules.arrays import IntArray
from hemkoll.rules.config import MissingRule
from hemkoll.rules.findings import Finding, FindingContent, iso, utc
from hemkoll.rules.kinds.context import (
    NO_HITS,
    Context,
    Hits,
    grid_cells,
    local_date,
    local_text,
)
from hemkoll.rules.localtime import US_PER_DAY, US_PER_HOUR, wall_to_utc
from hemkoll.rules.series import NO_TIME, daily_grid
from hemkoll.rules.stays import covered, pushed_past

US_PER_MINUTE = 60_000_000


def evaluate(rule: MissingRule, ctx: Context) -> Hits:
    if rule.after_hours is not None:
        return _after_hours(rule, rule.after_hours, ctx)
    return _by_local_time(rule, ctx)


def _after_hours(rule: MissingRule, hours: float, ctx: Context) -> Hits:
    batch = ctx.batch(rule.metric)
    if batch.t.size == 0:
        return NO_HITS
    silence = round(hours * US_PER_HOUR)
    nxt = np.empty_like(batch.t)
    nxt[:-1] = batch.t[1:]
    has = batch.has_readings()
    ends = batch.offsets[1:][has] - 1  # each patient's last reading
    last = np.zeros(batch.t.size, dtype=bool)
    last[ends] = True
    nxt[ends] = ctx.horizon[has]
    deadline = batch.t + silence
    for p, intervals in enumerate(ctx.silent):
        if intervals:
            rows = slice(int(batch.offsets[p]), int(batch.offsets[p + 1]))
            deadline[rows] = pushed_past(intervals, deadline[rows])
    fire = nxt > deadline
    if ctx.paused.any():
        fire &= ~ctx.paused[batch.patient]
    at = np.flatnonzero(fire)
    # What a finding shows, taken for the hits: render keeps no array of the whole cohort.
    tz, last_t, last_v, still, next_t, due = (
        ctx.tz,
        batch.t[at],
        batch.v[at],
        last[at],
        nxt[at],
        deadline[at],
    )

    def render(k: int) -> Finding:
        return finding_after(
            rule,
            tz=tz,
            last=(int(last_t[k]), float(last_v[k])),
            next_at=None if still[k] else int(next_t[k]),
            due=int(due[k]),
        )

    red = np.full(at.size, rule.severity == "red")
    return Hits(patient=batch.patient[at], t=due, red=red, render=render)


def finding_after(
    rule: MissingRule,
    *,
    tz: ZoneInfo,
    last: tuple[int, float],
    next_at: int | None,
    due: int | None = None,
) -> Finding:
    """Silence after the ``last`` reading (measured_at µs, value); next_at None: still silent.
    ``due``: the deadline when a hospital stay moved it (default: after_hours after ``last``)."""
    hours = rule.after_hours or 0.0
    t, value = last
    if due is None:
        due = t + round(hours * US_PER_HOUR)
    en, sv = explain.missing_for(rule.metric, hours, local_text(t, tz))
    evidence: dict[str, JsonValue] = {
        "metric": rule.metric,
        "after_hours": hours,
        "last_reading_at": iso(t),
        "last_value": value,
        "deadline": iso(due),
        "next_reading_at": None if next_at is None else iso(next_at),
    }
    return Finding(rule.id, rule.kind, rule.severity, utc(due), FindingContent(evidence, en, sv))


def _by_local_time(rule: MissingRule, ctx: Context) -> Hits:
    if rule.by_local_time is None:  # validated away: exactly one of the two modes is set
        raise ValueError(f"missing rule {rule.id} has neither after_hours nor by_local_time")
    batch = ctx.batch(rule.metric)
    if batch.t.size == 0:
        return NO_HITS
    at = rule.by_local_time
    grid = daily_grid(batch, ctx.reading_days(rule.metric), horizon_day=ctx.horizon_days())
    width = grid.t.shape[1]
    has = batch.has_readings() & ~ctx.paused
    if not has.any():
        return NO_HITS
    first_day, last_day = int(grid.day0[has].min()), int(grid.day0[has].max()) + width
    days = np.arange(first_day, last_day, dtype=np.int64)
    deadlines_by_day = day_deadlines(days, at, ctx.tz)
    day_abs = grid.day0[:, None] + np.arange(width, dtype=np.int64)[None, :]
    deadline = deadlines_by_day[np.clip(day_abs - first_day, 0, days.size - 1)]
    first_t = np.where(has, batch.t[np.minimum(batch.offsets[:-1], batch.t.size - 1)], NO_TIME)
    silent = np.zeros(deadline.shape, dtype=bool)
    for p, intervals in enumerate(ctx.silent):
        if intervals:
            silent[p] = covered(intervals, deadline[p])
    fire = (
        ~silent
        & has[:, None]
        & (deadline > first_t[:, None])
        & (deadline < ctx.horizon[:, None])
        & ((grid.t == NO_TIME) | (grid.t > deadline))
    )
    rows, cols, _ = grid_cells([(rule.severity == "red", fire)])

    def render(k: int) -> Finding:
        p, d = int(rows[k]), int(cols[k])
        first_that_day = int(grid.t[p, d])
        return finding_by_time(
            rule,
            day=int(day_abs[p, d]),
            deadline=int(deadline[p, d]),
            first_that_day=None if first_that_day == NO_TIME else first_that_day,
        )

    red = np.full(rows.size, rule.severity == "red")
    return Hits(patient=rows, t=deadline[rows, cols], red=red, render=render)


def day_deadlines(days: IntArray, at: time, tz: ZoneInfo) -> IntArray:
    """The UTC instant (µs) of wall time ``at`` on each local day (days since 1970-01-01)."""
    return wall_to_utc(days * US_PER_DAY + at.hour * US_PER_HOUR + at.minute * US_PER_MINUTE, tz)


def finding_by_time(
    rule: MissingRule, *, day: int, deadline: int, first_that_day: int | None
) -> Finding:
    """No reading by the deadline (µs) of local ``day``; first_that_day: a later one, if any."""
    at = rule.by_local_time or time(0)
    local = f"{at.hour:02d}:{at.minute:02d}"
    day_text = local_date(day)
    en, sv = explain.missing_by_time(rule.metric, local, day_text)
    evidence: dict[str, JsonValue] = {
        "metric": rule.metric,
        "local_date": day_text,
        "local_time": local,
        "deadline": iso(deadline),
        "first_reading_that_day_at": None if first_that_day is None else iso(first_that_day),
    }
    return Finding(
        rule.id, rule.kind, rule.severity, utc(deadline), FindingContent(evidence, en, sv)
    )
