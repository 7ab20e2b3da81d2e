"""The load generator of bench/soak.py, a process of its own: one lean raw-socket QoS-1
publisher (bench/lean_publisher.py) sending the patients' mornings, the wearables' readings and
the probes on the wall clock, counting messages, readings and PUBACKs, and reporting each
probe's publish time.
"""

from __future__ import annotations

import random
import signal
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import lean_publisher
import numpy as np
import orjson
from cohort import Sessions, in_range_value

from hemkoll.protocol.topics import readings_topic

# Morning sessions, one message each: (metric, unit, mean, sd); weight is the patient's own.
SESSIONS: Sessions = (
    (("body_weight", "kg", 0.0, 0.2),),
    (
        ("systolic_bp", "mm[Hg]", 128.0, 8.0),
        ("diastolic_bp", "mm[Hg]", 78.0, 5.0),
        ("heart_rate", "/min", 70.0, 5.0),
    ),
    (("spo2", "%", 96.5, 0.8), ("heart_rate", "/min", 71.0, 5.0)),
    (
        ("symptom_breathlessness", "{score}", 0.0, 0.0),
        ("symptom_ankle_swelling", "{score}", 0.0, 0.0),
        ("symptom_fatigue", "{score}", 0.0, 0.0),
    ),
)


# A pulse oximeter's reading, every --wearable-every seconds.
WEARABLE = (("spo2", "%", 96.5, 0.8), ("heart_rate", "/min", 72.0, 6.0))
# A morning's sessions a minute apart, as a patient measures (closer in short test runs).
MORNING_SESSION_GAP_S = 60.0
# The load generator's pacing tick: what is due is sent this often.
TICK_S = 0.02
# After the last publish, the PUBACKs still due are awaited this long, in waits of this long.
FINAL_PUBACKS_S = 30.0
PUBACK_WAIT_S = 0.5


@dataclass(frozen=True)
class LoadJob:
    host: str
    port: int
    client_id: str
    prefix: str
    morning: tuple[tuple[str, float], ...]  # (device id, weight)
    wearables: tuple[str, ...]  # device ids (of morning patients)
    probes: tuple[str, ...]  # device ids, one probe each, in order
    duration_s: float
    wearable_every_s: float
    probe_every_s: float
    seed: int


def _schedule(job: LoadJob) -> list[tuple[float, int, int, int]]:
    """(offset s, kind 0 morning / 1 wearable / 2 probe, who, session) sorted by time."""
    rng = random.Random(job.seed)
    plan: list[tuple[float, int, int, int]] = []
    # Steady: mornings start uniformly over the run, and a morning that would run past its end
    # continues at its start (so the rate is the same from the first second to the last).
    gap = min(MORNING_SESSION_GAP_S, job.duration_s / 10)  # short test runs: closer sessions
    for i in range(len(job.morning)):
        start = rng.uniform(0, job.duration_s)
        plan.extend(((start + s * gap) % job.duration_s, 0, i, s) for s in range(len(SESSIONS)))
    for i in range(len(job.wearables)):
        t = rng.uniform(0, job.wearable_every_s)
        while t < job.duration_s:
            plan.append((t, 1, i, 0))
            t += job.wearable_every_s
    for i in range(len(job.probes)):
        plan.append(((i + 0.5) * job.probe_every_s, 2, i, 0))
    plan.sort()
    return plan


def load_generator(job: LoadJob, go: Any, stop: Any, counters: Any, probes_out: Any) -> None:
    """Publish the schedule on the wall clock; count messages and readings; report probes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    rng = np.random.default_rng(job.seed)
    plan = _schedule(job)
    morning_topics = [readings_topic(job.prefix, d) for d, _ in job.morning]
    wearable_topics = [readings_topic(job.prefix, d) for d in job.wearables]
    probe_topics = [readings_topic(job.prefix, d) for d in job.probes]
    with socket.create_connection((job.host, job.port)) as sock:
        lean_publisher.handshake(sock, job.client_id, keepalive=0)
        go.wait()
        start = time.monotonic()
        packet_id = 0
        pending = b""
        messages = readings = acked = 0
        nxt = 0
        while nxt < len(plan) and not stop.is_set():
            now_s = time.monotonic() - start
            chunk = bytearray()
            while nxt < len(plan) and plan[nxt][0] <= now_s:
                _, kind, who, session = plan[nxt]
                nxt += 1
                at = datetime.now(UTC).isoformat(timespec="milliseconds")
                if kind == 0:
                    topic = morning_topics[who]
                    weight = job.morning[who][1]
                    items = [
                        {
                            "metric": m,
                            "value": in_range_value(rng, weight, m, mu, sd),
                            "unit": u,
                            "measured_at": at,
                        }
                        for m, u, mu, sd in SESSIONS[session]
                    ]
                elif kind == 1:
                    topic = wearable_topics[who]
                    items = [
                        {
                            "metric": m,
                            "value": in_range_value(rng, 0.0, m, mu, sd),
                            "unit": u,
                            "measured_at": at,
                        }
                        for m, u, mu, sd in WEARABLE
                    ]
                else:
                    topic = probe_topics[who]
                    items = [
                        {
                            "metric": "symptom_breathlessness",
                            "value": 3,
                            "unit": "{score}",
                            "measured_at": at,
                        }
                    ]
                payload = orjson.dumps({"msg_id": uuid.uuid4().hex[:16], "readings": items})
                packet_id = packet_id % 65535 + 1
                chunk += lean_publisher.publish_packet(topic, payload, packet_id)
                if kind == 2:
                    probes_out.put((who, time.time()))
                messages += 1
                readings += len(items)
            if chunk:
                sock.sendall(chunk)
                counters[0], counters[1] = messages, readings
            pending, count = lean_publisher.drain_pubacks(sock, pending, 0.0)
            acked += count
            counters[2] = acked
            time.sleep(TICK_S)
        deadline = time.monotonic() + FINAL_PUBACKS_S
        while acked < messages and time.monotonic() < deadline:
            pending, count = lean_publisher.drain_pubacks(sock, pending, PUBACK_WAIT_S)
            acked += count
            counters[2] = acked
        sock.sendall(b"\xe0\x00")  # DISCONNECT
    probes_out.put(None)
