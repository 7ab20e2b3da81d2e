"""The outbox's retention (hemkoll.notify.retention) against the real PostgreSQL: settled
notifications past the retention go with their attempts; pending ones and those of alerts not
yet resolved stay; the job's failures turn /healthz red."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import psycopg
from prometheus_client import REGISTRY

from hemkoll.alerts.nurse_actions import resolve
from hemkoll.notify.dispatcher import RETENTION_JOB, Dispatcher
from hemkoll.notify.retention import delete_expired
from hemkoll.observability.health import FAILURES_UNHEALTHY
from hemkoll.observability.periodic import run_job
from hemkoll.rules.alerting import Outcome
from hemkoll.settings import DEFAULT_NOTIFICATION_RETENTION_DAYS
from hemkoll.store import notifications as store
from hemkoll.store.connect import connect
from hemkoll.store.devices import Enrolment
from tests.helpers import scalar
from tests.notify.receiver import Receiver
from tests.notify.support import committed_alert, dispatcher_config, new_secret, set_endpoint

RETENTION = timedelta(days=DEFAULT_NOTIFICATION_RETENTION_DAYS)


def _deleted_total() -> float:
    return REGISTRY.get_sample_value("hemkoll_notifications_deleted_total") or 0.0


def _age(db_url: str, notification_id: UUID, days: float) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE notifications SET created_at = now() - make_interval(days => %s) WHERE id = %s",
            (days, notification_id),
        )


def _given_up(db_url: str, notification_id: UUID, state: str) -> None:
    """As the dispatcher leaves one it gave up on (its retries ran out: expired; 410: gone)."""
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE notifications SET state = %s, delivered_at = NULL WHERE id = %s",
            (state, notification_id),
        )


def _resolved_alert(db_url: str, patient_id: UUID, rule_id: str) -> tuple[UUID, UUID]:
    alert_id, notification_id = committed_alert(db_url, patient_id, rule_id=rule_id)
    with connect(db_url) as conn:
        resolve(conn, alert_id, Outcome.CONTACTED_PATIENT, by="nurse")
    return alert_id, notification_id


def _exists(db_url: str, notification_id: UUID) -> bool:
    return bool(
        scalar(db_url, "SELECT count(*) FROM notifications WHERE id = %s", (notification_id,))
    )


def test_settled_notifications_past_the_retention_go_with_their_attempts_and_no_other(
    db_url: str, enrolment: Enrolment, receiver: Receiver
) -> None:
    set_endpoint(db_url, enrolment.health_centre.id, receiver.url, new_secret())
    patient = enrolment.patient.id
    old_delivered = _resolved_alert(db_url, patient, "rule_a")
    old_expired = _resolved_alert(db_url, patient, "rule_b")
    old_gone = _resolved_alert(db_url, patient, "rule_c")
    recent_delivered = _resolved_alert(db_url, patient, "rule_d")
    open_alert, of_open_alert = committed_alert(db_url, patient, rule_id="rule_e")
    # Delivered for real: each has its attempt row, which the foreign key ties to it.
    dispatcher = Dispatcher(dispatcher_config(db_url))
    with connect(db_url) as conn:
        assert dispatcher.process_due(conn) == 5
    assert scalar(db_url, "SELECT count(*) FROM notification_attempts") == 5
    old_pending = _resolved_alert(db_url, patient, "rule_f")  # never sent
    _given_up(db_url, old_expired[1], "expired")
    _given_up(db_url, old_gone[1], "gone")
    past = RETENTION.days + 1
    for _, notification_id in (old_delivered, old_expired, old_gone, old_pending):
        _age(db_url, notification_id, past)
    _age(db_url, of_open_alert, past)
    _age(db_url, recent_delivered[1], RETENTION.days - 1)

    before = _deleted_total()
    assert dispatcher.delete_old_notifications() == 3
    assert _deleted_total() == before + 3
    for _, gone in (old_delivered, old_expired, old_gone):
        assert not _exists(db_url, gone)
    for kept in (recent_delivered[1], old_pending[1], of_open_alert):
        assert _exists(db_url, kept)
    assert scalar(db_url, "SELECT count(*) FROM notification_attempts") == 2
    # The alerts and their history stay (the patient record); the delivery log of a resolved
    # alert whose notification went is empty, and the open alert's is whole.
    assert scalar(db_url, "SELECT count(*) FROM alerts") == 6
    with connect(db_url) as conn:
        assert store.delivery_log(conn, old_delivered[0]) == []
        assert len(store.delivery_log(conn, open_alert)) == 1
    assert dispatcher.delete_old_notifications() == 0  # nothing left to do


def _five_expired(db_url: str, enrolment: Enrolment) -> datetime:
    """Five notifications given up; a time when all five are past the retention."""
    ids = [_resolved_alert(db_url, enrolment.patient.id, f"rule_{i}")[1] for i in range(5)]
    for notification_id in ids:
        _given_up(db_url, notification_id, "expired")
    return datetime.now(UTC) + RETENTION + timedelta(days=1)


def test_a_run_deletes_in_batches_and_stops_after_its_last_batch(
    db_url: str, enrolment: Enrolment
) -> None:
    now = _five_expired(db_url, enrolment)
    with connect(db_url) as conn:
        assert delete_expired(conn, now, RETENTION, batch=2, max_batches=2) == 4
        assert scalar(db_url, "SELECT count(*) FROM notifications") == 1
        assert delete_expired(conn, now, RETENTION, batch=2) == 1
    assert scalar(db_url, "SELECT count(*) FROM notifications") == 0


def test_a_run_ends_after_the_batch_in_hand_once_its_dispatcher_stops(
    db_url: str, enrolment: Enrolment
) -> None:
    now = _five_expired(db_url, enrolment)
    batches: list[int] = []

    def stopping() -> bool:  # asked before each batch; the stop comes during the first
        batches.append(1)
        return len(batches) > 1

    with connect(db_url) as conn:
        assert delete_expired(conn, now, RETENTION, batch=2, stopping=stopping) == 2
    assert scalar(db_url, "SELECT count(*) FROM notifications") == 3


def test_the_retention_job_of_a_dispatcher_that_cannot_reach_its_database_turns_it_red(
    db_url: str,
) -> None:
    unreachable = psycopg.conninfo.make_conninfo(db_url, dbname="hemkoll_test_no_such_database")
    dispatcher = Dispatcher(dispatcher_config(unreachable))
    try:
        dispatcher.heartbeat.beat()
        for _ in range(FAILURES_UNHEALTHY):
            run_job(dispatcher.retention_job, dispatcher.heartbeat)  # as start_jobs runs it
        status = dispatcher.heartbeat.status()
        assert (status.state, status.failing_jobs) == ("failing", (RETENTION_JOB,))
        failures = REGISTRY.get_sample_value(
            "hemkoll_periodic_job_failures_total",
            {"job": RETENTION_JOB, "error": "OperationalError"},
        )
        assert failures is not None
        assert failures >= FAILURES_UNHEALTHY
    finally:
        dispatcher.close()
