"""The national-scale bench's morning peak: the publisher process and the samples taken while
it runs (bench/scale.py).

The publisher is forked before any thread starts (it inherits the morning's messages rather
than pickling them) and waits for ``go``; it then sends each message at its moment of a peak
shaped like a morning (offsets drawn from Beta(2, 2) over the window: slow at the edges, busiest
in the middle), as raw QoS-1 packets (bench/lean_publisher.py: little CPU), each with its
readings measured at the moment it is sent, and notes when each probe went out.
"""

from __future__ import annotations

import multiprocessing as mp
import re
import signal
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import lean_publisher
import numpy as np
import orjson
from common import CpuSnapshot, one, snapshot
from scale_world import Morning

from hemkoll.protocol.topics import readings_topic

# The publisher's pacing tick: messages due within it go out together.
TICK_S = 0.01
# After the last publish, PUBACKs still due are awaited this long, in waits of this long.
FINAL_PUBACKS_S = 30.0
PUBACK_WAIT_S = 0.5
# The peak's shape: Beta(a, a) over the window.
PEAK_SHAPE = 2.0
_COUNTER = re.compile(r"^(hemkoll_[a-z_]+_total)(?:\{[^}]*\})? ([0-9.e+]+)$", re.MULTILINE)


@dataclass(frozen=True)
class PeakPlan:
    host: str
    port: int
    prefix: str
    seconds: float
    seed: int


def publisher(plan: PeakPlan, morning: Morning, go: Any, out: Any) -> None:
    """Publish the morning over ``plan.seconds``; put (sent, acked, first, last, probes) where
    probes maps each probe's patient id to time.time() just before its packet was sent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    rng = np.random.default_rng(plan.seed)
    n = len(morning.messages)
    offsets = np.sort(rng.beta(PEAK_SHAPE, PEAK_SHAPE, n) * plan.seconds)
    topics = [readings_topic(plan.prefix, d) for d in morning.devices]
    probes: dict[str, float] = {}
    with socket.create_connection((plan.host, plan.port)) as sock:
        lean_publisher.handshake(sock, f"{plan.prefix}-peak", keepalive=0)
        go.wait()
        start = time.monotonic()
        first = time.time()
        sent = acked = 0
        pending = b""
        while sent < n:
            due = time.monotonic() - start
            chunk = bytearray()
            now = time.time()
            at = datetime.fromtimestamp(now, UTC).isoformat()
            while sent < n and offsets[sent] <= due and sent - acked < lean_publisher.WINDOW:
                m = morning.messages[sent]
                readings = [
                    {"metric": metric, "value": value, "unit": unit, "measured_at": at}
                    for metric, unit, value in m.readings
                ]
                payload = orjson.dumps({"msg_id": uuid.uuid4().hex, "readings": readings})
                chunk += lean_publisher.publish_packet(topics[m.device], payload, sent % 65535 + 1)
                if m.probe:
                    probes[morning.patients[m.device]] = now
                sent += 1
            if chunk:
                sock.sendall(chunk)
            pending, count = lean_publisher.drain_pubacks(sock, pending, 0.0)
            acked += count
            time.sleep(TICK_S)
        last = time.time()
        deadline = time.monotonic() + FINAL_PUBACKS_S
        while acked < sent and time.monotonic() < deadline:
            pending, count = lean_publisher.drain_pubacks(sock, pending, PUBACK_WAIT_S)
            acked += count
        sock.sendall(b"\xe0\x00")  # DISCONNECT
    out.put((sent, acked, first, last, probes))


def start_publisher(plan: PeakPlan, morning: Morning) -> tuple[Any, Any, Any]:
    """(process, go event, result queue): forked now, before the bench starts any thread."""
    ctx = mp.get_context("fork")
    go, out = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=publisher, args=(plan, morning, go, out), name="peak-publisher")
    proc.start()
    return proc, go, out


def counters(port: int) -> dict[str, float]:
    """A worker's Prometheus counters (summed over labels)."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5.0).text
    found: dict[str, float] = {}
    for name, value in _COUNTER.findall(text):
        found[name] = found.get(name, 0.0) + float(value)
    return found


@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the peak began
    queue: int
    evaluations: float
    stored: float
    alerts: int
    pending: int
    webhooks: int
    cpu: CpuSnapshot


@dataclass
class Samples:
    taken: list[Sample] = field(default_factory=list)

    def take(
        self,
        url: str,
        began: float,
        metrics_ports: dict[str, int],
        groups: dict[str, list[int]],
        webhooks: int,
    ) -> Sample:
        evaluations = sum(
            counters(port).get("hemkoll_evaluations_total", 0.0)
            for name, port in metrics_ports.items()
            if name.startswith("rules")
        )
        stored = counters(metrics_ports["ingest"]).get("hemkoll_ingest_readings_stored_total", 0)
        sample = Sample(
            time.monotonic() - began,
            int(one(url, "SELECT count(*) FROM evaluation_queue")),
            evaluations,
            stored,
            int(one(url, "SELECT count(*) FROM alerts")),
            int(one(url, "SELECT count(*) FROM notifications WHERE state = 'pending'")),
            webhooks,
            snapshot(groups),
        )
        self.taken.append(sample)
        return sample
