"""When a notification is tried again, and what an attempt's result does to it. Pure.

A notification is ``pending`` until one attempt settles it::

    pending --delivered--> delivered
    pending --retry------> pending     (next attempt after the schedule's delay)
    pending --expired----> expired     (a failure after the schedule's last step)
    pending --gone-------> gone        (410 Gone, or a device that is no longer active)
    delivered | expired | gone --redeliver--> pending   (same id, the schedule starts over)

Webhooks follow the Standard Webhooks retry schedule: after the first attempt, 5 s, 5 min,
30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h (ten attempts over about three days and three
hours), each delay with jitter. A ``Retry-After`` header (seconds or an HTTP-date, on 429, 503
or any other status that sends it) can only push the next attempt later, up to a cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal

NotificationState = Literal["pending", "delivered", "expired", "gone"]
ResultKind = Literal["delivered", "retry", "expired", "gone"]
OutcomeKind = Literal["ok", "gone", "failed"]

# A redelivery puts a notification in one of these states back to pending.
SETTLED_STATES: frozenset[NotificationState] = frozenset({"delivered", "expired", "gone"})

# Every delay is multiplied by a factor drawn uniformly from [1 - JITTER, 1 + JITTER). When an
# endpoint comes back after an outage, every notification that failed during it would
# otherwise be retried in lockstep (they failed together and follow the same schedule) and hit
# the recovering receiver at once. +-20 % spreads such a herd over 40 % of each step (the 2 h
# step over 48 minutes) and keeps the schedule's shape: the 5 s retry stays within 4-6 s.
JITTER = 0.2
# Retry-After is a floor on the next attempt, never a ceiling: a receiver answering
# "Retry-After: 0" cannot burn the three days of attempts in a minute. It is capped at an
# hour: a rate limiter or a maintenance window says seconds to minutes, and a larger value
# (a misconfigured proxy) must not hold back an urgent alert for a day; from the 2 h step on
# the schedule is slower than the cap anyway.
RETRY_AFTER_CAP = timedelta(hours=1)


@dataclass(frozen=True)
class AttemptOutcome:
    """What one send came to, before the schedule decides what follows.

    ``ok``: the receiver took it (2xx, or the broker's PUBACK); ``gone``: it never will (410);
    ``failed``: anything else, with the status code if there was one, a short error for the
    delivery log, and the receiver's Retry-After if it gave one.
    """

    kind: OutcomeKind
    status_code: int | None = None
    error: str | None = None
    retry_after: timedelta | None = None


@dataclass(frozen=True)
class DeliveryResult:
    """The settled result of an attempt; ``retry_in`` is set exactly when ``kind == 'retry'``."""

    kind: ResultKind
    retry_in: timedelta | None = None

    def __post_init__(self) -> None:
        if (self.kind == "retry") != (self.retry_in is not None):
            raise ValueError("a retry, and only a retry, has a delay")
        if self.retry_in is not None and self.retry_in < timedelta(0):
            raise ValueError("a retry delay cannot be negative")

    @property
    def state(self) -> NotificationState:
        """The notification's state after this result."""
        if self.kind == "retry":
            return "pending"
        return self.kind


DELIVERED = DeliveryResult("delivered")
EXPIRED = DeliveryResult("expired")
GONE = DeliveryResult("gone")


def retry(delay: timedelta) -> DeliveryResult:
    return DeliveryResult("retry", delay)


@dataclass(frozen=True)
class RetrySchedule:
    """Delays after attempt 1, 2, ...; a failure after the last step expires the notification."""

    delays: tuple[timedelta, ...]
    jitter: float = JITTER
    retry_after_cap: timedelta = RETRY_AFTER_CAP

    def __post_init__(self) -> None:
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        if any(d < timedelta(0) for d in self.delays):
            raise ValueError("delays cannot be negative")

    @property
    def attempts(self) -> int:
        """Attempts in all before a notification expires."""
        return len(self.delays) + 1

    def after_failure(
        self, attempt: int, *, retry_after: timedelta | None, rand: float
    ) -> DeliveryResult:
        """Attempt ``attempt`` (1 for the first) failed: when to try again, or expired.

        ``rand`` is a uniform sample from [0, 1) (the caller's random source).
        """
        if attempt < 1:
            raise ValueError("attempts are counted from 1")
        if attempt > len(self.delays):
            return EXPIRED
        factor = 1 + self.jitter * (2 * rand - 1)
        delay = self.delays[attempt - 1] * factor
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.retry_after_cap))
        return retry(delay)


def decide(
    schedule: RetrySchedule, attempt: int, outcome: AttemptOutcome, *, rand: float
) -> DeliveryResult:
    """The result of attempt ``attempt`` (counted from 1) that came to ``outcome``."""
    if outcome.kind == "ok":
        return DELIVERED
    if outcome.kind == "gone":
        return GONE
    return schedule.after_failure(attempt, retry_after=outcome.retry_after, rand=rand)


def parse_retry_after(value: str | None, *, now: datetime) -> timedelta | None:
    """A Retry-After header (RFC 9110: delay-seconds or an HTTP-date) as a delay from ``now``.

    None when absent or unreadable (the schedule alone then decides); a date in the past is 0.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return timedelta(seconds=int(text))
    try:
        at = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if at.tzinfo is None:  # "-0000": UTC, says RFC 5322 (an HTTP-date is always GMT)
        at = at.replace(tzinfo=UTC)
    return max(at - now, timedelta(0))


def _steps(*seconds: float) -> tuple[timedelta, ...]:
    return tuple(timedelta(seconds=s) for s in seconds)


# The Standard Webhooks schedule (after the first attempt): about three days in all, so a
# health centre's receiver that is down over a long weekend still gets every alert.
WEBHOOK_SCHEDULE = RetrySchedule(
    _steps(5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600, 20 * 3600, 24 * 3600)
)
# Device messages: about 3 h 40 min in all. The only failure here is our own broker being
# unreachable (a restart takes seconds), and a message to the patient ("your health centre has
# been told", "your measurements look as usual") is only meaningful on the day of the
# measurement: a day later it is stale, or contradicted by what has happened since.
DEVICE_SCHEDULE = RetrySchedule(_steps(5, 30, 2 * 60, 10 * 60, 30 * 60, 3600, 2 * 3600))
