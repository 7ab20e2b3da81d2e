"""Alerts, health-centre endpoints and dispatcher configurations for the notification tests."""

from __future__ import annotations

import base64
import dataclasses
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from hemkoll.notify.dispatcher import Dispatcher, DispatcherConfig
from hemkoll.notify.schedule import RetrySchedule
from hemkoll.protocol.topics import feedback_topic
from hemkoll.settings import parse_mqtt_url
from hemkoll.store import alert_actions, alerts, notifications
from hemkoll.store.connect import Conn, connect

PUBLIC_URL = "https://hemkoll.example.se"
# Short schedules: the tests prove the behaviour, not the Standard Webhooks timings.
FAST = RetrySchedule(tuple(timedelta(seconds=0.05) for _ in range(4)), jitter=0.0)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def set_endpoint(db_url: str, centre_id: UUID, url: str | None, secret: str | None) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE health_centres SET notification_url = %s, signing_secret = %s WHERE id = %s",
            (url, secret, centre_id),
        )


def set_escalation(
    db_url: str,
    centre_id: UUID,
    url: str | None,
    secret: str | None,
    *,
    after: timedelta = timedelta(minutes=10),
    contact: str | None = "Hemsjukvården Tuna, jour",
) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE health_centres SET escalation_url = %s, escalation_signing_secret = %s,"
            " escalate_after = %s, escalation_contact = %s WHERE id = %s",
            (url, secret, after, contact, centre_id),
        )


def content(rule_id: str = "spo2_low", severity: str = "red") -> alerts.AlertContent:
    return alerts.AlertContent(
        rule_id=rule_id,
        rule_kind="threshold",
        severity=severity,
        fired_at=datetime.now(UTC) - timedelta(minutes=5),
        evidence={"value": 88.0},
        explanation_en="SpO2 88 % is below 90 %.",
        explanation_sv="SpO2 88 % är under 90 %.",
    )


def open_alert(
    conn: Conn,
    patient_id: UUID,
    *,
    rule_id: str = "spo2_low",
    severity: str = "red",
    notify: bool = True,
) -> tuple[UUID, UUID | None]:
    """Open an alert as the rules worker does (the caller commits); (alert id, notification id)."""
    alert_id = alerts.insert_alert(conn, patient_id, "test v1", content(rule_id, severity))
    alert_actions.insert_event(
        conn, alert_id, kind="opened", severity=severity, actor="rules", details={}
    )
    notification_id = None
    if notify:
        notification_id = notifications.enqueue_alert_webhook(conn, alert_id, event="alert.opened")
        notifications.notify_dispatchers(conn)
    return alert_id, notification_id


def committed_alert(db_url: str, patient_id: UUID, **kwargs: Any) -> tuple[UUID, UUID]:
    with connect(db_url) as conn:
        alert_id, notification_id = open_alert(conn, patient_id, **kwargs)
        conn.commit()
    assert notification_id is not None
    return alert_id, notification_id


def dispatcher_config(
    db_url: str,
    *,
    prefix: str = "hemkoll-test-notify",
    mqtt_url: str = "mqtt://127.0.0.1:1883",
    schedule: RetrySchedule = FAST,
    clock: Callable[[], datetime] | None = None,
) -> DispatcherConfig:
    config = DispatcherConfig(
        database_url=db_url,
        mqtt=parse_mqtt_url(mqtt_url),
        topic_prefix=prefix,
        mqtt_client_id=f"{prefix}-dispatch-{os.urandom(3).hex()}",
        public_url=PUBLIC_URL,
        webhook_schedule=schedule,
        device_schedule=schedule,
    )
    return config if clock is None else dataclasses.replace(config, clock=clock)


def drain(
    dispatcher: Dispatcher, db_url: str, done: Callable[[], bool], timeout: float = 10.0
) -> None:
    """Call ``process_due`` until ``done()`` (retries fall due as the schedule says)."""
    deadline = time.monotonic() + timeout
    with connect(db_url) as conn:
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError("notifications not settled in time")
            dispatcher.process_due(conn)
            time.sleep(0.02)


def state(db_url: str, notification_id: UUID) -> str:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT state FROM notifications WHERE id = %s", (notification_id,)
        ).fetchone()
    assert row is not None
    return str(row[0])


def attempts(db_url: str, notification_id: UUID) -> list[tuple[int, str, int | None, str | None]]:
    with psycopg.connect(db_url) as conn:
        return [
            (int(a), str(r), s, e)
            for a, r, s, e in conn.execute(
                "SELECT attempt, result, status_code, error FROM notification_attempts"
                " WHERE notification_id = %s ORDER BY id",
                (notification_id,),
            )
        ]


def run_dispatcher(dispatcher: Dispatcher) -> threading.Thread:
    """The dispatcher's service loop on a daemon thread (stop it with ``stop_dispatcher``)."""
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    return thread


def stop_dispatcher(dispatcher: Dispatcher, thread: threading.Thread) -> None:
    dispatcher.stop()
    thread.join(timeout=30)
    assert not thread.is_alive(), "dispatcher did not stop"


@contextmanager
def device_listener(
    broker_url: str, topic_prefix: str, device_id: UUID
) -> Iterator[list[dict[str, Any]]]:
    """A device subscribed (SUBACK seen) to its feedback topic; the messages it receives."""
    received: list[dict[str, Any]] = []
    subscribed = threading.Event()
    endpoint = parse_mqtt_url(broker_url)
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"{topic_prefix}-device",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.on_message = lambda c, u, msg: received.append(orjson.loads(msg.payload))
    client.on_subscribe = lambda c, u, mid, codes, props: subscribed.set()
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    try:
        client.subscribe(feedback_topic(topic_prefix, device_id), qos=1)
        assert subscribed.wait(5), "no SUBACK from the broker"
        yield received
    finally:
        client.disconnect()
        client.loop_stop()
