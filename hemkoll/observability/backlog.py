"""Samples the database-wide state into gauges: evaluations waiting, notifications
undelivered, and each health centre's notification endpoints that are failing.

Every worker that serves metrics runs one sampler; the values are the same in every replica
(take max() over instances). A failed sample leaves the gauges as they were and is logged; the
metrics endpoint keeps answering.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

import psycopg

from hemkoll.observability import metrics
from hemkoll.store import endpoint_health, evaluation_queue, notifications
from hemkoll.store.connect import connect

log = logging.getLogger(__name__)

# Prometheus scrapes every 15-30 s; sampling as often keeps the gauges fresh for each scrape
# at the cost of two index scans and a read of the (small) endpoint table.
SAMPLE_INTERVAL_S = 15.0


def sample(database_url: str) -> None:
    with connect(database_url) as conn:
        queue = evaluation_queue.backlog(conn)
        backlog = notifications.backlog(conn)
        endpoints = endpoint_health.all_endpoints(conn)
        now = conn.execute("SELECT clock_timestamp()").fetchone()
    metrics.EVALUATION_QUEUE_DEPTH.set(queue.waiting)
    metrics.EVALUATION_QUEUE_OLDEST_AGE.set(queue.oldest_age_s or 0.0)
    metrics.NOTIFICATIONS_PENDING.set(backlog.pending)
    metrics.NOTIFICATIONS_OLDEST_PENDING_AGE.set(backlog.oldest_pending_age_s or 0.0)
    at = now[0] if now is not None else datetime.now(UTC)
    for endpoint in endpoints:
        labels = (str(endpoint.health_centre_id), endpoint.channel)
        metrics.ENDPOINT_FAILURE_STREAK.labels(*labels).set(endpoint.failures)
        failing_s = (at - endpoint.failing_since).total_seconds() if endpoint.failing_since else 0
        metrics.ENDPOINT_FAILING_SECONDS.labels(*labels).set(max(failing_s, 0.0))


class BacklogSampler:
    def __init__(self, database_url: str, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self._database_url = database_url
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="backlog-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                sample(self._database_url)
            except psycopg.Error as exc:
                log.warning("sampling the queues failed (%s)", type(exc).__name__)
            self._stopping.wait(self._interval_s)
