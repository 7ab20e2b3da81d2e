"""The dispatcher: delivers the notification outbox and escalates red alerts on time.

The thread of ``run`` LISTENs on ``hemkoll_dispatch`` (sent in the transaction that writes a
notification) and claims due notifications with a lease, in two lanes of their own so that
neither waits for the other: webhooks, as many as it has free send threads, each sent and
recorded on a thread of a small pool, so one slow endpoint does not hold up the others (and
the claim caps how many of one endpoint's are in flight); and device messages, in batches
published together (their PUBACKs awaited together) and recorded in one transaction, on
threads of their own. The loop sleeps until a NOTIFY, a freed thread, or the next retry falls
due, whichever comes first: a notification leaves within milliseconds of its commit. Several
dispatchers may run; one that dies loses its leases, and another sends those notifications again
with the same webhook-id.
APScheduler jobs run ``escalate_due`` and the outbox's retention (``retention.delete_expired``).
Database outages are waited out with backoff.

On ``stop()`` (SIGTERM) it claims nothing more, gives the sends in flight STOP_GRACE_S to finish
and be recorded, and returns without those still going: they run on daemon threads, so the
process exits, and what they claimed is left to its lease (sent again, with the same id, once
the lease runs out: the dispatcher's at-least-once, as after a kill). A claim is only made for
a free thread and starts sending at once, so nothing claimed waits unsent.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
from psycopg_pool import ConnectionPool

from hemkoll.notify.channels import Channels, DeliveryBug, standard_channels
from hemkoll.notify.delivery import attempt, attempt_devices
from hemkoll.notify.device import DevicePublisher
from hemkoll.notify.escalation import escalate_due
from hemkoll.notify.recording import AttemptRecorder, DispatchStats
from hemkoll.notify.retention import RETENTION_INTERVAL_S, delete_expired
from hemkoll.notify.schedule import DEVICE_SCHEDULE, WEBHOOK_SCHEDULE, RetrySchedule
from hemkoll.notify.webhook import webhook_client
from hemkoll.observability import metrics
from hemkoll.observability.health import Heartbeat
from hemkoll.observability.periodic import PeriodicJob, start_jobs
from hemkoll.settings import DEFAULT_NOTIFICATION_RETENTION_DAYS, MqttEndpoint
from hemkoll.store import notifications as store
from hemkoll.store.connect import Conn, configure, connect, serve_until_stopped
from hemkoll.store.listen import listening
from hemkoll.store.notifications import DISPATCH_CHANNEL

log = logging.getLogger(__name__)

# Webhook sends in flight per dispatcher (device messages go in batches: DEVICE_LANES).
# Sending is waiting on the network, so threads are cheap; with at most SENDS_PER_ENDPOINT of
# them on one endpoint, three endpoints that hang still leave a quarter of the threads for
# everyone else.
SEND_THREADS = 16
SENDS_PER_ENDPOINT = 4
# Device messages claimed, published and recorded at a time. They all go to our own broker,
# which acknowledges in about a millisecond: one thread waiting on each PUBACK, and recording
# each in its own transaction, held one dispatcher to about 86 a second (bench/dispatch.py).
# A batch is paho's in-flight window (device.MAX_INFLIGHT), one claim and one transaction.
DEVICE_BATCH = 100
# Device batches in flight at once, each on a thread of its own: while one waits for its
# PUBACKs or its record, the next is claimed and published.
DEVICE_LANES = 2
# A claim's lease: more than twice the longest an attempt can take (HTTP: pool wait, connect,
# write and answer timeouts, webhook.HTTP_WORST_CASE_S = 25 s; MQTT: connection wait and
# PUBACK timeout, 15 s) plus recording it, so a live dispatcher is never overtaken by another
# sending the same notification. A dead dispatcher's notifications go out again this long
# after it claimed them.
LEASE_S = 60.0
# On stop, the sends in flight get this long to finish and be recorded before the dispatcher
# exits without them (their claims left to the lease). Long enough for the usual slow case to
# end on its own: a webhook waiting for a busy receiver's answer (the HTTP read timeout, 10 s)
# or a device batch for its PUBACKs (device.PUBACK_TIMEOUT_S, 10 s); short enough that the
# whole stop fits the 20 s a service manager or bench/common.py gives before SIGKILL (and
# Kubernetes' default 30 s). Not the attempt's own worst case (webhook.HTTP_WORST_CASE_S, 25 s,
# its deadline): waiting for that would let an endpoint decide how long a stop takes.
STOP_GRACE_S = 12.0
# Nothing due: look again after this long even without a NOTIFY (the outbox is the truth; a
# NOTIFY only shortens the wait, and one sent while we reconnected is lost).
IDLE_WAIT_S = 5.0
# Something is due that this dispatcher did not claim: another dispatcher is claiming it, or
# its endpoint has its SENDS_PER_ENDPOINT in flight (a send of ours that ends wakes us at
# once; one of another dispatcher's does not). Look again after this long rather than spin.
CONTENDED_WAIT_S = 0.1
# Escalation deadlines are at least a minute (migration 0005) and usually hours; a pass every
# 30 s escalates within half a minute of the deadline, and costs one index scan of the open
# red alerts.
ESCALATION_INTERVAL_S = 30.0
# The escalation pass's name in /healthz, the logs and hemkoll_periodic_job_* metrics.
ESCALATION_JOB = "escalation"
# The outbox's retention job's (notify.retention).
RETENTION_JOB = "notification_retention"
# What /healthz names once a notification met a bug of the dispatcher's (DeliveryBug).
DELIVERY_FAULT = "delivery"
# A notification that met a bug of the dispatcher's is set aside this long before it is
# claimed again: not every lease (it would fail the same way each minute, spending its
# attempts), and soon enough that a fixed and restarted dispatcher sends it within the
# quarter of an hour.
BUG_HOLD_S = 15 * 60.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DispatcherConfig:
    database_url: str
    mqtt: MqttEndpoint
    topic_prefix: str
    # Give every dispatcher its own (and never the ingest service's): the broker disconnects
    # a client when another connects with the same id.
    mqtt_client_id: str
    # The API's address as staff reach it; webhooks link to the alert there.
    public_url: str
    ca_file: str | None = None
    send_threads: int = SEND_THREADS
    sends_per_endpoint: int = SENDS_PER_ENDPOINT
    device_batch: int = DEVICE_BATCH
    device_lanes: int = DEVICE_LANES
    lease_s: float = LEASE_S
    stop_grace_s: float = STOP_GRACE_S
    webhook_schedule: RetrySchedule = WEBHOOK_SCHEDULE
    device_schedule: RetrySchedule = DEVICE_SCHEDULE
    # Settled notifications older than this are deleted (HEMKOLL_NOTIFICATION_RETENTION_DAYS).
    notification_retention: timedelta = timedelta(days=DEFAULT_NOTIFICATION_RETENTION_DAYS)
    # The time escalation deadlines are measured against (tests move it).
    clock: Callable[[], datetime] = field(default=_utc_now)


def _configure_pooled(conn: Conn) -> None:
    configure(conn)
    conn.commit()


class Dispatcher:
    def __init__(
        self,
        config: DispatcherConfig,
        *,
        http: httpx.Client | None = None,
        heartbeat: Heartbeat | None = None,
        channels: Channels | None = None,
    ) -> None:
        """``http``: the client webhooks are sent with (a test's transport); else our own.
        ``channels``: the channels to send on (a test's); else every standard channel."""
        self._config = config
        self.heartbeat = heartbeat or Heartbeat()
        self.escalation_job = PeriodicJob(
            ESCALATION_JOB, self._escalate_counted, ESCALATION_INTERVAL_S
        )
        self.retention_job = PeriodicJob(RETENTION_JOB, self._retention_pass, RETENTION_INTERVAL_S)
        self._own_http = http is None
        self._http = http or webhook_client(config.send_threads)
        self._devices = DevicePublisher(
            config.mqtt,
            client_id=config.mqtt_client_id,
            topic_prefix=config.topic_prefix,
            ca_file=config.ca_file,
        )
        self._channels = channels or standard_channels(
            http=self._http,
            devices=self._devices,
            public_url=config.public_url,
            webhook_schedule=config.webhook_schedule,
            device_schedule=config.device_schedule,
        )
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        # Notified whenever a send or a device batch ends (the stop waits on it).
        self._ended = threading.Condition(self._lock)
        self._in_flight = 0
        self._device_batches = 0
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._recorder = AttemptRecorder(self._channels, self._fault)

    @property
    def stats(self) -> DispatchStats:
        return self._recorder.stats

    def stop(self) -> None:
        self._stopping.set()
        self._wake()

    def close(self) -> None:
        """Release the HTTP client (if ours), the MQTT connection and the wake-up sockets."""
        self._devices.close()
        if self._own_http:
            self._http.close()
        self._wake_r.close()
        self._wake_w.close()

    # -- synchronous use (tests, one-off runs) ---------------------------------------------

    def process_due(self, conn: Conn) -> int:
        """Claim, send and record due notifications one by one until none is due; how many."""
        done = 0
        while not self._stopping.is_set():
            claims = store.claim(
                conn,
                limit=1,
                lease_s=self._config.lease_s,
                per_endpoint=self._config.sends_per_endpoint,
            )
            if not claims:
                return done
            for claimed in claims:
                self._recorder.record(conn, claimed, attempt(claimed, self._channels))
                done += 1
        return done

    def escalate(self) -> int:
        """One escalation pass at the config's clock; how many alerts were escalated."""
        with connect(self._config.database_url) as conn:
            return escalate_due(conn, self._config.clock())

    def delete_old_notifications(self) -> int:
        """One retention pass at the config's clock; how many notifications were deleted
        (counted in hemkoll_notifications_deleted_total as they go)."""
        with connect(self._config.database_url) as conn:
            return delete_expired(
                conn,
                self._config.clock(),
                self._config.notification_retention,
                stopping=self._stopping.is_set,
            )

    # -- the service ---------------------------------------------------------------------

    def run(self) -> None:
        """Deliver and escalate until ``stop()``; reconnects with backoff. Closes at the end."""
        pool: ConnectionPool[Conn] = ConnectionPool(
            self._config.database_url,
            min_size=1,
            max_size=self._config.send_threads + self._config.device_lanes,
            configure=_configure_pooled,
            # A connection broken by a database restart is replaced before a record is
            # written on it: a lost record costs a resend a lease later.
            check=ConnectionPool.check_connection,
            open=False,
            name="hemkoll-dispatch",
        )
        pool.open(wait=False)
        scheduler = start_jobs(self.heartbeat, self.escalation_job, self.retention_job)
        try:
            serve_until_stopped(lambda: self._serve(pool), self._stopping, "dispatcher")
        finally:
            scheduler.shutdown(wait=False)
            self._let_in_flight_finish()
            pool.close()
            self.close()

    def _let_in_flight_finish(self) -> None:
        """Wait up to the grace for the sends in flight to finish and be recorded; log those
        left to their leases."""
        grace = self._config.stop_grace_s
        started = time.monotonic()
        with self._ended:
            self._ended.wait_for(
                lambda: self._in_flight == 0 and self._device_batches == 0, timeout=grace
            )
            webhooks, batches = self._in_flight, self._device_batches
        if webhooks or batches:
            log.warning(
                "stopping: %d webhooks and %d device batches still being sent after the "
                "%.0f s grace; left to their leases (sent again, with the same id, once those "
                "run out)",
                webhooks,
                batches,
                grace,
            )
        elif time.monotonic() - started > 0.1:
            log.info("stopping: the sends in flight finished and were recorded")

    def _start(self, name: str, target: Callable[..., None], *args: object) -> None:
        """A send on a thread of its own, a daemon: one still going after the stop's grace
        does not hold the process (a ThreadPoolExecutor's threads are joined at exit). Claims
        are made for free threads only, so these are never more than the pools' sizes."""
        threading.Thread(target=target, args=args, name=name, daemon=True).start()

    def _serve(self, pool: ConnectionPool[Conn]) -> None:
        with (
            connect(self._config.database_url) as conn,
            listening(self._config.database_url, DISPATCH_CHANNEL) as listener,
        ):
            log.info("dispatcher ready")
            while not self._stopping.is_set():
                self.heartbeat.beat()
                free = self._config.send_threads - self._in_flight
                lanes_free = self._config.device_lanes - self._device_batches
                more = False  # a lane claimed all it could take: there may be more due
                if free > 0:
                    more = self._claim_webhooks(conn, pool, free) == free
                if lanes_free > 0 and not self._stopping.is_set():
                    batch = self._config.device_batch
                    more = self._claim_devices(conn, pool, batch) == batch or more
                if more:
                    continue  # claim again (a lane that is full now is skipped)
                wait = IDLE_WAIT_S  # with no thread free, a finishing send wakes us
                if free > 0 or lanes_free > 0:
                    due_in = store.next_due_in(conn)
                    if due_in is not None:
                        wait = min(wait, due_in if due_in > 0 else CONTENDED_WAIT_S)
                listener.wait(wait, wake=self._wake_r)

    def _claim_webhooks(self, conn: Conn, pool: ConnectionPool[Conn], free: int) -> int:
        claims = store.claim(
            conn,
            limit=free,
            lease_s=self._config.lease_s,
            per_endpoint=self._config.sends_per_endpoint,
            lane="webhook",
        )
        for claimed in claims:
            with self._lock:
                self._in_flight += 1
            self._start("dispatch", self._send_and_record, pool, claimed)
        return len(claims)

    def _claim_devices(self, conn: Conn, pool: ConnectionPool[Conn], batch: int) -> int:
        claims = store.claim(
            conn,
            limit=batch,
            lease_s=self._config.lease_s,
            per_endpoint=self._config.sends_per_endpoint,
            lane="device",
        )
        if claims:
            with self._lock:
                self._device_batches += 1
            self._start("devices", self._send_and_record_devices, pool, claims)
        return len(claims)

    def _send_and_record(
        self, pool: ConnectionPool[Conn], claimed: store.ClaimedNotification
    ) -> None:
        try:
            record = attempt(claimed, self._channels)
            with pool.connection() as conn:
                self._recorder.record(conn, claimed, record)
        except DeliveryBug as exc:
            self._bug(pool, claimed, type(exc).__name__, str(exc))
        except psycopg.OperationalError as exc:  # an outage: counted, sent again later
            metrics.NOTIFICATION_RECORD_FAILURES.inc()
            log.error(  # noqa: TRY400 (a database error can quote patient data)
                "notification %s: recording attempt %d failed (%s); it is sent again when its "
                "lease runs out",
                claimed.id,
                claimed.attempt,
                type(exc).__name__,
            )
        except psycopg.Error as exc:
            # Not an outage (a missing grant, a broken constraint): sending it again would only
            # fail the same way, each lease, behind a green /healthz.
            self._bug(pool, claimed, type(exc).__name__, "recording the attempt failed")
        except Exception as exc:  # noqa: BLE001 (a bug of ours: counted, /healthz red, logged)
            # Not the message: a traceback could quote the payload.
            self._bug(pool, claimed, type(exc).__name__, "unexpected error")
        finally:
            with self._ended:
                self._in_flight -= 1
                self._ended.notify_all()
            self._wake()

    def _send_and_record_devices(
        self, pool: ConnectionPool[Conn], claims: list[store.ClaimedNotification]
    ) -> None:
        """A batch of device messages: published together, recorded in one transaction;
        failures handled as ``_send_and_record`` handles one's."""
        records: list[tuple[store.ClaimedNotification, store.AttemptRecord]] = []
        try:
            for claimed, result in zip(
                claims, attempt_devices(claims, self._channels), strict=True
            ):
                if isinstance(result, DeliveryBug):
                    self._bug(pool, claimed, type(result).__name__, str(result))
                else:
                    records.append((claimed, result))
            with pool.connection() as conn:
                self._recorder.record_devices(conn, records)
        except psycopg.OperationalError as exc:  # an outage: counted, sent again later
            metrics.NOTIFICATION_RECORD_FAILURES.inc(len(records))
            log.error(  # noqa: TRY400 (a database error can quote patient data)
                "%d device messages: recording their attempts failed (%s); they are sent "
                "again when their leases run out",
                len(records),
                type(exc).__name__,
            )
        except psycopg.Error as exc:  # not an outage: as _send_and_record
            for claimed, _ in records:
                self._bug(pool, claimed, type(exc).__name__, "recording the attempt failed")
        except Exception as exc:  # noqa: BLE001 (a bug of ours: counted, /healthz red, logged)
            for claimed in claims:
                self._bug(pool, claimed, type(exc).__name__, "unexpected error")
        finally:
            with self._ended:
                self._device_batches -= 1
                self._ended.notify_all()
            self._wake()

    def _fault(self, error: str, message: str, *args: object) -> None:
        """A bug of the dispatcher's: counted, logged, and /healthz red until a restart."""
        metrics.DISPATCH_BUGS.labels(error).inc()
        self.heartbeat.fault(DELIVERY_FAULT)
        log.error(message, *args)

    def _bug(
        self, pool: ConnectionPool[Conn], claimed: store.ClaimedNotification, error: str, what: str
    ) -> None:
        """A notification this dispatcher cannot handle: counted, /healthz red, and set aside
        for BUG_HOLD_S without spending one of its attempts."""
        self._fault(
            error,
            "notification %s: a bug, not a failed delivery (%s: %s); set aside for %.0f s",
            claimed.id,
            error,
            what,
            BUG_HOLD_S,
        )
        try:
            with pool.connection() as conn:
                store.hold(conn, claimed, hold_s=BUG_HOLD_S, error=f"dispatcher bug: {error}")
        except psycopg.Error as exc:
            log.warning(
                "notification %s: could not set it aside (%s); it is claimed again when its "
                "lease runs out",
                claimed.id,
                type(exc).__name__,
            )

    def _wake(self) -> None:
        # A full buffer means a wake-up is pending already; closed means we are shutting down.
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def _escalate_counted(self) -> None:
        metrics.ESCALATIONS.inc(self.escalate())

    def _retention_pass(self) -> None:
        deleted = self.delete_old_notifications()
        if deleted:
            log.info("retention: deleted %d settled notifications", deleted)
