"""Several ingest workers on one broker through an MQTT 5 shared subscription (docs/scaling.md).

* What Mosquitto (2.0.11 here) does with shared subscriptions, measured, because hemkoll's
  choice rests on it: a clean-start member that dies takes its assigned messages with it (no
  other member gets them); a persistent member that is away keeps being handed its share
  (hoarding); a member that unsubscribes still receives what it was assigned.
* The broker-auth ACL lets a shared member receive.
* Two and three ``hemkoll ingest`` workers sharing the stream, one SIGKILLed mid-stream (and a
  replacement started, and another killed): with devices that resend what got no feedback,
  stored == published, each reading once.
* A worker stopped with SIGTERM mid-stream leaves the group and finishes its share: nothing is
  lost even for devices that never resend.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import ValidationError

from hemkoll.ingest.broker_auth import acl_file
from hemkoll.ingest.service import IngestConfig, IngestService
from hemkoll.protocol.topics import shared_readings_subscription
from hemkoll.settings import Settings, parse_mqtt_url
from hemkoll.store.credentials import hash_secret
from tests.conftest import Broker
from tests.helpers import (
    PROGRAMME_URGENT,
    count_readings,
    enrol,
    message,
    numbered_messages,
    publish_many,
    reading,
    scalar,
    wait_until,
)
from tests.resending_devices import ResendingDevices

GROUP = "hemkoll"


# -- settings ------------------------------------------------------------------------------


def test_share_group_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().ingest_share_group is None
    monkeypatch.setenv("HEMKOLL_INGEST_SHARE_GROUP", "")
    assert Settings().ingest_share_group is None
    monkeypatch.setenv("HEMKOLL_INGEST_SHARE_GROUP", "ingest")
    assert Settings().ingest_share_group == "ingest"
    assert shared_readings_subscription("hk", "ingest") == "$share/ingest/hk/v1/devices/+/readings"
    for bad in ("a/b", "a+", "#"):
        monkeypatch.setenv("HEMKOLL_INGEST_SHARE_GROUP", bad)
        with pytest.raises(ValidationError):
            Settings()


# -- what Mosquitto does -------------------------------------------------------------------


class _Member:
    """A raw shared-subscription member with manual acknowledgement (Receive Maximum 10)."""

    def __init__(self, broker: Broker, client_id: str, *, ack: bool, expiry: int = 0) -> None:
        self.received: list[int] = []
        self.mids: list[int] = []
        self.ack = ack
        self.unsubscribed = threading.Event()
        subscribed = threading.Event()
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        client.on_message = self._on_message
        client.on_subscribe = lambda *_: subscribed.set()
        client.on_unsubscribe = lambda *_: self.unsubscribed.set()
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.ReceiveMaximum = 10
        if expiry:
            props.SessionExpiryInterval = expiry
        client.connect(broker.host, broker.port, clean_start=not expiry, properties=props)
        client.loop_start()
        client.subscribe(f"$share/{GROUP}/t/+", qos=1)
        assert subscribed.wait(5)
        self.client = client

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        self.received.append(int(msg.payload))
        if self.ack:
            client.ack(msg.mid, msg.qos)
        else:
            self.mids.append(msg.mid)

    def kill(self) -> None:
        """Drop the connection without DISCONNECT, as a killed process does."""
        self.client.loop_stop()
        sock = self.client.socket()
        assert sock is not None
        sock.close()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _publish(broker: Broker, numbers: range) -> None:
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"pub-{numbers.start}",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.connect(broker.host, broker.port)
    client.loop_start()
    infos = [client.publish(f"t/{i % 5}", str(i).encode(), qos=1) for i in numbers]
    for info in infos:
        info.wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


@pytest.mark.broker
def test_mosquitto_drops_what_a_dead_clean_start_member_was_assigned(own_broker: Broker) -> None:
    stuck = _Member(own_broker, "stuck", ack=False)  # a worker that hangs, then dies
    alive = _Member(own_broker, "alive", ack=True)
    _publish(own_broker, range(100))
    wait_until(lambda: len(alive.received) == 50, 5, "the live member's half")
    # Strict round robin, regardless of load: the stuck member was assigned the other half,
    # 10 in flight (its Receive Maximum) and 40 queued in its session.
    assert len(stuck.received) == 10
    stuck.kill()
    time.sleep(1.0)
    _publish(own_broker, range(100, 120))
    wait_until(lambda: len(alive.received) == 70, 5, "the messages after the death")
    time.sleep(0.5)
    # The 50 the dead member was assigned are gone: Mosquitto gives them to no other member.
    assert set(alive.received) == set(range(1, 100, 2)) | set(range(100, 120))
    alive.close()


@pytest.mark.broker
def test_mosquitto_hoards_for_an_absent_persistent_member(own_broker: Broker) -> None:
    away = _Member(own_broker, "away", ack=True, expiry=3600)
    alive = _Member(own_broker, "alive", ack=True)
    away.kill()
    time.sleep(1.0)
    _publish(own_broker, range(100))
    wait_until(lambda: len(alive.received) == 50, 5, "the live member's half")
    time.sleep(0.5)
    assert len(alive.received) == 50  # the other half waits for the absent member
    back = _Member(own_broker, "away", ack=True, expiry=3600)
    wait_until(lambda: len(back.received) == 50, 5, "the hoarded half")
    assert sorted(alive.received + back.received) == list(range(100))
    back.close()
    alive.close()


@pytest.mark.broker
def test_a_member_that_unsubscribes_still_gets_what_it_was_assigned(own_broker: Broker) -> None:
    leaving = _Member(own_broker, "leaving", ack=False)
    alive = _Member(own_broker, "alive", ack=True)
    _publish(own_broker, range(100))
    wait_until(lambda: len(alive.received) == 50, 5, "the live member's half")
    leaving.client.unsubscribe(f"$share/{GROUP}/t/+")
    assert leaving.unsubscribed.wait(5)
    _publish(own_broker, range(100, 120))  # all to the member that stays
    leaving.ack = True
    for mid in leaving.mids:
        leaving.client.ack(mid, 1)
    wait_until(lambda: len(leaving.received) == 50, 5, "the leaving member's assigned half")
    wait_until(lambda: len(alive.received) == 70, 5, "the later messages")
    assert sorted(alive.received + leaving.received) == list(range(120))
    leaving.close()
    alive.close()


# -- hemkoll ingest as shared members ------------------------------------------------------


@contextmanager
def running_member(db_url: str, mqtt_url: str, prefix: str) -> Iterator[IngestService]:
    """A shared-subscription ingest member in a thread of this process."""
    service = IngestService(
        IngestConfig(
            database_url=db_url,
            mqtt=parse_mqtt_url(mqtt_url),
            topic_prefix=prefix,
            client_id=f"{prefix}-ingest",
            urgent=PROGRAMME_URGENT,
            share_group=GROUP,
        )
    )
    thread = threading.Thread(target=service.run, name="ingest-member", daemon=True)
    thread.start()
    assert service.wait_connected(10), "ingest did not connect to the broker"
    time.sleep(0.2)  # the subscription is sent right after CONNACK
    try:
        yield service
    finally:
        service.stop()
        thread.join(timeout=15)
        assert not thread.is_alive(), "ingest did not stop"


def test_the_broker_auth_acl_lets_a_shared_member_receive(
    tmp_path: Path, db_url: str, topic_prefix: str
) -> None:
    device = enrol(db_url, kind="scale")
    passwd, acl = tmp_path / "hemkoll.passwd", tmp_path / "hemkoll.acl"
    passwd.write_text(
        f"ingest:{hash_secret('s3cret')}\n{device.device.id}:{hash_secret(device.mqtt_password)}\n"
    )
    acl.write_text(acl_file(topic_prefix, "ingest"))
    broker = Broker(tmp_path, f"password_file {passwd}\nacl_file {acl}\n", anonymous=False)
    broker.start()
    service_url = f"mqtt://ingest:s3cret@{broker.host}:{broker.port}"
    device_url = f"mqtt://{device.device.id}:{device.mqtt_password}@{broker.host}:{broker.port}"
    try:
        with running_member(db_url, service_url, topic_prefix) as member:
            assert member.client_id.startswith(f"{topic_prefix}-ingest-")
            endpoint = parse_mqtt_url(device_url)
            client = mqtt.Client(
                callback_api_version=CallbackAPIVersion.VERSION2,
                client_id=str(device.device.id),
                protocol=MQTTProtocolVersion.MQTTv5,
            )
            client.username_pw_set(endpoint.username, endpoint.password)
            client.connect(endpoint.host, endpoint.port)
            client.loop_start()
            payload = message("m1", reading("body_weight", 80, "kg", datetime.now(UTC)))
            client.publish(
                f"{topic_prefix}/v1/devices/{device.device.id}/readings", payload, qos=1
            ).wait_for_publish(5)
            wait_until(lambda: count_readings(db_url) == 1, 10, "the reading to be stored")
            client.disconnect()
            client.loop_stop()
    finally:
        broker.stop()


def _member_process(
    db_url: str, broker: Broker, prefix: str, log_path: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HEMKOLL_DATABASE_URL": db_url,
        "HEMKOLL_MQTT_URL": broker.url,
        "HEMKOLL_MQTT_TOPIC_PREFIX": prefix,
        "HEMKOLL_MQTT_CLIENT_ID": f"{prefix}-ingest",
        "HEMKOLL_INGEST_SHARE_GROUP": GROUP,
        "HEMKOLL_LOG_LEVEL": "INFO",
    }
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "hemkoll", "ingest"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def _wait_subscribed(log_paths: list[Path]) -> None:
    wait_until(
        lambda: all("connected to broker" in path.read_text() for path in log_paths),
        20,
        "every ingest member to connect",
    )
    time.sleep(0.3)  # each subscribes right after CONNACK


class _Workers:
    """``hemkoll ingest`` member processes; each one's log in its own file."""

    def __init__(self, db_url: str, broker: Broker, prefix: str, workdir: Path) -> None:
        self._args = (db_url, broker, prefix)
        self._workdir = workdir
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(self, count: int = 1) -> None:
        new = []
        for _ in range(count):
            path = self._workdir / f"ingest-{len(self.logs)}.log"
            self.procs.append(_member_process(*self._args, path))
            self.logs.append(path)
            new.append(path)
        _wait_subscribed(new)

    def signal(self, index: int, signum: signal.Signals) -> None:
        proc = self.procs[index]
        proc.send_signal(signum)
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            proc.wait(timeout=30)


