"""The ingest service rides out a broker restart and a lost database connection."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests.conftest import Broker
from tests.helpers import (
    count_readings,
    enrol,
    numbered_messages,
    publish_many,
    running_ingest,
    scalar,
    wait_until,
)


@pytest.mark.broker
def test_broker_restart(own_broker: Broker, db_url: str, topic_prefix: str) -> None:
    device = str(enrol(db_url, kind="scale").device.id)
    payloads = numbered_messages(400, datetime.now(UTC) - timedelta(days=1))
    with running_ingest(db_url, own_broker.url, topic_prefix) as service:
        publish_many(
            own_broker.url, topic_prefix, device, payloads[:200], client_id=f"{topic_prefix}-a"
        )
        wait_until(lambda: count_readings(db_url) == 200, 20, "the first half")
        own_broker.stop()
        time.sleep(1.5)  # ingest notices and starts backing off
        assert not service.wait_connected(0)
        own_broker.start()  # same port; persistence is off, so the session is gone
        assert service.wait_connected(15), "ingest did not reconnect"
        time.sleep(0.3)  # the subscription is renewed right after CONNACK
        publish_many(
            own_broker.url, topic_prefix, device, payloads[200:], client_id=f"{topic_prefix}-b"
        )
        wait_until(lambda: count_readings(db_url) == 400, 20, "the second half")
    assert scalar(db_url, "SELECT count(*) FROM dead_letters") == 0


@pytest.mark.broker
def test_database_connection_lost_mid_stream(
    own_broker: Broker, db_url: str, topic_prefix: str
) -> None:
    device = str(enrol(db_url, kind="scale").device.id)
    payloads = numbered_messages(3000, datetime.now(UTC) - timedelta(days=1), per_message=2)
    dbname = psycopg.conninfo.conninfo_to_dict(db_url)["dbname"]
    killed = 0

    def stream() -> None:
        # Paced over about three seconds, so that the connection is cut while it runs.
        for chunk in range(0, len(payloads), 300):
            publish_many(
                own_broker.url,
                topic_prefix,
                device,
                payloads[chunk : chunk + 300],
                client_id=f"{topic_prefix}-p{chunk}",
            )
            time.sleep(0.25)

    with running_ingest(db_url, own_broker.url, topic_prefix):
        publisher = threading.Thread(target=stream)
        publisher.start()
        with psycopg.connect(db_url, autocommit=True) as admin:
            while publisher.is_alive():
                time.sleep(0.3)
                killed += len(
                    admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = %s AND pid <> pg_backend_pid()",
                        (dbname,),
                    ).fetchall()
                )
        publisher.join()
        wait_until(lambda: count_readings(db_url) == 6000, 60, "every reading")
    assert killed >= 3, "the database connections should have been cut while streaming"
    assert scalar(db_url, "SELECT count(DISTINCT measured_at) FROM readings") == 6000
