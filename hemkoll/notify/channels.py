"""The notification channels: how a claimed notification is sent, one class per channel.

A channel sends one notification once and says how it went (``AttemptOutcome``); it never
writes to the database and never decides about retries beyond giving its ``schedule``. The
outbox's ``channel`` column names one of them (migration 0005 checks it):

* ``care_team`` and ``escalation``: a Standard Webhooks request to the health centre's
  notification or escalation endpoint (``WebhookChannel``);
* ``device``: a message on the device's feedback topic (``DeviceChannel``).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import httpx

from hemkoll.notify.device import DevicePublisher
from hemkoll.notify.schedule import DEVICE_SCHEDULE, WEBHOOK_SCHEDULE, AttemptOutcome, RetrySchedule
from hemkoll.notify.webhook import (
    FHIR_JSON,
    alert_link,
    fhir_alert_body,
    patient_link,
    send_webhook,
    sign_webhook,
    webhook_body,
)
from hemkoll.store.notifications import ClaimedNotification

log = logging.getLogger(__name__)

NO_ENDPOINT = {
    "care_team": "the health centre has no notification endpoint",
    "escalation": "the health centre has no escalation endpoint",
}
DEVICE_INACTIVE = "the device is no longer active"


class DeliveryBug(Exception):
    """A notification this dispatcher cannot have been given: a bug, not a failed delivery.

    An unknown channel (the outbox and this code disagree), or a row that breaks the outbox's
    own constraints. It is not recorded as an attempt (that would spend the notification's
    retries and expire it undelivered): the dispatcher counts it, turns /healthz red and sets
    the notification aside (``dispatcher.BUG_HOLD_S``) for a dispatcher that can send it.
    """


class Channel(Protocol):
    """One way of sending a notification."""

    @property
    def schedule(self) -> RetrySchedule:
        """When a failed attempt on this channel is tried again, and when it gives up."""
        ...

    @property
    def centre_endpoint(self) -> bool:
        """Whether this channel sends to one of the health centre's endpoints: each attempt is
        kept in its endpoint's health, and a delivery (the endpoint answers again) makes the
        endpoint's waiting backlog due."""
        ...

    def send(self, claimed: ClaimedNotification) -> AttemptOutcome:
        """Send ``claimed`` once; raises ``DeliveryBug`` for one the outbox cannot hold."""
        ...


@dataclass(frozen=True)
class WebhookChannel:
    """A signed Standard Webhooks request to one of the health centre's endpoints."""

    name: str
    http: httpx.Client
    public_url: str
    schedule: RetrySchedule = WEBHOOK_SCHEDULE
    centre_endpoint: bool = True

    def send(self, claimed: ClaimedNotification) -> AttemptOutcome:
        if claimed.url is None or claimed.signing_secret is None:
            log.warning(
                "notification %s: health centre %s has no %s endpoint; tried again on schedule",
                claimed.id,
                claimed.health_centre_id,
                self.name,
            )
            return AttemptOutcome("failed", error=NO_ENDPOINT[self.name])
        if claimed.alert_id is not None:
            link = alert_link(self.public_url, claimed.alert_id)
        elif claimed.contact_request_id is not None:
            data = claimed.payload.get("data")
            if not isinstance(data, dict) or not isinstance(data.get("patient_id"), str):
                raise DeliveryBug("a contact request's notification without its patient")
            link = patient_link(self.public_url, data["patient_id"])
        else:
            raise DeliveryBug("a webhook notification without an alert or contact request")
        now = datetime.now(UTC)
        if claimed.webhook_format == "fhir" and claimed.alert_id is not None:
            try:
                body = fhir_alert_body(claimed, public_url=self.public_url, at=now)
            except (KeyError, TypeError, ValueError) as exc:
                # An outbox row that does not render as FHIR is ours to fix, not the
                # receiver's to be retried at: counted, /healthz red (DeliveryBug).
                raise DeliveryBug(
                    f"the alert does not render as FHIR ({type(exc).__name__})"
                ) from exc
            content_type = FHIR_JSON
        else:  # hemkoll's JSON; a contact request has no FHIR shape here (docs/fhir.md)
            body = webhook_body(claimed.payload, link=link)
            content_type = "application/json"
        signed = sign_webhook(
            claimed.url, claimed.signing_secret, claimed.id, body, at=now, content_type=content_type
        )
        return send_webhook(self.http, signed)


@dataclass(frozen=True)
class DeviceChannel:
    """A message on the device's feedback topic, delivered on the broker's PUBACK."""

    devices: DevicePublisher
    schedule: RetrySchedule = DEVICE_SCHEDULE
    centre_endpoint: bool = False

    def send(self, claimed: ClaimedNotification) -> AttemptOutcome:
        if claimed.device_id is None:
            raise DeliveryBug("a device message without a device")
        if not claimed.device_active:
            return AttemptOutcome("gone", error=DEVICE_INACTIVE)
        return self.devices.publish(claimed.id, claimed.device_id, claimed.payload)

    def send_many(
        self, claims: Sequence[ClaimedNotification]
    ) -> list[tuple[AttemptOutcome | DeliveryBug, float]]:
        """``send`` for each of a batch, published together (``publish_many``); each one's
        outcome (or the bug it is) and its seconds, in order."""
        results: list[tuple[AttemptOutcome | DeliveryBug, float] | None] = []
        publish: list[tuple[int, ClaimedNotification]] = []
        for claimed in claims:
            if claimed.device_id is None:
                results.append((DeliveryBug("a device message without a device"), 0.0))
            elif not claimed.device_active:
                results.append((AttemptOutcome("gone", error=DEVICE_INACTIVE), 0.0))
            else:
                publish.append((len(results), claimed))
                results.append(None)
        published = self.devices.publish_many(
            [(c.id, c.device_id, c.payload) for _, c in publish if c.device_id is not None]
        )
        for (index, _), result in zip(publish, published, strict=True):
            results[index] = result
        return [result for result in results if result is not None]


@dataclass(frozen=True)
class Channels:
    """The channels by the outbox's name for them, and the jitter's source of randomness."""

    by_name: Mapping[str, Channel]
    rand: Callable[[], float] = field(default=random.random)

    def __getitem__(self, name: str) -> Channel:
        try:
            return self.by_name[name]
        except KeyError:
            raise DeliveryBug(f"unknown notification channel {name!r}") from None


def standard_channels(
    *,
    http: httpx.Client,
    devices: DevicePublisher,
    public_url: str,
    webhook_schedule: RetrySchedule = WEBHOOK_SCHEDULE,
    device_schedule: RetrySchedule = DEVICE_SCHEDULE,
) -> Channels:
    """Every channel the outbox may name, each with its schedule."""
    webhooks = {
        name: WebhookChannel(name, http, public_url, schedule=webhook_schedule)
        for name in NO_ENDPOINT
    }
    return Channels({**webhooks, "device": DeviceChannel(devices, schedule=device_schedule)})
