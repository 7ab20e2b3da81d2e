"""The rules worker: evaluates patients from the queue and turns findings into alerts
(``hemkoll.alerts.evaluation``).

The ingest service queues every patient whose readings it commits (in the same transaction)
and NOTIFYs ``hemkoll_evaluate``; a change of a patient's rules, pause or stays queues her too.
Each evaluation stores the patient's next deadline (when her time-based rules could next fire
without a reading, ``rules.deadlines``), and a scheduled job (APScheduler) queues the patients
whose deadline has passed: deadlines, not sweeps, so the time-based rules cost per deadline,
not per patient enrolled. A worker started with another programme than the stored deadlines
were computed under queues those patients once. The worker claims due patients with a lease
(several workers may run), and
evaluates each in one transaction that holds the patient's row lock: it reads the recent
readings, runs the engine (``evaluate_cohort``, the same kernels as a backtest), applies
``alerting.decide`` and removes the patient from the queue. A failure rolls all of that back,
is logged (the error's class, never patient data) and is retried with backoff.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from hemkoll.alerts.batch_readings import ReadAhead, Request, read_ahead, request_of
from hemkoll.alerts.evaluation import Changes, evaluate_patient, evaluate_patients
from hemkoll.backoff import Backoff
from hemkoll.observability import metrics
from hemkoll.observability.health import Heartbeat
from hemkoll.observability.periodic import PeriodicJob, start_jobs
from hemkoll.rules import compile_kernels
from hemkoll.rules.config import RuleSet
from hemkoll.store import (
    evaluation_queue,
)
from hemkoll.store.connect import Conn, connect, serve_until_stopped
from hemkoll.store.listen import listening

log = logging.getLogger(__name__)

# Patients claimed per round: enough to amortise the claim, the batch's reads and the cohort
# engine's per-call cost (bench/worker_throughput.py), few enough that a lease (below) is never
# near running out while the round is evaluated (a few ms a patient on a busy machine).
CLAIM_BATCH = 200
# A claim's lease. Should its worker die, another claims the patient after this long.
LEASE_S = 60.0
# With nothing queued, the worker waits this long for a NOTIFY before it looks again (the
# queue is the truth; a NOTIFY only shortens the wait).
IDLE_WAIT_S = 5.0
# How often the scheduler looks for passed deadlines: a missing-measurement alert (48 h without
# a weight) is then at most this much later than its stored deadline (evaluation.ARRIVAL_GRACE
# after the silence's own). The look is an index range scan of the deadlines that
# have passed, so a short interval costs nothing per patient enrolled.
DEADLINE_POLL_S = 30.0
# Passed deadlines queued per statement: a morning deadline shared by a whole region is queued
# in a few short transactions rather than one long one.
DEADLINE_BATCH = 5_000
# The deadline job's name in /healthz, the logs and hemkoll_periodic_job_* metrics.
SCHEDULED_EVALUATION_JOB = "scheduled_evaluation"
# Retry of a failed evaluation: 5 s doubling per attempt up to an hour, jittered so that the
# patients that failed together (a bad deployment, say) spread out again.
EVALUATION_RETRY = Backoff(first_s=5.0, max_s=3600.0)
# Transaction failures that are not outages: the batch is tried again patient by patient.
ROLLED_BACK = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)


@dataclass(frozen=True)
class RulesConfig:
    database_url: str
    rule_set: RuleSet


def _utc_now() -> datetime:
    return datetime.now(UTC)


def retry_delay_s(attempts: int) -> float:
    return EVALUATION_RETRY.delay(attempts, random.random())  # noqa: S311 (jitter, not a secret)


class _Reading:
    """A connection of its own and a thread that reads batches ahead (``read_ahead``)."""

    def __init__(self, config: RulesConfig) -> None:
        self._config = config
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rules-read-ahead")
        self._conn: Conn | None = None

    def __enter__(self) -> _Reading:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True)
        if self._conn is not None:
            self._conn.close()

    def read(self, claims: Sequence[evaluation_queue.Claim], *, now: datetime) -> Future[ReadAhead]:
        return self._pool.submit(self._read, [request_of(c) for c in claims], now)

    def _read(self, requests: Sequence[Request], now: datetime) -> ReadAhead:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self._config.database_url)
        return read_ahead(self._conn, self._config.rule_set, requests, now=now)


class RulesWorker:
    def __init__(
        self,
        config: RulesConfig,
        heartbeat: Heartbeat | None = None,
        *,
        clock: Callable[[], datetime] = _utc_now,
        batch: int = CLAIM_BATCH,
    ) -> None:
        """``clock``: the time evaluations and deadlines are judged at (a replay's simulated
        clock; leases and retries keep the database's own). ``batch``: patients claimed and
        evaluated together."""
        self._config = config
        self._batch = batch
        self._clock = clock
        self.heartbeat = heartbeat or Heartbeat()
        self.scheduled_pass = PeriodicJob(SCHEDULED_EVALUATION_JOB, self.queue_due, DEADLINE_POLL_S)
        self._stopping = threading.Event()
        self.evaluated = 0
        self.failed = 0

    def stop(self) -> None:
        self._stopping.set()

    def process_due(self, conn: Conn) -> int:
        """Claim and evaluate due patients until none are left (or ``stop()``, which lets the
        batch in hand finish); returns how many were done.

        Through a backlog (a full batch claimed) the next batch is claimed before this one is
        evaluated and its readings are read meanwhile, on a connection of their own in a
        thread (``evaluation.read_ahead``): PostgreSQL reads while Python evaluates."""
        done = 0
        with contextlib.ExitStack() as resources:
            reading: _Reading | None = None
            claims = [] if self._stopping.is_set() else self._claim(conn)
            ahead: Future[ReadAhead] | None = None
            while claims:
                self.heartbeat.beat()  # a long backlog is work, not a stall
                following = None
                next_ahead = None
                if len(claims) == self._batch and not self._stopping.is_set():
                    following = self._claim(conn)
                    if following:
                        reading = reading or resources.enter_context(_Reading(self._config))
                        next_ahead = reading.read(following, now=self._clock())
                self._evaluate_batch(conn, claims, ahead=self._arrived(ahead))
                done += len(claims)
                if following is None:
                    following = [] if self._stopping.is_set() else self._claim(conn)
                claims, ahead = following, next_ahead
        return done

    def _claim(self, conn: Conn) -> list[evaluation_queue.Claim]:
        return evaluation_queue.claim(conn, limit=self._batch, lease_s=LEASE_S)

    def _arrived(self, ahead: Future[ReadAhead] | None) -> ReadAhead | None:
        """The batch's readings read ahead; None (the batch reads them itself) if that failed
        otherwise than by an outage (which the caller waits out)."""
        if ahead is None:
            return None
        try:
            return ahead.result()
        except Exception as exc:
            if isinstance(exc, psycopg.OperationalError):
                raise
            metrics.READ_AHEAD_FAILURES.inc()
            log.warning("reading a batch ahead failed (%s); it reads again", type(exc).__name__)
            return None

    def _evaluate_batch(
        self,
        conn: Conn,
        claims: Sequence[evaluation_queue.Claim],
        *,
        ahead: ReadAhead | None = None,
    ) -> None:
        """The claims in one transaction; should it fail, each on its own, so that one
        patient's failure (retried with backoff) does not hold up the others. ``ahead``:
        their readings, already read (and the time they are evaluated at)."""
        try:
            with conn.transaction():
                results = evaluate_patients(
                    conn,
                    self._config.rule_set,
                    [request_of(c) for c in claims],
                    now=self._clock() if ahead is None else ahead.now,
                    ahead=ahead,
                )
                evaluation_queue.finish(conn, claims)
        except Exception as exc:
            # An outage is waited out by the caller; anything else, a deadlock or a
            # serialization failure included, is this batch's: each patient is tried on its own.
            rolled_back = isinstance(exc, ROLLED_BACK)
            if isinstance(exc, psycopg.OperationalError) and not rolled_back:
                raise
            log.warning(
                "evaluating a batch of %d failed (%s); evaluating them one by one",
                len(claims),
                type(exc).__name__,
            )
            for claimed in claims:
                self._evaluate_claimed(conn, claimed)
            return
        for claimed in claims:
            self._evaluated(results.get(claimed.patient_id, Changes()))

    def _evaluated(self, changes: Changes) -> None:
        self.evaluated += 1
        metrics.EVALUATIONS.inc()
        for severity in changes.opened:
            metrics.ALERTS_OPENED.labels(severity).inc()
        for severity in changes.raised:
            metrics.ALERTS_RAISED.labels(severity).inc()

    def _evaluate_claimed(self, conn: Conn, claimed: evaluation_queue.Claim) -> None:
        try:
            with conn.transaction():
                changes = evaluate_patient(
                    conn,
                    self._config.rule_set,
                    claimed.patient_id,
                    now=self._clock(),
                    prompt=request_of(claimed).prompt,
                )
                evaluation_queue.finish(conn, [claimed])
            self._evaluated(changes)
        except Exception as exc:  # kept, logged and retried; never swallowed
            # An outage is waited out by the caller; a deadlock or a serialization failure
            # (OperationalErrors too) is this patient's, retried with backoff like any error.
            if isinstance(exc, psycopg.OperationalError) and not isinstance(exc, ROLLED_BACK):
                raise
            self.failed += 1
            metrics.EVALUATION_FAILURES.inc()
            delay = retry_delay_s(claimed.attempts)
            log.error(  # noqa: TRY400 (a traceback could quote patient data)
                "evaluation of a patient failed (%s, attempt %d); retrying in %.0f s",
                type(exc).__name__,
                claimed.attempts,
                delay,
            )
            evaluation_queue.postpone(
                conn, claimed.patient_id, delay_s=delay, error=type(exc).__name__
            )

    def run(self) -> None:
        """Evaluate as patients are queued, until ``stop()``; reconnects with backoff."""
        compile_kernels()  # before it is ready, not on its first patient
        scheduler = start_jobs(self.heartbeat, self.scheduled_pass)
        try:
            serve_until_stopped(self._serve, self._stopping, "rules worker")
        finally:
            scheduler.shutdown(wait=False)

    def _serve(self) -> None:
        with (
            connect(self._config.database_url) as conn,
            listening(self._config.database_url, evaluation_queue.EVALUATE_CHANNEL) as listener,
        ):
            self.queue_other_programme(conn)
            log.info("rules worker ready (rule set %s)", self._config.rule_set.name)
            while not self._stopping.is_set():
                self.heartbeat.beat()
                self.process_due(conn)
                listener.wait(IDLE_WAIT_S)

    def queue_other_programme(self, conn: Conn) -> int:
        """Queue the patients whose deadlines were computed under another programme."""
        queued = evaluation_queue.queue_other_programme(conn, self._config.rule_set.fingerprint)
        if queued:
            evaluation_queue.notify_workers(conn)
            conn.commit()
            log.info("programme changed: queued %d patients to recompute deadlines", queued)
        return queued

    def queue_due(self) -> None:
        """Queue the patients whose deadline has passed (idempotent: any replica may run it)."""
        queued = 0
        with connect(self._config.database_url) as conn:
            while not self._stopping.is_set():
                batch = evaluation_queue.queue_due(conn, now=self._clock(), limit=DEADLINE_BATCH)
                queued += batch
                if batch < DEADLINE_BATCH:
                    break
            if queued:
                evaluation_queue.notify_workers(conn)
                conn.commit()
                log.info("queued %d patients whose deadline passed", queued)
