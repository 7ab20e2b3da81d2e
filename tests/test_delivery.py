"""Delivery guarantees with a broker configured as the project deploys it (deploy/mosquitto).

* A burst far over Mosquitto's default queue (1000) while ingest is away is stored in full.
* The ingest process killed with SIGKILL again and again mid-stream: stored == published, each
  reading once.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Broker
from tests.helpers import (
    count_readings,
    enrol,
    ingest_process,
    numbered_messages,
    publish_many,
    running_ingest,
    scalar,
    wait_until,
)

BURST = 5000  # five times Mosquitto's default max_queued_messages


def _burst_while_ingest_is_away(broker: Broker, db_url: str, prefix: str) -> int:
    device = enrol(db_url, kind="scale")
    client_id = f"{prefix}-ingest"
    # First run: the ingest service creates its persistent session and subscription, then goes.
    with running_ingest(db_url, broker.url, prefix, client_id):
        pass
    start = datetime.now(UTC) - timedelta(days=2)
    publish_many(
        broker.url,
        prefix,
        str(device.device.id),
        numbered_messages(BURST, start),
        client_id=f"{prefix}-pub",
    )
    with running_ingest(db_url, broker.url, prefix, client_id) as service:
        # Wait until the broker has nothing more to hand over.
        last = -1
        while service.stats.messages != last:
            last = service.stats.messages
            time.sleep(1.0)
    return count_readings(db_url)


@pytest.mark.broker
def test_burst_while_ingest_is_away_is_stored_in_full(
    own_broker: Broker, db_url: str, topic_prefix: str
) -> None:
    assert _burst_while_ingest_is_away(own_broker, db_url, topic_prefix) == BURST


@pytest.mark.broker
def test_control_mosquitto_defaults_drop_the_same_burst(
    tmp_path: Path, db_url: str, topic_prefix: str
) -> None:
    """Why the limits file exists: the same burst against Debian's defaults loses messages."""
    broker = Broker(tmp_path, include_limits=False)
    broker.start()
    try:
        stored = _burst_while_ingest_is_away(broker, db_url, topic_prefix)
    finally:
        broker.stop()
    assert stored < BURST


MIN_KILLS = 6
MESSAGES = 4000
READINGS_PER_MESSAGE = 3


@pytest.mark.broker
def test_sigkill_of_ingest_mid_stream_loses_and_duplicates_nothing(
    own_broker: Broker, db_url: str, topic_prefix: str
) -> None:
    device = enrol(db_url, kind="scale")
    device_id = str(device.device.id)
    client_id = f"{topic_prefix}-ingest"
    start = datetime.now(UTC) - timedelta(days=2)
    payloads = numbered_messages(MESSAGES, start, per_message=READINGS_PER_MESSAGE)

    ingest = ingest_process(db_url, own_broker.url, topic_prefix, client_id)
    # The first message, resent until stored (the resends add nothing), makes sure the ingest
    # service's persistent session exists before the stream starts.
    deadline = time.monotonic() + 20
    while count_readings(db_url) < READINGS_PER_MESSAGE:
        assert time.monotonic() < deadline, "ingest never stored the first message"
        publish_many(
            own_broker.url, topic_prefix, device_id, payloads[:1], client_id=f"{topic_prefix}-p0"
        )
        time.sleep(0.5)

    def stream() -> None:
        # Paced over about six seconds so that the kills land while it runs.
        for chunk in range(1, MESSAGES, 100):
            publish_many(
                own_broker.url,
                topic_prefix,
                device_id,
                payloads[chunk : chunk + 100],
                client_id=f"{topic_prefix}-p{chunk}",
            )
            time.sleep(0.12)

    publisher = threading.Thread(target=stream)
    publisher.start()
    rng = random.Random(7)
    kills = kills_mid_stream = 0
    while publisher.is_alive() or kills < MIN_KILLS:
        time.sleep(rng.uniform(0.3, 0.9))
        ingest.send_signal(signal.SIGKILL)
        ingest.wait()
        kills += 1
        if publisher.is_alive():
            kills_mid_stream += 1
        ingest = ingest_process(db_url, own_broker.url, topic_prefix, client_id)
    publisher.join()
    try:
        wait_until(
            lambda: count_readings(db_url) == MESSAGES * READINGS_PER_MESSAGE,
            60,
            "every published reading to be stored",
        )
        time.sleep(1.0)  # anything redelivered late must still add nothing
        assert count_readings(db_url) == MESSAGES * READINGS_PER_MESSAGE
    finally:
        ingest.terminate()
        ingest.wait(timeout=15)
    assert kills_mid_stream >= MIN_KILLS, "the kills should land while the stream is running"
    assert scalar(db_url, "SELECT count(*) FROM dead_letters") == 0
    assert (
        scalar(db_url, "SELECT count(DISTINCT measured_at) FROM readings")
        == MESSAGES * READINGS_PER_MESSAGE
    )
