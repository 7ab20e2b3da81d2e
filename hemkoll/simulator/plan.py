"""The time-ordered plan of device messages: faults and duplicate sends added, payloads encoded.

The plan stays columnar (numpy) and encodes payloads while it is iterated, a chunk at a time, so
that a cohort of 10,000 patients fits in memory. Iterating twice gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from hemkoll.simulator.devices import DEVICE_KINDS, SENT_AT_KINDS, Messages, Readings
from hemkoll.simulator.encoding import (
    FAULT_NAMES,
    FAULT_NONE,
    FAULT_REJECTION,
    FAULT_TRUNCATED,
    ChunkReadings,
    encode_chunk,
    rfc3339,
)
from hemkoll.simulator.parameters import SimulationParameters

IntArray = npt.NDArray[np.int64]
# Messages encoded per chunk while iterating: large enough for numpy to pay off, small enough
# to keep the strings of one chunk in memory.
ENCODE_CHUNK = 20_000
# Short device-kind tags for message ids.
KIND_TAGS = ("sc", "bp", "ox", "sq")


def device_key(patient: str, kind: str) -> str:
    """The simulator's name for a device, e.g. ``SIM-0001/scale``."""
    return f"{patient}/{kind}"


class PlannedMessage(NamedTuple):
    """One publication: the exact payload, when to publish it, and what ingest should say.

    A named tuple rather than a frozen dataclass: a large plan creates millions of them while
    it is iterated, and a tuple is built several times faster.
    """

    publish_at: datetime
    device_key: str
    patient: str
    device_kind: str
    msg_id: str
    payload: bytes
    reading_count: int
    backlog: bool  # sent on reconnection after an outage
    duplicate: bool  # a second send of an earlier message (same bytes)
    fault: str | None  # None, "truncated", "wrong_unit" or "impossible_value"
    expected_rejection: str | None  # the rejection code ingest must answer with
    rejected_index: int | None  # the reading it concerns; None for the whole message

    @property
    def well_formed(self) -> bool:
        return self.fault is None


@dataclass(frozen=True)
class MessagePlan:
    """Messages sorted by publish time; every array has one entry per message."""

    references: tuple[str, ...]
    run_tag: str
    readings: Readings
    kind: npt.NDArray[np.int8]
    patient: npt.NDArray[np.int32]
    publish_at: IntArray
    sent_at: IntArray
    reading_start: IntArray
    reading_count: npt.NDArray[np.int32]
    backlog: npt.NDArray[np.bool_]
    duplicate: npt.NDArray[np.bool_]
    fault: npt.NDArray[np.int8]
    fault_index: npt.NDArray[np.int32]
    seq: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return int(self.kind.size)

    def __iter__(self) -> Iterator[PlannedMessage]:
        for start in range(0, len(self), ENCODE_CHUNK):
            yield from self._chunk(start, min(start + ENCODE_CHUNK, len(self)))

    def device_keys(self) -> list[str]:
        """Every device of the cohort (whether or not it sends anything), in a stable order."""
        return [device_key(ref, kind) for ref in self.references for kind in DEVICE_KINDS]

    def msg_id(self, index: int) -> str:
        """The msg_id of message ``index`` (a resend has its original's)."""
        i = slice(index, index + 1)
        return str(self._msg_ids(self.kind[i], self.patient[i], self.seq[i])[0])

    def _chunk(self, first: int, last: int) -> Iterator[PlannedMessage]:
        counts = self.reading_count[first:last].astype(np.int64)
        starts = self.reading_start[first:last]
        # Gather the chunk's readings, message after message.
        offsets = np.concatenate(([0], np.cumsum(counts)))
        gather = np.repeat(starts - offsets[:-1], counts) + np.arange(offsets[-1])
        r = self.readings
        chunk = ChunkReadings(
            bounds=offsets,
            metric=r.metric[gather],
            unit=r.unit[gather],
            value=r.value[gather],
            measured_at=rfc3339(r.measured_at[gather], r.tz_offset[gather]),
        )
        kind = self.kind[first:last]
        patient = self.patient[first:last]
        fault = self.fault[first:last]
        fault_index = self.fault_index[first:last]
        sent_text = rfc3339(self.sent_at[first:last], np.zeros(last - first, dtype=np.int32))
        kinds = kind.tolist()
        sent = [t if k in SENT_AT_KINDS else None for t, k in zip(sent_text, kinds, strict=True)]
        msg_ids = self._msg_ids(kind, patient, self.seq[first:last]).tolist()
        payloads = encode_chunk(msg_ids, sent, chunk, fault, fault_index)
        keys = self._device_keys
        device = (patient.astype(np.int64) * len(DEVICE_KINDS) + kind).tolist()
        rows = zip(
            self.publish_at[first:last].tolist(),
            device,
            kinds,
            patient.tolist(),
            msg_ids,
            payloads,
            counts.tolist(),
            self.backlog[first:last].tolist(),
            self.duplicate[first:last].tolist(),
            fault.tolist(),
            fault_index.tolist(),
            strict=True,
        )
        for publish, dev, k, p, msg_id, payload, count, backlog, dup, f, f_index in rows:
            yield PlannedMessage(
                datetime.fromtimestamp(publish, tz=UTC),
                keys[dev],
                self.references[p],
                DEVICE_KINDS[k],
                msg_id,
                payload,
                count,
                backlog,
                dup,
                FAULT_NAMES[f],
                FAULT_REJECTION[f],
                None if f in (FAULT_NONE, FAULT_TRUNCATED) else f_index,
            )

    def _msg_ids(
        self,
        kind: npt.NDArray[np.int8],
        patient: npt.NDArray[np.int32],
        seq: npt.NDArray[np.int32],
    ) -> npt.NDArray[np.str_]:
        """``{kind tag}-{patient index:05d}-{seq:06d}-{run tag}``, vectorised."""
        text = np.strings.add(np.asarray(KIND_TAGS)[kind.astype(np.intp)], "-")
        text = np.strings.add(text, np.strings.zfill(patient.astype(np.str_), 5))
        text = np.strings.add(text, "-")
        text = np.strings.add(text, np.strings.zfill(seq.astype(np.str_), 6))
        return np.strings.add(text, "-" + self.run_tag)

    @cached_property
    def _device_keys(self) -> list[str]:
        return self.device_keys()