def _devices(db_url: str, count: int) -> list[str]:
    return [str(enrol(db_url, kind="scale", patient=f"P-{i}").device.id) for i in range(count)]


def _assert_each_reading_once(db_url: str, expected: int) -> None:
    assert count_readings(db_url) == expected
    distinct = scalar(
        db_url,
        "SELECT count(*) FROM (SELECT DISTINCT device_id, metric, measured_at FROM readings) r",
    )
    assert distinct == expected
    assert scalar(db_url, "SELECT count(*) FROM dead_letters") == 0


DEVICES = 20
MESSAGES = 3000
READINGS_PER_MESSAGE = 2
# Publishing pace: about 500 messages a second in bursts of ten, so that the stream lasts about
# six seconds and every worker has messages in hand when one is killed.
PACE_EVERY, PACE_SLEEP_S = 10, 0.02
# Devices wait 30 s for feedback (docs/protocol.md); the test's devices wait 3 s, doubling.
RESEND_AFTER_S = 3.0
# How long the second worker hangs before it is killed: about 150 messages of the stream.
HANG_S = 0.3


@pytest.mark.broker
@pytest.mark.parametrize("workers", [2, 3])
def test_sigkill_of_a_shared_worker_mid_stream_loses_and_duplicates_nothing(
    own_broker: Broker, db_url: str, topic_prefix: str, tmp_path: Path, workers: int
) -> None:
    devices = _devices(db_url, DEVICES)
    start = datetime.now(UTC) - timedelta(days=2)
    stream = [
        (devices[i % DEVICES], f"m-{i}", payload)
        for i, payload in enumerate(
            numbered_messages(MESSAGES, start, per_message=READINGS_PER_MESSAGE)
        )
    ]
    pool = _Workers(db_url, own_broker, topic_prefix, tmp_path)
    pool.start(workers)
    # At a third of the stream SIGKILL the first worker; at half start a replacement; at two
    # thirds the second worker hangs (SIGSTOP: the broker keeps assigning it its share) and is
    # SIGKILLed HANG_S later, so that it certainly dies holding messages. Each in the middle of
    # a burst, not in a pause.
    schedule = {
        MESSAGES // 3 + PACE_EVERY // 2: "kill",
        MESSAGES // 2: "start",
        2 * MESSAGES // 3 + PACE_EVERY // 2: "hang",
    }
    hung_at: float | None = None
    halfway = 0.0
    replacement = threading.Thread(target=pool.start)
    try:
        with ResendingDevices(
            own_broker.url,
            topic_prefix,
            client_id=f"{topic_prefix}-devices",
            resend_after_s=RESEND_AFTER_S,
        ) as sender:
            for i, (device_id, msg_id, payload) in enumerate(stream):
                sender.publish(device_id, msg_id, payload, READINGS_PER_MESSAGE)
                if i % PACE_EVERY == 0:
                    time.sleep(PACE_SLEEP_S)
                action = schedule.get(i)
                if action == "kill":
                    pool.signal(0, signal.SIGKILL)
                elif action == "start":
                    replacement.start()
                    halfway = time.monotonic()
                elif action == "hang":
                    pool.procs[1].send_signal(signal.SIGSTOP)
                    hung_at = time.monotonic()
                if hung_at is not None and time.monotonic() - hung_at >= HANG_S:
                    pool.signal(1, signal.SIGKILL)
                    hung_at = None
            assert hung_at is None, "the hung worker should be killed mid-stream"
            replacement.join()
            assert len(pool.procs) == workers + 1, "the replacement should have started"
            sender.wait_all_answered(90)
            time.sleep(1.0)  # anything late must still add nothing
            account = sender.account()
            lost = sender.first_sent_of_stored_by_a_resend()
        _assert_each_reading_once(db_url, MESSAGES * READINGS_PER_MESSAGE)
    finally:
        pool.stop_all()
    print(
        f"\n{workers} workers, one killed, one hung and killed, mid-stream: {account}; "
        f"stored by a resend, first sent before the replacement started (the plain kill): "
        f"{sum(1 for t in lost if t < halfway)}, after (the hang and kill): "
        f"{sum(1 for t in lost if t >= halfway)}"
    )
    assert account.unanswered_messages == 0
    assert account.messages == MESSAGES
    # The hung worker died holding messages the broker gave to no one else: resends stored them.
    assert account.stored_by_a_resend > 0


