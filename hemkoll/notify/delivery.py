"""One attempt at one claimed notification: send it on its channel and settle the result.

Separate from the dispatcher's threads and loops so that it can be called (and tested) on its
own. Nothing here writes to the database; ``hemkoll.store.notifications.record`` does. Logs
name the notification (an opaque id) and the error, never the payload.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from hemkoll.notify.channels import Channels, DeliveryBug, DeviceChannel
from hemkoll.notify.schedule import AttemptOutcome, decide
from hemkoll.store.notifications import AttemptRecord, ClaimedNotification

log = logging.getLogger(__name__)


def attempt(claimed: ClaimedNotification, channels: Channels) -> AttemptRecord:
    """Send ``claimed`` once and decide what follows; never raises for a failed send.

    Raises ``DeliveryBug`` for a notification it cannot have been given (a bug: not retried).
    """
    started_at = datetime.now(UTC)
    started = time.monotonic()
    channel = channels[claimed.channel]
    try:
        outcome = channel.send(claimed)
    except DeliveryBug:
        raise
    except Exception as exc:  # noqa: BLE001 (logged and recorded as a failed attempt: retried)
        # Not log.exception: a traceback could quote the payload.
        log.error(  # noqa: TRY400
            "notification %s: attempt %d raised %s; it is tried again",
            claimed.id,
            claimed.attempt,
            type(exc).__name__,
        )
        outcome = AttemptOutcome("failed", error=f"dispatcher error: {type(exc).__name__}")
    duration_ms = round((time.monotonic() - started) * 1000)
    result = decide(channel.schedule, claimed.attempt, outcome, rand=channels.rand())
    return AttemptRecord(
        result=result.kind,
        started_at=started_at,
        duration_ms=duration_ms,
        status_code=outcome.status_code,
        error=outcome.error,
        retry_in=result.retry_in,
    )


def attempt_devices(
    claims: Sequence[ClaimedNotification], channels: Channels
) -> list[AttemptRecord | DeliveryBug]:
    """``attempt`` for each of a batch of device messages, published together; each one's
    record, or the ``DeliveryBug`` it is (not to be recorded), in order."""
    started_at = datetime.now(UTC)
    try:
        channel = channels["device"]
    except DeliveryBug as bug:
        return [bug] * len(claims)
    if not isinstance(channel, DeviceChannel):  # a test's channel: one by one
        return [_attempt_or_bug(claimed, channels) for claimed in claims]
    try:
        sent = channel.send_many(claims)
    except Exception as exc:  # noqa: BLE001 (logged and recorded as failed attempts: retried)
        log.error(  # noqa: TRY400 (a traceback could quote a payload)
            "%d device messages: publishing raised %s; they are tried again",
            len(claims),
            type(exc).__name__,
        )
        failed = AttemptOutcome("failed", error=f"dispatcher error: {type(exc).__name__}")
        sent = [(failed, 0.0)] * len(claims)
    out: list[AttemptRecord | DeliveryBug] = []
    for claimed, (outcome, seconds) in zip(claims, sent, strict=True):
        if isinstance(outcome, DeliveryBug):
            out.append(outcome)
            continue
        result = decide(channel.schedule, claimed.attempt, outcome, rand=channels.rand())
        out.append(
            AttemptRecord(
                result=result.kind,
                started_at=started_at,
                duration_ms=round(seconds * 1000),
                status_code=outcome.status_code,
                error=outcome.error,
                retry_in=result.retry_in,
            )
        )
    return out


def _attempt_or_bug(
    claimed: ClaimedNotification, channels: Channels
) -> AttemptRecord | DeliveryBug:
    try:
        return attempt(claimed, channels)
    except DeliveryBug as bug:
        return bug


def log_settled(claimed: ClaimedNotification, record: AttemptRecord, *, applied: bool) -> None:
    """Log a recorded attempt: failures, expiry and gone; a delivery only at DEBUG."""
    if not applied:
        log.warning(
            "notification %s: attempt %d finished after its lease was lost; another claim "
            "decides its state",
            claimed.id,
            claimed.attempt,
        )
    elif record.result == "delivered":
        log.debug("notification %s: delivered (attempt %d)", claimed.id, claimed.attempt)
    elif record.result == "retry" and record.retry_in is not None:
        log.info(
            "notification %s: attempt %d failed (%s); next in %.0f s",
            claimed.id,
            claimed.attempt,
            record.error,
            record.retry_in.total_seconds(),
        )
    elif record.result == "expired":
        log.error(
            "notification %s expired undelivered after %d attempts (%s)",
            claimed.id,
            claimed.attempt,
            record.error,
        )
    elif record.result == "gone":
        log.warning("notification %s: gone (%s)", claimed.id, record.error)
