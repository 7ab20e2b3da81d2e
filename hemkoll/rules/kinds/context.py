"""What every rule kind evaluates against: a cohort's normalised readings, time zone and horizon."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar, cast
from zoneinfo import ZoneInfo

import numpy as np

from hemkoll.rules.arrays import BoolArray, FloatArray, IntArray
from hemkoll.rules.findings import Finding, utc
from hemkoll.rules.localtime import local_days
from hemkoll.rules.series import (
    NO_TIME,
    DailyGrid,
    MetricBatch,
    build_batch,
    daily_grid,
)
from hemkoll.rules.stays import Intervals, covered


@dataclass(frozen=True)
class Hits:
    """One rule's firings over a cohort, as columns; ``render(k)`` builds the k-th Finding.

    Detection is vectorised; a Finding (evidence, sentences) is built only when asked for, so
    a backtest over thousands of patients does not format sentences nobody reads.
    """

    patient: IntArray
    t: IntArray  # fired_at, epoch µs
    red: BoolArray
    render: Callable[[int], Finding]

    def __len__(self) -> int:
        return int(self.t.size)


def grid_cells(levels: list[tuple[bool, BoolArray]]) -> tuple[IntArray, IntArray, BoolArray]:
    """(patient, column, red) of the True cells of each level's (P, W) mask, levels in order."""
    rows, cols, reds = [], [], []
    for is_red, fire in levels:
        p, d = np.nonzero(fire)
        rows.append(p.astype(np.int64))
        cols.append(d.astype(np.int64))
        reds.append(np.full(p.size, is_red))
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(reds)


def daily_level_cells(
    measure: FloatArray,
    grid: DailyGrid,
    *,
    red: float | None,
    yellow: float | None,
    where: BoolArray | None = None,
) -> tuple[IntArray, IntArray, BoolArray]:
    """(patient, column, red) of the days a two-level daily rule fires.

    A level fires on each of a patient's days with a value on which ``measure`` reaches its
    limit (and ``where`` holds): the first such day, and again each day the condition is still
    true (as ``series.run_firings`` does reading by reading). Yellow is not reported on days red
    holds. Red cells come first.
    """
    base = np.ones(measure.shape, dtype=bool) if where is None else where
    levels: list[tuple[bool, BoolArray]] = []
    red_on = np.zeros(measure.shape, dtype=bool)
    with np.errstate(invalid="ignore"):  # NaN cells (no value) compare False
        if red is not None:
            red_on = base & (measure >= red)
            levels.append((True, red_on & grid.valid))
        if yellow is not None:
            yellow_on = base & (measure >= yellow)
            levels.append((False, yellow_on & grid.valid & ~red_on))
    return grid_cells(levels)


def _no_finding(k: int) -> Finding:
    raise IndexError(f"hit {k} of an empty result")


NO_HITS = Hits(
    patient=np.zeros(0, dtype=np.int64),
    t=np.zeros(0, dtype=np.int64),
    red=np.zeros(0, dtype=bool),
    render=_no_finding,
)
_EPOCH_DAY = date(1970, 1, 1)
_T = TypeVar("_T")


@dataclass(frozen=True)
class Context:
    tz: ZoneInfo
    batches: Mapping[str, MetricBatch]
    # Per patient: the instant up to which absence of readings counts (``now``, or without a
    # ``now`` the patient's newest reading of any metric; NO_TIME if it has none).
    horizon: IntArray
    paused: BoolArray
    # Per patient: hospital stays as merged µs intervals (hemkoll.rules.stays); the stays
    # themselves, and extended by DISCHARGE_GRACE for missing-measurement rules.
    stays: tuple[Intervals, ...] = ()
    silent: tuple[Intervals, ...] = ()
    _daily: dict[str, DailyGrid] = field(default_factory=dict)
    _days: dict[str, IntArray] = field(default_factory=dict)
    _shared: dict[tuple[str, ...], object] = field(default_factory=dict)

    @property
    def n_patients(self) -> int:
        return len(self.horizon)

    def batch(self, metric: str) -> MetricBatch:
        found = self.batches.get(metric)
        if found is not None:
            return found
        return build_batch([None] * self.n_patients, None)

    def daily(self, metric: str) -> DailyGrid:
        grid = self._daily.get(metric)
        if grid is None:
            grid = daily_grid(self.batch(metric), self.reading_days(metric))
            self._daily[metric] = grid
        return grid

    def shared(self, key: tuple[str, ...], build: Callable[[], _T]) -> _T:
        """What ``build`` makes from this context, made once per ``key`` (a kind and what it
        depends on): e.g. the day grid of the signals that two index rules share."""
        if key not in self._shared:
            self._shared[key] = build()
        return cast(_T, self._shared[key])

    def reading_days(self, metric: str) -> IntArray:
        """The local day of each of the metric's readings (``batch(metric)`` order)."""
        days = self._days.get(metric)
        if days is None:
            days = np.asarray(local_days(self.batch(metric).t, self.tz), dtype=np.int64)
            self._days[metric] = days
        return days

    def in_stay(self, grid: DailyGrid) -> BoolArray:
        """Which cells of a daily grid hold a reading taken during a hospital stay."""
        inside = np.zeros(grid.t.shape, dtype=bool)
        for p, intervals in enumerate(self.stays):
            if intervals:
                inside[p] = covered(intervals, grid.t[p])
        return inside

    def horizon_days(self) -> IntArray:
        days = local_days(np.where(self.horizon == NO_TIME, 0, self.horizon), self.tz)
        return np.asarray(days, dtype=np.int64)


def local_text(us: int, tz: ZoneInfo) -> str:
    """Local date and time for a nurse, e.g. '2024-03-31 08:05'."""
    return utc(us).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def local_date(day: int) -> str:
    """ISO date of a local day number."""
    return (_EPOCH_DAY + timedelta(days=day)).isoformat()
