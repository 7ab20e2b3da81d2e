"""Signed webhook requests and how answers are classified (httpx MockTransport: no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from hemkoll.notify.webhook import (
    alert_link,
    classify,
    send_webhook,
    sign_webhook,
    webhook_body,
)
from tests.notify.support import new_secret

PAYLOAD = {
    "type": "alert.opened",
    "timestamp": "2025-03-04T12:00:00.000000Z",
    "data": {"alert_id": "a1", "patient_reference": "TUNA-0042", "severity": "red"},
}
URL = "https://vc.example.se/hooks"


def _signed(secret: str, at: datetime | None = None) -> tuple[str, bytes, dict[str, str]]:
    msg_id = uuid4()
    body = webhook_body(PAYLOAD, link=alert_link("https://hemkoll.example.se/", msg_id))
    signed = sign_webhook(URL, secret, msg_id, body, at=at or datetime.now(UTC))
    return str(msg_id), signed.body, signed.headers


def test_the_signature_verifies_with_the_secret_and_only_with_it() -> None:
    secret = new_secret()
    msg_id, body, headers = _signed(secret)
    assert headers["webhook-id"] == msg_id
    assert headers["content-type"] == "application/json"
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"red", b"ok!"), headers)


def test_a_non_utc_signing_time_signs_the_same_instant() -> None:
    secret = new_secret()
    at = datetime.now(UTC).astimezone(datetime.now().astimezone().tzinfo)
    _, body, headers = _signed(secret, at)
    assert headers["webhook-timestamp"] == str(int(at.timestamp()))
    Webhook(secret).verify(body, headers)
    with pytest.raises(ValueError, match="aware"):
        sign_webhook(URL, secret, uuid4(), b"{}", at=datetime(2025, 1, 1))  # noqa: DTZ001


def test_the_body_is_the_payload_with_the_link_and_nothing_more() -> None:
    alert_id = uuid4()
    body = json.loads(webhook_body(PAYLOAD, link=alert_link("https://h.example/", alert_id)))
    assert body["data"].pop("link") == f"https://h.example/api/v1/alerts/{alert_id}"
    assert body == PAYLOAD


def test_answers_are_classified() -> None:
    now = datetime.now(UTC)
    assert classify(200, None, now=now).kind == "ok"
    assert classify(204, None, now=now).kind == "ok"
    assert classify(410, None, now=now).kind == "gone"
    for status in (301, 400, 401, 404, 429, 500, 503):
        outcome = classify(status, None, now=now)
        assert (outcome.kind, outcome.status_code, outcome.error) == (
            "failed",
            status,
            f"HTTP {status}",
        )
    assert classify(429, "30", now=now).retry_after == timedelta(seconds=30)
    assert classify(500, "30", now=now).retry_after == timedelta(seconds=30)


def _send(handler: httpx.MockTransport) -> tuple[str, str | None, int | None]:
    secret = new_secret()
    msg_id = uuid4()
    signed = sign_webhook(URL, secret, msg_id, b'{"data": {}}', at=datetime.now(UTC))
    with httpx.Client(transport=handler) as client:
        outcome = send_webhook(client, signed)
    return outcome.kind, outcome.error, outcome.status_code


def test_send_over_a_transport() -> None:
    seen: list[httpx.Request] = []

    def ok(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, text="thanks")

    assert _send(httpx.MockTransport(ok)) == ("ok", None, 202)
    assert seen[0].method == "POST"
    assert seen[0].headers["webhook-signature"].startswith("v1,")

    def redirect(request: httpx.Request) -> httpx.Response:
        return httpx.Response(307, headers={"location": "https://elsewhere.example/"})

    assert _send(httpx.MockTransport(redirect)) == ("failed", "HTTP 307", 307)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    assert _send(httpx.MockTransport(refused)) == (
        "failed",
        "ConnectError: [Errno 111] Connection refused",
        None,
    )

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("", request=request)

    assert _send(httpx.MockTransport(slow)) == ("failed", "ReadTimeout", None)
