"""A webhook attempt ends by its deadline whatever the receiver does (real HTTP on local ports):
httpx's per-operation timeouts do not end a send to a receiver that trickles its answer."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from uuid import uuid4

import httpx

from hemkoll.notify.webhook import SignedWebhook, send_webhook, sign_webhook, webhook_client
from tests.notify.receiver import TRICKLE_FOR_S, Receiver, TricklingReceiver

DEADLINE_S = 1.5
# What an ended attempt may take past its deadline: the last read's return and the close.
SLACK_S = 1.0


def _signed(url: str) -> SignedWebhook:
    return sign_webhook(url, "whsec_" + "A" * 32, uuid4(), b'{"data": {}}', at=datetime.now(UTC))


def test_an_attempt_to_a_trickling_receiver_ends_by_its_deadline_as_a_timeout(
    trickling: TricklingReceiver,
) -> None:
    with webhook_client(4) as client:
        began = time.monotonic()
        outcome = send_webhook(client, _signed(trickling.url), deadline_s=DEADLINE_S)
        took = time.monotonic() - began
    assert trickling.requests == 1
    assert outcome.kind == "failed"
    assert outcome.error is not None
    assert "ReadTimeout" in outcome.error
    assert DEADLINE_S <= took < DEADLINE_S + SLACK_S, f"the attempt took {took:.1f} s"


def test_without_the_deadline_httpx_timeouts_do_not_end_it(trickling: TricklingReceiver) -> None:
    """Why the deadline exists: over httpx's own transport the same send is still going long
    after the read timeout would suggest (encode/httpx#1450)."""
    ended = threading.Event()

    def send() -> None:
        with httpx.Client(timeout=httpx.Timeout(1.0)) as client:
            send_webhook(client, _signed(trickling.url), deadline_s=DEADLINE_S)
        ended.set()

    threading.Thread(target=send, daemon=True).start()
    assert not ended.wait(DEADLINE_S + 3 * SLACK_S), "httpx ended the trickling answer itself"
    assert TRICKLE_FOR_S > DEADLINE_S + 3 * SLACK_S


def test_a_deadline_client_delivers_and_keeps_its_connection(receiver: Receiver) -> None:
    with webhook_client(4) as client:
        outcomes = [send_webhook(client, _signed(receiver.url)) for _ in range(3)]
        # the deadline of one attempt does not carry over to the next on the same connection
        time.sleep(0.3)
        outcomes.append(send_webhook(client, _signed(receiver.url), deadline_s=0.2))
    assert [o.kind for o in outcomes] == ["ok"] * 4
    assert len(receiver.requests) == 4
    assert len({r.client_port for r in receiver.requests}) == 1
