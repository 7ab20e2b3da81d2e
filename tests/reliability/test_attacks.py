"""Attacks on the device side and on the notifications, against what the project deploys and ships.

Device side: Mosquitto started from the deployed configuration files
(hemkoll.local_services.deployed_mosquitto's ``render``: TLS listener for devices, the
registry's passwords and ACL written by ``hemkoll broker-auth``, persistence, the queue limits)
and ``hemkoll ingest`` as a process on the services' listener.
Devices connect over TLS with their own enrolment credentials, as in production.

* A device publishing to another device's readings or feedback topic, or subscribing to every
  device's readings: the broker refuses it (never delivered), so nothing is stored or heard.
  (tests/deploy/test_mosquitto.py checks the broker alone; here ingest and the store are on.)
* A payload that names another device or patient is stored as the topic's device's, nobody
  else's: ingest takes identity from the topic alone.
* A device connecting with the client id of ingest's persistent session (or of another device)
  must not throw it off or take over its session. Found by this suite: with the deployed
  configuration as it was, ingest and the intruder threw each other off every second and
  messages queued for ingest were dropped; ``use_username_as_clientid true`` on the devices'
  listener now closes it.

Notifications: a real Standard Webhooks request signed by the dispatcher's code, replayed and
altered against the receiver the project ships (hemkoll.simulator.receiver): a replay within
the 5-minute tolerance is a duplicate (same webhook-id, not processed again), a later one and
every alteration (body, id, refreshed time stamp, another centre's secret) is refused.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from hemkoll.local_services.deployed_mosquitto import (
    COMPOSE_CONF,
    SYSTEMD_CONF,
    DeployedMosquitto,
    render,
)
from hemkoll.local_services.tls import Tls, tls_material
from hemkoll.notify.webhook import SignedWebhook, send_webhook, sign_webhook
from hemkoll.protocol.topics import feedback_topic, readings_topic
from hemkoll.simulator.receiver import Delivery, WebhookReceiver
from hemkoll.store.devices import Enrolment
from hemkoll.store.health_centres import new_signing_secret
from tests.helpers import count_readings, enrol, message, reading, scalar, wait_until

SERVICE_USER = "hemkoll-service"
SERVICE_PASSWORD = "test-only-service-password"


@dataclass
class Deployed:
    broker: DeployedMosquitto
    tls: Tls
    db_url: str
    prefix: str
    a: Enrolment
    b: Enrolment
    ingest: subprocess.Popen[bytes]
    ingest_client_id: str

    def device(self, who: Enrolment, client_id: str | None = None) -> TlsDevice:
        return TlsDevice(self, who, client_id).connect()


@dataclass
class TlsDevice:
    """A device over TLS with its own credentials; records what it receives."""

    world: Deployed
    who: Enrolment
    client_id: str | None
    client: mqtt.Client | None = None
    connack: list[Any] | None = None
    received: list[tuple[str, bytes]] | None = None

    def connect(self, *, clean_start: bool = True) -> TlsDevice:
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id or f"dev-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        client.username_pw_set(str(self.who.device.id), self.who.mqtt_password)
        client.tls_set(ca_certs=str(self.world.tls.ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.connack, self.received = [], []
        lock = threading.Lock()

        def on_connect(c: mqtt.Client, u: object, flags: Any, rc: Any, props: Any) -> None:
            assert self.connack is not None
            self.connack.append((str(rc), flags.session_present))

        def on_message(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
            assert self.received is not None
            with lock:
                self.received.append((msg.topic, bytes(msg.payload)))

        client.on_connect = on_connect
        client.on_message = on_message
        client.connect("localhost", self.world.broker.tls_port, clean_start=clean_start)
        client.loop_start()
        self.client = client
        wait_until(lambda: bool(self.connack), 10, "CONNACK")
        return self

    def subscribe(self, topic: str) -> None:
        assert self.client is not None
        self.client.subscribe(topic, qos=1)

    def publish(self, topic: str, payload: bytes) -> None:
        assert self.client is not None
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=10)

    def close(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()
            self.client = None


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return tls_material(tmp_path_factory.mktemp("tls"))


def _deployed(config: Path, folder: Path, tls: Tls, db_url: str, prefix: str) -> Iterator[Deployed]:
    a = enrol(db_url, kind="gateway", patient="P-ATTACK-A")
    b = enrol(db_url, kind="gateway", patient="P-ATTACK-B")
    passwd, acl = folder / "auth" / "passwd", folder / "auth" / "acl"
    env = {
        **os.environ,
        "HEMKOLL_DATABASE_URL": db_url,
        "HEMKOLL_MQTT_URL": f"mqtt://{SERVICE_USER}:{SERVICE_PASSWORD}@127.0.0.1:1883",
        "HEMKOLL_MQTT_TOPIC_PREFIX": prefix,
    }
    subprocess.run(
        [sys.executable, "-m", "hemkoll", "broker-auth", "--password-file", str(passwd),
         "--acl-file", str(acl)],
        env=env, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    tls_port, plain_port = DeployedMosquitto.ports()
    rendered = render(
        config,
        folder / "broker",
        tls_port=tls_port,
        plain_port=plain_port,
        tls=tls,
        passwd=passwd,
        acl=acl,
    )
    broker = DeployedMosquitto(rendered, tls_port, plain_port).start()
    client_id = f"{prefix}-ingest"
    env["HEMKOLL_MQTT_URL"] = f"mqtt://{SERVICE_USER}:{SERVICE_PASSWORD}@127.0.0.1:{plain_port}"
    env["HEMKOLL_MQTT_CLIENT_ID"] = client_id
    with (folder / "ingest.log").open("ab") as log:
        ingest = subprocess.Popen(
            [sys.executable, "-m", "hemkoll", "ingest"], env=env, stdout=log, stderr=log
        )
    try:
        deployed = Deployed(broker, tls, db_url, prefix, a, b, ingest, client_id)
        _wait_until_ingest_stores(deployed)
        yield deployed
    finally:
        ingest.terminate()
        ingest.wait(timeout=20)
        broker.stop()


def _wait_until_ingest_stores(w: Deployed) -> None:
    """A warm-up reading from B, resent until stored (then deleted): ingest is subscribed.
    (Not the broker's log: compose's broker logs to stdout, which it buffers.)"""
    warm = w.device(w.b)
    try:
        deadline = time.monotonic() + 30
        while count_readings(w.db_url) == 0:
            assert w.ingest.poll() is None, "ingest exited"
            assert time.monotonic() < deadline, "ingest stored nothing"
            warm.publish(readings_topic(w.prefix, str(w.b.device.id)), _weight("warm", 60))
            time.sleep(0.5)
    finally:
        warm.close()
    with psycopg.connect(w.db_url) as conn:
        conn.execute("DELETE FROM readings")


@pytest.fixture
def deployed(tmp_path: Path, tls: Tls, db_url: str, topic_prefix: str) -> Iterator[Deployed]:
    yield from _deployed(SYSTEMD_CONF, tmp_path, tls, db_url, topic_prefix)


def _weight(msg_id: str, minutes_ago: float, **extra: Any) -> bytes:
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    body = orjson.loads(message(msg_id, reading("body_weight", 80.0, "kg", at)))
    return orjson.dumps({**body, **extra})


def _readings_of(db_url: str, enrolment: Enrolment) -> int:
    return int(
        scalar(
            db_url,
            "SELECT count(*) FROM readings WHERE device_id = %s OR patient_id = %s",
            (enrolment.device.id, enrolment.patient.id),
        )
    )


@pytest.mark.broker
def test_a_device_cannot_publish_or_read_for_another_device(deployed: Deployed) -> None:
    w = deployed
    a_id, b_id = str(w.a.device.id), str(w.b.device.id)
    attacker = w.device(w.a)
    victim = w.device(w.b)
    try:
        victim.subscribe(feedback_topic(w.prefix, b_id))
        attacker.subscribe(feedback_topic(w.prefix, a_id))
        # Eavesdropping: every device's readings, everyone's feedback, everything.
        for topic in (readings_topic(w.prefix, "+"), feedback_topic(w.prefix, "+"), "#"):
            attacker.subscribe(topic)
        time.sleep(0.3)
        attacker.publish(readings_topic(w.prefix, b_id), _weight("forged", 10))
        attacker.publish(feedback_topic(w.prefix, b_id), b'{"msg_id":"x","status":"accepted"}')
        attacker.publish(readings_topic(w.prefix, a_id), _weight("own", 11))
        victim.publish(readings_topic(w.prefix, b_id), _weight("victim", 12))
        wait_until(lambda: count_readings(w.db_url) == 2, 15, "the two honest readings")
        wait_until(lambda: len(victim.received or []) >= 1, 10, "the victim's own feedback")
        time.sleep(1.0)  # anything forged would have arrived by now
    finally:
        attacker.close()
        victim.close()
    assert _readings_of(w.db_url, w.a) == 1
    assert _readings_of(w.db_url, w.b) == 1  # the victim's own, not the forged one
    assert scalar(w.db_url, "SELECT count(*) FROM dead_letters") == 0
    # The victim heard only ingest's feedback on its own message, nothing forged.
    assert [orjson.loads(p)["msg_id"] for _, p in victim.received or []] == ["victim"]
    # The attacker heard only its own feedback: nothing of the victim's readings or feedback.
    assert {t for t, _ in attacker.received or []} == {feedback_topic(w.prefix, a_id)}
    assert w.ingest.poll() is None


@pytest.mark.broker
def test_ingest_takes_identity_from_the_topic_not_the_payload(deployed: Deployed) -> None:
    w = deployed
    a_id = str(w.a.device.id)
    attacker = w.device(w.a)
    try:
        forged = _weight(
            "claims-b",
            5,
            device_id=str(w.b.device.id),
            patient_id=str(w.b.patient.id),
            patient_reference="P-ATTACK-B",
        )
        attacker.publish(readings_topic(w.prefix, a_id), forged)
        wait_until(lambda: count_readings(w.db_url) == 1, 15, "the reading")
    finally:
        attacker.close()
    assert _readings_of(w.db_url, w.b) == 0
    assert scalar(w.db_url, "SELECT device_id FROM readings") == w.a.device.id
    assert scalar(w.db_url, "SELECT patient_id FROM readings") == w.a.patient.id


@pytest.mark.broker
@pytest.mark.parametrize("config", [SYSTEMD_CONF, COMPOSE_CONF], ids=["systemd", "compose"])
def test_a_device_cannot_take_over_ingests_session_or_another_devices(
    tmp_path: Path, tls: Tls, db_url: str, topic_prefix: str, config: Path
) -> None:
    deployment = _deployed(config, tmp_path, tls, db_url, topic_prefix)
    w = next(deployment)
    b_id = str(w.b.device.id)
    victim = w.device(w.b, client_id=b_id)
    victim.subscribe(feedback_topic(w.prefix, b_id))
    time.sleep(0.3)
    connacks = []
    try:
        for stolen in (w.ingest_client_id, b_id):
            intruder = TlsDevice(w, w.a, stolen).connect(clean_start=False)
            for i in range(3):
                n = len(connacks) * 3 + i
                victim.publish(readings_topic(w.prefix, b_id), _weight(f"v{n}", 20 + n))
            time.sleep(0.5)
            intruder.close()
            connacks.append(intruder.connack)
        wait_until(lambda: count_readings(w.db_url) == 6, 15, "the victim's readings")
        wait_until(lambda: len(victim.received or []) == 6, 10, "the victim's feedback")
        assert w.ingest.poll() is None
    finally:
        victim.close()
        next(deployment, None)  # stops ingest and the broker (which flushes its log)
    log = w.broker.log_text()
    # Neither the ingest service nor the victim device was thrown off by the intruder ...
    for victim_id in (w.ingest_client_id, b_id):
        assert f"Client {victim_id} already connected" not in log
    assert "disconnected from broker" not in (tmp_path / "ingest.log").read_text()
    # ... whose sessions were its own: client id = its user name, no session taken over.
    assert connacks == [[("Success", False)], [("Success", False)]]
    assert f" as {w.a.device.id} " in log


# --- webhooks: replayed and altered --------------------------------------------------------


@dataclass
class Captured:
    signed: SignedWebhook
    receiver: WebhookReceiver
    handed_on: list[Delivery]
    http: httpx.Client
    other_secret: str  # another health centre's


@pytest.fixture
def captured() -> Iterator[Captured]:
    """A webhook signed and sent by the dispatcher's own code to the shipped receiver."""
    secret, other = new_signing_secret(), new_signing_secret()
    handed_on: list[Delivery] = []
    with (
        WebhookReceiver(secret, on_notification=handed_on.append) as receiver,
        httpx.Client() as http,
    ):
        body = orjson.dumps(
            {
                "type": "alert.opened",
                "timestamp": datetime.now(UTC).isoformat(),
                "data": {
                    "alert_id": str(uuid.uuid4()),
                    "patient_reference": "TUNA-0042",
                    "severity": "yellow",
                },
            }
        )
        signed = sign_webhook(receiver.url, secret, uuid.uuid4(), body, at=datetime.now(UTC))
        outcome = send_webhook(http, signed)
        assert outcome.kind == "ok"
        assert outcome.status_code == 204
        yield Captured(signed, receiver, handed_on, http, other)


