"""A simulation's device messages as rules-engine input, through the ingest parser.

Every planned message's exact payload goes through ``hemkoll.protocol.payload`` as ingest would
take it: the envelope is parsed, each reading checked against a device of the message's kind
(enrolled before the simulation) at the message's publish time, rejected messages and readings
are dropped, and values come out in canonical units (pounds to kilograms). Second sends of a
message give the same readings at the same instants, which the engine merges into one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from hemkoll.protocol.feedback import Rejection
from hemkoll.protocol.payload import check_reading, parse_envelope
from hemkoll.rules.arrays import FloatArray, IntArray
from hemkoll.rules.findings import epoch_us
from hemkoll.rules.series import Series
from hemkoll.simulator import Simulation
from hemkoll.store.types import Device

# Devices are enrolled long before any simulated reading, so enrolment rejects none of them.
ENROLLED_AT = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class IngestedCohort:
    """One Series per patient, in the order of the simulation's references."""

    references: tuple[str, ...]
    series: tuple[Series, ...]
    messages: int
    readings: int
    rejected_messages: int
    rejected_readings: int


def simulation_series(sim: Simulation) -> IngestedCohort:
    """Parse every planned message and group the accepted readings per patient and metric."""
    references = sim.plan.references
    index = {ref: i for i, ref in enumerate(references)}
    patient_ids = [uuid.UUID(int=i + 1) for i in range(len(references))]
    devices: dict[tuple[int, str], Device] = {}
    columns: dict[tuple[int, str], tuple[list[int], list[float]]] = {}
    messages = readings = rejected_messages = rejected_readings = 0
    for message in sim.plan:
        messages += 1
        envelope = parse_envelope(message.payload)
        if isinstance(envelope, Rejection):
            rejected_messages += 1
            continue
        p = index[message.patient]
        device = devices.get((p, message.device_kind))
        if device is None:
            device = Device(
                id=uuid.uuid4(),
                patient_id=patient_ids[p],
                kind=message.device_kind,
                active=True,
                enrolled_at=ENROLLED_AT,
            )
            devices[(p, message.device_kind)] = device
        for i, raw in enumerate(envelope.readings):
            reading = check_reading(i, raw, device=device, now=message.publish_at)
            if isinstance(reading, Rejection):
                rejected_readings += 1
                continue
            readings += 1
            times, values = columns.setdefault((p, reading.metric), ([], []))
            times.append(epoch_us(reading.measured_at))
            values.append(reading.value)
    per_patient: list[dict[str, tuple[IntArray, FloatArray]]] = [{} for _ in references]
    for (p, metric), (times, values) in columns.items():
        per_patient[p][metric] = (
            np.asarray(times, dtype=np.int64),
            np.asarray(values, dtype=np.float64),
        )
    return IngestedCohort(
        references=references,
        series=tuple(per_patient),
        messages=messages,
        readings=readings,
        rejected_messages=rejected_messages,
        rejected_readings=rejected_readings,
    )
