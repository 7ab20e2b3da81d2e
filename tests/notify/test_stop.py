"""The dispatcher's stop with sends in flight: it stops claiming at once, gives the sends in
flight its grace to finish and be recorded, and leaves the rest to their leases; nothing is
lost (against the real PostgreSQL and real HTTP receivers on local ports)."""

from __future__ import annotations

import dataclasses
import time
from uuid import UUID

import psycopg

from hemkoll.notify.dispatcher import Dispatcher
from hemkoll.store.connect import connect
from tests.helpers import enrol, wait_until
from tests.notify.receiver import TRICKLE_FOR_S, Receiver, TricklingReceiver
from tests.notify.support import (
    dispatcher_config,
    new_secret,
    open_alert,
    run_dispatcher,
    set_endpoint,
)

# The test's grace and lease: short, so that the test is quick; the lease longer than the grace
# (a live dispatcher's claims are never overtaken).
GRACE_S = 1.0
LEASE_S = 4.0
# A stop within the grace, and the little it takes to close the pool and the clients.
STOP_SLACK_S = 2.0


def _alerts(db_url: str, patient_id: UUID, count: int) -> list[UUID]:
    ids = []
    with connect(db_url) as conn:
        for k in range(count):  # one open alert per rule: a rule of its own each
            _, notification_id = open_alert(conn, patient_id, rule_id=f"spo2_low_{k}")
            assert notification_id is not None
            ids.append(notification_id)
        conn.commit()
    return ids


def _states(db_url: str, ids: list[UUID]) -> dict[UUID, tuple[str, int, bool, int]]:
    """Each notification's (state, attempts counted by its claims, leased now, attempts
    recorded)."""
    with psycopg.connect(db_url) as conn:
        found = conn.execute(
            "SELECT n.id, n.state, n.attempts,"
            " n.lease_until IS NOT NULL AND n.lease_until > clock_timestamp(),"
            " (SELECT count(*) FROM notification_attempts AS a WHERE a.notification_id = n.id)"
            " FROM notifications AS n WHERE n.id = ANY(%s)",
            (ids,),
        ).fetchall()
    return {UUID(str(i)): (str(s), int(n), bool(leased), int(r)) for i, s, n, leased, r in found}


def test_a_stop_gives_the_sends_in_flight_its_grace_and_loses_none(
    db_url: str, receiver: Receiver, trickling: TricklingReceiver
) -> None:
    # Two centres: one answers after a moment (its sends in flight finish within the grace),
    # the other never finishes answering (its sends outlast the grace).
    quick = enrol(db_url, kind="pulse_oximeter", patient="TUNA-0001", centre="VC Tuna")
    slow = enrol(db_url, kind="pulse_oximeter", patient="EKBY-0001", centre="VC Ekby")
    receiver.delay_s = 0.4
    set_endpoint(db_url, quick.health_centre.id, receiver.url, new_secret())
    set_endpoint(db_url, slow.health_centre.id, trickling.url, new_secret())
    quick_ids = _alerts(db_url, quick.patient.id, 12)
    slow_ids = _alerts(db_url, slow.patient.id, 2)
    config = dataclasses.replace(dispatcher_config(db_url), lease_s=LEASE_S, stop_grace_s=GRACE_S)

    dispatcher = Dispatcher(config)
    thread = run_dispatcher(dispatcher)
    # Mid-drain: both slow sends hanging, the quick centre's first sends answered and more of
    # its (4 at a time, SENDS_PER_ENDPOINT) in flight.
    wait_until(
        lambda: trickling.requests == 2 and len(receiver.requests) >= 5, 10, "sends in flight"
    )
    stopped_at = time.monotonic()
    dispatcher.stop()
    thread.join(timeout=TRICKLE_FOR_S)
    took = time.monotonic() - stopped_at
    assert not thread.is_alive(), "dispatcher did not stop"
    assert took < GRACE_S + STOP_SLACK_S, f"the stop took {took:.1f} s"

    quick_after = _states(db_url, quick_ids)
    sent = {UUID(r.webhook_id) for r in receiver.requests}
    # It stopped claiming at once: what it sent is what it claimed, and each was answered
    # within the grace and recorded; nothing of the quick centre is left leased.
    assert len(receiver.requests) == len(sent)
    assert sent == {i for i, (_, claims, _, _) in quick_after.items() if claims > 0}
    assert len(sent) < len(quick_ids), "the drain had finished before the stop"
    for notification_id in sent:
        assert quick_after[notification_id] == ("delivered", 1, False, 1)
    for notification_id in set(quick_ids) - sent:
        assert quick_after[notification_id] == ("pending", 0, False, 0)
    # The sends still going after the grace are left to their leases: claimed once, nothing
    # recorded, due again when the lease runs out.
    assert _states(db_url, slow_ids) == {i: ("pending", 1, True, 0) for i in slow_ids}

    # The centre's endpoint answers again; a dispatcher started after the leases ran out sends
    # everything that is left, the abandoned ones with their webhook-id (at-least-once: the
    # receiver drops a copy), and nothing that was recorded is sent again.
    set_endpoint(db_url, slow.health_centre.id, receiver.url, new_secret())
    receiver.delay_s = 0.0
    time.sleep(LEASE_S)
    again = Dispatcher(config)
    thread = run_dispatcher(again)
    try:
        wait_until(
            lambda: all(
                s == "delivered" for s, _, _, _ in _states(db_url, quick_ids + slow_ids).values()
            ),
            15,
            "everything delivered",
        )
    finally:
        again.stop()
        thread.join(timeout=15)
    counts = receiver.count_by_id()
    assert {UUID(i) for i in counts} == set(quick_ids + slow_ids)
    assert set(counts.values()) == {1}
    assert {i: s[1] for i, s in _states(db_url, slow_ids).items()} == dict.fromkeys(slow_ids, 2)
