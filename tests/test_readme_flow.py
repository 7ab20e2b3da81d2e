"""The README's hand-run flow, as a new user runs it: CLI commands and mosquitto_pub/_sub."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import orjson

from tests.helpers import count_readings, scalar, wait_until


def test_migrate_enrol_ingest_then_mosquitto_pub(
    empty_db_url: str, machine_broker_url: str, topic_prefix: str
) -> None:
    env = {
        **os.environ,
        "HEMKOLL_DATABASE_URL": empty_db_url,
        "HEMKOLL_MQTT_URL": machine_broker_url,
        "HEMKOLL_MQTT_TOPIC_PREFIX": topic_prefix,
        "HEMKOLL_MQTT_CLIENT_ID": f"{topic_prefix}-ingest",
    }
    hemkoll = [sys.executable, "-m", "hemkoll"]
    migrated = subprocess.run([*hemkoll, "migrate"], env=env, capture_output=True, check=True)
    assert b"applied 0001_" in migrated.stdout
    enrolled = subprocess.run(
        [
            *hemkoll,
            "enrol",
            "--health-centre",
            "VC Tuna",
            "--patient-ref",
            "TUNA-0042",
            "--device-kind",
            "scale",
            "--json",
        ],
        env=env,
        capture_output=True,
        check=True,
    )
    device = orjson.loads(enrolled.stdout)
    ingest = subprocess.Popen([*hemkoll, "ingest"], env=env, stderr=subprocess.PIPE)
    assert ingest.stderr is not None
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.extend(ingest.stderr or ()), daemon=True)
    reader.start()
    feedback = subprocess.Popen(
        ["mosquitto_sub", "-h", "127.0.0.1", "-t", device["feedback_topic"], "-C", "1", "-W", "20"],
        stdout=subprocess.PIPE,
    )
    try:
        # A first start has no session at the broker yet: publish once ingest has connected
        # (and sent its SUBSCRIBE, right after) and mosquitto_sub has had the same time.
        wait_until(lambda: any(b"connected to broker" in line for line in lines), 30, "ingest")
        time.sleep(0.5)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        payload = (
            '{"msg_id": "m1", "readings": [{"metric": "body_weight", "value": 81.375,'
            f' "unit": "kg", "measured_at": "{now}"}}]}}'
        )
        subprocess.run(
            [
                "mosquitto_pub",
                "-h",
                "127.0.0.1",
                "-q",
                "1",
                "-t",
                device["readings_topic"],
                "-m",
                payload,
            ],
            check=True,
        )
        wait_until(lambda: count_readings(empty_db_url) == 1, 15, "the reading to be stored")
        out, _ = feedback.communicate(timeout=20)
    finally:
        ingest.send_signal(signal.SIGTERM)
        ingest.wait(timeout=20)
        reader.join(timeout=5)
    log = b"".join(lines)
    assert orjson.loads(out) == {
        "msg_id": "m1",
        "status": "accepted",
        "stored": 1,
        "duplicates": 0,
        "rejected": [],
    }
    assert scalar(empty_db_url, "SELECT value FROM readings") == 81.375
    assert ingest.returncode == 0
    # The log says what happened, without payload values or the patient's reference.
    assert b"ingest stopped: 1 messages, 1 readings stored" in log
    assert b"81.375" not in log
    assert b"TUNA-0042" not in log
