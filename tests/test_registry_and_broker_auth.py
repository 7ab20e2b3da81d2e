"""Enrolment, credentials, and the broker's password/ACL files written from the registry."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from hemkoll.protocol.topics import feedback_topic, readings_topic
from hemkoll.store.connect import connect
from hemkoll.store.credentials import verify_secret
from hemkoll.store.devices import enrol_device
from hemkoll.store.patients import RegistryError, check_reference
from tests.conftest import Broker
from tests.helpers import enrol, message, reading, running_ingest, wait_until


def _env(db_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "HEMKOLL_DATABASE_URL": db_url, **extra}


def test_enrol_reuses_centre_and_patient_and_keeps_only_a_hash(db_url: str) -> None:
    with connect(db_url) as conn:
        first = enrol_device(
            conn, health_centre_name="VC Norr", patient_reference="A-1", device_kind="scale"
        )
        second = enrol_device(
            conn,
            health_centre_name="VC Norr",
            patient_reference="A-1",
            device_kind="pulse_oximeter",
        )
        stored = conn.execute(
            "SELECT credential_hash FROM devices WHERE id = %s", (first.device.id,)
        ).fetchone()
    assert first.patient.id == second.patient.id
    assert first.health_centre.id == second.health_centre.id
    assert first.device.id != second.device.id
    assert stored is not None
    assert first.mqtt_password not in stored[0]
    assert verify_secret(first.mqtt_password, stored[0])
    assert not verify_secret(second.mqtt_password, stored[0])


@pytest.mark.parametrize(
    "reference", ["19121212-1212", "191212121212", "121212-1212", "121212+1212"]
)
def test_personal_identity_numbers_are_refused(reference: str) -> None:
    with pytest.raises(RegistryError, match="personal identity number"):
        check_reference(reference)


def test_enrol_command_prints_ids_and_password(db_url: str) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "hemkoll",
            "enrol",
            "--health-centre",
            "VC Syd",
            "--patient-ref",
            "S-7",
            "--device-kind",
            "scale",
            "--json",
        ],
        env=_env(db_url, HEMKOLL_MQTT_TOPIC_PREFIX="hk"),
        capture_output=True,
        check=True,
    )
    printed = orjson.loads(out.stdout)
    assert printed["readings_topic"] == f"hk/v1/devices/{printed['device_id']}/readings"
    assert printed["mqtt_username"] == printed["device_id"]
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT p.reference, h.name, d.kind FROM devices d"
            " JOIN patients p ON p.id = d.patient_id"
            " JOIN health_centres h ON h.id = p.health_centre_id WHERE d.id = %s",
            (printed["device_id"],),
        ).fetchone()
    assert row == ("S-7", "VC Syd", "scale")


def test_enrol_command_refuses_bad_input_clearly(db_url: str) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "hemkoll",
            "enrol",
            "--health-centre",
            "VC",
            "--patient-ref",
            "P",
            "--device-kind",
            "toaster",
        ],
        env=_env(db_url),
        capture_output=True,
        check=False,
    )
    assert out.returncode == 2
    assert b"unknown device kind 'toaster'" in out.stderr


def _connect(
    broker: Broker, user: str, password: str
) -> tuple[mqtt.Client, list[mqtt.MQTTMessage], list[str]]:
    received: list[mqtt.MQTTMessage] = []
    connects: list[str] = []
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"c-{uuid.uuid4().hex[:8]}",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.username_pw_set(user, password)
    client.on_message = lambda c, u, m: received.append(m)
    client.on_connect = lambda c, u, f, rc, p: connects.append(str(rc))
    client.connect(broker.host, broker.port)
    client.loop_start()
    wait_until(lambda: bool(connects), 5, "CONNACK")
    return client, received, connects


def _close(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


def test_broker_lets_a_device_use_only_its_own_topics(
    tmp_path: Path, db_url: str, topic_prefix: str
) -> None:
    mine = enrol(db_url, kind="scale", patient="P-1")
    theirs = enrol(db_url, kind="scale", patient="P-2")
    passwd, acl = tmp_path / "hemkoll.passwd", tmp_path / "hemkoll.acl"
    broker = Broker(tmp_path, f"password_file {passwd}\nacl_file {acl}\n", anonymous=False)
    service_url = f"mqtt://ingest:s3cret@{broker.host}:{broker.port}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "hemkoll",
            "broker-auth",
            "--password-file",
            str(passwd),
            "--acl-file",
            str(acl),
        ],
        env=_env(db_url, HEMKOLL_MQTT_URL=service_url, HEMKOLL_MQTT_TOPIC_PREFIX=topic_prefix),
        check=True,
        capture_output=True,
    )
    broker.start()
    now = datetime.now(UTC)
    try:
        with running_ingest(db_url, service_url, topic_prefix):
            spy, spied, _ = _connect(broker, str(mine.device.id), mine.mqtt_password)
            other, other_got, _ = _connect(broker, str(theirs.device.id), theirs.mqtt_password)
            # Mosquitto 2 grants any subscription and applies the ACL on delivery: the spy
            # subscribes to the other device's feedback and must never receive it.
            spy.subscribe(feedback_topic(topic_prefix, theirs.device.id), qos=1)
            spy.subscribe(feedback_topic(topic_prefix, mine.device.id), qos=1)
            other.subscribe(feedback_topic(topic_prefix, theirs.device.id), qos=1)
            time.sleep(0.3)
            # Publishing as the other device is denied by the broker: ingest never sees it.
            spoof = spy.publish(
                readings_topic(topic_prefix, theirs.device.id),
                message("spoof", reading("body_weight", 99, "kg", now)),
                qos=1,
            )
            spoof.wait_for_publish(5)
            spy.publish(
                readings_topic(topic_prefix, mine.device.id),
                message("own", reading("body_weight", 80, "kg", now)),
                qos=1,
            ).wait_for_publish(5)
            other.publish(
                readings_topic(topic_prefix, theirs.device.id),
                message("theirs", reading("body_weight", 70, "kg", now)),
                qos=1,
            ).wait_for_publish(5)
            wait_until(
                lambda: len(spied) >= 1 and len(other_got) >= 1, 10, "both devices' feedback"
            )
            time.sleep(0.5)
            _close(spy)
            _close(other)
        assert [orjson.loads(m.payload)["msg_id"] for m in spied] == ["own"]
        assert [orjson.loads(m.payload)["msg_id"] for m in other_got] == ["theirs"]
        with psycopg.connect(db_url) as conn:
            stored = conn.execute("SELECT device_id, value FROM readings ORDER BY value").fetchall()
        assert stored == [(theirs.device.id, 70.0), (mine.device.id, 80.0)]

        # A wrong password, or a device that is not in the password file, is refused.
        for user, password in ((str(mine.device.id), "guess"), (str(uuid.uuid4()), "x")):
            intruder, _, connects = _connect(broker, user, password)
            _close(intruder)
            assert connects[0] == "Not authorized"
    finally:
        broker.stop()
