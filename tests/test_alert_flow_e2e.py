"""The whole path, every part real: a device publishes over MQTT -> ingest stores -> the rules
open an alert -> the dispatcher sends the health centre a signed webhook, verified by the
simulator's receiver with the standardwebhooks verifier, and the patient's device gets its
message -> the receiver's nurse acknowledges and resolves the alert through the API -> the
device hears that a nurse has seen it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from hemkoll.alerts.patient_messages import ALERT_ACKNOWLEDGED, AlertNews, about_alert
from hemkoll.alerts.worker import RulesConfig, RulesWorker
from hemkoll.api.app import ApiConfig, create_app
from hemkoll.notify.dispatcher import Dispatcher, DispatcherConfig
from hemkoll.rules.config import Band, RuleSet, ThresholdRule
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.settings import parse_mqtt_url
from hemkoll.simulator.receiver import Nurse, NurseConfig, WebhookReceiver
from hemkoll.simulator.receiver.server import ThreadedServer
from hemkoll.store import staff
from hemkoll.store.connect import connect
from hemkoll.store.health_centres import new_signing_secret
from tests.helpers import Device, enrol, message, reading, running_ingest, wait_until

SPO2 = RuleSet(
    name="test spo2 v1",
    rules=(ThresholdRule(id="spo2_low", metric="spo2", yellow=Band(low=94), red=Band(low=90)),),
)


@contextmanager
def running(run: Callable[[], None], stop: Callable[[], None], name: str) -> Iterator[None]:
    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop()
        thread.join(timeout=30)
        assert not thread.is_alive(), f"{name} did not stop"


def test_publish_to_signed_webhook_to_nurse_to_patient(
    db_url: str, machine_broker_url: str, topic_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    e = enrol(db_url, kind="pulse_oximeter", patient="TUNA-0042", centre="VC Tuna")
    secret = new_signing_secret()
    with connect(db_url) as conn:
        member = staff.create_staff(
            conn, name="Anna", role="nurse", health_centre_id=e.health_centre.id
        )
        token = staff.issue_token(conn, member.id, now=datetime.now(UTC)).token
        conn.commit()
    app = create_app(ApiConfig(database_url=db_url, programme=HEART_FAILURE))
    dispatcher = Dispatcher(
        DispatcherConfig(
            database_url=db_url,
            mqtt=parse_mqtt_url(machine_broker_url),
            topic_prefix=topic_prefix,
            mqtt_client_id=f"{topic_prefix}-dispatch",
            public_url="https://hemkoll.example",
        )
    )
    rules = RulesWorker(RulesConfig(db_url, SPO2))
    with ThreadedServer(app, name="api", lifespan="on") as api:
        nurse = Nurse(
            NurseConfig(
                api_url=api.base_url, token=token, acknowledge_after_s=0.2, resolve_after_s=0.6
            )
        )
        with (
            nurse,
            WebhookReceiver(secret, on_notification=nurse.on_notification) as receiver,
            running_ingest(db_url, machine_broker_url, topic_prefix),
            running(rules.run, rules.stop, "rules"),
            running(dispatcher.run, dispatcher.stop, "dispatcher"),
            Device(machine_broker_url, topic_prefix, str(e.device.id)) as device,
        ):
            with connect(db_url) as conn:
                conn.execute(
                    "UPDATE health_centres SET notification_url = %s, signing_secret = %s",
                    (receiver.url, secret),
                )
                conn.commit()
            at = datetime.now(UTC) - timedelta(minutes=5)
            device.publish(message("m1", reading("spo2", 92, "%", at)))

            assert receiver.recorder.wait_for_notifications(1, 20), "no webhook arrived"
            [delivery] = receiver.recorder.notifications()
            assert delivery.event_type == "alert.opened"
            data = delivery.payload["data"]
            assert data["patient_reference"] == "TUNA-0042"
            assert data["severity"] == "yellow"
            assert data["link"] == f"https://hemkoll.example/api/v1/alerts/{data['alert_id']}"

            def texts() -> list[str]:
                return [f.get("text", "") for f in device.feedback if f.get("type") == "message"]

            wait_until(lambda: ALERT_ACKNOWLEDGED.text_sv in texts(), 20, "the acknowledgement")
            yellow = about_alert(
                AlertNews("yellow", "opened"), SPO2.advice, phone=None, severe_symptoms=()
            )
            assert texts()[0] == yellow.text_sv
            wait_until(lambda: nurse.stats().resolved == 1, 20, "the nurse to resolve")

    with psycopg.connect(db_url) as conn:
        state, outcome = conn.execute("SELECT state, outcome FROM alerts").fetchone()  # type: ignore[misc]
        kinds = [k for (k,) in conn.execute("SELECT kind FROM alert_events ORDER BY id")]
        undelivered = conn.execute(
            "SELECT count(*) FROM notifications WHERE state <> 'delivered'"
        ).fetchone()
    assert state == "resolved"
    assert outcome
    assert kinds == ["opened", "acknowledged", "resolved"]
    assert undelivered == (0,)
    assert receiver.recorder.stats().duplicates == 0
    # No patient data in any log line of the whole run (every service logged at DEBUG).
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records
    assert "TUNA-0042" not in logged
    assert str(e.patient.id) not in logged
    assert data["summary_en"] not in logged