def _replay(
    c: Captured, *, body: bytes | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """The captured request again, as it was or with ``body`` / some ``headers`` replaced."""
    return c.http.post(
        c.signed.url,
        content=c.signed.body if body is None else body,
        headers={**c.signed.headers, **(headers or {})},
    )


def test_a_replay_within_the_tolerance_is_a_duplicate_not_processed_again(c: Captured) -> None:
    answer = _replay(c)
    assert answer.status_code == 200
    assert answer.json() == {"duplicate": True}
    assert len(c.handed_on) == 1
    stats = c.receiver.recorder.stats()
    assert (stats.deliveries, stats.notifications, stats.duplicates) == (2, 1, 1)


def test_a_replay_after_the_tolerance_is_refused(
    c: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    import standardwebhooks.webhooks as verifier  # noqa: PLC0415 (patched here only)

    later = datetime.now(UTC) + timedelta(minutes=5, seconds=1)

    class FiveMinutesLater(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> FiveMinutesLater:  # type: ignore[override]
            return cls.fromtimestamp(later.timestamp(), tz)

    monkeypatch.setattr(verifier, "datetime", FiveMinutesLater)
    answer = _replay(c)
    assert answer.status_code == 401
    assert answer.json()["reason"] == "timestamp_too_old"
    assert len(c.handed_on) == 1


@pytest.mark.parametrize(
    "alteration",
    ["timestamp_refreshed", "webhook_id_changed", "body_altered", "other_secret", "bad_time"],
)
def test_an_altered_webhook_is_refused(c: Captured, alteration: str) -> None:
    headers: dict[str, str] = {}
    body = None
    if alteration == "timestamp_refreshed":  # the old signature under a fresh time stamp
        headers["webhook-timestamp"] = str(int(time.time()) + 30)
    elif alteration == "webhook_id_changed":  # to get past the receiver's dedupe
        headers["webhook-id"] = str(uuid.uuid4())
    elif alteration == "body_altered":
        body = c.signed.body.replace(b'"yellow"', b'"red"')
    elif alteration == "other_secret":  # another centre's key signs a fresh request
        resigned = sign_webhook(
            c.signed.url, c.other_secret, uuid.uuid4(), c.signed.body, at=datetime.now(UTC)
        )
        headers = resigned.headers
    else:
        headers["webhook-timestamp"] = "nan"
    answer = _replay(c, body=body, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["reason"] in ("bad_signature", "bad_timestamp")
    assert len(c.handed_on) == 1
    assert c.receiver.recorder.stats().deliveries == 1


@pytest.fixture
def c(captured: Captured) -> Captured:
    return captured
