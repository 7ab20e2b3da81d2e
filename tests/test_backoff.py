"""The one backoff of every reconnect loop: exponential, capped, jittered, with a give-up time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hemkoll.backoff import Backoff


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_delays_double_up_to_the_cap_and_restart_after_a_success() -> None:
    retry = Backoff(first_s=0.5, max_s=4.0, jitter=0).start()
    assert [retry.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    retry.reset()
    assert retry.next_delay() == 0.5


@given(failures=st.integers(min_value=1, max_value=10_000), rand=st.floats(0, 1, exclude_max=True))
def test_every_delay_stays_within_the_jitter_band_of_its_capped_value(
    failures: int, rand: float
) -> None:
    backoff = Backoff(first_s=1.0, max_s=30.0, jitter=0.2)
    nominal = min(30.0, 2.0 ** min(failures - 1, 64))
    delay = backoff.delay(failures, rand)
    assert 0.8 * nominal <= delay <= min(1.2 * nominal, 30.0)  # the cap holds, jitter or not


def test_a_huge_factor_or_a_long_outage_stays_at_the_cap() -> None:
    assert Backoff(first_s=1.0, max_s=60.0, factor=1e6, jitter=0).nominal(10_000) == 60.0
    assert Backoff(first_s=1.0, max_s=60.0, factor=1.0, jitter=0).nominal(10_000) == 1.0


def test_a_try_that_lasted_starts_a_new_outage_and_one_dropped_at_once_backs_off() -> None:
    retry = Backoff(first_s=1.0, max_s=30.0, jitter=0).start()
    assert [retry.after_run(0.1) for _ in range(4)] == [1.0, 2.0, 4.0, 8.0]
    assert retry.after_run(29.0) == 16.0  # not long enough to count as recovered
    assert retry.after_run(30.0) == 1.0  # it had recovered: a new outage


def test_jitter_spreads_the_same_step() -> None:
    backoff = Backoff(first_s=1.0, max_s=30.0, jitter=0.2)
    assert backoff.delay(3, 0.0) == pytest.approx(3.2)
    assert backoff.delay(3, 0.5) == pytest.approx(4.0)
    assert backoff.delay(3, 0.999) == pytest.approx(4.8, abs=0.01)


def test_it_gives_up_after_the_give_up_time_and_never_sleeps_past_it() -> None:
    clock = FakeClock()
    retry = Backoff(first_s=1.0, max_s=8.0, jitter=0, give_up_after_s=10.0).start(clock=clock)
    waited = []
    while not retry.expired:
        delay = retry.next_delay()
        waited.append(delay)
        clock.now += delay
    assert waited == [1.0, 2.0, 4.0, 3.0]  # the last one ends exactly at the give-up time
    assert clock.now == 10.0
    retry.reset()
    assert not retry.expired
    assert retry.next_delay() == 1.0  # a success starts a new outage


def test_without_a_give_up_time_it_never_expires() -> None:
    clock = FakeClock()
    retry = Backoff(first_s=1.0, max_s=2.0, jitter=0).start(clock=clock)
    for _ in range(1000):
        clock.now += retry.next_delay()
    assert not retry.expired
    assert clock.now == 1999.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"first_s": 0, "max_s": 1},
        {"first_s": 2, "max_s": 1},
        {"first_s": 1, "max_s": 2, "jitter": 1},
    ],
)
def test_nonsense_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"backoff|jitter"):
        Backoff(**kwargs)
