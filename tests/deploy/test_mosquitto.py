"""The deployed Mosquitto configurations, started for real: TLS, registry credentials, ACL,
persistence through a kill -9, and compose's health check of the broker.

Both deployed files are tested (deploy/mosquitto/mosquitto.conf for systemd,
deploy/compose/mosquitto.conf for the containers), each moved into the test's folder by
``render`` (ports and paths only). The password and ACL files are written by
``hemkoll broker-auth`` from a real registry; the TLS certificates by openssl.
"""

from __future__ import annotations

import os
import re
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hemkoll.local_services.deployed_mosquitto import (
    COMPOSE_CONF,
    DEPLOY,
    SYSTEMD_CONF,
    DeployedMosquitto,
    directive,
    render,
)
from hemkoll.local_services.tls import Tls, tls_material
from hemkoll.protocol.topics import feedback_topic, readings_topic
from hemkoll.store.devices import Enrolment
from tests.helpers import count_readings, enrol, message, reading, wait_until

SERVICE_USER = "hemkoll-service"
SERVICE_PASSWORD = "test-only-service-password"
CONFIGS = {"systemd": SYSTEMD_CONF, "compose": COMPOSE_CONF}
QUEUED = 500


@dataclass
class Auth:
    prefix: str
    a: Enrolment
    b: Enrolment
    passwd: Path
    acl: Path


