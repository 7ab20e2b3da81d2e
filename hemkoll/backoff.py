"""One backoff for every reconnect loop: exponential, capped, jittered, with an optional give-up.

Pure except for the clock and the random source it is given. A loop holds one ``Retry`` (from
``Backoff.start``), asks it for the next delay after each failure, and resets it after a
success::

    retry = DATABASE_RECONNECT.start()
    while not stopping.is_set():
        started = time.monotonic()
        try:
            serve()
        except psycopg.OperationalError:
            if retry.expired:  # past the give-up time
                raise
            stopping.wait(retry.after_run(time.monotonic() - started))

The jitter spreads the reconnects of many workers after one restart, so they do not all knock
at the same moment.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Each delay is drawn within +-20 % of its nominal value: enough to spread a fleet of workers
# over a second or more after a restart, little enough that the cap still means what it says.
JITTER = 0.2


@dataclass(frozen=True)
class Backoff:
    """Delays of ``first_s``, then ``factor`` times the one before, each within +-``jitter``
    of that and never more than ``max_s``; ``give_up_after_s`` after the first failure, no
    more (None: never give up)."""

    first_s: float
    max_s: float
    factor: float = 2.0
    jitter: float = JITTER
    give_up_after_s: float | None = None

    def __post_init__(self) -> None:
        if not 0 < self.first_s <= self.max_s:
            raise ValueError("a backoff needs 0 < first_s <= max_s")
        if self.factor < 1:
            raise ValueError("a backoff's factor is at least 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    def nominal(self, failures: int) -> float:
        """The delay after ``failures`` failures in a row (1, 2, ...), before jitter."""
        delay = self.first_s
        # At most as many steps as it takes to reach the cap: a long outage must not overflow.
        for _ in range(max(failures - 1, 0)):
            if delay >= self.max_s or self.factor == 1:
                break
            delay *= self.factor
        return min(delay, self.max_s)

    def delay(self, failures: int, rand: float) -> float:
        """The delay after ``failures`` failures, with ``rand`` in [0, 1) placing it in the
        jitter band; never more than ``max_s``."""
        return min(self.max_s, self.nominal(failures) * (1 + self.jitter * (2 * rand - 1)))

    def start(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> Retry:
        return Retry(self, clock=clock, rand=rand)


@dataclass
class Retry:
    """The state of one loop's backoff: failures in a row, and since when."""

    backoff: Backoff
    clock: Callable[[], float] = field(default=time.monotonic)
    rand: Callable[[], float] = field(default=random.random)
    failures: int = 0
    failing_since: float | None = None

    def next_delay(self) -> float:
        """Count a failure; the delay before the next try (never past the give-up time)."""
        now = self.clock()
        if self.failing_since is None:
            self.failing_since = now
        self.failures += 1
        delay = self.backoff.delay(self.failures, self.rand())
        give_up = self.backoff.give_up_after_s
        if give_up is not None:
            delay = max(0.0, min(delay, self.failing_since + give_up - now))
        return delay

    @property
    def expired(self) -> bool:
        """Whether the give-up time has passed since the first failure of this outage."""
        give_up = self.backoff.give_up_after_s
        return (
            give_up is not None
            and self.failing_since is not None
            and self.clock() - self.failing_since >= give_up
        )

    def after_run(self, ran_s: float) -> float:
        """The delay after a try that worked for ``ran_s`` seconds and then failed: one that
        lasted at least ``max_s`` had recovered, so this failure starts a new outage (the first
        delay again); a shorter one (a peer that accepts and drops us at once) backs off on."""
        if ran_s >= self.backoff.max_s:
            self.reset()
        return self.next_delay()

    def reset(self) -> None:
        """A success: the next failure starts from the first delay again."""
        self.failures = 0
        self.failing_since = None
