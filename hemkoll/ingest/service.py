"""The ingest service: MQTT in, PostgreSQL out, acknowledged only once committed.

Two threads. The MQTT session's network thread (``mqtt_session.py``) receives messages; its
callback only wraps each one in a frozen ``InboundMessage`` and queues it. The writer thread
(the caller of ``run``) takes messages in arrival order, batches them by size and time, stores
each batch in one transaction, and only then hands the batch's PUBACKs (in arrival order, as
MQTT requires) and the devices' feedback back to the network thread to send. A crash anywhere
before the commit leaves the messages unacknowledged in the broker's persistent session, which
redelivers them; the store's key (device, metric, measured_at) makes
the redelivery add nothing.

With a share group (``IngestConfig.share_group``) several workers divide the readings through an
MQTT 5 shared subscription. Each member has a clean session and a client id of its own, so a
member that is gone stops being handed messages at once (a persistent member would hoard its
share while away). What a killed member had received but not committed is then lost by the
broker (Mosquitto does not hand it to another member) and comes back when the device resends
it for want of feedback (docs/protocol.md); a member that is stopped first leaves the group and
finishes what it was already assigned. docs/scaling.md has the measurements.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import psycopg

from hemkoll.ingest.mqtt_session import MqttSession, Outgoing
from hemkoll.ingest.payload import Envelope, parse_envelope
from hemkoll.ingest.pipeline import (
    InboundMessage,
    MessagePlan,
    dead_letters,
    feedback_for,
    plan_batch,
)
from hemkoll.ingest.protocol import (
    FEEDBACK_QOS,
    READINGS_QOS,
    Rejection,
    device_id_from_topic,
    feedback_topic,
    readings_subscription,
    shared_readings_subscription,
)
from hemkoll.observability import metrics
from hemkoll.observability.health import Heartbeat
from hemkoll.settings import MqttEndpoint
from hemkoll.store.connect import (
    RECONNECT_MAX_DELAY_S,
    RECONNECT_MIN_DELAY_S,
    connect_with_retry,
)
from hemkoll.store.readings import BatchResult, ReadingWriter
from hemkoll.store.registry import devices_by_id
from hemkoll.store.types import Device

log = logging.getLogger(__name__)

# A batch closes at this many readings ...
BATCH_MAX_READINGS = 2000
# ... or this long after its first message arrived: short enough that a lone reading is stored
# (and its rules evaluated) at once, long enough to gather a burst into one transaction.
BATCH_MAX_WAIT_S = 0.05
# How often the writer wakes when idle to notice a stop request.
IDLE_POLL_S = 0.2
# How often throughput counters are logged.
STATS_LOG_INTERVAL_S = 60.0
# A shared-subscription member that is stopping has left its group and stores what the broker
# had already assigned to it until nothing has arrived for this long: the broker sends the next
# queued messages within a round trip of our acknowledgements, so half a second of silence
# means it has no more for us.
DRAIN_QUIET_S = 0.5
# ... but no longer than this: inside the 10 s a container runtime gives before SIGKILL
# (docker stop). What is left is lost with the clean session and resent by the devices.
DRAIN_MAX_S = 8.0
# Random hex digits appended to a shared member's client id: members need distinct ids (two
# connections with one id throw each other off), and a clean session needs no stable one.
MEMBER_ID_BYTES = 4


@dataclass(frozen=True)
class IngestConfig:
    database_url: str
    mqtt: MqttEndpoint
    topic_prefix: str
    client_id: str
    ca_file: str | None = None
    # None: one worker, persistent session. A name: a member of that shared-subscription group.
    share_group: str | None = None


@dataclass
class IngestStats:
    messages: int = 0
    readings_stored: int = 0
    readings_duplicate: int = 0
    dead_letters: int = 0
    batches: int = 0


class IngestService:
    def __init__(self, config: IngestConfig) -> None:
        self._config = config
        self._inbox: queue.SimpleQueue[InboundMessage] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self.stats = IngestStats()
        if config.share_group is None:
            self.client_id = config.client_id
            subscription = readings_subscription(config.topic_prefix)
        else:
            self.client_id = f"{config.client_id}-{secrets.token_hex(MEMBER_ID_BYTES)}"
            subscription = shared_readings_subscription(config.topic_prefix, config.share_group)
            log.info(
                "ingest is member %s of shared-subscription group %s",
                self.client_id,
                config.share_group,
            )
        self._session = MqttSession(
            config.mqtt,
            client_id=self.client_id,
            subscription=(subscription, READINGS_QOS),
            on_message=self._inbox.put,
            ca_file=config.ca_file,
            persistent=config.share_group is None,
        )
        self._writer: ReadingWriter | None = None
        self.heartbeat = Heartbeat()

    def wait_connected(self, timeout: float) -> bool:
        return self._session.wait_connected(timeout)

    def stop(self) -> None:
        """Ask the service to stop: the batch in hand is finished, the rest is redelivered
        (a shared member first leaves its group and stores what it was already assigned)."""
        self._stopping.set()

    def run(self) -> None:
        """Run until ``stop()``; returns once everything committed is acknowledged."""
        self._session.start()
        try:
            self._write_loop()
            if self._config.share_group is not None:
                self._drain()
        finally:
            self._session.stop()
            if self._writer is not None:
                self._writer.connection.close()
            log.info(
                "ingest stopped: %d messages, %d readings stored, %d duplicates, %d dead letters",
                self.stats.messages,
                self.stats.readings_stored,
                self.stats.readings_duplicate,
                self.stats.dead_letters,
            )

    # -- writer side -------------------------------------------------------------------------

    def _write_loop(self) -> None:
        next_stats = time.monotonic() + STATS_LOG_INTERVAL_S
        while not self._stopping.is_set():
            self.heartbeat.beat()
            batch = self._collect_batch()
            if batch:
                started = time.monotonic()
                committed = self._commit(batch)
                if committed is None:  # stopping before the database came back
                    return
                metrics.INGEST_BATCH_SECONDS.observe(time.monotonic() - started)
                plans, result = committed
                self._acknowledge(plans, result)
            if time.monotonic() >= next_stats:
                next_stats += STATS_LOG_INTERVAL_S
                log.info("ingest totals: %s", self.stats)

    def _drain(self) -> None:
        """Leave the share group, then store what the broker had already assigned to us.

        A clean session's unacknowledged messages die with it, so a member that simply
        disconnected would leave them to the devices' resends; this makes a planned stop (a
        deploy, scaling in) lose nothing at the broker. Bounded by DRAIN_MAX_S.
        """
        if not self._session.leave():
            log.warning("could not leave the share group; devices resend what was assigned to us")
            return
        started = last_activity = time.monotonic()
        while time.monotonic() - started < DRAIN_MAX_S:
            batch = self._collect_batch()
            if batch:
                committed = self._commit(batch)
                if committed is None:  # the database is away: the devices resend the rest
                    return
                self._acknowledge(*committed)
                last_activity = time.monotonic()
            elif time.monotonic() - last_activity >= DRAIN_QUIET_S:
                return
        log.warning(
            "stopped draining after %.0f s; the devices resend what is still assigned to us",
            DRAIN_MAX_S,
        )

    def _collect_batch(self) -> list[tuple[InboundMessage, Envelope | Rejection]]:
        try:
            first = self._inbox.get(timeout=IDLE_POLL_S)
        except queue.Empty:
            return []
        batch: list[tuple[InboundMessage, Envelope | Rejection]] = []
        readings = 0
        deadline = time.monotonic() + BATCH_MAX_WAIT_S
        message: InboundMessage | None = first
        while message is not None:
            envelope = parse_envelope(message.payload)
            batch.append((message, envelope))
            readings += len(envelope.readings) if isinstance(envelope, Envelope) else 1
            if readings >= BATCH_MAX_READINGS:
                break
            remaining = deadline - time.monotonic()
            try:
                message = (
                    self._inbox.get(timeout=remaining)
                    if remaining > 0
                    else self._inbox.get_nowait()
                )
            except queue.Empty:
                message = None
        return batch

    def _commit(
        self, batch: Sequence[tuple[InboundMessage, Envelope | Rejection]]
    ) -> tuple[list[MessagePlan], BatchResult] | None:
        """Store the batch, retrying through database outages with backoff.

        The first attempt is always made, so a stop request still finishes the batch in hand;
        None only when a stop is requested while the database is away (the batch is then not
        acknowledged, and the broker redelivers it).
        """
        prefix = self._config.topic_prefix
        delay = RECONNECT_MIN_DELAY_S
        while True:
            try:
                writer = self._writer or self._open_writer()
                if writer is None:
                    return None
                try:
                    return self._write_batch(writer, prefix, batch)
                except psycopg.OperationalError:
                    raise
                except psycopg.Error as exc:
                    # Not an outage: something in this batch the database refuses. Store
                    # message by message so that only the offending message is dead-lettered.
                    # Not log.exception: a database error can quote the values (patient data).
                    log.error(  # noqa: TRY400
                        "batch refused by the database (%s); storing one by one", exc.sqlstate
                    )
                    return self._commit_one_by_one(writer, prefix, batch)
            except psycopg.OperationalError as exc:
                log.warning(
                    "database error while storing a batch (%s); retrying in %.1f s",
                    exc.sqlstate,
                    delay,
                )
                self._drop_writer()
            if self._stopping.wait(delay):
                return None
            delay = min(delay * 2, RECONNECT_MAX_DELAY_S)

    def _write_batch(
        self,
        writer: ReadingWriter,
        prefix: str,
        batch: Sequence[tuple[InboundMessage, Envelope | Rejection]],
    ) -> tuple[list[MessagePlan], BatchResult]:
        conn = writer.connection
        device_ids = {
            device_id
            for message, _ in batch
            if (device_id := device_id_from_topic(prefix, message.topic)) is not None
        }
        devices: dict[UUID, Device] = {}
        if device_ids:
            with conn.transaction():
                devices = dict(devices_by_id(conn, sorted(device_ids)))
        plans = plan_batch(prefix, batch, devices)
        result = writer.write([plan.readings for plan in plans], dead_letters(plans))
        return plans, result

    def _commit_one_by_one(
        self,
        writer: ReadingWriter,
        prefix: str,
        batch: Sequence[tuple[InboundMessage, Envelope | Rejection]],
    ) -> tuple[list[MessagePlan], BatchResult]:
        plans: list[MessagePlan] = []
        stored: list[int] = []
        for item in batch:
            try:
                item_plans, result = self._write_batch(writer, prefix, [item])
            except psycopg.OperationalError:
                raise
            except psycopg.Error as exc:
                message, envelope = item
                msg_id = envelope.msg_id if isinstance(envelope, Envelope) else None
                refused = Rejection(
                    "store_refused",
                    f"the database refused this message ({type(exc).__name__}); "
                    "it was kept here for an operator",
                )
                item_plans = [
                    MessagePlan(
                        message, device_id_from_topic(prefix, message.topic), msg_id, (), (refused,)
                    )
                ]
                result = writer.write([()], dead_letters(item_plans))
            plans.extend(item_plans)
            stored.extend(result.stored)
        return plans, BatchResult(tuple(stored))

    def _open_writer(self) -> ReadingWriter | None:
        """A writer on a new connection; None if a stop was requested while connecting."""
        conn = connect_with_retry(self._config.database_url, stopping=self._stopping.is_set)
        if conn is None:
            return None
        try:
            self._writer = ReadingWriter(conn)
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
        prefix = self._config.topic_prefix
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
                    (feedback_topic(prefix, plan.device_id), outcome.to_json(), FEEDBACK_QOS)
                )
        self.stats.batches += 1
        metrics.INGEST_MESSAGES.inc(len(plans))
        if plans:
            # How long the oldest message of the batch waited in our hands before its PUBACK.
            oldest = min(plan.message.received_at for plan in plans)
            metrics.INGEST_BROKER_LAG_SECONDS.set((datetime.now(UTC) - oldest).total_seconds())
        self._session.send(Outgoing(tuple(plan.message for plan in plans), tuple(publishes)))
