"""Devices that keep every message until feedback names it, and resend what gets none.

The logic of ``hemkoll.simulator.publisher`` and of docs/protocol.md ("the device's guarantee is
the feedback, not the broker's PUBACK"): a message without feedback after ``resend_after_s`` is
sent again (same bytes, same msg_id), the wait doubling per attempt. Here with an account per
message, so that a test can say how many attempts nobody answered (lost by the broker, or with
a killed ingest worker) and what the resends made of them. One connection publishes for every
device and reads every feedback topic (the test broker has no authentication).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from hemkoll.protocol.topics import FEEDBACK_QOS, READINGS_QOS, feedback_topic, readings_topic
from hemkoll.settings import parse_mqtt_url
from tests.helpers import wait_until

# How often due resends are looked for while waiting.
SERVICE_INTERVAL_S = 0.1


@dataclass
class _Sent:
    topic: str
    payload: bytes
    readings: int
    first_sent_at: float
    sent_at: float
    attempts: int = 1
    # Every feedback for this message, in arrival order, as (stored, duplicates).
    feedback: list[tuple[int, int]] = field(default_factory=list)
    # Attempts made when the first feedback arrived.
    attempts_when_answered: int | None = None


@dataclass(frozen=True)
class Account:
    messages: int
    readings: int
    resends: int
    # Attempts no feedback ever answered: the broker lost them, or a worker died holding them.
    unanswered_attempts: int
    # Resent messages whose readings were first stored by a resend (nothing answered before).
    stored_by_a_resend: int
    # Resent messages whose readings were already stored (the first feedback was slow or died
    # with its worker): the resend came back as duplicates.
    resent_but_already_stored: int
    # Messages still without feedback.
    unanswered_messages: int


class ResendingDevices:
    def __init__(
        self,
        mqtt_url: str,
        prefix: str,
        *,
        client_id: str,
        resend_after_s: float,
        max_backoff_factor: int = 4,
    ) -> None:
        self._endpoint = parse_mqtt_url(mqtt_url)
        self._prefix = prefix
        self._resend_after_s = resend_after_s
        self._max_backoff_factor = max_backoff_factor
        self._lock = threading.Lock()
        self._sent: dict[tuple[str, str], _Sent] = {}
        self._pending: set[tuple[str, str]] = set()
        self.resends = 0
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self._client.max_inflight_messages_set(500)
        self._client.on_message = self._on_feedback
        self._subscribed = threading.Event()
        self._client.on_subscribe = lambda *_: self._subscribed.set()

    def __enter__(self) -> ResendingDevices:
        self._client.connect(self._endpoint.host, self._endpoint.port)
        self._client.loop_start()
        self._client.subscribe(feedback_topic(self._prefix, "+"), qos=FEEDBACK_QOS)
        assert self._subscribed.wait(10), "no SUBACK for the feedback topics"
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_feedback(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        doc = orjson.loads(msg.payload)
        device_id = msg.topic.split("/")[-2]
        key = (device_id, str(doc.get("msg_id")))
        with self._lock:
            sent = self._sent.get(key)
            if sent is None:
                return
            sent.feedback.append((int(doc["stored"]), int(doc["duplicates"])))
            if sent.attempts_when_answered is None:
                sent.attempts_when_answered = sent.attempts
            self._pending.discard(key)

    def publish(self, device_id: str, msg_id: str, payload: bytes, readings: int) -> None:
        topic = readings_topic(self._prefix, device_id)
        with self._lock:
            now = time.monotonic()
            self._sent[(device_id, msg_id)] = _Sent(topic, payload, readings, now, now)
            self._pending.add((device_id, msg_id))
        self._client.publish(topic, payload, qos=READINGS_QOS)
        self.service()

    def service(self) -> None:
        """Resend every message whose wait for feedback is over."""
        now = time.monotonic()
        due: list[_Sent] = []
        with self._lock:
            for key in self._pending:
                sent = self._sent[key]
                backoff = min(2 ** (sent.attempts - 1), self._max_backoff_factor)
                if now - sent.sent_at >= self._resend_after_s * backoff:
                    sent.sent_at = now
                    sent.attempts += 1
                    due.append(sent)
        for sent in due:
            self._client.publish(sent.topic, sent.payload, qos=READINGS_QOS)
        self.resends += len(due)

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def wait_all_answered(self, timeout: float) -> None:
        def answered() -> bool:
            self.service()
            return self.pending() == 0

        wait_until(answered, timeout, "feedback for every message (resending meanwhile)")

    def first_sent_of_stored_by_a_resend(self) -> list[float]:
        """When (time.monotonic) the messages a resend stored were first sent."""
        with self._lock:
            return [
                s.first_sent_at
                for s in self._sent.values()
                if (s.attempts_when_answered or 0) > 1 and all(dup == 0 for _, dup in s.feedback)
            ]

    def account(self) -> Account:
        with self._lock:
            sent = list(self._sent.values())
        resent = [s for s in sent if s.attempts > 1]
        return Account(
            messages=len(sent),
            readings=sum(s.readings for s in sent),
            resends=sum(s.attempts - 1 for s in sent),
            unanswered_attempts=sum(max(s.attempts - len(s.feedback), 0) for s in sent),
            stored_by_a_resend=sum(
                1
                for s in resent
                if (s.attempts_when_answered or 0) > 1 and all(dup == 0 for _, dup in s.feedback)
            ),
            resent_but_already_stored=sum(
                1 for s in resent if any(dup == s.readings for _, dup in s.feedback)
            ),
            unanswered_messages=sum(1 for s in sent if not s.feedback),
        )
