"""The retry schedules, Retry-After and the delivery results (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hemkoll.notify.schedule import (
    DELIVERED,
    DEVICE_SCHEDULE,
    EXPIRED,
    GONE,
    JITTER,
    RETRY_AFTER_CAP,
    WEBHOOK_SCHEDULE,
    AttemptOutcome,
    DeliveryResult,
    RetrySchedule,
    decide,
    parse_retry_after,
    retry,
)

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
FAILED = AttemptOutcome("failed", status_code=500, error="HTTP 500")


def test_the_webhook_schedule_is_the_standard_webhooks_one() -> None:
    assert [d.total_seconds() for d in WEBHOOK_SCHEDULE.delays] == [
        5,
        300,
        1800,
        7200,
        18000,
        36000,
        50400,
        72000,
        86400,
    ]
    assert WEBHOOK_SCHEDULE.attempts == 10
    total = sum(WEBHOOK_SCHEDULE.delays, timedelta())
    assert timedelta(days=3) < total < timedelta(days=3, hours=4)


def test_the_device_schedule_ends_the_same_day() -> None:
    assert sum(DEVICE_SCHEDULE.delays, timedelta()) < timedelta(hours=4)
    assert DEVICE_SCHEDULE.delays[0] == timedelta(seconds=5)


@pytest.mark.parametrize("rand", [0.0, 0.25, 0.5, 0.999999])
def test_jitter_stays_within_its_band(rand: float) -> None:
    for attempt, step in enumerate(WEBHOOK_SCHEDULE.delays, start=1):
        result = WEBHOOK_SCHEDULE.after_failure(attempt, retry_after=None, rand=rand)
        assert result.kind == "retry"
        assert result.retry_in is not None
        assert step * (1 - JITTER) <= result.retry_in <= step * (1 + JITTER)
    assert WEBHOOK_SCHEDULE.after_failure(1, retry_after=None, rand=0.5).retry_in == timedelta(
        seconds=5
    )


def test_a_failure_after_the_last_step_expires() -> None:
    schedule = RetrySchedule((timedelta(seconds=1), timedelta(seconds=2)), jitter=0)
    assert decide(schedule, 1, FAILED, rand=0.5) == retry(timedelta(seconds=1))
    assert decide(schedule, 2, FAILED, rand=0.5) == retry(timedelta(seconds=2))
    assert decide(schedule, 3, FAILED, rand=0.5) == EXPIRED
    assert decide(WEBHOOK_SCHEDULE, 10, FAILED, rand=0.5) == EXPIRED


def test_success_and_gone_settle_whatever_the_attempt() -> None:
    assert decide(WEBHOOK_SCHEDULE, 1, AttemptOutcome("ok", 204), rand=0.5) == DELIVERED
    assert decide(WEBHOOK_SCHEDULE, 10, AttemptOutcome("ok", 200), rand=0.5) == DELIVERED
    assert decide(WEBHOOK_SCHEDULE, 3, AttemptOutcome("gone", 410), rand=0.5) == GONE


def test_retry_after_is_a_floor_capped_at_an_hour() -> None:
    later = AttemptOutcome("failed", 429, retry_after=timedelta(seconds=120))
    assert decide(WEBHOOK_SCHEDULE, 1, later, rand=0.5) == retry(timedelta(seconds=120))
    # Sooner than the schedule: the schedule wins (no burning of attempts).
    sooner = AttemptOutcome("failed", 503, retry_after=timedelta(0))
    assert decide(WEBHOOK_SCHEDULE, 2, sooner, rand=0.5) == retry(timedelta(minutes=5))
    # A day: capped.
    huge = AttemptOutcome("failed", 503, retry_after=timedelta(days=1))
    assert decide(WEBHOOK_SCHEDULE, 1, huge, rand=0.5) == retry(RETRY_AFTER_CAP)
    # The last attempt expires whatever the receiver asks.
    assert decide(WEBHOOK_SCHEDULE, 10, later, rand=0.5) == EXPIRED


def test_retry_after_seconds_or_http_date() -> None:
    assert parse_retry_after("120", now=NOW) == timedelta(seconds=120)
    assert parse_retry_after(" 0 ", now=NOW) == timedelta(0)
    assert parse_retry_after("Tue, 04 Mar 2025 12:01:30 GMT", now=NOW) == timedelta(seconds=90)
    assert parse_retry_after("Tue, 04 Mar 2025 11:00:00 GMT", now=NOW) == timedelta(0)
    assert parse_retry_after(None, now=NOW) is None
    assert parse_retry_after("soon", now=NOW) is None
    assert parse_retry_after("-5", now=NOW) is None
    assert parse_retry_after("1.5", now=NOW) is None


def test_results_are_consistent_value_objects() -> None:
    assert retry(timedelta(seconds=5)).state == "pending"
    assert DELIVERED.state == "delivered"
    assert EXPIRED.state == "expired"
    assert GONE.state == "gone"
    with pytest.raises(ValueError, match="only a retry"):
        DeliveryResult("delivered", timedelta(seconds=1))
    with pytest.raises(ValueError, match="only a retry"):
        DeliveryResult("retry")
    with pytest.raises(ValueError, match="negative"):
        retry(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="counted from 1"):
        WEBHOOK_SCHEDULE.after_failure(0, retry_after=None, rand=0.5)
    with pytest.raises(ValueError, match="jitter"):
        RetrySchedule((), jitter=1.0)
