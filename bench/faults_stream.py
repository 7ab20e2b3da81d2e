"""The devices' stream of a fault scenario, and its probes.

Every device says hello in the first two seconds, then in-range sessions stream at a rate and
probe patients each send one answer of severe breathlessness (a red alert at once); the
simulator's PlanPublisher publishes the plan on the wall clock and resends what gets no
feedback. ``world.published`` keeps every reading's identity and value for the verdict.
"""

from __future__ import annotations

import argparse
import random
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from faults_world import CANARY, Patient, World

from hemkoll.simulator.plan import PlannedMessage
from hemkoll.simulator.publisher import PlanPublisher, PublisherConfig

# Every device has said hello (in the first two seconds of the plan) by then: the first
# probe and the first fault come no sooner.
HELLO_S = 4.0

# Stream sessions: one message each, (metric, unit, value) per reading; values well inside the
# heart-failure preset's limits so that the stream alone opens nothing.
SESSIONS: tuple[tuple[tuple[str, str, float], ...], ...] = (
    (("body_weight", "kg", 80.0),),
    (
        ("systolic_bp", "mm[Hg]", 128.0),
        ("diastolic_bp", "mm[Hg]", 78.0),
        ("heart_rate", "/min", 70),
    ),
    (("spo2", "%", 97.0), ("heart_rate", "/min", 71.0)),
)


def reading(metric: str, unit: str, value: float, at: datetime) -> dict[str, Any]:
    return {
        "metric": metric,
        "value": value,
        "unit": unit,
        "measured_at": at.isoformat(timespec="milliseconds"),
    }


def build_plan(
    world: World, duration_s: float, rate: float, probe_offsets: Sequence[float], seed: int
) -> list[PlannedMessage]:
    """Every device says hello in the first two seconds (so that its connection is up before
    any fault), then the stream at ``rate`` messages/s and the probes at their offsets."""
    rng = random.Random(seed)
    start = datetime.now(UTC) + timedelta(seconds=1)
    stream = [p for p in world.patients if not p.probe]
    probes = world.probes
    plan: list[tuple[float, Patient, str, list[dict[str, Any]]]] = []
    for k, patient in enumerate(world.patients):
        at = 2.0 * k / len(world.patients)
        metric, unit, value = (
            ("symptom_breathlessness", "{score}", 0.0) if patient.probe else SESSIONS[0][0]
        )
        hello = reading(metric, unit, value, start + timedelta(seconds=at))
        plan.append((at, patient, "hello", [hello]))
    count = int(duration_s * rate)
    for n in range(count):
        at = 2.0 + n / rate
        patient = stream[n % len(stream)]
        session = SESSIONS[(n // len(stream)) % len(SESSIONS)]
        when = start + timedelta(seconds=at)
        items = [
            reading(metric, unit, round(value + rng.uniform(-2, 2), 1), when)
            for metric, unit, value in session
        ]
        plan.append((at, patient, f"s{n}", items))
    for probe, offset in zip(probes, probe_offsets, strict=True):
        when = start + timedelta(seconds=offset)
        items = [reading("symptom_breathlessness", "{score}", 3, when)]
        plan.append((offset, probe, "probe", items))
    plan.sort(key=lambda item: item[0])
    out = []
    for at, patient, name, items in plan:
        msg_id = f"{name}-{uuid.uuid4().hex[:8]}"
        for item in items:
            world.published.readings[(patient.device_id, item["metric"], item["measured_at"])] = (
                float(item["value"])
            )
        world.published.messages += 1
        if name == "probe":
            world.published.probe_times.append(world.started_wall + at)
        payload = orjson.dumps({"msg_id": msg_id, "note": CANARY, "readings": items})
        out.append(
            PlannedMessage(
                publish_at=start + timedelta(seconds=at),
                device_key=patient.key,
                patient=patient.reference,
                device_kind="gateway",
                msg_id=msg_id,
                payload=payload,
                reading_count=len(items),
                backlog=False,
                duplicate=False,
                fault=None,
                expected_rejection=None,
                rejected_index=None,
            )
        )
    return out


def start_publisher(world: World, plan: list[PlannedMessage]) -> threading.Thread:
    """The devices publish ``plan`` on the wall clock (each message at its publish_at), resend
    what gets no feedback, and drain; the report is kept on ``world``."""
    assert world.broker is not None
    config = PublisherConfig(
        host="127.0.0.1",
        port=world.broker.plain_port,
        topic_prefix=world.prefix,
        resend_after_s=world.args.resend_after,
        drain_timeout_s=world.args.drain_timeout,
        show_progress=False,
    )
    credentials = {p.key: (p.device_id, p.password) for p in world.patients}
    devices = PlanPublisher(credentials, config, stop=world.stop_publishing)
    world.devices = devices

    def run() -> None:
        started = time.monotonic()
        try:
            for message in plan:
                wait = (message.publish_at - datetime.now(UTC)).total_seconds()
                if not devices.wait_until(time.monotonic() + wait):
                    break
                devices.publish(message)
            devices.drain(config.drain_timeout_s)
            world.report = devices.report(time.monotonic() - started)
        except BaseException as exc:
            world.publisher_error = exc
            raise

    thread = threading.Thread(target=run, name=f"devices-{world.name}", daemon=True)
    thread.start()
    return thread


def probe_offsets(count: int, first: float, every: float) -> list[float]:
    return [first + k * every for k in range(count)]


def stream_probes(args: argparse.Namespace) -> int:
    """The probe patients of a scenario that streams for its faults: --probes."""
    return int(args.probes)


def stream_with_probes(world: World, duration_s: float) -> threading.Thread:
    """The stream at --rate for ``duration_s``, the probes spread over it after the devices'
    hellos, published on the wall clock; the devices' thread."""
    args = world.args
    every = (duration_s - HELLO_S) / max(args.probes, 1)
    offsets = probe_offsets(args.probes, HELLO_S, every)
    return start_publisher(world, build_plan(world, duration_s, args.rate, offsets, args.seed))
