"""Ingest's commit stage: each planned batch stored in one transaction, then acknowledged.

The service's planner thread reads, parses and checks a batch while this thread stores the one
before: PostgreSQL works on one batch while Python plans the next, rather than each waiting for
the other (bench/ingest.py: the writer used to wait on PostgreSQL two thirds of its time).
Batches are committed and acknowledged one at a time, in the order they were planned, so the
PUBACKs leave in arrival order as MQTT requires.

A crash anywhere before a commit leaves its messages unacknowledged in the broker's session,
which redelivers them; the store's key makes the redelivery add nothing.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from hemkoll.ingest.mqtt_session import MqttSession, Outgoing
from hemkoll.ingest.pipeline import MessagePlan, dead_letters, feedback_for
from hemkoll.observability import metrics
from hemkoll.protocol.feedback import Rejection
from hemkoll.protocol.topics import FEEDBACK_QOS, feedback_topic
from hemkoll.store.connect import connect_with_retry, retry_through_outages
from hemkoll.store.readings import BatchResult, ReadingWriter, UrgentReading

log = logging.getLogger(__name__)

# Planned batches waiting for this thread at most: one ready while one commits is all the
# overlap there is; more would only hold messages (and memory) longer.
PIPELINE_DEPTH = 1
# How often a blocked hand-over looks whether this thread is still there.
HANDOVER_POLL_S = 0.2


@dataclass
class IngestStats:
    messages: int = 0
    readings_stored: int = 0
    readings_duplicate: int = 0
    dead_letters: int = 0
    batches: int = 0


class CommitStageFailed(RuntimeError):
    """The commit thread died of an unexpected error (its cause): ingest must stop."""


class Committer:
    """The commit thread, fed planned batches by ``submit`` and ended by ``finish``."""

    def __init__(
        self,
        database_url: str,
        topic_prefix: str,
        session: MqttSession,
        stopping: threading.Event,
        urgent: UrgentReading,
    ) -> None:
        self._database_url = database_url
        self._urgent = urgent
        self._prefix = topic_prefix
        self._session = session
        self._stopping = stopping
        self._queue: queue.Queue[list[MessagePlan] | None] = queue.Queue(maxsize=PIPELINE_DEPTH)
        self._thread = threading.Thread(target=self._run, name="ingest-commit", daemon=True)
        self._writer: ReadingWriter | None = None
        self._failure: BaseException | None = None
        self.stats = IngestStats()

    def start(self) -> None:
        self._thread.start()

    def submit(self, plans: list[MessagePlan]) -> bool:
        """Hand over a planned batch, waiting while one is already waiting.

        False when the thread has ended (asked to stop while the database was away): the batch
        is then not acknowledged and the broker redelivers it. Raises CommitStageFailed if the
        thread died of an error.
        """
        return self._put(plans)

    def finish(self) -> None:
        """Commit and acknowledge what was handed over, then end the thread (it gives up on
        what is left only if a stop is requested while the database is away)."""
        self._put(None)
        self._thread.join()
        self.check()

    def _put(self, item: list[MessagePlan] | None) -> bool:
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=HANDOVER_POLL_S)
            except queue.Full:
                continue
            return True
        self.check()
        return False

    def check(self) -> None:
        """Raise CommitStageFailed if the commit thread died of an error."""
        if self._failure is not None:
            raise CommitStageFailed("the ingest commit thread failed") from self._failure

    # -- the commit thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while (plans := self._queue.get()) is not None:
                started = time.monotonic()
                result = self._commit(plans)
                if result is None:  # stopping before the database came back
                    return
                metrics.INGEST_BATCH_SECONDS.observe(time.monotonic() - started)
                plans, batch = result
                self._acknowledge(plans, batch)
        except BaseException as exc:  # noqa: BLE001 - handed over, not swallowed
            # Re-raised in the planner's thread (check, submit, finish): the service stops, and
            # that re-raise carries the traceback.
            log.error("the commit thread failed (%s); ingest stops", type(exc).__name__)  # noqa: TRY400
            self._failure = exc
        finally:
            if self._writer is not None:
                self._writer.connection.close()

    def _commit(self, plans: list[MessagePlan]) -> tuple[list[MessagePlan], BatchResult] | None:
        """Store the batch, retrying through database outages with backoff; None only when a
        stop is requested while the database is away (the batch is then not acknowledged, and
        the broker redelivers it)."""
        return retry_through_outages(
            lambda: self._write(plans),
            drop_connection=self._drop_writer,
            stopping=self._stopping,
            what="storing a batch",
        )

    def _write(self, plans: list[MessagePlan]) -> tuple[list[MessagePlan], BatchResult] | None:
        writer = self._writer or self._open_writer()
        if writer is None:  # a stop was requested while connecting
            return None
        try:
            return plans, writer.write([plan.readings for plan in plans], dead_letters(plans))
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            # Not an outage: something in this batch the database refuses. Store message by
            # message so that only the offending message is dead-lettered. Not log.exception:
            # a database error can quote the values (patient data).
            log.error(  # noqa: TRY400
                "batch refused by the database (%s); storing one by one", exc.sqlstate
            )
            return self._commit_one_by_one(writer, plans)

    def _commit_one_by_one(
        self, writer: ReadingWriter, plans: Sequence[MessagePlan]
    ) -> tuple[list[MessagePlan], BatchResult]:
        done: list[MessagePlan] = []
        stored: list[int] = []
        for planned in plans:
            plan = planned
            try:
                result = writer.write([plan.readings], dead_letters([plan]))
            except psycopg.OperationalError:
                raise
            except psycopg.Error as exc:
                refused = Rejection(
                    "store_refused",
                    f"the database refused this message ({type(exc).__name__}); "
                    "it was kept here for an operator",
                )
                plan = MessagePlan(plan.message, plan.device_id, plan.msg_id, (), (refused,))
                result = writer.write([()], dead_letters([plan]))
            done.append(plan)
            stored.extend(result.stored)
        return done, BatchResult(tuple(stored))

    def _open_writer(self) -> ReadingWriter | None:
        """A writer on a new connection; None if a stop was requested while connecting."""
        conn = connect_with_retry(self._database_url, stopping=self._stopping.is_set)
        if conn is None:
            return None
        try:
            self._writer = ReadingWriter(conn, urgent=self._urgent)
        except BaseException:
            conn.close()
            raise
        return self._writer

    def _drop_writer(self) -> None:
        if self._writer is not None:
            self._writer.connection.close()
            self._writer = None

    def _acknowledge(self, plans: Sequence[MessagePlan], result: BatchResult) -> None:
        """PUBACK every committed message in arrival order, then tell each device its outcome."""
        feedback = feedback_for(plans, result)
        publishes = []
        for plan, outcome in zip(plans, feedback, strict=True):
            self.stats.messages += 1
            self.stats.readings_stored += outcome.stored
            self.stats.readings_duplicate += outcome.duplicates
            self.stats.dead_letters += len(outcome.rejected)
            metrics.INGEST_READINGS_STORED.inc(outcome.stored)
            metrics.INGEST_READINGS_DUPLICATE.inc(outcome.duplicates)
            for rejection in outcome.rejected:
                metrics.DEAD_LETTERS.labels(rejection.code).inc()
            if plan.device_id is not None:
                publishes.append(
                    (feedback_topic(self._prefix, plan.device_id), outcome.to_json(), FEEDBACK_QOS)
                )
        self.stats.batches += 1
        metrics.INGEST_MESSAGES.inc(len(plans))
        if plans:
            # How long the oldest message of the batch waited in our hands before its PUBACK.
            oldest = min(plan.message.received_at for plan in plans)
            metrics.INGEST_BROKER_LAG_SECONDS.set((datetime.now(UTC) - oldest).total_seconds())
        self._session.send(Outgoing(tuple(plan.message for plan in plans), tuple(publishes)))