@pytest.fixture
def auth(db_url: str, topic_prefix: str, tmp_path: Path) -> Auth:
    """Two enrolled devices and the broker's files, written by ``hemkoll broker-auth``."""
    a = enrol(db_url, kind="scale", patient="P-A")
    b = enrol(db_url, kind="scale", patient="P-B")
    passwd, acl = tmp_path / "auth" / "passwd", tmp_path / "auth" / "acl"
    env = {
        **os.environ,
        "HEMKOLL_DATABASE_URL": db_url,
        "HEMKOLL_MQTT_URL": f"mqtt://{SERVICE_USER}:{SERVICE_PASSWORD}@127.0.0.1:1883",
        "HEMKOLL_MQTT_TOPIC_PREFIX": topic_prefix,
    }
    subprocess.run(
        [sys.executable, "-m", "hemkoll", "broker-auth", "--password-file", str(passwd),
         "--acl-file", str(acl)],
        env=env, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return Auth(topic_prefix, a, b, passwd, acl)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return tls_material(tmp_path_factory.mktemp("tls"))


def start_broker(
    source: Path, folder: Path, tls: Tls, auth: Auth, drop: tuple[str, ...] = ()
) -> DeployedMosquitto:
    tls_port, plain_port = DeployedMosquitto.ports()
    config = render(
        source,
        folder,
        tls_port=tls_port,
        plain_port=plain_port,
        tls=tls,
        passwd=auth.passwd,
        acl=auth.acl,
        drop=drop,
    )
    return DeployedMosquitto(config, tls_port, plain_port).start()


@pytest.fixture(params=sorted(CONFIGS))
def broker(
    request: pytest.FixtureRequest, tmp_path: Path, tls: Tls, auth: Auth
) -> Iterator[DeployedMosquitto]:
    started = start_broker(CONFIGS[request.param], tmp_path / "broker", tls, auth)
    yield started
    started.stop()
    # Mosquitto reports a configuration or start-up problem as "Error: ..."; the OpenSSL
    # errors of the test's deliberately bad connections are "OpenSSL Error[0]: ...".
    assert not re.search(r": Error\b", started.log_text()), started.log_text()


@dataclass
class Client:
    """A paho MQTT 5 client that records its CONNACK, SUBACKs and messages."""

    client_id: str
    connack: list[str] = field(default_factory=list)
    subacks: list[list[str]] = field(default_factory=list)
    messages: list[bytes] = field(default_factory=list)
    paho: mqtt.Client | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def connect(
        self,
        port: int,
        user: str | None,
        password: str | None,
        *,
        ca: Path | None = None,
        persistent: bool = False,
        connack_timeout: float = 10.0,
    ) -> Client:
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if user is not None:
            client.username_pw_set(user, password)
        if ca is not None:
            client.tls_set(ca_certs=str(ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.max_inflight_messages_set(100)
        client.on_connect = lambda c, u, f, rc, p: self.connack.append(str(rc))
        client.on_subscribe = lambda c, u, mid, rcs, p: self.subacks.append([str(r) for r in rcs])
        client.on_message = self._on_message
        properties = Properties(PacketTypes.CONNECT)
        if persistent:
            properties.SessionExpiryInterval = 3600
        client.connect(
            "localhost" if ca is not None else "127.0.0.1",
            port,
            clean_start=not persistent,
            properties=properties,
        )
        client.loop_start()
        self.paho = client
        wait_until(lambda: bool(self.connack), connack_timeout, f"CONNACK for {self.client_id}")
        return self

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(bytes(msg.payload))

    def subscribe(self, topic: str) -> list[str]:
        assert self.paho is not None
        count = len(self.subacks)
        self.paho.subscribe(topic, qos=1)
        wait_until(lambda: len(self.subacks) > count, 10, f"SUBACK for {topic}")
        return self.subacks[-1]

    def publish_all(self, topic: str, payloads: list[bytes]) -> None:
        """Publish at QoS 1 and return once every PUBACK is in."""
        assert self.paho is not None
        infos = [self.paho.publish(topic, payload, qos=1) for payload in payloads]
        for info in infos:
            info.wait_for_publish(timeout=60)
            assert info.is_published()

    def close(self) -> None:
        if self.paho is not None:
            self.paho.disconnect()
            self.paho.loop_stop()
            self.paho = None


def test_each_deployed_config_serves_devices_over_tls_with_registry_credentials(
    broker: DeployedMosquitto, tls: Tls, auth: Auth
) -> None:
    a_user, a_password = str(auth.a.device.id), auth.a.mqtt_password
    service = Client(f"svc-{uuid.uuid4().hex[:6]}").connect(
        broker.plain_port, SERVICE_USER, SERVICE_PASSWORD
    )
    device = Client(f"dev-{uuid.uuid4().hex[:6]}").connect(
        broker.tls_port, a_user, a_password, ca=tls.ca
    )
    try:
        assert service.connack == ["Success"]
        assert device.connack == ["Success"]
        assert service.subscribe(readings_topic(auth.prefix, "+")) == ["Granted QoS 1"]
        # The device reads its own feedback topic, never another device's (Mosquitto 2.0
        # grants the subscription and checks the ACL on delivery).
        assert device.subscribe(feedback_topic(auth.prefix, auth.a.device.id)) == ["Granted QoS 1"]
        device.subscribe(feedback_topic(auth.prefix, auth.b.device.id))
        service.publish_all(feedback_topic(auth.prefix, auth.b.device.id), [b"for b"])
        service.publish_all(feedback_topic(auth.prefix, auth.a.device.id), [b"for a"])
        wait_until(lambda: bool(device.messages), 10, "the device's own feedback")
        time.sleep(0.3)
        assert device.messages == [b"for a"]
        device.publish_all(readings_topic(auth.prefix, auth.a.device.id), [b"over tls"])
        wait_until(lambda: service.messages == [b"over tls"], 10, "the reading at the service")
        # Publishing to another device's topic is acknowledged but never delivered.
        device.publish_all(readings_topic(auth.prefix, auth.b.device.id), [b"forged"])
        time.sleep(0.5)
        assert service.messages == [b"over tls"]
    finally:
        service.close()
        device.close()

    anonymous = Client("anon").connect(broker.plain_port, None, None)
    wrong = Client("wrong").connect(broker.tls_port, a_user, "not-the-password", ca=tls.ca)
    anonymous.close()
    wrong.close()
    assert anonymous.connack == ["Not authorized"]
    assert wrong.connack in (["Bad user name or password"], ["Not authorized"])

    # A client that does not trust the CA gets no connection; nor does plain MQTT on 8883.
    untrusting = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5
    )
    untrusting.tls_set(tls_version=ssl.PROTOCOL_TLS_CLIENT)
    with pytest.raises(ssl.SSLCertVerificationError):
        untrusting.connect("localhost", broker.tls_port)
    plain = Client("plain-on-tls")
    with pytest.raises(AssertionError, match="timed out"):
        plain.connect(broker.tls_port, a_user, a_password, connack_timeout=2.0)
    plain.close()


def test_hemkoll_ingest_stores_a_reading_sent_over_tls(
    db_url: str, tmp_path: Path, tls: Tls, auth: Auth
) -> None:
    """`hemkoll ingest` as deployed for another host: mqtts:// with HEMKOLL_MQTT_CA_FILE."""
    started = start_broker(SYSTEMD_CONF, tmp_path / "broker", tls, auth)
    env = {
        **os.environ,
        "HEMKOLL_DATABASE_URL": db_url,
        "HEMKOLL_MQTT_URL": f"mqtts://{SERVICE_USER}:{SERVICE_PASSWORD}@localhost:"
        f"{started.tls_port}",
        "HEMKOLL_MQTT_CA_FILE": str(tls.ca),
        "HEMKOLL_MQTT_TOPIC_PREFIX": auth.prefix,
        "HEMKOLL_MQTT_CLIENT_ID": f"{auth.prefix}-ingest-tls",
    }
    ingest = subprocess.Popen(
        [sys.executable, "-m", "hemkoll", "ingest"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    device = Client(f"dev-{uuid.uuid4().hex[:6]}").connect(
        started.tls_port, str(auth.a.device.id), auth.a.mqtt_password, ca=tls.ca
    )
    try:
        device.subscribe(feedback_topic(auth.prefix, auth.a.device.id))
        # On the devices' listener a client's id is its user name (use_username_as_clientid).
        wait_until(
            lambda: (
                f"as {SERVICE_USER} " in started.log_text()
                or f"{SERVICE_USER} (p" in started.log_text()
            ),
            10,
            "ingest connected",
        )
        time.sleep(0.3)  # its SUBSCRIBE follows the CONNACK
        payload = message("tls-1", reading("body_weight", 81.4, "kg", datetime.now(UTC)))
        device.publish_all(readings_topic(auth.prefix, auth.a.device.id), [payload])
        wait_until(lambda: count_readings(db_url) == 1, 15, "the reading stored")
        wait_until(lambda: bool(device.messages), 10, "feedback over TLS")
        assert b'"status":"accepted"' in device.messages[0]
    finally:
        device.close()
        ingest.terminate()
        _, err = ingest.communicate(timeout=20)
        started.stop()
    assert ingest.returncode == 0, err.decode()


def _queue_then_kill9(
    source: Path, folder: Path, tls: Tls, auth: Auth, drop: tuple[str, ...] = ()
) -> int:
    """Queue QUEUED QoS-1 messages for an absent persistent subscriber, kill -9 the broker
    right after the last PUBACK, restart it on the same files: how many come back."""
    started = start_broker(source, folder, tls, auth, drop)
    subscriber_id = f"svc-{uuid.uuid4().hex[:6]}"
    try:
        subscriber = Client(subscriber_id).connect(
            started.plain_port, SERVICE_USER, SERVICE_PASSWORD, persistent=True
        )
        assert subscriber.subscribe(readings_topic(auth.prefix, "+")) == ["Granted QoS 1"]
        subscriber.close()
        device = Client(f"dev-{uuid.uuid4().hex[:6]}").connect(
            started.plain_port, str(auth.a.device.id), auth.a.mqtt_password
        )
        payloads = [f"queued-{i:04d}".encode() for i in range(QUEUED)]
        device.publish_all(readings_topic(auth.prefix, auth.a.device.id), payloads)
        started.kill9()  # the device is still connected: nothing else happens before
        device.close()
        started.start()
        back = Client(subscriber_id).connect(
            started.plain_port, SERVICE_USER, SERVICE_PASSWORD, persistent=True
        )
        try:
            # Redelivery takes milliseconds; wait until nothing more arrives for a second.
            last, deadline = -1, time.monotonic() + 30
            while time.monotonic() < deadline and len(back.messages) != last:
                last = len(back.messages)
                time.sleep(1.0)
        finally:
            back.close()
        assert set(back.messages) <= set(payloads)
        return len(set(back.messages))
    finally:
        started.stop()


def test_kill_9_of_the_broker_keeps_the_queued_messages_with_the_deployed_persistence(
    tmp_path: Path, tls: Tls, auth: Auth, record_property: pytest.RecordProperty
) -> None:
    text = SYSTEMD_CONF.read_text()
    assert directive(text, "persistence") == ["true"]
    assert directive(text, "autosave_on_changes") == ["true"]
    interval = int(directive(text, "autosave_interval")[0])

    kept = _queue_then_kill9(SYSTEMD_CONF, tmp_path / "deployed", tls, auth)
    # Control: Debian's default persistence (persistence true, autosave every 1800 s).
    debian = _queue_then_kill9(
        SYSTEMD_CONF,
        tmp_path / "debian",
        tls,
        auth,
        drop=("autosave_on_changes", "autosave_interval"),
    )
    record_property("kept_deployed", kept)
    record_property("kept_debian_default", debian)
    print(f"\nkill -9 with {QUEUED} queued: deployed kept {kept}, Debian default kept {debian}")
    assert kept >= QUEUED - interval
    assert debian == 0


def test_the_two_deployed_configs_agree_on_everything_but_paths() -> None:
    systemd, compose = SYSTEMD_CONF.read_text(), COMPOSE_CONF.read_text()
    for name in (
        "per_listener_settings",
        "protocol",
        "tls_version",
        "allow_anonymous",
        "persistence",
        "autosave_on_changes",
        "autosave_interval",
        "log_type",
        "connection_messages",
    ):
        assert directive(systemd, name) == directive(compose, name), name
    assert directive(systemd, "listener") == ["8883", "1883 127.0.0.1"]
    assert directive(compose, "listener") == ["8883", "1883"]


def test_compose_health_check_of_the_broker_answers_only_while_it_runs(
    tmp_path: Path, tls: Tls, auth: Auth
) -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    kind, command = compose["services"]["mosquitto"]["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    started = start_broker(COMPOSE_CONF, tmp_path / "broker", tls, auth)

    def healthy() -> bool:
        # Compose writes $$ for a literal $; the broker listens on 1883 in its container.
        shell = command.replace("$$", "$").replace("1883", str(started.plain_port))
        return subprocess.run(["sh", "-c", shell], check=False, timeout=20).returncode == 0

    try:
        assert healthy()
    finally:
        started.stop()
    assert not healthy()
