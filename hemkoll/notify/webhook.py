"""A notification as a signed Standard Webhooks request, sent once and classified.

The body is the stored payload with ``data.link``, the alert's address in the API, added; for a
centre that chose the ``fhir`` format (migration 0018), an alert's is a FHIR Bundle instead
(``fhir_alert_body``), ``application/fhir+json``, signed the same way. The
headers are ``webhook-id`` (the notification's id: the same on every attempt, so that the
receiver drops a copy), ``webhook-timestamp`` (this attempt's time: receivers refuse old
ones) and ``webhook-signature`` (``standardwebhooks``, HMAC-SHA256 over
``id.timestamp.body`` with the endpoint's secret). A 2xx is delivered, 410 is gone, anything
else (or no answer) is tried again, with the receiver's Retry-After if it gave one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import orjson
from standardwebhooks import Webhook

from hemkoll.fhir.flag import alert_from_payload, webhook_bundle
from hemkoll.fhir.observation import reading_from_snapshot
from hemkoll.notify.deadline import attempt_deadline, deadline_transport
from hemkoll.notify.schedule import AttemptOutcome, parse_retry_after
from hemkoll.store.notifications import ClaimedNotification

# Per-operation HTTP limits. A receiver is expected to verify, store and answer at once and do
# its work afterwards (Standard Webhooks); 5 s covers a TCP and TLS handshake over a poor
# regional link, 10 s for the answer covers a busy receiver. An endpoint that hangs holds one
# of the dispatcher's threads no longer than that.
HTTP_TIMEOUT = httpx.Timeout(connect=5.0, read=10.0, write=5.0, pool=5.0)
# The whole attempt (pool wait + connect + write + answer) ends by this, whatever the receiver
# does (one that trickles its answer resets the read timeout with every byte: the deadline,
# hemkoll.notify.deadline, does not), so it stays far inside the dispatcher's lease and a live
# dispatcher never has a notification claimed from under it.
HTTP_WORST_CASE_S = 5.0 + 5.0 + 5.0 + 10.0
# Of the receiver's answer only the status and headers matter; its body is read (so that the
# connection can be reused) up to this much, and not for longer than the read timeout.
MAX_RESPONSE_BYTES = 64 * 1024
# The longest error text kept in the delivery log.
MAX_ERROR_CHARS = 200
USER_AGENT = "hemkoll-dispatch/1 (Standard Webhooks)"
FHIR_JSON = "application/fhir+json"


def alert_link(public_url: str, alert_id: UUID) -> str:
    return f"{public_url.rstrip('/')}/api/v1/alerts/{alert_id}"


def patient_link(public_url: str, patient_id: str) -> str:
    """Where the console shows a patient (a contact request is read on her page)."""
    return f"{public_url.rstrip('/')}/console/patients/{patient_id}"


def webhook_body(payload: Mapping[str, Any], *, link: str) -> bytes:
    """The stored payload, with ``data.link`` added and nothing else."""
    data = payload.get("data")
    if not isinstance(data, dict):
        raise TypeError("a webhook payload has a 'data' object")
    return orjson.dumps({**payload, "data": {**data, "link": link}})


@dataclass(frozen=True)
class SignedWebhook:
    url: str
    body: bytes = field(repr=False)
    headers: dict[str, str] = field(repr=False)


def fhir_alert_body(claimed: ClaimedNotification, *, public_url: str, at: datetime) -> bytes:
    """A FHIR-format centre's alert webhook: a Bundle of the Flag and its evidence
    Observations (hemkoll.fhir.flag), from the outbox row alone (its payload and snapshot)."""
    data = claimed.payload.get("data")
    if not isinstance(data, dict):
        raise TypeError("a webhook payload has a 'data' object")
    alert = alert_from_payload(data, centre_name=claimed.centre_name)
    evidence = [reading_from_snapshot(item) for item in claimed.evidence or []]
    bundle = webhook_bundle(
        alert,
        evidence,
        public_url=public_url,
        notification_id=claimed.id,
        event=claimed.event,
        at=at,
    )
    return bundle.model_dump_json(exclude_none=True).encode("utf-8")


def sign_webhook(
    url: str,
    secret: str,
    msg_id: UUID,
    body: bytes,
    *,
    at: datetime,
    content_type: str = "application/json",
) -> SignedWebhook:
    """Sign ``body`` as message ``msg_id`` sent at ``at`` (an aware time)."""
    if at.tzinfo is None:
        raise ValueError("the signing time must be aware")
    # standardwebhooks reads the time with .replace(tzinfo=UTC): hand it UTC.
    at = at.astimezone(UTC)
    signature = Webhook(secret).sign(str(msg_id), at, body.decode("utf-8"))
    return SignedWebhook(
        url=url,
        body=body,
        headers={
            "webhook-id": str(msg_id),
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature,
            "content-type": content_type,
            "user-agent": USER_AGENT,
        },
    )


# In a failed attempt's error when the endpoint sent Retry-After (see
# store/queries/notifications.sql: retry_endpoint_backlog_now).
RETRY_AFTER_NOTE = "(Retry-After)"


def classify(status_code: int, retry_after: str | None, *, now: datetime) -> AttemptOutcome:
    """2xx delivered; 410 gone; any other status is tried again (after Retry-After if given)."""
    if 200 <= status_code < 300:
        return AttemptOutcome("ok", status_code=status_code)
    if status_code == 410:
        return AttemptOutcome("gone", status_code=status_code, error="HTTP 410 Gone")
    wait = parse_retry_after(retry_after, now=now)
    return AttemptOutcome(
        "failed",
        status_code=status_code,
        # The delivery log says when the endpoint asked us to wait (and the backlog's fast
        # path after a recovery leaves such a notice to its Retry-After).
        error=f"HTTP {status_code}" if wait is None else f"HTTP {status_code} {RETRY_AFTER_NOTE}",
        retry_after=wait,
    )


def transport_error(exc: httpx.TransportError) -> AttemptOutcome:
    """No answer (refused, reset, timed out, TLS): tried again. Never quotes the URL."""
    detail = str(exc).strip()
    text = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return AttemptOutcome("failed", error=text[:MAX_ERROR_CHARS])


def webhook_client(max_connections: int) -> httpx.Client:
    """The client webhooks are sent with: ``HTTP_TIMEOUT``, no redirects, up to
    ``max_connections`` kept alive, and each attempt held to its deadline (``send_webhook``)."""
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    return httpx.Client(
        transport=deadline_transport(limits),
        timeout=HTTP_TIMEOUT,
        follow_redirects=False,
        limits=limits,
    )


def send_webhook(
    client: httpx.Client, webhook: SignedWebhook, *, deadline_s: float = HTTP_WORST_CASE_S
) -> AttemptOutcome:
    """POST once with the caller's client; redirects are not followed (a 3xx is a failure).
    Over a ``webhook_client`` the attempt ends by ``deadline_s`` (a timeout, tried again)."""
    try:
        with (
            attempt_deadline(deadline_s),
            client.stream(
                "POST",
                webhook.url,
                content=webhook.body,
                headers=webhook.headers,
                timeout=HTTP_TIMEOUT,
                follow_redirects=False,
            ) as response,
        ):
            outcome = classify(
                response.status_code,
                response.headers.get("retry-after"),
                now=datetime.now(UTC),
            )
            _drain(response)
            return outcome
    except httpx.TransportError as exc:
        return transport_error(exc)


def _drain(response: httpx.Response) -> None:
    """Read a little of the body so a kept-alive connection can be reused; never block long."""
    if response.is_stream_consumed:  # a transport that answered with the body read
        return
    deadline = time.monotonic() + (HTTP_TIMEOUT.read or 0.0)
    read = 0
    try:
        for chunk in response.iter_raw():
            read += len(chunk)
            if read > MAX_RESPONSE_BYTES or time.monotonic() > deadline:
                return
    except (httpx.TransportError, httpx.StreamError):
        return  # the status is what counts; a broken body only costs the connection
