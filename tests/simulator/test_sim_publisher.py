"""The publisher against the machine's Mosquitto (127.0.0.1:1883, anonymous) and a stand-in
for the ingest service that answers each message only the second time it arrives, so that every
tracked message must be resent once. Each test uses its own random topic prefix."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from hemkoll.protocol.topics import feedback_topic, readings_subscription
from hemkoll.simulator import simulate
from hemkoll.simulator.publisher import PublisherConfig, publish_plan

HOST, PORT = "127.0.0.1", 1883


@dataclass
class SecondTimeIngest:
    """Counts arrivals per (device, msg_id); sends feedback from the second arrival on."""

    prefix: str
    arrivals: dict[tuple[str, str], int] = field(default_factory=dict)
    unreadable: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        device_id = msg.topic.split("/")[-2]
        try:
            msg_id = orjson.loads(msg.payload)["msg_id"]
        except orjson.JSONDecodeError:
            with self.lock:
                self.unreadable += 1
            return
        with self.lock:
            key = (device_id, msg_id)
            self.arrivals[key] = self.arrivals.get(key, 0) + 1
            seen = self.arrivals[key]
        if seen >= 2:
            feedback = {"msg_id": msg_id, "status": "accepted", "stored": 1, "duplicates": 0}
            client.publish(feedback_topic(self.prefix, device_id), orjson.dumps(feedback), qos=1)


@pytest.fixture
def prefix() -> str:
    return f"simtest-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def ingest(prefix: str) -> Iterator[SecondTimeIngest]:
    stand_in = SecondTimeIngest(prefix)
    subscribed = threading.Event()
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"{prefix}-ingest",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.on_message = stand_in.on_message
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect(HOST, PORT)
    client.loop_start()
    client.subscribe(readings_subscription(prefix), qos=1)
    assert subscribed.wait(5), "no subscription at the machine's broker"
    yield stand_in
    client.disconnect()
    client.loop_stop()


def test_each_device_connects_as_itself_and_resends_until_feedback(
    prefix: str, ingest: SecondTimeIngest
) -> None:
    sim = simulate(2, 8, seed=3)
    plan = list(sim.plan)
    credentials = {key: (str(uuid.uuid4()), "secret") for key in sim.plan.device_keys()}
    config = PublisherConfig(
        host=HOST,
        port=PORT,
        topic_prefix=prefix,
        resend_after_s=0.3,
        drain_timeout_s=15.0,
        show_progress=False,
    )
    report = publish_plan(plan, credentials, config)
    tracked = {(credentials[m.device_key][0], m.msg_id) for m in plan if m.fault != "truncated"}
    assert report.published == len(plan)
    assert report.unacknowledged == ()
    assert set(ingest.arrivals) == tracked
    # Every tracked message arrived at least twice: resent (or sent twice by the plan itself).
    assert all(count >= 2 for count in ingest.arrivals.values())
    assert report.resent >= len(tracked) - sum(m.duplicate for m in plan)
    assert report.feedback >= len(tracked)
    assert ingest.unreadable == sum(m.fault == "truncated" for m in plan)


def test_shared_connection_compresses_time(prefix: str, ingest: SecondTimeIngest) -> None:
    sim = simulate(1, 3, seed=8)
    plan = list(sim.plan)
    span = (plan[-1].publish_at - plan[0].publish_at).total_seconds()
    speed = span / 1.5  # the plan's days in about one and a half seconds
    credentials = {key: (str(uuid.uuid4()), "") for key in sim.plan.device_keys()}
    config = PublisherConfig(
        host=HOST,
        port=PORT,
        topic_prefix=prefix,
        speed=speed,
        shared_connection=True,
        resend_after_s=0.2,
        drain_timeout_s=10.0,
        show_progress=False,
    )
    started = time.monotonic()
    report = publish_plan(plan, credentials, config)
    assert time.monotonic() - started >= 1.4
    assert report.unacknowledged == ()
    assert report.published == len(plan)
