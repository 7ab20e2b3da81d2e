"""Health of a worker: its main loop beats, and each of its periodic jobs reports every run.

A worker is unhealthy (``/healthz`` 503) when its loop has stopped beating; when a periodic job
(the dispatcher's escalation pass, the rules worker's scheduled pass) has failed
``FAILURES_UNHEALTHY`` times in a row, or has not succeeded for as many of its intervals (hung);
or once it has met a bug of its own (``fault``: e.g. a notification on a channel the dispatcher
does not know), until it is restarted. How a periodic job's runs are reported:
``periodic.run_job``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from hemkoll.observability import metrics

# The workers' loops wait at most 5 s (IDLE_WAIT_S) between rounds, and reconnect with a
# backoff capped at 30 s; a loop silent for longer than this is stuck, not waiting.
STALE_AFTER_S = 60.0
# A periodic job that failed this many times in a row is broken, not unlucky: a database
# restart costs it one run (sometimes two) and the next one catches up; three in a row (1.5 min
# of the 30 s escalation pass or of the rules worker's 30 s look for passed deadlines) needs
# someone to look.
FAILURES_UNHEALTHY = 3


@dataclass(frozen=True)
class Status:
    """What ``/healthz`` says: ``ok``, ``stalled`` (the loop) or ``failing`` (jobs, faults)."""

    state: str
    failing_jobs: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        return self.state == "ok"


class Heartbeat:
    def __init__(
        self, stale_after_s: float = STALE_AFTER_S, failures_unhealthy: int = FAILURES_UNHEALTHY
    ) -> None:
        self._stale_after_s = stale_after_s
        self._failures_unhealthy = failures_unhealthy
        self._last: float | None = None
        self._streaks: dict[str, int] = {}
        # Periodic jobs that must succeed now and then: interval, and the last success (or
        # when the job was started).
        self._expected: dict[str, tuple[float, float]] = {}
        self._faults: set[str] = set()
        self._lock = threading.Lock()

    def beat(self) -> None:
        with self._lock:
            self._last = time.monotonic()

    def expect(self, job: str, interval_s: float) -> None:
        """``job`` runs every ``interval_s``: one without a success for FAILURES_UNHEALTHY
        intervals (hung in a lock wait, say, so that the scheduler skips its runs) is failing."""
        with self._lock:
            self._expected[job] = (interval_s, time.monotonic())

    def job_succeeded(self, job: str) -> None:
        with self._lock:
            self._streaks[job] = 0
            if job in self._expected:
                self._expected[job] = (self._expected[job][0], time.monotonic())
        metrics.PERIODIC_JOB_FAILURE_STREAK.labels(job).set(0)

    def job_failed(self, job: str) -> int:
        """Count a failed run of ``job``; how many runs in a row have failed now."""
        with self._lock:
            streak = self._streaks.get(job, 0) + 1
            self._streaks[job] = streak
        metrics.PERIODIC_JOB_FAILURE_STREAK.labels(job).set(streak)
        return streak

    def fault(self, what: str) -> None:
        """A bug in this worker (e.g. ``delivery``): unhealthy until it is restarted."""
        with self._lock:
            self._faults.add(what)

    def status(self) -> Status:
        now = time.monotonic()
        with self._lock:
            last = self._last
            overdue = {
                job
                for job, (interval_s, ok_at) in self._expected.items()
                if now - ok_at > interval_s * self._failures_unhealthy
            }
            failing = tuple(
                sorted(
                    {job for job, n in self._streaks.items() if n >= self._failures_unhealthy}
                    | overdue
                    | self._faults
                )
            )
        if last is None or time.monotonic() - last > self._stale_after_s:
            return Status("stalled", failing)
        if failing:
            return Status("failing", failing)
        return Status("ok")

    def healthy(self) -> bool:
        return self.status().healthy
