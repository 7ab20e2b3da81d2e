"""The receiving endpoint: answer per the mode, verify the signature, record, hand on.

A request is verified with ``standardwebhooks`` (HMAC-SHA256 over ``id.timestamp.body``, and
the webhook-timestamp within 5 minutes of now, which refuses late replays); with several
secrets (key rotation) any one may have signed it. Refused: 401 with a short reason, counted,
never recorded. A verified body that is not a JSON object with a string ``type``: 400, counted.
A verified delivery of a webhook-id already recorded answers 200 and is counted as a duplicate
without being handed on again; a first one answers 204 and goes to ``on_notification``.

Logs carry webhook ids, alert ids, event types and reasons, never the body.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence

import orjson
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hemkoll.simulator.receiver.modes import ACCEPTED_STATUS, Mode
from hemkoll.simulator.receiver.recorder import Delivery, Recorder

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhook"
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
# Repeated answer to a webhook-id already recorded: success, so the sender stops retrying.
DUPLICATE_STATUS = 200
# One entry of webhook-signature (space-separated): a version, a comma, base64 (Standard
# Webhooks). Checked here, not left to the library: standardwebhooks 1.1 raised ValueError on
# an entry without the comma, 1.3 reports it as no matching signature.
_SIGNATURE_ENTRY = re.compile(r"v[0-9a-z]+,[A-Za-z0-9+/]+={0,2}")
# standardwebhooks' messages, as short reasons for the 401 body and the counts.
_REASONS = {
    "Missing required headers": "missing_headers",
    "Invalid Signature Headers": "bad_timestamp",
    "Message timestamp too old": "timestamp_too_old",
    "Message timestamp too new": "timestamp_too_new",
    "No matching signature found": "bad_signature",
}

NotificationListener = Callable[[Delivery], None]


class Unverified(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Verifier:
    """Accepts what any of ``secrets`` (``whsec_<base64>``) signed."""

    def __init__(self, secrets: Sequence[str]) -> None:
        if not secrets:
            raise ValueError("at least one webhook secret is needed")
        self._webhooks = tuple(Webhook(secret) for secret in secrets)

    def verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        try:
            text = body.decode()
        except UnicodeDecodeError:
            raise Unverified("body_not_utf8") from None
        signature = {k.lower(): v for k, v in headers.items()}.get("webhook-signature")
        if signature and not all(
            _SIGNATURE_ENTRY.fullmatch(entry) for entry in signature.split(" ")
        ):
            raise Unverified("malformed_signature")
        reason = "bad_signature"
        for webhook in self._webhooks:
            try:
                webhook.verify(text, dict(headers), json_parse=False)
            except WebhookVerificationError as exc:
                reason = _REASONS.get(str(exc), "unverified")
            except ValueError:  # an older standardwebhooks on an entry it cannot split
                reason = "malformed_signature"
            else:
                return
        raise Unverified(reason)


class Endpoint:
    """The request handler; ``mode`` may be replaced at any time from any thread."""

    def __init__(
        self,
        verifier: Verifier,
        recorder: Recorder,
        on_notification: NotificationListener | None = None,
    ) -> None:
        self.mode = Mode.normal()
        self._verifier = verifier
        self._recorder = recorder
        self._on_notification = on_notification

    async def handle(self, request: Request) -> Response:
        received_at = time.time()
        mode = self.mode  # one mode for the whole request, whatever is set meanwhile
        response = await self._answer(request, received_at, mode)
        self._recorder.count_answer(mode.name, response.status_code)
        return response

    async def _answer(self, request: Request, received_at: float, mode: Mode) -> Response:
        if mode.delay_s > 0:
            await asyncio.sleep(mode.delay_s)
        headers = {
            name: request.headers[name] for name in SIGNATURE_HEADERS if name in request.headers
        }
        webhook_id = headers.get("webhook-id", "")
        if not mode.accepts:
            log.debug("webhook %r answered %d (mode %s)", webhook_id, mode.status, mode.name)
            retry = (
                {"Retry-After": str(mode.retry_after_s)} if mode.retry_after_s is not None else {}
            )
            return JSONResponse({"error": f"simulated {mode.name}"}, mode.status, headers=retry)
        body = await request.body()
        try:
            self._verifier.verify(body, headers)
        except Unverified as exc:
            self._recorder.count_rejected(exc.reason)
            log.warning("webhook %r refused: %s", webhook_id, exc.reason)
            return JSONResponse({"error": "unverified", "reason": exc.reason}, 401)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
            self._recorder.count_rejected("malformed_payload")
            log.warning("webhook %r refused: not a JSON object with a type", webhook_id)
            return JSONResponse({"error": "malformed_payload"}, 400)
        delivery = self._recorder.record(
            webhook_id=webhook_id,
            webhook_timestamp=int(float(headers["webhook-timestamp"])),
            received_at=received_at,
            body=body,
            payload=payload,
        )
        if delivery.duplicate:
            log.info("webhook %r received again: duplicate, not processed", webhook_id)
            return JSONResponse({"duplicate": True}, DUPLICATE_STATUS)
        log.debug(
            "webhook %r received: %s, alert %s", webhook_id, delivery.event_type, delivery.alert_id
        )
        if self._on_notification is not None:
            self._on_notification(delivery)
        return Response(status_code=ACCEPTED_STATUS)


def build_app(endpoint: Endpoint, path: str = WEBHOOK_PATH) -> Starlette:
    return Starlette(routes=[Route(path, endpoint.handle, methods=["POST"])])
