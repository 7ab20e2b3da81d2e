"""Recording a dispatcher's attempts: settled in the outbox, logged in the delivery log, kept in
their endpoint's health, counted, and logged.

One webhook's attempt is one transaction: the record (``store.settle``: the notification
settled if the claim still holds, the attempt logged either way) and, for a centre's endpoint,
its health in a savepoint (a failure there is a bug of ours, but the record stands). A delivery
that ends a failing streak makes the endpoint's waiting backlog due; an endpoint that had not
been failing has none. A batch of device messages is one transaction and one round trip
(``store.record_many``): device messages keep no endpoint health.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psycopg

from hemkoll.notify.channels import Channels
from hemkoll.notify.delivery import log_settled
from hemkoll.observability import metrics
from hemkoll.store import endpoint_health
from hemkoll.store import notifications as store
from hemkoll.store.connect import Conn

log = logging.getLogger(__name__)


@dataclass
class DispatchStats:
    delivered: int = 0
    retried: int = 0
    expired: int = 0
    gone: int = 0
    lost_leases: int = 0


class AttemptRecorder:
    """Records attempts for a dispatcher; ``fault`` is its bug handler (counted, /healthz red,
    logged: ``Dispatcher._fault``). Thread-safe: each call brings its own connection."""

    def __init__(self, channels: Channels, fault: Callable[..., None]) -> None:
        self._channels = channels
        self._fault = fault
        self._lock = threading.Lock()
        self.stats = DispatchStats()

    def record(
        self, conn: Conn, claimed: store.ClaimedNotification, record: store.AttemptRecord
    ) -> None:
        centre_endpoint = self._channels[claimed.channel].centre_endpoint
        delivered = record.result == "delivered"
        failing: int | None = 0
        with conn.transaction():
            applied = store.settle(conn, claimed, record)
            if centre_endpoint:
                failing = self._observe_endpoint(conn, claimed, record)
        # Only an endpoint that had been failing (or whose health could not be read) has a
        # backlog waiting for it at a later step of the schedule.
        if applied and delivered and centre_endpoint and failing != 0:
            self._endpoint_answers(conn, claimed)
        self._settled(claimed, record, applied=applied)

    def record_devices(
        self, conn: Conn, records: Sequence[tuple[store.ClaimedNotification, store.AttemptRecord]]
    ) -> None:
        """A batch's records in one transaction (device messages keep no endpoint health)."""
        if self._channels["device"].centre_endpoint:  # a test's channel that does: one by one
            for claimed, record in records:
                self.record(conn, claimed, record)
            return
        applied = store.record_many(conn, records)
        for (claimed, record), was_applied in zip(records, applied, strict=True):
            self._settled(claimed, record, applied=was_applied)

    def _settled(
        self, claimed: store.ClaimedNotification, record: store.AttemptRecord, *, applied: bool
    ) -> None:
        """A recorded attempt in the metrics, the stats and the log."""
        metrics.NOTIFICATION_ATTEMPTS.labels(claimed.channel, record.result).inc()
        with self._lock:
            if not applied:
                self.stats.lost_leases += 1
            elif record.result == "delivered":
                self.stats.delivered += 1
            elif record.result == "retry":
                self.stats.retried += 1
            elif record.result == "expired":
                self.stats.expired += 1
            else:
                self.stats.gone += 1
        log_settled(claimed, record, applied=applied)

    def _observe_endpoint(
        self, conn: Conn, claimed: store.ClaimedNotification, record: store.AttemptRecord
    ) -> int | None:
        """The attempt in its endpoint's health, in a savepoint of the record's transaction: a
        failure other than an outage is a bug of ours, but the record itself stands. The
        failures in a row before it; None when that is not known."""
        try:
            with conn.transaction():
                return endpoint_health.observe(
                    conn,
                    claimed.health_centre_id,
                    claimed.channel,
                    at=record.started_at,
                    delivered=record.result == "delivered",
                    error=record.error,
                )
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            self._fault(
                type(exc).__name__,
                "notification %s: keeping its endpoint's health failed (%s); the attempt is "
                "recorded",
                claimed.id,
                type(exc).__name__,
            )
            return None

    def _endpoint_answers(self, conn: Conn, claimed: store.ClaimedNotification) -> None:
        """After a delivery (the record committed): the endpoint's waiting backlog is due now."""
        try:
            due = store.retry_endpoint_backlog_now(conn, claimed.health_centre_id, claimed.channel)
        except psycopg.OperationalError as exc:
            log.warning(
                "endpoint answers again, but its backlog could not be made due (%s); it "
                "follows its retry schedule",
                type(exc).__name__,
            )
            return
        if due:
            log.info("endpoint answers again: %d waiting notifications are due now", due)
