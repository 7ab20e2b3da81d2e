"""A worker's periodic jobs (the dispatcher's escalation pass, the rules worker's scheduled
pass), run by APScheduler beside the worker's main loop.

Each run goes through ``run_job``: a failure is counted in
``hemkoll_periodic_job_failures_total{job,error}``, kept as a streak in the worker's
``Heartbeat`` (``/healthz`` turns red after ``health.FAILURES_UNHEALTHY`` in a row) and logged
with its error class; never swallowed behind a main loop that still beats.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from hemkoll.observability import metrics
from hemkoll.observability.health import FAILURES_UNHEALTHY, Heartbeat

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    """``run`` every ``interval_s``; ``name`` in /healthz, the logs and the metrics."""

    name: str
    run: Callable[[], None]
    interval_s: float


def run_job(job: PeriodicJob, heartbeat: Heartbeat) -> None:
    """One run of ``job``. Never raises (the scheduler would only log it): the next run is the
    retry."""
    try:
        job.run()
    except Exception as exc:  # noqa: BLE001 (counted, logged and in /healthz; the next run retries)
        streak = heartbeat.job_failed(job.name)
        metrics.PERIODIC_JOB_FAILURES.labels(job.name, type(exc).__name__).inc()
        # Not log.exception: a traceback or a database error can quote patient data.
        log.error(  # noqa: TRY400
            "%s failed (%s; %d in a row, unhealthy from %d); next run in %.0f s",
            job.name,
            type(exc).__name__,
            streak,
            FAILURES_UNHEALTHY,
            job.interval_s,
        )
    else:
        heartbeat.job_succeeded(job.name)


def start_jobs(heartbeat: Heartbeat, *jobs: PeriodicJob) -> BackgroundScheduler:
    """A started scheduler running each job at once and then every ``interval_s``; a run that
    is still going when the next falls due is not doubled (one instance, missed runs
    coalesced). Shut it down with ``shutdown(wait=False)``."""
    scheduler = BackgroundScheduler(timezone=UTC)
    for job in jobs:
        heartbeat.expect(job.name, job.interval_s)
        scheduler.add_job(
            run_job,
            "interval",
            args=(job, heartbeat),
            seconds=job.interval_s,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            id=job.name,
        )
    scheduler.start()
    return scheduler
