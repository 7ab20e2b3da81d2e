"""dispatcher-kill: the dispatcher SIGKILLed at the moment the receiver records a delivery, before
its answer (so the send happened and is never recorded), --kills-on-record times, then
--kills-in-flight times while a send is held open by the receiver's slow mode; restarted each
time. Its leases run out after LEASE_S and another claim sends again with the same webhook-id
(--fast-forward expires them at once).
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
from collections import Counter
from typing import Any

from common import one
from faults_stream import HELLO_S, build_plan, probe_offsets, start_publisher
from faults_world import World

from hemkoll.notify.dispatcher import LEASE_S
from hemkoll.simulator.receiver import Delivery, Mode
from hemkoll.store.connect import connect
from hemkoll.store.sql import query

# One probe alert, so one webhook to kill the dispatcher on, this often.
PROBE_EVERY_S = 5.0
# The stream goes on this long after the last probe.
STREAM_TAIL_S = 3.0
# The kills may take this long beyond the stream (a restarted dispatcher's next claim).
KILLS_GRACE_S = 120.0
# In-flight kills: the receiver holds a send open this much longer than the slow phase, and
# the dispatcher is killed this long into it (the request is at the receiver by then).
HOLD_LONGER_S = 2.0
HELD_OPEN_S = 1.0
# How often the loop looks at the dispatcher and the outbox (a send takes milliseconds).
LOOP_S = 0.05


def probes(args: argparse.Namespace) -> int:
    """A probe for every kill, and one more."""
    return int(args.kills_on_record + args.kills_in_flight + 1)


def run(world: World) -> threading.Thread:
    args = world.args
    assert world.receiver is not None
    receiver = world.receiver
    kills: list[dict[str, Any]] = []
    lock = threading.Lock()
    dispatcher = world.dispatcher

    def kill_on_record(delivery: Delivery) -> None:
        # On the receiver's event loop, after the delivery is recorded and before the answer
        # is written: the dispatcher has sent it and will never record it.
        with lock:
            if len(kills) >= args.kills_on_record or delivery.duplicate or not dispatcher.alive:
                return
            os.kill(dispatcher.pid, signal.SIGKILL)
            kills.append({"when": "recorded by the receiver", "event": delivery.event_type})

    count = probes(args)
    duration = HELLO_S + count * PROBE_EVERY_S + STREAM_TAIL_S
    offsets = probe_offsets(count, HELLO_S, PROBE_EVERY_S)
    plan = build_plan(world, duration, args.rate / 4, offsets[: len(world.probes)], args.seed)
    world.on_delivery = kill_on_record
    publisher = start_publisher(world, plan)
    in_flight_kills = 0
    killed_at: list[float] = []
    deadline = time.monotonic() + duration + KILLS_GRACE_S
    while time.monotonic() < deadline:
        with lock:
            done_on_record = len(kills) >= args.kills_on_record
        if not dispatcher.alive:
            dispatcher.process.wait()  # type: ignore[union-attr]
            dispatcher.kills += 1
            killed_at.append(time.time())
            dispatcher.start()
            expire_leases(world, killed_at[-1])
        if done_on_record and in_flight_kills < args.kills_in_flight:
            receiver.set_mode(Mode.slow(args.slow_delay + HOLD_LONGER_S))
            if webhook_in_flight(world):
                time.sleep(HELD_OPEN_S)  # the request is at the receiver, held open
                dispatcher.kill()
                killed_at.append(time.time())
                with lock:
                    kills.append({"when": "send in flight (slow receiver)", "event": None})
                in_flight_kills += 1
                receiver.set_mode(Mode.normal())
                dispatcher.start()
                expire_leases(world, killed_at[-1])
        if done_on_record and in_flight_kills >= args.kills_in_flight:
            break
        time.sleep(LOOP_S)
    receiver.set_mode(Mode.normal())
    world.on_delivery = None
    world.faults = {
        "dispatcher_sigkills": len(kills),
        "how": dict(Counter(k["when"] for k in kills)),
        "lease_s": LEASE_S,
        "leases_fast_forwarded": bool(args.fast_forward),
    }
    return publisher


def webhook_in_flight(world: World) -> bool:
    return bool(
        one(
            world.url,
            "SELECT count(*) FROM notifications WHERE state = 'pending'"
            " AND channel <> 'device' AND lease_until > clock_timestamp()",
        )
    )


def expire_leases(world: World, killed_at: float) -> None:
    """--fast-forward: the leases the killed dispatcher held run out now, not LEASE_S later.

    Only leases taken before the kill (a lease ends LEASE_S after its claim): the new
    dispatcher's own are left alone.
    """
    if not world.args.fast_forward:
        return
    with connect(world.url) as conn:
        conn.execute(
            "UPDATE notifications SET lease_until = clock_timestamp() - interval '1 ms'"
            " WHERE state = 'pending' AND lease_until IS NOT NULL"
            " AND lease_until <= to_timestamp(%s) + make_interval(secs => %s)",
            (killed_at, LEASE_S),
        )
        conn.execute(query("notify_dispatch"))
        conn.commit()
