"""Device messages reach the device's feedback topic on the machine's Mosquitto."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest

from hemkoll.alerts.patient_messages import ALERT_ACKNOWLEDGED
from hemkoll.local_services.ports import free_port
from hemkoll.notify import device
from hemkoll.notify.dispatcher import Dispatcher
from hemkoll.store import notifications
from hemkoll.store.connect import connect
from hemkoll.store.devices import Enrolment
from tests.helpers import wait_until
from tests.notify.support import attempts, device_listener, dispatcher_config, state


def _queue_message(db_url: str, enrolment: Enrolment) -> Any:
    with connect(db_url) as conn:
        assert (
            notifications.enqueue_device_messages(
                conn,
                enrolment.patient.id,
                event="alert.acknowledged",
                text_en=ALERT_ACKNOWLEDGED.text_en,
                text_sv=ALERT_ACKNOWLEDGED.text_sv,
            )
            == 1
        )
        row = conn.execute("SELECT id, payload FROM notifications").fetchone()
        conn.commit()
    assert row is not None
    return row


def test_a_device_message_reaches_the_feedback_topic(
    db_url: str, enrolment: Enrolment, topic_prefix: str, machine_broker_url: str
) -> None:
    notification_id, payload = _queue_message(db_url, enrolment)
    with device_listener(machine_broker_url, topic_prefix, enrolment.device.id) as received:
        dispatcher = Dispatcher(
            dispatcher_config(db_url, prefix=topic_prefix, mqtt_url=machine_broker_url)
        )
        with connect(db_url) as conn:
            assert dispatcher.process_due(conn) == 1
        dispatcher.close()
        wait_until(lambda: len(received) == 1, 5, "the device message")
    assert received == [{**payload, "id": str(notification_id)}]
    assert received[0]["language"] == "sv"
    assert received[0]["text"] == ALERT_ACKNOWLEDGED.text_sv
    assert state(db_url, notification_id) == "delivered"


def test_an_unreachable_broker_is_retried(
    db_url: str, enrolment: Enrolment, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(device, "CONNECT_WAIT_S", 0.3)
    notification_id, _ = _queue_message(db_url, enrolment)
    dispatcher = Dispatcher(
        dispatcher_config(db_url, prefix=topic_prefix, mqtt_url=f"mqtt://127.0.0.1:{free_port()}")
    )
    started = time.monotonic()
    with connect(db_url) as conn:
        dispatcher.process_due(conn)
    dispatcher.close()
    assert time.monotonic() - started < 2
    assert state(db_url, notification_id) == "pending"
    assert attempts(db_url, notification_id) == [
        (1, "retry", None, "the MQTT broker is unreachable")
    ]


def test_a_message_to_a_deactivated_device_is_gone(
    db_url: str, enrolment: Enrolment, topic_prefix: str
) -> None:
    notification_id, _ = _queue_message(db_url, enrolment)
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE devices SET active = false, deactivated_at = now() WHERE id = %s",
            (enrolment.device.id,),
        )
    dispatcher = Dispatcher(dispatcher_config(db_url, prefix=topic_prefix))
    with connect(db_url) as conn:
        dispatcher.process_due(conn)
    dispatcher.close()
    assert state(db_url, notification_id) == "gone"
    assert attempts(db_url, notification_id) == [
        (1, "gone", None, "the device is no longer active")
    ]
