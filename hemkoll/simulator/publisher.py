"""Publish a message plan to the broker as the devices would, and resend what gets no feedback.

Each device connects as itself (client id and user name = its device id, its enrolment password),
subscribes to its feedback topic, and publishes its readings at QoS 1. With
``shared_connection`` (a broker without authentication, e.g. for load tests) one connection
publishes for every device and subscribes to every feedback topic.

Protocol v1's end-to-end guarantee is feedback, not PUBACK: a device keeps a message until the
ingest service reports its outcome on ``{prefix}/v1/devices/{device_id}/feedback``. The publisher
does the same: a message without feedback after ``resend_after_s`` is sent again (same bytes,
same msg_id), with the wait doubling on each attempt, until feedback arrives or the final drain
gives up. A truncated payload carries no readable msg_id, so no feedback can name it; it is sent
once and not tracked.

Pacing: ``speed=None`` publishes as fast as the broker takes it; ``speed=k`` keeps the plan's
spacing divided by k (1.0 keeps it as is); ``realtime=True`` waits for each message's
``publish_at`` on the wall clock (so a plan that starts in the past is replayed as fast as
possible up to now, then goes on live). A ``stop`` event ends publishing and waiting at once.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from hemkoll.protocol.topics import FEEDBACK_QOS, READINGS_QOS, feedback_topic, readings_topic
from hemkoll.simulator.plan import PlannedMessage
from hemkoll.simulator.progress import Progress

# The device gives up waiting for its subscription after this long: the broker is not there.
CONNECT_TIMEOUT_S = 10.0
# How often pending messages are checked for a resend, and the longest single sleep, so that
# feedback and resends are handled promptly while waiting for a message's publish time.
SERVICE_INTERVAL_S = 0.2
# Resend waits double per attempt up to this factor (as Standard Webhooks-style schedules do).
MAX_BACKOFF_FACTOR = 16

Credentials = Mapping[str, tuple[str, str]]


@dataclass(frozen=True)
class PublisherConfig:
    host: str = "127.0.0.1"
    port: int = 1883
    topic_prefix: str = "hemkoll"
    # None: as fast as possible; k: the plan's spacing divided by k.
    speed: float | None = None
    # Publish each message at its publish_at by the wall clock (``speed`` is then ignored).
    realtime: bool = False
    # The broker has no authentication: one connection for all devices.
    shared_connection: bool = False
    resend_after_s: float = 30.0
    # After the last message, wait this long for outstanding feedback (resending meanwhile).
    drain_timeout_s: float = 60.0
    # Messages awaiting feedback before publishing pauses (keeps paho's queue short, well
    # below its 65,535 message ids).
    max_awaiting_feedback: int = 1000
    progress_interval_s: float = 10.0
    show_progress: bool = True


@dataclass(frozen=True)
class PublishReport:
    published: int
    resent: int
    feedback: int
    status_counts: Mapping[str, int]
    stored: int
    duplicates: int
    # (device_id, msg_id) of messages still without feedback when the drain ended.
    unacknowledged: tuple[tuple[str, str], ...]
    elapsed_s: float


@dataclass
class _Pending:
    client: mqtt.Client
    topic: str
    payload: bytes
    sent_at: float
    attempts: int = 1
    # The plan's publish time of the message (where a resumed run starts again).
    publish_at: datetime | None = None


@dataclass
class _State:
    """What the network threads and the publishing loop share, under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    pending: dict[tuple[str, str], _Pending] = field(default_factory=dict)
    status_counts: dict[str, int] = field(default_factory=dict)
    feedback: int = 0
    stored: int = 0
    duplicates: int = 0


class _Pace:
    """When (time.monotonic) each message is due."""

    def __init__(self, config: PublisherConfig) -> None:
        self._config = config
        self._origin: tuple[datetime, float] | None = None

    def due(self, publish_at: datetime) -> float:
        now = time.monotonic()
        if self._config.realtime:
            return now + (publish_at - datetime.now(UTC)).total_seconds()
        if self._config.speed is None:
            return now
        if self._origin is None:
            self._origin = (publish_at, now)
        first, start = self._origin
        return start + (publish_at - first).total_seconds() / self._config.speed


