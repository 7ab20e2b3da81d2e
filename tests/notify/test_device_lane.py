"""Device messages in a lane of their own: published in batches, recorded in one transaction,
never waiting behind webhooks (migration 0028, dispatcher.DEVICE_BATCH)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime, timedelta
from uuid import UUID

import psycopg

from hemkoll.notify.dispatcher import DEVICE_BATCH, Dispatcher
from hemkoll.store import endpoint_health
from hemkoll.store import notifications as store
from hemkoll.store.connect import connect
from hemkoll.store.devices import Enrolment
from tests.helpers import wait_until
from tests.notify.receiver import Receiver
from tests.notify.support import (
    attempts,
    device_listener,
    dispatcher_config,
    new_secret,
    open_alert,
    run_dispatcher,
    set_endpoint,
    stop_dispatcher,
)


def _queue(db_url: str, enrolment: Enrolment, count: int) -> list[UUID]:
    with connect(db_url) as conn:
        store.enqueue_device_messages_to_many(
            conn,
            [
                (enrolment.patient.id, None, "readings.in_range", "As usual.", "Som vanligt.", None)
                for _ in range(count)
            ],
        )
        conn.commit()
        rows = conn.execute("SELECT id FROM notifications WHERE channel = 'device'").fetchall()
    return [UUID(str(r[0])) for r in rows]


def _states(db_url: str, channel_is_device: bool) -> Counter[str]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT state FROM notifications WHERE (channel = 'device') = %s",
            (channel_is_device,),
        ).fetchall()
    return Counter(str(r[0]) for r in rows)


def test_more_than_a_batch_of_device_messages_reach_the_device_once_each_and_are_logged(
    db_url: str, enrolment: Enrolment, topic_prefix: str, machine_broker_url: str
) -> None:
    ids = _queue(db_url, enrolment, 2 * DEVICE_BATCH + 17)
    dispatcher = Dispatcher(
        dispatcher_config(db_url, prefix=topic_prefix, mqtt_url=machine_broker_url)
    )
    with device_listener(machine_broker_url, topic_prefix, enrolment.device.id) as received:
        thread = run_dispatcher(dispatcher)
        try:
            wait_until(lambda: len(received) >= len(ids), 20, "every device message")
            wait_until(
                lambda: _states(db_url, True) == Counter({"delivered": len(ids)}),
                10,
                "every device message recorded",
            )
        finally:
            stop_dispatcher(dispatcher, thread)
    assert sorted(m["id"] for m in received) == sorted(str(i) for i in ids)
    assert dispatcher.stats.delivered == len(ids)
    for notification_id in (ids[0], ids[DEVICE_BATCH], ids[-1]):
        [(attempt, result, status, error)] = attempts(db_url, notification_id)
        assert (attempt, result, status, error) == (1, "delivered", None, None)


def test_device_messages_go_out_while_every_webhook_thread_waits_on_its_endpoint(
    db_url: str, enrolment: Enrolment, receiver: Receiver, topic_prefix: str
) -> None:
    # Four threads, all held by one centre's endpoint that takes its time (the per-endpoint
    # cap is four): in one lane the device messages would wait until the webhooks are answered.
    receiver.delay_s = 6.0
    set_endpoint(db_url, enrolment.health_centre.id, receiver.url, new_secret())
    with connect(db_url) as conn:
        for i in range(4):
            open_alert(conn, enrolment.patient.id, rule_id=f"slow-{i}")
        conn.commit()
    config = dataclasses.replace(dispatcher_config(db_url, prefix=topic_prefix), send_threads=4)
    dispatcher = Dispatcher(config)
    thread = run_dispatcher(dispatcher)
    try:
        wait_until(lambda: len(receiver.requests) == 4, 5, "the four webhooks sent")
        ids = _queue(db_url, enrolment, 10)
        wait_until(
            lambda: _states(db_url, True) == Counter({"delivered": len(ids)}),
            4,
            "the device messages, while the webhooks wait",
        )
        assert _states(db_url, False) == Counter({"pending": 4})  # still unanswered
    finally:
        stop_dispatcher(dispatcher, thread)
    assert _states(db_url, False) == Counter({"delivered": 4})


def test_a_batch_record_applies_only_the_claims_that_still_hold(
    db_url: str, enrolment: Enrolment
) -> None:
    _queue(db_url, enrolment, 3)
    with connect(db_url) as conn:
        claims = store.claim(conn, limit=3, lease_s=60, per_endpoint=4, lane="device")
        assert len(claims) == 3
        # The second was claimed again by another dispatcher after its lease ran out.
        conn.execute(
            "UPDATE notifications SET lease_until = lease_until + interval '1 minute'"
            " WHERE id = %s",
            (claims[1].id,),
        )
        conn.commit()
        record = store.AttemptRecord(
            result="delivered", started_at=claims[0].lease_until, duration_ms=3
        )
        assert store.record_many(conn, [(c, record) for c in claims]) == [True, False, True]
    assert attempts(db_url, claims[0].id) == [(1, "delivered", None, None)]
    assert attempts(db_url, claims[1].id) == [
        (1, "delivered", None, "recorded after its lease was lost; not applied")
    ]
    with psycopg.connect(db_url) as conn:
        rows = dict(
            conn.execute(
                "SELECT id, state FROM notifications WHERE id = ANY(%s)",
                ([c.id for c in claims],),
            ).fetchall()
        )
    assert rows == {claims[0].id: "delivered", claims[1].id: "pending", claims[2].id: "delivered"}


def test_observing_an_attempt_says_how_many_had_failed_before_it(
    db_url: str, enrolment: Enrolment
) -> None:
    started = datetime.now(UTC)
    with connect(db_url) as conn:

        def observe(delivered: bool, seconds: int) -> int:
            with conn.transaction():
                return endpoint_health.observe(
                    conn,
                    enrolment.health_centre.id,
                    "care_team",
                    at=started + timedelta(seconds=seconds),
                    delivered=delivered,
                    error=None if delivered else "HTTP 503",
                )

        assert observe(False, 1) == 0  # a new endpoint
        assert observe(False, 2) == 1
        assert observe(True, 3) == 2  # the delivery that ends the streak sees it
        assert observe(True, 4) == 0
        [health] = endpoint_health.of_centre(conn, enrolment.health_centre.id)
    assert (health.failures, health.last_delivered_at) == (0, started + timedelta(seconds=4))
