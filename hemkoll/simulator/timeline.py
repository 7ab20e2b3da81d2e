"""The simulated days: local dates, their UTC offsets, the weekly rhythm and holiday curves.

Times in the simulator are whole seconds since the Unix epoch (UTC) in int64 arrays. A local
time of day on simulated day ``d`` is turned into UTC through that day's local noon, so that a
morning time is right on the days daylight saving time starts or ends (the switch is at night).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from hemkoll.simulator.parameters import WEEKDAY_WEIGHT_PROFILE, SimulationParameters

SECONDS_PER_HOUR = 3600
SECONDS_PER_DAY = 86400
NOON_SECONDS = 12 * SECONDS_PER_HOUR

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Timeline:
    start: date
    days: int
    timezone: str
    # Per day: local noon in UTC epoch seconds, the UTC offset at noon in seconds, weekday
    # (Monday 0) and the date's ordinal (date.toordinal()).
    noon_utc: IntArray
    utc_offset: IntArray
    weekday: IntArray
    ordinal: IntArray

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days)

    def date_of(self, day: int) -> date:
        return self.start + timedelta(days=day)

    def to_utc(self, day: npt.NDArray[np.int64], local_hour: FloatArray) -> IntArray:
        """UTC epoch seconds of ``local_hour`` (may exceed 24) on simulated day ``day``."""
        seconds = np.rint((local_hour * SECONDS_PER_HOUR) - NOON_SECONDS).astype(np.int64)
        return self.noon_utc[day] + seconds

    def day_of_epoch(self, epoch: int) -> int:
        """The simulated day index whose local date contains ``epoch`` (may be out of range)."""
        zone = ZoneInfo(self.timezone)
        local = datetime.fromtimestamp(epoch, tz=UTC).astimezone(zone).date()
        return (local - self.start).days


def make_timeline(start: date, days: int, timezone: str) -> Timeline:
    if days < 1:
        raise ValueError("a simulation needs at least one day")
    zone = ZoneInfo(timezone)
    noon = np.empty(days, dtype=np.int64)
    offset = np.empty(days, dtype=np.int64)
    for day in range(days):
        local_noon = datetime.combine(start + timedelta(days=day), time(12), tzinfo=zone)
        noon[day] = int(local_noon.timestamp())
        utcoffset = local_noon.utcoffset()
        offset[day] = int(utcoffset.total_seconds()) if utcoffset is not None else 0
    first = start.toordinal()
    ordinal = np.arange(first, first + days, dtype=np.int64)
    # date.weekday() of ordinal 1 (0001-01-01) is Monday.
    weekday = (ordinal - 1) % 7
    return Timeline(start, days, timezone, noon, offset, weekday, ordinal)


def weekly_profile(timeline: Timeline) -> FloatArray:
    """Per day: the weekday profile centred on zero with a peak-to-trough range of one."""
    profile = np.asarray(WEEKDAY_WEIGHT_PROFILE, dtype=np.float64)
    centred: FloatArray = (profile - profile.mean()) / (profile.max() - profile.min())
    return centred[timeline.weekday]


def midsummer_eve(year: int) -> date:
    """Swedish Midsummer Eve: the Friday between 19 and 25 June."""
    june19 = date(year, 6, 19)
    return june19 + timedelta(days=(4 - june19.weekday()) % 7)


def _bump(
    timeline: Timeline, anchor: date, rise_days: int, return_days: int, lead_days: int = 0
) -> FloatArray:
    """A unit bump per day: 0 until ``anchor - lead_days``, rising linearly to 1 at
    ``anchor + rise_days``, falling linearly back to 0 over ``return_days``."""
    t = (timeline.ordinal - anchor.toordinal()).astype(np.float64)
    up = np.clip((t + lead_days) / max(rise_days + lead_days, 1), 0.0, 1.0)
    down = np.clip(1.0 - (t - rise_days) / return_days, 0.0, 1.0)
    return np.asarray(np.where(t <= rise_days, up, down), dtype=np.float64)


def midsummer_curve(timeline: Timeline, params: SimulationParameters) -> FloatArray:
    """Per day: share (0-1) of the patient's midsummer peak, summed over the years covered."""
    curve = np.zeros(timeline.days, dtype=np.float64)
    for year in range(timeline.start.year, timeline.end.year + 1):
        curve += _bump(
            timeline, midsummer_eve(year), params.midsummer_rise_days, params.midsummer_return_days
        )
    return curve


# Christmas bump: the rise starts on 20 December and peaks on 1 January [assumption].
_CHRISTMAS_RISE_START = (12, 20)
_CHRISTMAS_PEAK = (1, 1)


def christmas_curve(timeline: Timeline, params: SimulationParameters) -> FloatArray:
    """Per day: share (0-1) of the patient's Christmas peak, the kept half fading slowly."""
    curve = np.zeros(timeline.days, dtype=np.float64)
    kept = params.christmas_kept_share
    for year in range(timeline.start.year - 1, timeline.end.year + 1):
        peak = date(year + 1, *_CHRISTMAS_PEAK)
        lead = (peak - date(year, *_CHRISTMAS_RISE_START)).days
        transient = _bump(timeline, peak, 0, params.christmas_return_days, lead_days=lead)
        lasting = _bump(timeline, peak, 0, params.christmas_kept_fade_days, lead_days=lead)
        curve += (1.0 - kept) * transient + kept * lasting
    return curve
