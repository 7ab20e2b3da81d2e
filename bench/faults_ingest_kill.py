"""ingest-kill: SIGKILL of ingest --kills times while the stream runs, restarted each time.

In turn: right after its first commit since it (re)started, right after it connected, and
anywhere in the stream.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import psycopg
from faults_stream import HELLO_S, stream_with_probes
from faults_world import World, wait_for_ingest_session

# The stream lasts at least this long per kill (a kill, the restart, the reconnection), and
# this long after the last.
STREAM_PER_KILL_S = 4.0
STREAM_TAIL_S = 6.0
# Between a restart and the next kill "anywhere in the stream"; and within this short time
# after a reconnection for a kill "right after it connected".
KILL_GAP_S = (1.0, 2.5)
AFTER_CONNECT_S = (0.0, 0.2)
# Ingest commits several times a second while the stream runs: no commit this long means the
# kill happens anywhere instead.
COMMIT_TIMEOUT_S = 5.0


def run(world: World) -> threading.Thread:
    args = world.args
    duration = max(args.stream, args.kills * STREAM_PER_KILL_S + STREAM_TAIL_S)
    publisher = stream_with_probes(world, duration)
    rng = random.Random(args.seed)
    time.sleep(HELLO_S)
    mid_stream = 0
    ingest = world.ingest
    connections = 1
    how: Counter[str] = Counter()
    for k in range(args.kills):
        # In turn: right after its first commit since it (re)started, which holds what the
        # broker queued during the restart (so that the kill lands before all of that batch's
        # acknowledgements and feedback have gone out, and the broker hands the committed
        # messages over again); right after it connected; anywhere in the stream.
        if k % 3 != 0:
            time.sleep(rng.uniform(*KILL_GAP_S))
        if k % 3 == 0 and kill_right_after_commit(world):
            how["right after a commit"] += 1
        else:
            if k % 3 == 1:
                time.sleep(rng.uniform(*AFTER_CONNECT_S))
            ingest.kill()
            how["anywhere in the stream"] += 1
        if publisher.is_alive():
            mid_stream += 1
        ingest.start()
        connections += 1
        wait_for_ingest_session(world, connections)
    world.faults = {"ingest_sigkills": ingest.kills, "while_streaming": mid_stream, **how}
    return publisher


def kill_right_after_commit(world: World, timeout_s: float = COMMIT_TIMEOUT_S) -> bool:
    """SIGKILL ingest the moment its connection has committed a batch (polled); False if no
    commit was seen in time (then it is not killed here)."""
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(world.url, autocommit=True) as conn:
        backend = None
        in_batch = False
        while time.monotonic() < deadline:
            if backend is None:
                # Ingest's connection is the one that writes the staging table.
                found = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND query ILIKE '%%staging%%' AND pid <> pg_backend_pid() LIMIT 1"
                ).fetchone()
                backend = found[0] if found else None
                continue
            row = conn.execute(
                "SELECT state, query FROM pg_stat_activity WHERE pid = %s", (backend,)
            ).fetchone()
            if row is None:
                return False
            state, text = row
            if state != "idle":
                in_batch = True
            elif in_batch and text == "COMMIT":
                world.ingest.kill()
                return True
    return False
