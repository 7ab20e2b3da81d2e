"""Test helpers that drive the real services: ingest, a device-like publisher, feedback."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from hemkoll.ingest.service import IngestConfig, IngestService
from hemkoll.protocol.topics import feedback_topic, readings_topic
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.rules.urgency import urgent_limits
from hemkoll.settings import parse_mqtt_url
from hemkoll.store.connect import connect
from hemkoll.store.devices import Enrolment, enrol_device

# What the ingest service is given in production (hemkoll.cli.services): the programme's.
PROGRAMME_URGENT = urgent_limits(HEART_FAILURE)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def scalar(db_url: str, query: str, params: tuple[Any, ...] = ()) -> Any:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return row[0]


def count_readings(db_url: str) -> int:
    return int(scalar(db_url, "SELECT count(*) FROM readings"))


def enrol(
    db_url: str,
    kind: str = "gateway",
    patient: str = "P-1",
    centre: str = "VC Test",
    enrolled_days_ago: float = 30,
) -> Enrolment:
    """Enrol a device, backdated so that readings of the recent past are accepted."""
    with connect(db_url) as conn:
        enrolment = enrol_device(
            conn, health_centre_name=centre, patient_reference=patient, device_kind=kind
        )
        conn.execute(
            "UPDATE devices SET enrolled_at = now() - make_interval(secs => %s) WHERE id = %s",
            (enrolled_days_ago * 86400, enrolment.device.id),
        )
        conn.commit()
    return enrolment


def reading(metric: str, value: float, unit: str, at: datetime) -> dict[str, Any]:
    return {"metric": metric, "value": value, "unit": unit, "measured_at": at.isoformat()}


def message(msg_id: str, *readings: dict[str, Any]) -> bytes:
    return orjson.dumps({"msg_id": msg_id, "readings": list(readings)})


@contextmanager
def running_ingest(
    db_url: str, mqtt_url: str, prefix: str, client_id: str | None = None
) -> Iterator[IngestService]:
    """The ingest service in a thread of this process, stopped cleanly at the end."""
    service = IngestService(
        IngestConfig(
            database_url=db_url,
            mqtt=parse_mqtt_url(mqtt_url),
            topic_prefix=prefix,
            client_id=client_id or f"{prefix}-ingest",
            urgent=PROGRAMME_URGENT,
        )
    )
    thread = threading.Thread(target=service.run, name="ingest", daemon=True)
    thread.start()
    assert service.wait_connected(10), "ingest did not connect to the broker"
    # The subscription is sent right after CONNACK; give the broker a moment to register it.
    time.sleep(0.2)
    try:
        yield service
    finally:
        service.stop()
        thread.join(timeout=15)
        assert not thread.is_alive(), "ingest did not stop"


def ingest_process(
    db_url: str, mqtt_url: str, prefix: str, client_id: str
) -> subprocess.Popen[bytes]:
    """``hemkoll ingest`` as a separate process (for kill -9)."""
    env = {
        **os.environ,
        "HEMKOLL_DATABASE_URL": db_url,
        "HEMKOLL_MQTT_URL": mqtt_url,
        "HEMKOLL_MQTT_TOPIC_PREFIX": prefix,
        "HEMKOLL_MQTT_CLIENT_ID": client_id,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "hemkoll", "ingest"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@dataclass
class Device:
    """A device-like MQTT client: publishes at QoS 1 and collects its feedback."""

    mqtt_url: str
    prefix: str
    device_id: str
    username: str | None = None
    password: str | None = None
    feedback: list[dict[str, Any]] = field(default_factory=list)
    _client: mqtt.Client | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> Device:
        endpoint = parse_mqtt_url(self.mqtt_url)
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"{self.prefix}-dev-{self.device_id}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if self.username:
            client.username_pw_set(self.username, self.password)
        client.max_inflight_messages_set(100)
        client.on_message = self._on_message
        client.connect(endpoint.host, endpoint.port)
        client.loop_start()
        result, _ = client.subscribe(feedback_topic(self.prefix, self.device_id), qos=1)
        assert result == mqtt.MQTT_ERR_SUCCESS
        self._client = client
        time.sleep(0.2)  # let the SUBACK arrive before anything is published
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._client is not None
        self._client.disconnect()
        self._client.loop_stop()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.feedback.append(orjson.loads(msg.payload))

    def publish(self, payload: bytes, topic: str | None = None) -> None:
        assert self._client is not None
        info = self._client.publish(
            topic or readings_topic(self.prefix, self.device_id), payload, qos=1
        )
        info.wait_for_publish(timeout=10)

    def wait_feedback(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        wait_until(lambda: len(self.feedback) >= count, timeout, f"{count} feedback messages")
        with self._lock:
            return list(self.feedback)


def publish_many(
    mqtt_url: str, prefix: str, device_id: str, payloads: list[bytes], *, client_id: str
) -> None:
    """Publish at QoS 1 as fast as the broker takes them; return once every PUBACK is in."""
    endpoint = parse_mqtt_url(mqtt_url)
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.max_inflight_messages_set(500)
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    try:
        topic = readings_topic(prefix, device_id)
        infos = [client.publish(topic, payload, qos=1) for payload in payloads]
        for info in infos:
            info.wait_for_publish(timeout=60)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def numbered_messages(count: int, start: datetime, per_message: int = 1) -> list[bytes]:
    """``count`` messages of distinct body-weight readings, one second apart."""
    return [
        message(
            f"m-{i}",
            *(
                reading(
                    "body_weight",
                    70 + (i % 50) / 10,
                    "kg",
                    start + timedelta(seconds=i * per_message + j),
                )
                for j in range(per_message)
            ),
        )
        for i in range(count)
    ]