@pytest.mark.broker
def test_sigterm_of_a_shared_worker_mid_stream_loses_nothing_without_resends(
    own_broker: Broker, db_url: str, topic_prefix: str, tmp_path: Path
) -> None:
    device = _devices(db_url, 1)[0]
    payloads = numbered_messages(4000, datetime.now(UTC) - timedelta(days=2))
    pool = _Workers(db_url, own_broker, topic_prefix, tmp_path)
    pool.start(2)
    try:

        def stream() -> None:
            # Paced over about four seconds; these devices never resend.
            for chunk in range(0, len(payloads), 200):
                publish_many(
                    own_broker.url,
                    topic_prefix,
                    device,
                    payloads[chunk : chunk + 200],
                    client_id=f"{topic_prefix}-p{chunk}",
                )
                time.sleep(0.2)

        publisher = threading.Thread(target=stream)
        publisher.start()
        time.sleep(1.5)
        assert publisher.is_alive()
        pool.signal(0, signal.SIGTERM)  # leaves the group, finishes its share, exits
        assert publisher.is_alive(), "the stop should land mid-stream"
        assert pool.procs[0].returncode == 0
        publisher.join()
        wait_until(lambda: count_readings(db_url) == 4000, 30, "every reading")
        time.sleep(0.5)
        _assert_each_reading_once(db_url, 4000)
    finally:
        pool.stop_all()
    assert "ingest stopped" in pool.logs[0].read_text()


def test_plain_subscription_is_unchanged_without_a_group() -> None:
    service = IngestService(
        IngestConfig(
            database_url="postgresql://unused",
            mqtt=parse_mqtt_url("mqtt://127.0.0.1:1"),
            topic_prefix="hk",
            client_id="hemkoll-ingest",
            urgent=PROGRAMME_URGENT,
        )
    )
    assert service.client_id == "hemkoll-ingest"  # stable, for its persistent session
    member = IngestService(
        IngestConfig(
            database_url="postgresql://unused",
            mqtt=parse_mqtt_url("mqtt://127.0.0.1:1"),
            topic_prefix="hk",
            client_id="hemkoll-ingest",
            urgent=PROGRAMME_URGENT,
            share_group=GROUP,
        )
    )
    assert member.client_id.startswith("hemkoll-ingest-")
    assert member.client_id != service.client_id
