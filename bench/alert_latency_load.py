"""The load of bench/alert_latency.py, each publisher a process of its own (spawned).

The background: in-range measurement sessions at a rate in readings/s from lean raw-socket
QoS-1 publishers (bench/lean_publisher.py). The probes: one message each at its offset, from a
paho client as devices publish, which notes time.time() just before publish().
"""

from __future__ import annotations

import signal
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import lean_publisher
import numpy as np
import orjson
import paho.mqtt.client as mqtt
from cohort import Sessions, in_range_value
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from hemkoll.protocol.topics import readings_topic

# The probe kinds: the rule that opens the alert, the metric stored, the readings sent.
PROBE_RULES = {"breathlessness": "breathlessness_at_rest", "spo2": "spo2_urgent"}
PROBE_METRICS = {"breathlessness": "symptom_breathlessness", "spo2": "spo2"}


# Background measurement sessions, one message each: (metric, unit, mean, sd) per reading.
SESSIONS: Sessions = (
    (("body_weight", "kg", 0.0, 0.2),),  # mean: the patient's own weight
    (
        ("systolic_bp", "mm[Hg]", 128.0, 8.0),
        ("diastolic_bp", "mm[Hg]", 78.0, 5.0),
        ("heart_rate", "/min", 70.0, 5.0),
    ),
    (("spo2", "%", 96.5, 0.8), ("heart_rate", "/min", 71.0, 5.0)),
)


# The background publisher's pacing tick.
TICK_S = 0.01
# After the last publish, the PUBACKs still due are awaited this long, in waits of this long.
FINAL_PUBACKS_S = 30.0
PUBACK_WAIT_S = 0.5
# A probe's PUBACK comes in milliseconds; one not in by then is counted as missing.
PROBE_PUBACK_S = 10.0


@dataclass(frozen=True)
class BackgroundJob:
    host: str
    port: int
    client_id: str
    prefix: str
    devices: tuple[tuple[str, float], ...]  # (device id, usual weight)
    rate: float  # readings/s
    seed: int


@dataclass(frozen=True)
class BackgroundResult:
    first: float
    last: float
    messages: int
    readings: int
    acked: int


def background_publisher(job: BackgroundJob, go: Any, stop: Any, sent: Any, out: Any) -> None:
    """Publish in-range sessions at ``job.rate`` readings/s until ``stop``; report totals."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    rng = np.random.default_rng(job.seed)
    n = len(job.devices)
    order = rng.permutation(n)
    topics = [readings_topic(job.prefix, d) for d, _ in job.devices]
    last_at = [0.0] * n
    session_no = [int(k) for k in rng.integers(0, len(SESSIONS), n)]
    with socket.create_connection((job.host, job.port)) as sock:
        lean_publisher.handshake(sock, job.client_id, keepalive=0)
        go.wait()
        start = time.monotonic()
        first = time.time()
        last = first
        messages = readings = acked = 0
        pending = b""
        while not stop.is_set():
            due = job.rate * (time.monotonic() - start)
            chunk = bytearray()
            while readings < due:
                i = int(order[messages % n])
                session = SESSIONS[session_no[i] % len(SESSIONS)]
                session_no[i] += 1
                now = time.time()
                t = max(now, last_at[i] + 0.001)
                last_at[i] = t
                at = datetime.fromtimestamp(t, UTC).isoformat()
                items = [
                    {
                        "metric": metric,
                        "value": in_range_value(rng, job.devices[i][1], metric, mean, sd),
                        "unit": unit,
                        "measured_at": at,
                    }
                    for metric, unit, mean, sd in session
                ]
                payload = orjson.dumps({"msg_id": uuid.uuid4().hex, "readings": items})
                chunk += lean_publisher.publish_packet(topics[i], payload, messages % 65535 + 1)
                messages += 1
                readings += len(items)
            if chunk:
                sock.sendall(chunk)
                last = time.time()
                sent.value = readings
            pending, count = lean_publisher.drain_pubacks(sock, pending, 0.0)
            acked += count
            stop.wait(TICK_S)
        deadline = time.monotonic() + FINAL_PUBACKS_S
        while acked < messages and time.monotonic() < deadline:
            pending, count = lean_publisher.drain_pubacks(sock, pending, PUBACK_WAIT_S)
            acked += count
        sock.sendall(b"\xe0\x00")  # DISCONNECT
    # Plain tuples across processes (a spawned child's classes live in __mp_main__).
    out.put((first, last, messages, readings, acked))


@dataclass(frozen=True)
class ProbeJob:
    host: str
    port: int
    client_id: str
    prefix: str
    kind: str
    devices: tuple[tuple[str, str], ...]  # (patient id, device id), in probe order
    offsets: tuple[float, ...]  # seconds after go at which each probe is published


@dataclass(frozen=True)
class ProbeSent:
    index: int
    patient_id: str
    published: float  # time.time() just before publish()
    puback: float | None  # time.time() once the broker's PUBACK was in


def probe_payload(kind: str, at: datetime) -> bytes:
    if kind == "breathlessness":
        readings = [
            {
                "metric": "symptom_breathlessness",
                "value": 3,
                "unit": "{score}",
                "measured_at": at.isoformat(),
            }
        ]
    else:
        readings = [
            {
                "metric": "spo2",
                "value": value,
                "unit": "%",
                "measured_at": (at - timedelta(minutes=minutes)).isoformat(),
            }
            for minutes, value in ((1, 86), (0, 85))
        ]
    return orjson.dumps({"msg_id": uuid.uuid4().hex, "readings": readings})


def probe_publisher(job: ProbeJob, go: Any, stop: Any, out: Any) -> None:
    """Publish each probe at its offset after ``go``, as a device would (paho, QoS 1)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=job.client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.connect(job.host, job.port)
    client.loop_start()
    try:
        go.wait()
        start = time.monotonic()
        for index, ((patient_id, device_id), offset) in enumerate(
            zip(job.devices, job.offsets, strict=True)
        ):
            if stop.wait(max(0.0, start + offset - time.monotonic())):
                break
            payload = probe_payload(job.kind, datetime.now(UTC))
            topic = readings_topic(job.prefix, device_id)
            published = time.time()
            info = client.publish(topic, payload, qos=1)
            info.wait_for_publish(timeout=PROBE_PUBACK_S)
            puback = time.time() if info.is_published() else None
            out.put((index, patient_id, published, puback))
    finally:
        out.put(None)
        client.disconnect()
        client.loop_stop()


def probe_offsets(count: int, duration: float, seed: int) -> tuple[float, ...]:
    """One probe per equal slot of the run, at a random point in it (never phase-locked to the
    ingest batch window or the workers' cycles)."""
    rng = np.random.default_rng(seed + 7)
    slot = duration / count
    return tuple(float((i + rng.uniform(0.05, 0.95)) * slot) for i in range(count))
