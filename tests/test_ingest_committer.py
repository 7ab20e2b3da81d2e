"""Ingest's commit stage: planned batches stored in order while the next is planned; a failure
of the stage stops ingest with its cause; a stop while the database is away gives up cleanly.

End to end (the broker's PUBACKs, kills, redelivery) is tests/test_delivery.py.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hemkoll.ingest.committer import CommitStageFailed, Committer
from hemkoll.ingest.mqtt_session import MqttSession
from hemkoll.ingest.pipeline import InboundMessage, MessagePlan
from hemkoll.protocol.topics import readings_topic
from hemkoll.settings import parse_mqtt_url
from hemkoll.store.types import Reading
from tests.helpers import PROGRAMME_URGENT, enrol, scalar

T0 = datetime.now(UTC) - timedelta(days=1)


def _session(prefix: str) -> MqttSession:
    """A real session, never started: what the committer hands over waits in its outbox."""
    return MqttSession(
        parse_mqtt_url("mqtt://127.0.0.1:1"),
        client_id=f"{prefix}-committer",
        subscription=(f"{prefix}/#", 1),
        on_message=lambda message: None,
    )


def _plan(prefix: str, device_id: uuid.UUID, patient_id: uuid.UUID, n: int, at: int) -> MessagePlan:
    message = InboundMessage(
        readings_topic(prefix, device_id), b"{}", at + 1, 1, datetime.now(UTC), 1
    )
    readings = tuple(
        Reading(patient_id, device_id, "body_weight", 80.0, T0 + timedelta(seconds=at + i))
        for i in range(n)
    )
    return MessagePlan(message, device_id, f"m{at}", readings, ())


def test_batches_are_stored_one_after_the_other_and_counted(db_url: str, topic_prefix: str) -> None:
    device = enrol(db_url, kind="scale")
    committer = Committer(
        db_url, topic_prefix, _session(topic_prefix), threading.Event(), PROGRAMME_URGENT
    )
    committer.start()
    for batch in range(20):
        plans = [
            _plan(topic_prefix, device.device.id, device.patient.id, 5, 1000 * batch + 10 * k)
            for k in range(10)
        ]
        assert committer.submit(plans)
    # The same messages again (a redelivery): counted as duplicates, stored once.
    assert committer.submit([_plan(topic_prefix, device.device.id, device.patient.id, 5, 0)])
    committer.finish()
    assert committer.stats.messages == 201
    assert committer.stats.batches == 21
    assert committer.stats.readings_stored == 1000
    assert committer.stats.readings_duplicate == 5
    assert scalar(db_url, "SELECT count(*) FROM readings") == 1000


def test_a_failure_of_the_commit_thread_stops_ingest_with_its_cause(
    db_url: str, topic_prefix: str
) -> None:
    device = enrol(db_url, kind="scale")
    committer = Committer(
        db_url, topic_prefix, _session(topic_prefix), threading.Event(), PROGRAMME_URGENT
    )
    committer.start()
    good = _plan(topic_prefix, device.device.id, device.patient.id, 1, 0)
    # A plan no planner makes (a bug): its readings cannot be iterated.
    broken = MessagePlan(good.message, good.device_id, "broken", None, ())  # type: ignore[arg-type]
    committer.submit([broken])
    with pytest.raises(CommitStageFailed) as failed:
        committer.finish()
    assert isinstance(failed.value.__cause__, TypeError)
    with pytest.raises(CommitStageFailed):
        committer.check()
    assert committer.stats.messages == 0  # nothing acknowledged


def test_a_stop_while_the_database_is_away_gives_up_without_acknowledging(
    topic_prefix: str,
) -> None:
    stopping = threading.Event()
    committer = Committer(
        "postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=1",
        topic_prefix,
        _session(topic_prefix),
        stopping,
        PROGRAMME_URGENT,
    )
    committer.start()
    device_id, patient_id = uuid.uuid4(), uuid.uuid4()
    assert committer.submit([_plan(topic_prefix, device_id, patient_id, 1, 0)])
    threading.Timer(0.5, stopping.set).start()
    committer.finish()  # returns: the broker redelivers what was not acknowledged
    assert committer.stats.messages == 0
    assert committer.submit([_plan(topic_prefix, device_id, patient_id, 1, 1)]) is False
