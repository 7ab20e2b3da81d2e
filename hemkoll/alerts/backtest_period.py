"""The period a backtest looks at: ``since``/``until`` (or the last ``days``), checked once.

The API, the CLI and the console's tuning preview all take the same period and refuse the same
mistakes, each naming the field at fault: a bound without its UTC offset, ``since`` not before
``until``, ``until`` in the future, or a span longer than ``MAX_SPAN``. A date (no time) means
the patient's local day: ``since`` its start, ``until`` its end (or now, when it is today).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

# The period shown when none is given: a quarter is what clinicians review at a follow-up.
DEFAULT_DAYS = 90
# The longest period: two years of readings (a few thousand per metric) backtest in seconds, and
# a longer look back says more about the rules of then than of now. The rules' own history
# before ``since`` (required_history) comes on top.
MAX_SPAN = timedelta(days=730)

Bound = date | datetime


class PeriodError(ValueError):
    """A bound cannot be used; ``field`` names it (``since``, ``until`` or ``days``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime

    @property
    def days(self) -> float:
        return (self.until - self.since) / timedelta(days=1)


def parse_bound(field: str, text: str) -> Bound:
    """An ISO date (``2026-03-01``) or a time with its offset (``2026-03-01T08:00+01:00``)."""
    text = text.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise PeriodError(field, "not an ISO date or date and time") from exc
    if value.tzinfo is None:
        raise PeriodError(field, "a time needs its UTC offset (or give a date)")
    return value


def _at(field: str, bound: Bound, tz: tzinfo, *, end: bool) -> datetime:
    if isinstance(bound, datetime):
        if bound.tzinfo is None or bound.utcoffset() is None:
            raise PeriodError(field, "a time needs its UTC offset (or give a date)")
        return bound
    day = bound + timedelta(days=1) if end else bound
    return datetime.combine(day, time(), tzinfo=tz)


def resolve_period(
    *,
    since: Bound | None,
    until: Bound | None,
    days: int | None,
    now: datetime,
    tz: tzinfo,
) -> Period:
    """The period asked for: ``until`` defaults to now, ``since`` to ``days`` before it."""
    if since is not None and days is not None:
        raise PeriodError("days", "give since or days, not both")
    if until is None:
        end = now
    else:
        end = _at("until", until, tz, end=True)
        if not isinstance(until, datetime) and until == now.astimezone(tz).date():
            end = now  # today: up to now
        if end > now:
            raise PeriodError("until", "is in the future")
    if since is None:
        span = DEFAULT_DAYS if days is None else days
        if not 1 <= span <= MAX_SPAN.days:
            raise PeriodError("days", f"must be between 1 and {MAX_SPAN.days}")
        start = end - timedelta(days=span)
    else:
        start = _at("since", since, tz, end=False)
    if start >= end:
        raise PeriodError("since", "must be before until")
    if end - start > MAX_SPAN:
        raise PeriodError("since", f"the period is at most {MAX_SPAN.days} days")
    return Period(since=start, until=end)
