"""Device messages: published to the device's feedback topic, delivered on the broker's PUBACK.

One paho-mqtt 2 client (MQTT 5, clean start, the service user) on paho's own network thread,
which reconnects by itself; publishing is thread-safe, so the dispatcher's threads share it.
It connects on the first device message, so a dispatcher with only webhooks to send never
needs the broker. The broker's PUBACK means the broker has the message: from there on it is
the broker's (and the device's subscription's) to deliver. A message is only published while
connected; one whose PUBACK does not come is tried again, and paho may also resend it after a
reconnect, so a device can get a message twice: the ``id`` added to the payload (the
notification's id) lets it drop the copy, as a webhook receiver does with ``webhook-id``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from hemkoll.notify.schedule import AttemptOutcome
from hemkoll.paho_client import BROKER_RECONNECT, build_client
from hemkoll.protocol.topics import feedback_topic
from hemkoll.settings import MqttEndpoint

log = logging.getLogger(__name__)

# Device messages need the broker to hold them for a device that is offline: QoS 1.
DEVICE_MESSAGE_QOS = 1
# How long a publish waits for the connection (on the first message, or while paho
# reconnects): a local broker answers in milliseconds; a restart takes about a second.
CONNECT_WAIT_S = 5.0
# How long a publish (or a batch of them: publish_many) waits for the broker's PUBACK. Like the
# HTTP timeout, it keeps the whole attempt (CONNECT_WAIT_S + this) far inside the dispatcher's
# lease.
PUBACK_TIMEOUT_S = 10.0
KEEPALIVE_S = 30
# paho's in-flight window: a dispatcher publishes a batch of device messages at once
# (dispatcher.DEVICE_BATCH) and waits for their PUBACKs together; the broker's own window for
# a client (deploy/mosquitto: max_inflight_messages 100) is the same.
MAX_INFLIGHT = 100


def device_message(notification_id: UUID, payload: Mapping[str, Any]) -> bytes:
    """The stored payload with the notification's id, for the device to drop a resent copy."""
    return orjson.dumps({**payload, "id": str(notification_id)})


class DevicePublisher:
    def __init__(
        self,
        endpoint: MqttEndpoint,
        *,
        client_id: str,
        topic_prefix: str,
        ca_file: str | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._prefix = topic_prefix
        self._connected = threading.Event()
        self._start_lock = threading.Lock()
        self._started = False
        client = build_client(mqtt.Client, endpoint, client_id=client_id, ca_file=ca_file)
        client.max_inflight_messages_set(MAX_INFLIGHT)
        # paho's own reconnect loop, within the bounds of every broker reconnect (no jitter:
        # paho has none, and there is one dispatcher connection per replica).
        client.reconnect_delay_set(round(BROKER_RECONNECT.first_s), round(BROKER_RECONNECT.max_s))
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        self._client = client

    def publish(
        self, notification_id: UUID, device_id: UUID, payload: Mapping[str, Any]
    ) -> AttemptOutcome:
        """Publish once at QoS 1 and wait for the PUBACK; unreachable or no PUBACK: failed."""
        [(outcome, _)] = self.publish_many([(notification_id, device_id, payload)])
        return outcome

    def publish_many(
        self, messages: Sequence[tuple[UUID, UUID, Mapping[str, Any]]]
    ) -> list[tuple[AttemptOutcome, float]]:
        """Publish each (notification, device, payload) once at QoS 1, all before waiting, then
        wait for their PUBACKs, PUBACK_TIMEOUT_S for all of them: paho keeps up to
        MAX_INFLIGHT unacknowledged (the rest queued in order), so a batch costs about one
        round trip to the broker, not one per message. Each one's outcome, in order, and the
        seconds from its publish until its PUBACK was seen (or it was given up)."""
        self._start()
        started = time.monotonic()
        if not self._connected.wait(CONNECT_WAIT_S):
            unreachable = AttemptOutcome("failed", error="the MQTT broker is unreachable")
            return [(unreachable, time.monotonic() - started)] * len(messages)
        sent: list[tuple[mqtt.MQTTMessageInfo | AttemptOutcome, float]] = []
        for notification_id, device_id, payload in messages:
            at = time.monotonic()
            info = self._client.publish(
                feedback_topic(self._prefix, device_id),
                device_message(notification_id, payload),
                qos=DEVICE_MESSAGE_QOS,
            )
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                error = f"publish refused: {mqtt.error_string(info.rc)}"
                sent.append((AttemptOutcome("failed", error=error), at))
            else:
                sent.append((info, at))
        deadline = time.monotonic() + PUBACK_TIMEOUT_S
        return [(self._acknowledged(info, deadline), time.monotonic() - at) for info, at in sent]

    @staticmethod
    def _acknowledged(
        info: mqtt.MQTTMessageInfo | AttemptOutcome, deadline: float
    ) -> AttemptOutcome:
        if isinstance(info, AttemptOutcome):  # refused at publish
            return info
        try:
            info.wait_for_publish(timeout=max(0.0, deadline - time.monotonic()))
        except (RuntimeError, ValueError) as exc:  # paho: the message was dropped
            return AttemptOutcome("failed", error=f"publish failed: {type(exc).__name__}")
        if not info.is_published():
            return AttemptOutcome("failed", error="no PUBACK from the MQTT broker in time")
        return AttemptOutcome("ok")

    def close(self) -> None:
        with self._start_lock:
            if not self._started:
                return
            self._started = False
        self._client.disconnect()
        self._client.loop_stop()

    def _start(self) -> None:
        with self._start_lock:
            if self._started:
                return
            self._started = True
            self._client.connect_async(
                self._endpoint.host, self._endpoint.port, KEEPALIVE_S, clean_start=True
            )
            self._client.loop_start()

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.error("broker refused the dispatcher's connection: %s", reason_code)
            return
        log.info("dispatcher connected to broker %s:%d", self._endpoint.host, self._endpoint.port)
        self._connected.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        with self._start_lock:
            closing = not self._started
        if was_connected and not closing:  # not our own close(): paho reconnects
            log.warning("dispatcher disconnected from broker (%s); reconnecting", reason_code)
