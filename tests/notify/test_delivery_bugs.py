"""A notification the dispatcher cannot have been given (a channel it does not know) is a bug,
not a failed delivery: it is not recorded as an attempt (which would spend its retries and
expire it undelivered), it is counted, and it turns the dispatcher's /healthz red."""

from __future__ import annotations

import dataclasses
import threading

import httpx
import pytest
from prometheus_client import REGISTRY

from hemkoll.notify.channels import Channels, DeliveryBug, WebhookChannel
from hemkoll.notify.dispatcher import DELIVERY_FAULT, Dispatcher
from hemkoll.store.connect import connect
from hemkoll.store.devices import Enrolment
from tests.helpers import wait_until
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


def test_the_running_dispatcher_counts_it_turns_red_and_leaves_it_for_another(
    db_url: str, enrolment: Enrolment, receiver: Receiver
) -> None:
    set_endpoint(db_url, enrolment.health_centre.id, receiver.url, new_secret())
    _, notification_id = committed_alert(db_url, enrolment.patient.id)
    before = _bugs()
    with httpx.Client() as http:
        config = dataclasses.replace(dispatcher_config(db_url), lease_s=0.5)
        broken = Dispatcher(config, channels=_without_care_team(http))
        thread = threading.Thread(target=broken.run, daemon=True)
        thread.start()
        try:
            wait_until(lambda: _bugs() > before, 10, "the bug to be counted")
            status = broken.heartbeat.status()
            assert (status.state, status.failing_jobs) == ("failing", (DELIVERY_FAULT,))
        finally:
            broken.stop()
            thread.join(timeout=30)
    assert attempts(db_url, notification_id) == []
    # A dispatcher that knows the channel sends it once the broken one's lease runs out.
    healthy = Dispatcher(dispatcher_config(db_url))
    with connect(db_url) as conn:
        wait_until(lambda: healthy.process_due(conn) == 1, 10, "the notification to go out")
    healthy.close()
    assert state(db_url, notification_id) == "delivered"
    assert len(receiver.of(notification_id)) == 1


def test_a_record_refused_for_another_reason_than_an_outage_is_a_bug_too(
    db_url: str, enrolment: Enrolment, receiver: Receiver
) -> None:
    set_endpoint(db_url, enrolment.health_centre.id, receiver.url, new_secret())
    _, notification_id = committed_alert(db_url, enrolment.patient.id)
    # The schema this code expects is not there (a migration not applied): every record of an
    # attempt fails the same way, so sending again each lease would hide it behind a green
    # /healthz.
    with connect(db_url) as conn:
        conn.execute("DROP TABLE endpoint_health")
        conn.commit()
    before = _bugs("UndefinedTable")
    dispatcher = Dispatcher(dispatcher_config(db_url))
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    try:
        wait_until(
            lambda: (
                (
                    REGISTRY.get_sample_value(
                        "hemkoll_dispatch_bugs_total", {"error": "UndefinedTable"}
                    )
                    or 0
                )
                > (before or 0)
            ),
            10,
            "the bug to be counted",
        )
        status = dispatcher.heartbeat.status()
        assert (status.state, status.failing_jobs) == ("failing", (DELIVERY_FAULT,))
    finally:
        dispatcher.stop()
        thread.join(timeout=30)
    assert attempts(db_url, notification_id) == []  # the record was rolled back whole