class PlanPublisher:
    """Connections, feedback tracking and resends; use ``publish_plan`` for a whole plan."""

    def __init__(
        self,
        credentials: Credentials,
        config: PublisherConfig,
        *,
        stop: threading.Event | None = None,
    ) -> None:
        """``stop``: once set, ``wait_until`` and ``drain`` return at once."""
        self._credentials = credentials
        self._config = config
        self._stop = stop if stop is not None else threading.Event()
        self._state = _State()
        self._clients: dict[str, mqtt.Client] = {}
        self._published = 0
        self._resent = 0
        self._last_service = 0.0

    def __enter__(self) -> PlanPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for client in self._clients.values():
            client.disconnect()
            client.loop_stop()
        self._clients.clear()

    # --- connections ---------------------------------------------------------------------

    def _client_for(self, device_key: str) -> tuple[mqtt.Client, str]:
        try:
            device_id, password = self._credentials[device_key]
        except KeyError:
            raise KeyError(f"no device id and password for simulated device {device_key}") from None
        if self._config.shared_connection:
            name = "shared"
            subscription = feedback_topic(self._config.topic_prefix, "+")
        else:
            name = device_id
            subscription = feedback_topic(self._config.topic_prefix, device_id)
        client = self._clients.get(name)
        if client is None:
            client = self._connect(name, device_id, password, subscription)
            self._clients[name] = client
        return client, device_id

    def _connect(self, name: str, device_id: str, password: str, subscription: str) -> mqtt.Client:
        shared = self._config.shared_connection
        client_id = f"hemkoll-sim-{uuid.uuid4().hex[:12]}" if shared else device_id
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if not shared:
            client.username_pw_set(device_id, password)
        client.max_inflight_messages_set(100)
        subscribed = threading.Event()

        def on_connect(
            client: mqtt.Client,
            userdata: Any,
            flags: mqtt.ConnectFlags,
            reason_code: ReasonCode,
            properties: Properties | None,
        ) -> None:
            if not reason_code.is_failure:
                # Subscribe on every (re)connection: a clean start forgets subscriptions.
                client.subscribe(subscription, qos=FEEDBACK_QOS)

        def on_subscribe(
            client: mqtt.Client,
            userdata: Any,
            mid: int,
            reason_codes: list[ReasonCode],
            properties: Properties | None,
        ) -> None:
            if reason_codes and not reason_codes[0].is_failure:
                subscribed.set()

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_message = self._on_feedback
        client.connect(self._config.host, self._config.port)
        client.loop_start()
        if not subscribed.wait(CONNECT_TIMEOUT_S):
            client.disconnect()
            client.loop_stop()
            raise ConnectionError(
                f"{name}: no subscription to {subscription} within {CONNECT_TIMEOUT_S:g} s "
                "(wrong credentials, ACL or broker address?)"
            )
        return client

    # --- feedback ------------------------------------------------------------------------

    def _on_feedback(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        prefix = f"{self._config.topic_prefix}/v1/devices/"
        device_id = message.topic.removeprefix(prefix).removesuffix("/feedback")
        try:
            doc = orjson.loads(message.payload)
        except orjson.JSONDecodeError:
            return
        if not isinstance(doc, dict):
            return
        state = self._state
        with state.lock:
            state.feedback += 1
            status = str(doc.get("status"))
            state.status_counts[status] = state.status_counts.get(status, 0) + 1
            state.stored += int(doc.get("stored") or 0)
            state.duplicates += int(doc.get("duplicates") or 0)
            msg_id = doc.get("msg_id")
            if isinstance(msg_id, str):
                state.pending.pop((device_id, msg_id), None)

    # --- publishing ----------------------------------------------------------------------

    def publish(self, message: PlannedMessage) -> None:
        client, device_id = self._client_for(message.device_key)
        topic = readings_topic(self._config.topic_prefix, device_id)
        client.publish(topic, message.payload, qos=READINGS_QOS)
        self._published += 1
        if message.fault == "truncated":
            return  # no readable msg_id: no feedback can name it
        with self._state.lock:
            key = (device_id, message.msg_id)
            entry = self._state.pending.get(key)
            if entry is None:
                self._state.pending[key] = _Pending(
                    client,
                    topic,
                    message.payload,
                    time.monotonic(),
                    publish_at=message.publish_at,
                )
            else:  # the plan's own duplicate send counts as an attempt
                entry.sent_at = time.monotonic()
                entry.attempts += 1

    def awaiting_feedback(self) -> int:
        with self._state.lock:
            return len(self._state.pending)

    def oldest_awaiting(self) -> datetime | None:
        """The earliest plan publish time of a message still without feedback (None: none)."""
        with self._state.lock:
            times = [p.publish_at for p in self._state.pending.values() if p.publish_at]
        return min(times, default=None)

    def service(self) -> None:
        """Resend what has waited too long for feedback (at most every SERVICE_INTERVAL_S)."""
        now = time.monotonic()
        if now - self._last_service < SERVICE_INTERVAL_S:
            return
        self._last_service = now
        due: list[_Pending] = []
        with self._state.lock:
            for entry in self._state.pending.values():
                backoff = min(2 ** (entry.attempts - 1), MAX_BACKOFF_FACTOR)
                if now - entry.sent_at >= self._config.resend_after_s * backoff:
                    entry.sent_at = now
                    entry.attempts += 1
                    due.append(entry)
        for entry in due:
            entry.client.publish(entry.topic, entry.payload, qos=READINGS_QOS)
        self._resent += len(due)

    def wait_until(self, due: float) -> bool:
        """Sleep until ``due`` and until fewer than the limit await feedback, serving resends.

        False if ``stop`` was set first.
        """
        while not self._stop.is_set():
            self.service()
            remaining = due - time.monotonic()
            if remaining <= 0 and self.awaiting_feedback() < self._config.max_awaiting_feedback:
                return True
            self._stop.wait(min(max(remaining, 0.005), SERVICE_INTERVAL_S))
        return False

    def drain(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self.awaiting_feedback() and time.monotonic() < deadline:
            self.service()
            if self._stop.wait(0.02):
                return

    def report(self, elapsed_s: float) -> PublishReport:
        state = self._state
        with state.lock:
            return PublishReport(
                published=self._published,
                resent=self._resent,
                feedback=state.feedback,
                status_counts=dict(state.status_counts),
                stored=state.stored,
                duplicates=state.duplicates,
                unacknowledged=tuple(sorted(state.pending)),
                elapsed_s=elapsed_s,
            )


def publish_plan(
    plan: Iterable[PlannedMessage],
    credentials: Credentials,
    config: PublisherConfig,
    *,
    total: int | None = None,
    stop: threading.Event | None = None,
) -> PublishReport:
    """Publish every message of ``plan`` in order, paced by ``config``; wait for feedback.

    ``credentials`` maps each simulated device key (``SIM-0001/scale``) to its enrolled
    ``(device_id, mqtt_password)``; the password is unused with ``shared_connection``.
    Setting ``stop`` ends it early (the report then says what was published so far).
    """
    started = time.monotonic()
    pace = _Pace(config)
    progress = Progress(
        "publish", total, interval_s=config.progress_interval_s, enabled=config.show_progress
    )
    with PlanPublisher(credentials, config, stop=stop) as publisher:
        for message in plan:
            if not publisher.wait_until(pace.due(message.publish_at)):
                break
            publisher.publish(message)
            progress.advance(detail=f"{publisher.awaiting_feedback()} awaiting feedback")
        publisher.drain(config.drain_timeout_s)
        report = publisher.report(time.monotonic() - started)
    progress.finish(f"{report.resent} resent, {len(report.unacknowledged)} without feedback")
    return report
