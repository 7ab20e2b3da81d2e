"""The workload of bench/ingest.py: enrolled devices, and a realistic mix of messages (mostly a
few readings each, some backlog uploads of hundreds) with the rows the store should end with.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import psycopg
from psycopg import sql

from hemkoll.protocol.topics import readings_topic
from hemkoll.store.connect import connect
from hemkoll.store.devices import enrol_device
from hemkoll.store.types import Reading

PREFIX = f"bench-{uuid.uuid4().hex[:6]}"
METRICS = [
    ("body_weight", "kg", 80.0),
    ("systolic_bp", "mm[Hg]", 130.0),
    ("heart_rate", "/min", 70.0),
]
# Share of readings that arrive in backlog uploads rather than in small messages.
BACKLOG_SHARE = 0.4
SMALL_READINGS = (1, 5)  # readings per small message, inclusive
BACKLOG_READINGS = (100, 500)  # readings per backlog message, inclusive


@dataclass(frozen=True)
class Workload:
    messages: list[tuple[str, bytes]]  # (topic, payload)
    readings: list[Reading]

    @property
    def reading_count(self) -> int:
        return len(self.readings)


def make_workload(total: int, devices: list[tuple[uuid.UUID, uuid.UUID]], seed: int) -> Workload:
    rng = np.random.default_rng(seed)
    start = datetime.now(UTC) - timedelta(days=20)
    messages: list[tuple[str, bytes]] = []
    readings: list[Reading] = []
    clock = [0] * len(devices)  # per device, seconds after start of its next reading
    backlog_target = int(total * BACKLOG_SHARE)
    made = backlog = 0
    while made < total:
        is_backlog = backlog < backlog_target and rng.random() < 0.02
        low, high = BACKLOG_READINGS if is_backlog else SMALL_READINGS
        n = min(int(rng.integers(low, high + 1)), total - made)
        index = int(rng.integers(len(devices)))
        device_id, patient_id = devices[index]
        items = []
        for _ in range(n):
            metric, unit, base = METRICS[clock[index] % len(METRICS)]
            at = start + timedelta(seconds=clock[index])
            clock[index] += 1
            value = round(base + float(rng.normal(0, 1)), 2)
            items.append(
                {"metric": metric, "value": value, "unit": unit, "measured_at": at.isoformat()}
            )
            readings.append(Reading(patient_id, device_id, metric, value, at))
        payload = orjson.dumps({"msg_id": uuid.uuid4().hex, "readings": items})
        messages.append((readings_topic(PREFIX, device_id), payload))
        made += n
        backlog += n if is_backlog else 0
    return Workload(messages, readings)


def enrol_devices(url: str, count: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    devices = []
    with connect(url) as conn:
        for i in range(count):
            enrolment = enrol_device(
                conn,
                health_centre_name="Bench VC",
                patient_reference=f"B-{i}",
                device_kind="gateway",
            )
            devices.append((enrolment.device.id, enrolment.patient.id))
        conn.execute("UPDATE devices SET enrolled_at = now() - interval '60 days'")
        conn.commit()
    return devices


def copy_registry(source: str, target: str) -> None:
    """The same devices in another database, so (b) and (c) start from identical registries."""
    with psycopg.connect(source) as src, psycopg.connect(target) as dst:
        # The migrations' own region (0020) stands in the source's place: its id differs.
        dst.execute("DELETE FROM care_providers")
        # In the order of their foreign keys (care providers since 0020).
        for table in (
            "care_providers",
            "health_centres",
            "patients",
            "care_relationships",
            "devices",
        ):
            with (
                src.cursor().copy(
                    sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(table))
                ) as out,
                dst.cursor().copy(
                    sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(table))
                ) as into,
            ):
                for block in out:
                    into.write(block)
        dst.commit()
