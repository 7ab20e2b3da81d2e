"""A notification the dispatcher cannot have been given (a channel it does not know) is a bug,
not a failed delivery: it is not recorded as an attempt (which would spend its retries and
expire it undelivered), it is counted, and it turns the dispatcher's /healthz red."""

from __future__ import annotations

import threading
from uuid import UUID

import httpx
import pytest
from prometheus_client import REGISTRY
from psycopg import sql

from hemkoll.notify.channels import Channels, DeliveryBug, WebhookChannel
from hemkoll.notify.dispatcher import BUG_HOLD_S, DELIVERY_FAULT, Dispatcher
from hemkoll.store.connect import connect
from hemkoll.store.devices import Enrolment
from tests.helpers import scalar, wait_until
from tests.notify.receiver import Receiver
from tests.notify.support import (
    PUBLIC_URL,
    attempts,
    committed_alert,
    dispatcher_config,
    new_secret,
    set_endpoint,
    state,
)


def _bugs(error: str = "DeliveryBug") -> float:
    return REGISTRY.get_sample_value("hemkoll_dispatch_bugs_total", {"error": error}) or 0


def _without_care_team(http: httpx.Client) -> Channels:
    # A dispatcher built without the channel the outbox names (as an older dispatcher beside a
    # newer schema would be): only escalations.
    return Channels({"escalation": WebhookChannel("escalation", http, PUBLIC_URL)})


def test_an_unknown_channel_is_raised_not_retried(db_url: str, enrolment: Enrolment) -> None:
    _, notification_id = committed_alert(db_url, enrolment.patient.id)
    with httpx.Client() as http, connect(db_url) as conn:
        dispatcher = Dispatcher(dispatcher_config(db_url), channels=_without_care_team(http))
        with pytest.raises(DeliveryBug, match="unknown notification channel 'care_team'"):
            dispatcher.process_due(conn)
        dispatcher.close()
    assert attempts(db_url, notification_id) == []  # no retry spent on a bug
    assert state(db_url, notification_id) == "pending"


def _held(db_url: str, notification_id: UUID) -> tuple[str, int, float]:
    """State, attempts spent, and seconds until it is due again."""
    row = scalar(
        db_url,
        "SELECT ROW(state, attempts, extract(epoch FROM next_attempt_at - now())::float8)"
        " FROM notifications WHERE id = %s",
        (notification_id,),
    )
    return str(row[0]), int(row[1]), float(row[2])


def _run_until_bug(dispatcher: Dispatcher, error: str = "DeliveryBug") -> None:
    before = _bugs(error)
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: _bugs(error) > before, 10, "the bug to be counted")
        status = dispatcher.heartbeat.status()
        assert (status.state, status.failing_jobs) == ("failing", (DELIVERY_FAULT,))
    finally:
        dispatcher.stop()
        thread.join(timeout=30)


def test_the_running_dispatcher_counts_it_turns_red_and_sets_it_aside_for_another(
    db_url: str, enrolment: Enrolment, receiver: Receiver
) -> None:
    set_endpoint(db_url, enrolment.health_centre.id, receiver.url, new_secret())
    _, notification_id = committed_alert(db_url, enrolment.patient.id)
    with httpx.Client() as http:
        _run_until_bug(Dispatcher(dispatcher_config(db_url), channels=_without_care_team(http)))
    assert attempts(db_url, notification_id) == []
    state_now, spent, due_in = _held(db_url, notification_id)
    # Given back without spending an attempt, and not claimed again every lease meanwhile.
    assert (state_now, spent) == ("pending", 0)
    assert BUG_HOLD_S - 60 < due_in <= BUG_HOLD_S
    # Once it falls due, a dispatcher that knows the channel sends it.
    with connect(db_url) as conn:
        conn.execute(
            "UPDATE notifications SET next_attempt_at = now() WHERE id = %s", (notification_id,)
        )
        conn.commit()
        healthy = Dispatcher(dispatcher_config(db_url))
        assert healthy.process_due(conn) == 1
        healthy.close()
    assert state(db_url, notification_id) == "delivered"
    assert [a[:2] for a in attempts(db_url, notification_id)] == [(1, "delivered")]
    assert len(receiver.of(notification_id)) == 1


def _alert_without(db_url: str, enrolment: Enrolment, receiver: Receiver, table: str) -> UUID:
    """An alert's notification to a working endpoint, in a database without ``table``."""
    set_endpoint(db_url, enrolment.health_centre.id, receiver.url, new_secret())
    _, notification_id = committed_alert(db_url, enrolment.patient.id)
    with connect(db_url) as conn:
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))
        conn.commit()
    return notification_id


def test_a_record_refused_for_another_reason_than_an_outage_is_a_bug_too(
    db_url: str, enrolment: Enrolment, receiver: Receiver
) -> None:
    # The schema this code expects is not there (a migration not applied): every record of an
    # attempt would fail the same way, so sending it again each lease would hide it behind a
    # green /healthz.
    notification_id = _alert_without(db_url, enrolment, receiver, "notification_attempts")
    _run_until_bug(Dispatcher(dispatcher_config(db_url)), "UndefinedTable")
    state_now, spent, due_in = _held(db_url, notification_id)
    assert (state_now, spent) == ("pending", 0)
    assert due_in > BUG_HOLD_S - 60


def test_a_failure_to_keep_the_endpoint_health_is_a_bug_but_the_attempt_is_recorded(
    db_url: str, enrolment: Enrolment, receiver: Receiver
) -> None:
    notification_id = _alert_without(db_url, enrolment, receiver, "endpoint_health")
    _run_until_bug(Dispatcher(dispatcher_config(db_url)), "UndefinedTable")
    assert state(db_url, notification_id) == "delivered"  # not sent again and again
    assert [a[:2] for a in attempts(db_url, notification_id)] == [(1, "delivered")]
    assert len(receiver.of(notification_id)) == 1
