"""One patient's deterioration index day by day, as the index rule decides it. Pure.

The console draws it (the score over the chart's days, the opening and recovery levels, the
days the index was open): the kernel's own daily scores (``kinds.index.daily``), so the chart
and the alerts cannot disagree. A day's score is the highest of the day's events (each
signal's first reading of the day re-scores it); a day is *open* if the index was open at one
of them, which is the day the rule fires. Computed whether or not the rule is switched on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from hemkoll.rules.config import IndexRule
from hemkoll.rules.engine import cohort_context
from hemkoll.rules.kinds import index
from hemkoll.rules.series import Series
from hemkoll.rules.stays import Stay

_EPOCH_DAY = date(1970, 1, 1)


@dataclass(frozen=True)
class IndexDay:
    day: date
    score: float
    open: bool
    # Some signal had a baseline: without one the score is 0 only because it cannot say more.
    baseline: bool


@dataclass(frozen=True)
class IndexSeries:
    rule_id: str
    enabled: bool
    opening: float  # the rule's ``yellow``
    recovery: float
    red: float | None
    days: tuple[IndexDay, ...]  # the local days with an event, oldest first

    @property
    def has_baseline(self) -> bool:
        return any(d.baseline for d in self.days)

    @property
    def open_days(self) -> tuple[date, ...]:
        return tuple(d.day for d in self.days if d.open)


def history_needed(rule: IndexRule) -> timedelta:
    """How far before the first day shown the readings must go for its score to be exact."""
    return timedelta(days=rule.memory_days + 1)


def index_series(
    rule: IndexRule,
    series: Series,
    *,
    tz: ZoneInfo,
    now: datetime,
    stays: Sequence[Stay] = (),
) -> IndexSeries:
    """The index of ``rule`` over ``series`` (her readings up to ``now``) in her zone ``tz``;
    ``stays``: her hospital stays, left out of the baselines as the rule leaves them out."""
    ctx = cohort_context([series], tz=tz, now=now, stays=[stays])
    found = index.daily(rule, ctx)
    days: list[IndexDay] = []
    if found is not None:
        day0 = int(found.day0[0])
        for col in np.flatnonzero(~np.isnan(found.score[0])).tolist():
            days.append(
                IndexDay(
                    day=_EPOCH_DAY + timedelta(days=day0 + col),
                    score=float(found.score[0, col]),
                    open=bool(found.open[0, col]),
                    baseline=bool(found.baseline[0, col]),
                )
            )
    return IndexSeries(
        rule_id=rule.id,
        enabled=rule.enabled,
        opening=rule.yellow,
        recovery=rule.recovery,
        red=rule.red,
        days=tuple(days),
    )
