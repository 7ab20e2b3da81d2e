"""The ingest service: MQTT in, PostgreSQL out, acknowledged only once committed.

Three threads. The MQTT session's network thread (``mqtt_session.py``) receives messages; its
callback only wraps each one in a frozen ``InboundMessage`` and queues it. The planner thread
(the caller of ``run``) takes messages in arrival order, batches them by size and time, parses
and checks them against the device registry. The commit thread (``committer.py``) stores each
planned batch in one transaction while the next is being planned, and only then hands the
batch's PUBACKs (in arrival order, as MQTT requires) and the devices' feedback back to the
network thread to send. A crash anywhere before the commit leaves the messages unacknowledged
in the broker's persistent session, which redelivers them; the store's key
(device, metric, measured_at) makes the redelivery add nothing.

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
from dataclasses import dataclass
from uuid import UUID

import psycopg

from hemkoll.ingest.committer import Committer, IngestStats
from hemkoll.ingest.mqtt_session import MqttSession
from hemkoll.ingest.pipeline import InboundMessage, MessagePlan, plan_batch
from hemkoll.observability.health import Heartbeat
from hemkoll.protocol.feedback import Rejection
from hemkoll.protocol.payload import Envelope, parse_envelope
from hemkoll.protocol.topics import (
    READINGS_QOS,
    device_id_from_topic,
    readings_subscription,
    shared_readings_subscription,
)
from hemkoll.settings import MqttEndpoint
from hemkoll.store.connect import connect_with_retry, retry_through_outages
from hemkoll.store.devices import devices_by_id
from hemkoll.store.readings import UrgentReading
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
# The GIL switch interval of an ingest process (CPython's default is 5 ms). The network and
# commit threads mostly wait on sockets, and each time one wakes it has to get the GIL back from
# the planner, which may keep it this long: with 5 ms, PUBACKs and commits queued behind the
# planner's CPU time. bench/ingest.py, one worker, interleaved runs: 27-32 % of broker-alone
# throughput with 5 ms, 36 % with 1 ms. Set by the ingest command (process-wide).
GIL_SWITCH_INTERVAL_S = 0.001
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
    # Which readings make their patient urgent in the evaluation queue: the programme's red
    # limits (rules.urgency.urgent_limits; ingest may not import the rules, its caller does).
    urgent: UrgentReading
    ca_file: str | None = None
    # None: one worker, persistent session. A name: a member of that shared-subscription group.
    share_group: str | None = None


class IngestService:
    def __init__(self, config: IngestConfig) -> None:
        self._config = config
        self._inbox: queue.SimpleQueue[InboundMessage] = queue.SimpleQueue()
        self._stopping = threading.Event()
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
        self._committer = Committer(
            config.database_url, config.topic_prefix, self._session, self._stopping, config.urgent
        )
        # The planner's own connection, for the device registry (the committer's is busy
        # storing the batch before).
        self._registry: psycopg.Connection | None = None
        self.heartbeat = Heartbeat()

    @property
    def stats(self) -> IngestStats:
        return self._committer.stats

    def wait_connected(self, timeout: float) -> bool:
        return self._session.wait_connected(timeout)

    def stop(self) -> None:
        """Ask the service to stop: the batches in hand are finished, the rest is redelivered
        (a shared member first leaves its group and stores what it was already assigned)."""
        self._stopping.set()

    def run(self) -> None:
        """Run until ``stop()``; returns once everything committed is acknowledged."""
        self._session.start()
        self._committer.start()
        try:
            if self._plan_loop() and self._config.share_group is not None:
                self._drain()
            self._committer.finish()
        finally:
            self._session.stop()
            self._drop_registry()
            log.info(
                "ingest stopped: %d messages, %d readings stored, %d duplicates, %d dead letters",
                self.stats.messages,
                self.stats.readings_stored,
                self.stats.readings_duplicate,
                self.stats.dead_letters,
            )

    # -- the planner -------------------------------------------------------------------------

    def _plan_loop(self) -> bool:
        """Plan batches and hand them to the committer until a stop; False if it ended first."""
        next_stats = time.monotonic() + STATS_LOG_INTERVAL_S
        while not self._stopping.is_set():
            self.heartbeat.beat()
            self._committer.check()
            batch = self._collect_batch()
            if batch and not self._plan_and_submit(batch):
                return False
            if time.monotonic() >= next_stats:
                next_stats += STATS_LOG_INTERVAL_S
                log.info("ingest totals: %s", self.stats)
        return True

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
                if not self._plan_and_submit(batch):
                    return  # the database is away: the devices resend the rest
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

    def _plan_and_submit(self, batch: list[tuple[InboundMessage, Envelope | Rejection]]) -> bool:
        """Check the batch against the registry and hand it to the committer; False if the
        service is stopping while the database is away, or the committer has ended."""
        prefix = self._config.topic_prefix
        device_ids = {
            device_id
            for message, _ in batch
            if (device_id := device_id_from_topic(prefix, message.topic)) is not None
        }
        devices = self._devices(sorted(device_ids)) if device_ids else {}
        if devices is None:
            return False
        plans: list[MessagePlan] = plan_batch(prefix, batch, devices)
        return self._committer.submit(plans)

    def _devices(self, device_ids: list[UUID]) -> dict[UUID, Device] | None:
        """The registry's entries for these ids, retrying through database outages; None if
        a stop is requested while the database is away."""
        return retry_through_outages(
            lambda: self._read_devices(device_ids),
            drop_connection=self._drop_registry,
            stopping=self._stopping,
            what="reading the device registry",
        )

    def _read_devices(self, device_ids: list[UUID]) -> dict[UUID, Device] | None:
        if self._registry is None:
            self._registry = connect_with_retry(
                self._config.database_url, stopping=self._stopping.is_set
            )
            if self._registry is None:  # a stop was requested while connecting
                return None
            self._registry.autocommit = True
        return devices_by_id(self._registry, device_ids)

    def _drop_registry(self) -> None:
        if self._registry is not None:
            self._registry.close()
            self._registry = None
