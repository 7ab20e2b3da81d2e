"""broker-restart: Mosquitto stopped cleanly (SIGTERM) and restarted mid-stream, then killed
with SIGKILL and restarted, on the same persistence files.
"""

from __future__ import annotations

import threading
import time

from faults_stream import stream_with_probes
from faults_world import World

# Long enough for both restarts and their downtime within the stream.
MIN_STREAM_S = 20.0
# Each restart this share of the stream after the last (so both fall within it).
FAULT_AT = 0.3


def run(world: World) -> threading.Thread:
    args = world.args
    duration = max(args.stream, MIN_STREAM_S)
    publisher = stream_with_probes(world, duration)
    assert world.broker is not None
    broker = world.broker
    time.sleep(duration * FAULT_AT)
    broker.stop()  # SIGTERM: Mosquitto saves its persistence file on the way out
    time.sleep(args.broker_down)
    broker.start()
    time.sleep(duration * FAULT_AT)
    broker.kill9()  # no save: what persistence wrote on the last autosave is what comes back
    time.sleep(args.broker_down)
    broker.start()
    world.faults = {
        "broker_restarts": {"clean (SIGTERM)": 1, "kill -9": 1},
        "down_s_each": args.broker_down,
        "while_streaming": publisher.is_alive(),
    }
    return publisher
