"""One attempt at one claimed notification: send it on its channel and settle the result.

Separate from the dispatcher's threads and loops so that it can be called (and tested) on its
own. Nothing here writes to the database; ``hemkoll.store.notifications.record`` does. Logs
name the notification (an opaque id) and the error, never the payload.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from hemkoll.notify.device import DevicePublisher
from hemkoll.notify.schedule import (
    DEVICE_SCHEDULE,
    WEBHOOK_SCHEDULE,
    AttemptOutcome,
    RetrySchedule,
    decide,
)
from hemkoll.notify.webhook import alert_link, send_webhook, sign_webhook, webhook_body
from hemkoll.store.notifications import AttemptRecord, ClaimedNotification

log = logging.getLogger(__name__)

NO_ENDPOINT = {
    "care_team": "the health centre has no notification endpoint",
    "escalation": "the health centre has no escalation endpoint",
}
DEVICE_INACTIVE = "the device is no longer active"


@dataclass(frozen=True)
class Channels:
    """What an attempt needs: the HTTP client, the MQTT publisher, the schedules."""

    http: httpx.Client
    devices: DevicePublisher
    public_url: str
    webhook_schedule: RetrySchedule = WEBHOOK_SCHEDULE
    device_schedule: RetrySchedule = DEVICE_SCHEDULE
    rand: Callable[[], float] = field(default=random.random)


def attempt(claimed: ClaimedNotification, channels: Channels) -> AttemptRecord:
    """Send ``claimed`` once and decide what follows; never raises for a failed send."""
    started_at = datetime.now(UTC)
    started = time.monotonic()
    try:
        outcome = _send(claimed, channels)
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
    schedule = (
        channels.device_schedule if claimed.channel == "device" else channels.webhook_schedule
    )
    result = decide(schedule, claimed.attempt, outcome, rand=channels.rand())
    return AttemptRecord(
        result=result.kind,
        started_at=started_at,
        duration_ms=duration_ms,
        status_code=outcome.status_code,
        error=outcome.error,
        retry_in=result.retry_in,
    )


def _send(claimed: ClaimedNotification, channels: Channels) -> AttemptOutcome:
    if claimed.channel == "device":
        if claimed.device_id is None:
            raise ValueError("a device message without a device")
        if not claimed.device_active:
            return AttemptOutcome("gone", error=DEVICE_INACTIVE)
        return channels.devices.publish(claimed.id, claimed.device_id, claimed.payload)
    if claimed.channel not in NO_ENDPOINT:
        raise ValueError(f"unknown notification channel {claimed.channel!r}")
    if claimed.url is None or claimed.signing_secret is None:
        log.warning(
            "notification %s: health centre %s has no %s endpoint; tried again on schedule",
            claimed.id,
            claimed.health_centre_id,
            claimed.channel,
        )
        return AttemptOutcome("failed", error=NO_ENDPOINT[claimed.channel])
    if claimed.alert_id is None:
        raise ValueError("a webhook notification without an alert")
    body = webhook_body(claimed.payload, link=alert_link(channels.public_url, claimed.alert_id))
    signed = sign_webhook(
        claimed.url, claimed.signing_secret, claimed.id, body, at=datetime.now(UTC)
    )
    return send_webhook(channels.http, signed)


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
