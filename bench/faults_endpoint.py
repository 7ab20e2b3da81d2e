"""endpoint: the centre's endpoint down for --outage seconds (the receiver stopped), then slow
(--slow-delay s, within the dispatcher's 10 s read timeout, then --slow-timeout-delay s, beyond
it), then answering 500, then 429 with Retry-After: --retry-after, each for --phase seconds,
then normal again; probes every --probe-every seconds throughout.
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from typing import Any

from common import one, rows, say
from faults_stream import HELLO_S, build_plan, probe_offsets, start_publisher
from faults_world import World

from hemkoll.simulator.receiver import Mode
from hemkoll.store import notifications as notification_store
from hemkoll.store.connect import connect

# Without --fast-forward the last webhooks wait for the schedule's 30-minute step, with jitter.
REAL_SCHEDULE_SETTLE_S = 45 * 60.0
# Fast-forward after the last Retry-After has run out, with this margin.
RETRY_AFTER_MARGIN_S = 1.0


def probes(args: argparse.Namespace) -> int:
    """One probe every --probe-every seconds of the whole run."""
    duration = args.warm + args.outage + 3 * args.phase + args.tail
    return max(int((duration - HELLO_S) // args.probe_every), 1)


def settle_timeout(args: argparse.Namespace) -> float:
    """--settle-timeout; with the real retry schedule at least its 30-minute step, with jitter."""
    if args.fast_forward:
        return float(args.settle_timeout)
    return max(float(args.settle_timeout), REAL_SCHEDULE_SETTLE_S)


def run(world: World) -> threading.Thread:
    args = world.args
    assert world.receiver is not None
    receiver = world.receiver
    warm = args.warm
    phases: list[tuple[str, float, Mode | None]] = [
        ("down", args.outage, None),
        (f"slow {args.slow_delay:g} s", args.phase / 2, Mode.slow(args.slow_delay)),
        (f"slow {args.slow_timeout_delay:g} s", args.phase / 2, Mode.slow(args.slow_timeout_delay)),
        ("500", args.phase, Mode.fail(500)),
        (f"429 Retry-After {args.retry_after}", args.phase, Mode.throttle(args.retry_after)),
    ]
    duration = warm + sum(p[1] for p in phases) + args.tail
    count = int((duration - HELLO_S) // args.probe_every)
    offsets = probe_offsets(count, HELLO_S, args.probe_every)
    # Probes beyond those enrolled are not sent (build_world enrolled enough).
    plan = build_plan(world, duration, args.endpoint_rate, offsets[: len(world.probes)], args.seed)
    publisher = start_publisher(world, plan)
    time.sleep(warm)
    timeline = []
    for name, seconds, mode in phases:
        began = time.time()
        if mode is None:
            receiver.stop()
        else:
            if not receiver.running:
                receiver.start()
            receiver.set_mode(mode)
        say(f"  endpoint {name} for {seconds:.0f} s")
        time.sleep(seconds)
        timeline.append({"phase": name, "seconds": round(time.time() - began)})
    if not receiver.running:
        receiver.start()
    receiver.set_mode(Mode.normal())
    world.faults = {"phases": timeline, "recovered_at": time.time()}
    if args.fast_forward:
        # What an administrator's saving of the endpoint does (the API calls this): pending
        # webhooks due now instead of at their next step. After the last Retry-After has run
        # out, so that the 429s are answered by the schedule itself.
        time.sleep(args.retry_after + RETRY_AFTER_MARGIN_S)
        with connect(world.url) as conn:
            nudged = notification_store.retry_pending_now(conn, uuid.UUID(world.centre_id))
        world.faults["fast_forward_retried_now"] = nudged
        world.faults["fast_forward_at"] = time.time()
    return publisher


def own_figures(world: World) -> tuple[dict[str, Any], list[str]]:
    """Retry-After honoured; when the last webhook arrived after the endpoint recovered."""
    gaps = rows(
        world.url,
        """
        SELECT extract(epoch FROM nxt.started_at - a.started_at)::float8 - a.duration_ms / 1e3
        FROM notification_attempts AS a
        JOIN LATERAL (SELECT b.started_at FROM notification_attempts AS b
                      WHERE b.notification_id = a.notification_id AND b.attempt > a.attempt
                      ORDER BY b.attempt LIMIT 1) AS nxt ON true
        WHERE a.status_code = 429
          AND nxt.started_at < to_timestamp(%(nudged)s)
        """,
        {"nudged": float(world.faults.get("fast_forward_at", 4e9))},
    )
    throttled = [g[0] for g in gaps]
    last = one(
        world.url,
        "SELECT extract(epoch FROM max(delivered_at))::float8 FROM notifications"
        " WHERE channel <> 'device'",
    )
    recovered = float(world.faults.get("recovered_at", 0))
    attempts = rows(
        world.url,
        "SELECT coalesce(status_code::text, 'no answer'), count(*) FROM notification_attempts"
        " a JOIN notifications n ON n.id = a.notification_id WHERE n.channel <> 'device'"
        " GROUP BY 1 ORDER BY 1",
    )
    extra = {
        "webhook_attempts_by_answer": dict(attempts),
        "answers_429": len(throttled),
        "min_s_from_429_to_next_attempt": round(min(throttled), 1) if throttled else None,
        "retry_after_s": world.args.retry_after,
        "last_webhook_s_after_recovery": round(last - recovered, 1) if last else None,
    }
    failed = []
    if throttled and min(throttled) < world.args.retry_after - 1:
        failed.append("a 429's Retry-After was not honoured")
    if not throttled:
        failed.append("no attempt was answered 429 (the phase was too short?)")
    return extra, failed
