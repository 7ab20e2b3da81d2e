"""Each health centre's endpoint keeps its failure streak: how many attempts in a row failed and
since when, kept by the dispatcher in the attempt's transaction, sampled into
hemkoll_endpoint_failure_streak / hemkoll_endpoint_failing_seconds, reset by a delivery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from hemkoll.notify.channels import NO_ENDPOINT
from hemkoll.notify.dispatcher import Dispatcher
from hemkoll.observability.backlog import sample
from hemkoll.store import endpoint_health
from hemkoll.store.connect import connect
from hemkoll.store.devices import Enrolment
from hemkoll.store.migrate import available_migrations
from tests.notify.receiver import Receiver
from tests.notify.support import (
    attempts,
    committed_alert,
    dispatcher_config,
    drain,
    new_secret,
    set_endpoint,
    state,
)


def _gauge(name: str, centre: object, channel: str = "care_team") -> float | None:
    return REGISTRY.get_sample_value(name, {"health_centre": str(centre), "channel": channel})


def test_a_failing_endpoint_keeps_its_streak_until_it_delivers_again(
    db_url: str, enrolment: Enrolment, receiver: Receiver
) -> None:
    centre = enrolment.health_centre.id
    set_endpoint(db_url, centre, receiver.url, new_secret())
    failing = True
    receiver.respond = lambda request, nth: (500, {}) if failing else (200, {})
    _, notification_id = committed_alert(db_url, enrolment.patient.id)
    dispatcher = Dispatcher(dispatcher_config(db_url))
    drain(dispatcher, db_url, lambda: len(attempts(db_url, notification_id)) >= 3)

    with connect(db_url) as conn:
        [health] = endpoint_health.of_centre(conn, centre)
        first_started = conn.execute(
            "SELECT min(started_at) FROM notification_attempts WHERE notification_id = %s",
            (notification_id,),
        ).fetchone()
    assert (health.channel, health.failures, health.last_error) == ("care_team", 3, "HTTP 500")
    assert first_started is not None
    assert health.failing_since == first_started[0]
    assert health.last_delivered_at is None
    sample(db_url)
    assert _gauge("hemkoll_endpoint_failure_streak", centre) == 3
    failing_s = _gauge("hemkoll_endpoint_failing_seconds", centre)
    assert failing_s is not None
    assert failing_s > 0

    failing = False
    drain(dispatcher, db_url, lambda: state(db_url, notification_id) == "delivered")
    dispatcher.close()
    with connect(db_url) as conn:
        [health] = endpoint_health.of_centre(conn, centre)
    assert (health.failures, health.failing_since, health.last_error) == (0, None, None)
    assert health.last_delivered_at == health.last_attempt_at
    sample(db_url)
    assert _gauge("hemkoll_endpoint_failure_streak", centre) == 0
    assert _gauge("hemkoll_endpoint_failing_seconds", centre) == 0


def test_a_centre_without_an_endpoint_is_failing_too(db_url: str, enrolment: Enrolment) -> None:
    _, notification_id = committed_alert(db_url, enrolment.patient.id)
    dispatcher = Dispatcher(dispatcher_config(db_url))
    drain(dispatcher, db_url, lambda: len(attempts(db_url, notification_id)) >= 1)
    dispatcher.close()
    with connect(db_url) as conn:
        [health] = endpoint_health.of_centre(conn, enrolment.health_centre.id)
    # The fast test schedule may have tried again before the dispatcher stopped (a loaded
    # machine): every failed attempt is one more in the streak.
    tried = len(attempts(db_url, notification_id))
    assert tried >= 1
    assert (health.failures, health.last_error) == (tried, NO_ENDPOINT["care_team"])


def test_an_attempt_recorded_late_does_not_undo_a_newer_one(
    db_url: str, enrolment: Enrolment
) -> None:
    centre = enrolment.health_centre.id
    now = datetime.now(UTC)
    with connect(db_url) as conn, conn.transaction():
        endpoint_health.observe(conn, centre, "escalation", at=now, delivered=False, error="x")
        # A delivery that started earlier, recorded after it by a slow thread.
        earlier = now - timedelta(seconds=5)
        endpoint_health.observe(conn, centre, "escalation", at=earlier, delivered=True, error=None)
        later = now + timedelta(seconds=5)
        endpoint_health.observe(conn, centre, "escalation", at=later, delivered=False, error="y")
        [health] = endpoint_health.of_centre(conn, centre)
    assert (health.failures, health.failing_since, health.last_error) == (2, now, "y")
    assert health.last_delivered_at is None


def test_the_migration_fills_it_from_the_attempts_so_far(
    db_url: str, enrolment: Enrolment, receiver: Receiver
) -> None:
    centre = enrolment.health_centre.id
    set_endpoint(db_url, centre, receiver.url, new_secret())
    answers = iter([200, 500, 500])  # delivered once, then failing twice
    receiver.respond = lambda request, nth: (next(answers, 500), {})
    dispatcher = Dispatcher(dispatcher_config(db_url))
    committed_alert(db_url, enrolment.patient.id)
    drain(dispatcher, db_url, lambda: _attempts_of_centre(db_url) == 1)
    committed_alert(db_url, enrolment.patient.id, rule_id="weight_gain_3d")
    drain(dispatcher, db_url, lambda: _attempts_of_centre(db_url) == 3)
    dispatcher.close()
    with connect(db_url) as conn:
        [kept] = endpoint_health.of_centre(conn, centre)
        # As on a database migrated from 0008 with a history: the table built from the log.
        conn.execute("DROP TABLE endpoint_health")
        [migration] = [m for m in available_migrations() if m.version == 9]
        conn.execute(migration.sql)
        [rebuilt] = endpoint_health.of_centre(conn, centre)
    assert kept.failures == 2
    assert rebuilt == kept


def _attempts_of_centre(db_url: str) -> int:
    with connect(db_url) as conn:
        row = conn.execute("SELECT count(*) FROM notification_attempts").fetchone()
    return int(row[0]) if row else 0
