"""The dispatcher against the real PostgreSQL and a real HTTP receiver on a local port."""

from __future__ import annotations

import logging
import statistics
import time
from datetime import timedelta
from uuid import UUID, uuid4

import httpx
import psycopg
import pytest
from standardwebhooks import Webhook

from hemkoll.notify.channels import NO_ENDPOINT, standard_channels
from hemkoll.notify.delivery import attempt
from hemkoll.notify.device import DevicePublisher
from hemkoll.notify.dispatcher import SEND_THREADS, Dispatcher
from hemkoll.notify.schedule import RetrySchedule
from hemkoll.store import notifications as store
from hemkoll.store.connect import connect
from hemkoll.store.devices import Enrolment
from tests.helpers import enrol, scalar, wait_until
from tests.notify.receiver import Receiver
from tests.notify.support import (
    FAST,
    PUBLIC_URL,
    attempts,
    committed_alert,
    dispatcher_config,
    drain,
    new_secret,
    open_alert,
    run_dispatcher,
    set_endpoint,
    state,
    stop_dispatcher,
)


def _payload(db_url: str, notification_id: UUID) -> dict[str, object]:
    return dict(
        scalar(db_url, "SELECT payload FROM notifications WHERE id = %s", (notification_id,))
    )


@pytest.fixture
def secret(db_url: str, enrolment: Enrolment, receiver: Receiver) -> str:
    value = new_secret()
    set_endpoint(db_url, enrolment.health_centre.id, receiver.url, value)
    return value


def test_an_alert_is_delivered_signed_with_its_link_and_only_the_payload(
    db_url: str, enrolment: Enrolment, receiver: Receiver, secret: str
) -> None:
    alert_id, notification_id = committed_alert(db_url, enrolment.patient.id)
    dispatcher = Dispatcher(dispatcher_config(db_url))
    with connect(db_url) as conn:
        assert dispatcher.process_due(conn) == 1
    dispatcher.close()

    [request] = receiver.requests
    assert request.headers["webhook-id"] == str(notification_id)
    assert request.headers["content-type"] == "application/json"
    body = Webhook(secret).verify(request.body, request.headers)
    assert body["data"].pop("link") == f"{PUBLIC_URL}/api/v1/alerts/{alert_id}"
    assert body == _payload(db_url, notification_id)
    assert body["type"] == "alert.opened"
    assert body["data"]["patient_reference"] == "TUNA-0042"
    assert state(db_url, notification_id) == "delivered"
    assert scalar(db_url, "SELECT delivered_at IS NOT NULL FROM notifications") is True
    assert attempts(db_url, notification_id) == [(1, "delivered", 200, None)]


def test_a_500_is_retried_with_the_same_webhook_id(
    db_url: str, enrolment: Enrolment, receiver: Receiver, secret: str
) -> None:
    receiver.respond = lambda request, nth: (500, {}) if nth == 1 else (200, {})
    _, notification_id = committed_alert(db_url, enrolment.patient.id)
    dispatcher = Dispatcher(dispatcher_config(db_url))
    drain(dispatcher, db_url, lambda: state(db_url, notification_id) == "delivered")
    dispatcher.close()

    requests = receiver.of(notification_id)
    assert len(requests) == 2
    for request in requests:
        Webhook(secret).verify(request.body, request.headers)
    assert attempts(db_url, notification_id) == [
        (1, "retry", 500, "HTTP 500"),
        (2, "delivered", 200, None),
    ]
    with psycopg.connect(db_url) as conn:
        [log] = store.delivery_log(conn, _alert_of(db_url, notification_id))
    assert (log.notification.state, log.notification.attempts) == ("delivered", 2)
    assert [a.result for a in log.attempts] == ["retry", "delivered"]


def _alert_of(db_url: str, notification_id: UUID) -> UUID:
    return UUID(
        str(scalar(db_url, "SELECT alert_id FROM notifications WHERE id = %s", (notification_id,)))
    )


def test_429_with_retry_after_waits_at_least_that_long(
    db_url: str, enrolment: Enrolment, receiver: Receiver, secret: str
) -> None:
    receiver.respond = lambda request, nth: (429, {"Retry-After": "2"}) if nth == 1 else (200, {})
    _, notification_id = committed_alert(db_url, enrolment.patient.id)
    dispatcher = Dispatcher(dispatcher_config(db_url))
    with connect(db_url) as conn:
        dispatcher.process_due(conn)
        wait = scalar(
            db_url,
            "SELECT extract(epoch FROM next_attempt_at - clock_timestamp()) FROM notifications",
        )
        assert 1.5 < wait <= 2.0
        assert dispatcher.process_due(conn) == 0  # not due yet: the schedule's 50 ms are not it
    drain(dispatcher, db_url, lambda: state(db_url, notification_id) == "delivered")
    dispatcher.close()
    first, second = receiver.of(notification_id)
    assert second.at - first.at >= 2.0
    assert attempts(db_url, notification_id)[0] == (1, "retry", 429, "HTTP 429 (Retry-After)")


