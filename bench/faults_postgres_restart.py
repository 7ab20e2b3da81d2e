"""postgres-restart: the cluster restarted (pg_ctl -m fast) the moment ingest has a transaction
open, then crashed (pg_ctl -m immediate) and started again (crash recovery).
"""

from __future__ import annotations

import threading
import time

from common import one
from faults_stream import stream_with_probes
from faults_world import World


def ingest_transaction_open(world: World) -> bool:
    """Whether ingest's connection is inside a transaction (a batch being written)."""
    state = one(
        world.url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
        " AND query ILIKE '%%staging%%'",
    )
    return bool(state)


def run(world: World) -> threading.Thread:
    args = world.args
    duration = max(args.stream, 20.0)
    publisher = stream_with_probes(world, duration)
    caught = []
    for action in (world.pg.restart_fast, world.pg.crash_and_start):
        time.sleep(duration * 0.3)
        deadline = time.monotonic() + 10
        hit = False
        while time.monotonic() < deadline and not (hit := ingest_transaction_open(world)):
            time.sleep(0.005)
        caught.append(hit)
        action()
    world.faults = {
        "postgres_restarts": list(world.pg.restarts[-2:]),
        "ingest_transaction_open_at_restart": caught,
        "while_streaming": publisher.is_alive(),
    }
    return publisher
