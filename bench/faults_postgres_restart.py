"""postgres-restart: the cluster restarted (pg_ctl -m fast) the moment ingest has a transaction
open, then crashed (pg_ctl -m immediate) and started again (crash recovery).
"""

from __future__ import annotations

import threading
import time

from common import one
from faults_stream import stream_with_probes
from faults_world import World

# Long enough for both restarts within the stream.
MIN_STREAM_S = 20.0
# Each restart this share of the stream after the last (so both fall within it).
FAULT_AT = 0.3
# Looking for ingest's open transaction: a batch is open for milliseconds, several times a
# second while the stream runs; after this long the restart goes ahead anyway (and says so).
CATCH_TIMEOUT_S = 10.0
CATCH_POLL_S = 0.005


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
    duration = max(args.stream, MIN_STREAM_S)
    publisher = stream_with_probes(world, duration)
    caught = []
    for action in (world.pg.restart_fast, world.pg.crash_and_start):
        time.sleep(duration * FAULT_AT)
        deadline = time.monotonic() + CATCH_TIMEOUT_S
        hit = False
        while time.monotonic() < deadline and not (hit := ingest_transaction_open(world)):
            time.sleep(CATCH_POLL_S)
        caught.append(hit)
        action()
    world.faults = {
        "postgres_restarts": list(world.pg.restarts[-2:]),
        "ingest_transaction_open_at_restart": caught,
        "while_streaming": publisher.is_alive(),
    }
    return publisher