def test_410_is_gone_and_not_tried_again(
    db_url: str, enrolment: Enrolment, receiver: Receiver, secret: str
) -> None:
    receiver.respond = lambda request, nth: (410, {})
    _, notification_id = committed_alert(db_url, enrolment.patient.id)
    dispatcher = Dispatcher(dispatcher_config(db_url))
    with connect(db_url) as conn:
        dispatcher.process_due(conn)
        time.sleep(0.2)
        assert dispatcher.process_due(conn) == 0
    dispatcher.close()
    assert state(db_url, notification_id) == "gone"
    assert len(receiver.requests) == 1
    assert attempts(db_url, notification_id) == [(1, "gone", 410, "HTTP 410 Gone")]


def test_a_receiver_that_is_down_gets_it_once_it_is_up(
    db_url: str, enrolment: Enrolment, receiver: Receiver, secret: str
) -> None:
    receiver.stop()
    _, notification_id = committed_alert(db_url, enrolment.patient.id)
    steady = RetrySchedule(tuple(timedelta(seconds=0.1) for _ in range(50)), jitter=0)
    dispatcher = Dispatcher(dispatcher_config(db_url, schedule=steady))
    with connect(db_url) as conn:
        dispatcher.process_due(conn)
        time.sleep(0.15)
        dispatcher.process_due(conn)
    assert state(db_url, notification_id) == "pending"
    assert [a[1] for a in attempts(db_url, notification_id)] == ["retry", "retry"]
    assert "ConnectError" in (attempts(db_url, notification_id)[0][3] or "")

    receiver.start()
    drain(dispatcher, db_url, lambda: state(db_url, notification_id) == "delivered")
    dispatcher.close()
    assert receiver.count_by_id() == {str(notification_id): 1}


def test_a_schedule_that_runs_out_expires(
    db_url: str, enrolment: Enrolment, receiver: Receiver, secret: str
) -> None:
    receiver.respond = lambda request, nth: (503, {})
    _, notification_id = committed_alert(db_url, enrolment.patient.id)
    dispatcher = Dispatcher(dispatcher_config(db_url))
    drain(dispatcher, db_url, lambda: state(db_url, notification_id) == "expired")
    dispatcher.close()
    assert len(receiver.of(notification_id)) == FAST.attempts
    assert [a[1] for a in attempts(db_url, notification_id)] == ["retry"] * 4 + ["expired"]


