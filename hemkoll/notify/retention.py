"""Retention of the outbox: settled notifications older than the retention are deleted.

The dispatcher's scheduler runs ``delete_expired`` every ``RETENTION_INTERVAL_S``; any number
of dispatchers may, at once (each batch takes rows SKIP LOCKED). What goes: notifications
delivered, expired after their retries, or gone, created more than
``HEMKOLL_NOTIFICATION_RETENTION_DAYS`` ago, with their attempts; never a pending one, nor one
of an alert not yet resolved (``delete_settled_notifications``). Each batch is a transaction
of its own, so a run holds its locks briefly and its deletions count even if a later batch
fails (the failure then turns /healthz red as any periodic job's does: ``run_job``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from hemkoll.observability import metrics
from hemkoll.store import notifications
from hemkoll.store.connect import Conn

# A run every ten minutes: the nation writes about 3,500 notifications in ten minutes, so a
# run has a few batches of work once caught up, and an hour's delay in deleting a 90-day-old
# row is nothing.
RETENTION_INTERVAL_S = 600.0
# Rows per transaction: a few seconds of work at most on a busy primary (the attempts go with
# them), short enough not to hold back vacuum or the dispatchers' claims.
DELETE_BATCH = 5_000
# Batches per run at most, so that catching up a long backlog (the first run on a database
# that kept everything) is spread over runs instead of one run of hours: 500,000 rows a run,
# about a national day's notifications; 72 million a day in runs every ten minutes.
MAX_BATCHES_PER_RUN = 100


def delete_expired(
    conn: Conn,
    now: datetime,
    retention: timedelta,
    *,
    batch: int = DELETE_BATCH,
    max_batches: int = MAX_BATCHES_PER_RUN,
    stopping: Callable[[], bool] | None = None,
) -> int:
    """Delete the settled notifications created before ``now - retention`` (aware), in
    batches until one comes back short, ``max_batches`` ran or ``stopping()`` (the dispatcher
    stops: a run catching up would otherwise hold its exit for up to MAX_BATCHES_PER_RUN
    batches; the next run goes on); how many were deleted."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    before = now - retention
    deleted = 0
    for _ in range(max_batches):
        if stopping is not None and stopping():
            break
        done = notifications.delete_settled(conn, before=before, limit=batch)
        deleted += done
        metrics.NOTIFICATIONS_DELETED.inc(done)
        if done < batch:
            break
    return deleted
