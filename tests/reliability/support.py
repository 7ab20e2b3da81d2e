"""What the reliability tests share: ``hemkoll ingest`` as a process with its log kept, a device
client that collects feedback per topic, and the rejection codes docs/protocol.md documents."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from hemkoll.protocol.topics import feedback_topic, readings_topic
from hemkoll.settings import parse_mqtt_url
from tests.helpers import count_readings, message, reading, wait_until

PROTOCOL_DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def documented_rejection_codes() -> frozenset[str]:
    """The codes of docs/protocol.md's "Rejection codes" table."""
    text = PROTOCOL_DOC.read_text()
    section = text[text.index("## Rejection codes") :]
    return frozenset(re.findall(r"^\| `([a-z_0-9]+)` \|", section, flags=re.MULTILINE))


@dataclass
class IngestProcess:
    """``python -m hemkoll ingest`` with its output in ``log``."""

    process: subprocess.Popen[bytes]
    log: Path

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def ingest_running(
    db_url: str, mqtt_url: str, prefix: str, log: Path, *, warm_device: str
) -> Iterator[IngestProcess]:
    """Start ingest and return once it stores (a warm-up reading from ``warm_device``, resent
    until stored: a message published before its subscription exists is not kept)."""
    env = {
        **os.environ,
        "HEMKOLL_DATABASE_URL": db_url,
        "HEMKOLL_MQTT_URL": mqtt_url,
        "HEMKOLL_MQTT_TOPIC_PREFIX": prefix,
        "HEMKOLL_MQTT_CLIENT_ID": f"{prefix}-ingest",
        "HEMKOLL_LOG_LEVEL": "DEBUG",
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "hemkoll", "ingest"], env=env, stdout=out, stderr=out
        )
    ingest = IngestProcess(process, log)
    try:
        warm = message("warm-up", reading("body_weight", 80.0, "kg", datetime.now(UTC)))
        deadline = time.monotonic() + 30
        with DeviceClient(mqtt_url, prefix, [warm_device]) as device:
            while count_readings(db_url) == 0:
                assert ingest.alive, ingest.log_text()
                assert time.monotonic() < deadline, "ingest stored nothing"
                device.publish(warm_device, warm)
                time.sleep(0.5)
        yield ingest
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@dataclass
class DeviceClient:
    """One MQTT 5 connection that publishes for ``devices`` and collects their feedback."""

    mqtt_url: str
    prefix: str
    devices: list[str]
    username: str | None = None
    password: str | None = None
    client_id: str | None = None
    feedback: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _client: mqtt.Client | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> DeviceClient:
        endpoint = parse_mqtt_url(self.mqtt_url)
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id or f"{self.prefix}-dev-{os.urandom(4).hex()}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if self.username:
            client.username_pw_set(self.username, self.password)
        client.max_inflight_messages_set(100)
        client.on_message = self._on_message
        client.connect(endpoint.host, endpoint.port)
        client.loop_start()
        for device in self.devices:
            self.feedback[device] = []
            client.subscribe(feedback_topic(self.prefix, device), qos=1)
        self._client = client
        time.sleep(0.3)  # the SUBACKs before anything is published
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._client is not None
        self._client.disconnect()
        self._client.loop_stop()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        device = msg.topic.removeprefix(f"{self.prefix}/v1/devices/").removesuffix("/feedback")
        with self._lock:
            self.feedback.setdefault(device, []).append(orjson.loads(msg.payload))

    def publish(
        self, device: str, payload: bytes, topic: str | None = None, timeout: float = 10.0
    ) -> bool:
        """QoS 1; True once the broker acknowledged it (False: not within ``timeout``)."""
        assert self._client is not None
        info = self._client.publish(topic or readings_topic(self.prefix, device), payload, qos=1)
        info.wait_for_publish(timeout=timeout)
        return info.is_published()

    def count(self, device: str) -> int:
        with self._lock:
            return len(self.feedback.get(device, []))

    def wait_feedback(self, device: str, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        wait_until(lambda: self.count(device) >= count, timeout, f"{count} feedback for {device}")
        with self._lock:
            return list(self.feedback[device])