def test_no_endpoint_is_logged_retried_and_the_backlog_follows_a_fixed_address(
    db_url: str, enrolment: Enrolment, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    slow = RetrySchedule((timedelta(hours=1),), jitter=0)
    _, notification_id = committed_alert(db_url, enrolment.patient.id)
    dispatcher = Dispatcher(dispatcher_config(db_url, schedule=slow))
    with caplog.at_level(logging.INFO), connect(db_url) as conn:
        dispatcher.process_due(conn)
        assert attempts(db_url, notification_id) == [
            (1, "retry", None, "the health centre has no notification endpoint")
        ]
        assert NO_ENDPOINT["care_team"] == "the health centre has no notification endpoint"
        assert state(db_url, notification_id) == "pending"
        backlog = store.backlog(conn)
        assert (backlog.pending, backlog.due, backlog.in_flight) == (1, 0, 0)
        assert backlog.oldest_pending_age_s is not None
        assert backlog.oldest_pending_age_s >= 0

        secret = new_secret()
        set_endpoint(db_url, enrolment.health_centre.id, receiver.url, secret)
        assert dispatcher.process_due(conn) == 0  # the next attempt is an hour away ...
        assert store.retry_pending_now(conn, enrolment.health_centre.id) == 1  # ... or now
        assert dispatcher.process_due(conn) == 1
        assert store.backlog(conn).pending == 0
    dispatcher.close()
    assert state(db_url, notification_id) == "delivered"
    Webhook(secret).verify(receiver.requests[0].body, receiver.requests[0].headers)
    assert "no care_team endpoint" in caplog.text
    assert "TUNA-0042" not in caplog.text  # no patient data in the logs


def test_a_dispatcher_killed_between_send_and_record_is_overtaken_with_the_same_id(
    db_url: str, enrolment: Enrolment, receiver: Receiver, secret: str
) -> None:
    _, notification_id = committed_alert(db_url, enrolment.patient.id)
    devices = DevicePublisher(dispatcher_config(db_url).mqtt, client_id="unused", topic_prefix="x")
    with httpx.Client() as http, connect(db_url) as conn:
        # The "killed" dispatcher: claims with a short lease and sends, but never records.
        [stale] = store.claim(conn, limit=1, lease_s=0.3, per_endpoint=4)
        stale_attempt = attempt(
            stale, standard_channels(http=http, devices=devices, public_url=PUBLIC_URL)
        )
        assert stale_attempt.result == "delivered"
        survivor = Dispatcher(dispatcher_config(db_url))
        assert survivor.process_due(conn) == 0  # the lease still holds
        time.sleep(0.35)
        assert survivor.process_due(conn) == 1  # the lease ran out: sent again
        survivor.close()
        # The dead one's late record (had it only stalled) changes nothing.
        assert store.record(conn, stale, stale_attempt) is False
    first, second = receiver.of(notification_id)
    assert first.webhook_id == second.webhook_id == str(notification_id)
    for request in (first, second):
        Webhook(secret).verify(request.body, request.headers)
    assert state(db_url, notification_id) == "delivered"
    log = attempts(db_url, notification_id)
    assert log[0] == (2, "delivered", 200, None)
    assert log[1][:2] == (1, "delivered")
    assert "lease was lost" in (log[1][3] or "")


def test_redeliver_sends_it_again_with_the_same_id(
    db_url: str, enrolment: Enrolment, receiver: Receiver, secret: str
) -> None:
    receiver.respond = lambda request, nth: (410, {}) if nth == 1 else (200, {})
    _, notification_id = committed_alert(db_url, enrolment.patient.id)
    dispatcher = Dispatcher(dispatcher_config(db_url))
    with connect(db_url) as conn:
        dispatcher.process_due(conn)
        assert state(db_url, notification_id) == "gone"
        assert store.redeliver(conn, notification_id) == "queued"
        assert store.redeliver(conn, notification_id) == "already_pending"
        assert store.redeliver(conn, uuid4()) == "not_found"
        assert dispatcher.process_due(conn) == 1
        assert state(db_url, notification_id) == "delivered"
        assert store.redeliver(conn, notification_id) == "queued"
        dispatcher.process_due(conn)
    dispatcher.close()
    assert [r.webhook_id for r in receiver.requests] == [str(notification_id)] * 3
    assert [a[:2] for a in attempts(db_url, notification_id)] == [
        (1, "gone"),
        (1, "delivered"),
        (1, "delivered"),
    ]


def test_two_dispatchers_deliver_200_notifications_once_each(
    db_url: str, enrolment: Enrolment, receiver: Receiver, secret: str
) -> None:
    receiver.delay_s = 0.005  # a receiver that takes a moment, so that sends overlap
    dispatchers = [Dispatcher(dispatcher_config(db_url)) for _ in range(2)]
    threads = [run_dispatcher(d) for d in dispatchers]
    with connect(db_url) as conn:
        ids = {str(open_alert(conn, enrolment.patient.id, rule_id=f"r{i}")[1]) for i in range(200)}
        conn.commit()
    wait_until(
        lambda: (
            scalar(db_url, "SELECT count(*) FROM notifications WHERE state = 'delivered'") == 200
        ),
        30,
        "200 notifications delivered",
    )
    for dispatcher, thread in zip(dispatchers, threads, strict=True):
        stop_dispatcher(dispatcher, thread)
    counts = receiver.count_by_id()
    assert set(counts) == ids
    assert set(counts.values()) == {1}
    assert receiver.max_concurrent_per_id == 1
    # Per endpoint, at most SENDS_PER_ENDPOINT (4) in flight per claim round: two dispatchers
    # claiming at the same instant can reach twice that, never more.
    assert receiver.max_concurrent <= 2 * dispatchers[0]._config.sends_per_endpoint
    assert sum(d.stats.delivered for d in dispatchers) == 200
    assert sum(d.stats.lost_leases for d in dispatchers) == 0


def test_a_committed_alert_goes_out_within_milliseconds(
    db_url: str, enrolment: Enrolment, receiver: Receiver, secret: str
) -> None:
    dispatcher = Dispatcher(dispatcher_config(db_url))
    thread = run_dispatcher(dispatcher)
    time.sleep(0.3)  # LISTEN is in place, the first idle wait has begun
    latencies: list[float] = []
    with connect(db_url) as conn:
        for i in range(20):
            open_alert(conn, enrolment.patient.id, rule_id=f"latency-{i}")
            committed = time.monotonic()
            conn.commit()
            wait_until(lambda: len(receiver.requests) > len(latencies), 5, "the webhook")
            latencies.append(receiver.requests[i].at - committed)
    stop_dispatcher(dispatcher, thread)
    assert statistics.median(latencies) < 0.1, latencies
    assert max(latencies) < 1.0, latencies


def test_a_slow_endpoint_does_not_hold_up_another_centre(
    db_url: str, enrolment: Enrolment, receiver: Receiver, secret: str
) -> None:
    receiver.delay_s = 1.0
    fast = Receiver().start()
    other = enrol(db_url, kind="scale", patient="NORR-7", centre="VC Norr")
    set_endpoint(db_url, other.health_centre.id, fast.url, new_secret())
    dispatcher = Dispatcher(dispatcher_config(db_url))
    thread = run_dispatcher(dispatcher)
    try:
        with connect(db_url) as conn:
            # More than the dispatcher has threads: without the per-endpoint cap they would
            # all wait on the slow receiver.
            for i in range(SEND_THREADS + 4):
                open_alert(conn, enrolment.patient.id, rule_id=f"slow-{i}")
            conn.commit()
            time.sleep(0.1)
            _, fast_id = open_alert(conn, other.patient.id)
            conn.commit()
        started = time.monotonic()
        wait_until(lambda: len(fast.requests) == 1, 5, "the other centre's webhook")
        assert time.monotonic() - started < 0.5
        assert fast.requests[0].webhook_id == str(fast_id)
    finally:
        stop_dispatcher(dispatcher, thread)
        fast.stop()
    assert receiver.max_concurrent <= dispatcher._config.sends_per_endpoint


def test_the_dispatcher_reconnects_after_losing_the_database(
    db_url: str, enrolment: Enrolment, receiver: Receiver, secret: str
) -> None:
    dispatcher = Dispatcher(dispatcher_config(db_url))
    thread = run_dispatcher(dispatcher)
    try:
        _, before = committed_alert(db_url, enrolment.patient.id, rule_id="before")
        wait_until(lambda: len(receiver.requests) == 1, 5, "the first webhook")
        # Its record too: a kill between the send and the record leaves it to the lease (a
        # resend a minute later), which is another test's scenario.
        wait_until(lambda: state(db_url, before) == "delivered", 5, "the first webhook's record")
        with psycopg.connect(db_url, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
        assert killed is not None
        assert killed[0] >= 2  # the claiming and the listening connections at least
        _, after = committed_alert(db_url, enrolment.patient.id, rule_id="after")
        wait_until(lambda: len(receiver.requests) == 2, 10, "the webhook after the outage")
        wait_until(lambda: state(db_url, after) == "delivered", 5, "its record")
    finally:
        stop_dispatcher(dispatcher, thread)
    assert dispatcher.stats.delivered == 2


def test_once_the_endpoint_answers_again_its_backlog_goes_out_at_once(
    db_url: str, enrolment: Enrolment, receiver: Receiver, secret: str
) -> None:
    # Down: the first alert's notice fails and waits an hour for its next attempt.
    receiver.respond = lambda request, nth: (503, {})
    slow = RetrySchedule(delays=(timedelta(hours=1), timedelta(hours=2)), jitter=0.0)
    dispatcher = Dispatcher(dispatcher_config(db_url, schedule=slow))
    _, waiting = committed_alert(db_url, enrolment.patient.id, rule_id="spo2_low")
    with connect(db_url) as conn:
        dispatcher.process_due(conn)
    assert [a[1] for a in attempts(db_url, waiting)] == ["retry"]
    # Back: the next alert's notice is delivered, and the waiting one goes out with it.
    receiver.respond = lambda request, nth: (200, {})
    _, fresh = committed_alert(db_url, enrolment.patient.id, rule_id="heart_rate_high")
    with connect(db_url) as conn:
        dispatcher.process_due(conn)
    dispatcher.close()
    assert state(db_url, fresh) == "delivered"
    assert state(db_url, waiting) == "delivered"
    assert [a[1] for a in attempts(db_url, waiting)] == ["retry", "delivered"]