def _sequence_numbers(messages: Messages) -> npt.NDArray[np.int32]:
    """Each message's number on its device (0, 1, ...) in order of publication."""
    device = messages.patient.astype(np.int64) * len(DEVICE_KINDS) + messages.kind
    order = np.lexsort((messages.reading_start, messages.publish_at, device))
    sorted_device = device[order]
    index = np.arange(order.size)
    first = np.concatenate(([True], sorted_device[1:] != sorted_device[:-1]))
    rank = index - np.maximum.accumulate(np.where(first, index, 0))
    seq = np.empty(order.size, dtype=np.int32)
    seq[order] = rank
    return seq


def build_plan(
    rng: np.random.Generator,
    *,
    readings: Readings,
    messages: Messages,
    references: tuple[str, ...],
    run_tag: str,
    params: SimulationParameters,
) -> MessagePlan:
    n = messages.kind.size
    seq = _sequence_numbers(messages)
    faulty = rng.random(n) < params.malformed_rate
    weights = np.asarray(params.malformed_kind_weights, dtype=np.float64)
    kinds = rng.choice(np.arange(1, len(FAULT_NAMES)), size=n, p=weights / weights.sum())
    fault = np.where(faulty, kinds, FAULT_NONE).astype(np.int8)
    fault_index = np.floor(rng.random(n) * messages.reading_count).astype(np.int32)
    again = np.flatnonzero(rng.random(n) < params.duplicate_rate)
    delay = np.rint(rng.uniform(*params.duplicate_delay_seconds, again.size)).astype(np.int64)
    rows = np.concatenate((np.arange(n), again))
    publish = np.concatenate((messages.publish_at, messages.publish_at[again] + delay))
    duplicate = np.concatenate((np.zeros(n, np.bool_), np.ones(again.size, np.bool_)))
    order = np.lexsort((duplicate, seq[rows], messages.kind[rows], messages.patient[rows], publish))
    rows = rows[order]
    return MessagePlan(
        references=references,
        run_tag=run_tag,
        readings=readings,
        kind=messages.kind[rows],
        patient=messages.patient[rows],
        publish_at=publish[order],
        sent_at=messages.sent_at[rows],
        reading_start=messages.reading_start[rows],
        reading_count=messages.reading_count[rows],
        backlog=messages.backlog[rows],
        duplicate=duplicate[order],
        fault=fault[rows],
        fault_index=fault_index[rows],
        seq=seq[rows],
    )
