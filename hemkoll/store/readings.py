"""Durable, duplicate-free writes of readings and dead letters.

A batch is written in one transaction: the readings are COPYed (binary) into a session-local
staging table, then moved into ``readings`` with one ``INSERT ... ON CONFLICT DO NOTHING`` (a
second, counting one only for a batch that has some duplicates); the dead letters go in
beside them. The caller learns, per message, how many of its readings were
new, so a resent backlog is reported as duplicates rather than stored twice; and the patients
of the batch are queued for the rules worker in the same transaction.

The rules worker reads the readings back per patient over a time range
(``readings_between``; a batch of patients as numpy arrays, ``series_of_patients_between``),
and the readings that prompted an evaluation (``readings_received_since``: what the patient
is told about); the care-team API's paged and daily reads are ``readings_query``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg.rows import TupleRow

from hemkoll.store.connect import Conn
from hemkoll.store.dead_letters import insert_dead_letters
from hemkoll.store.evaluation_queue import enqueue_staged_patients
from hemkoll.store.imported_history import enqueue_staged_quietly
from hemkoll.store.sql import query
from hemkoll.store.types import DeadLetter, Reading

_STAGING_TYPES = ["int4", "uuid", "uuid", "text", "float8", "timestamptz"]

# Whether a reading (metric, value) is urgent: its patient is evaluated before the routine
# ones queued ahead of her. The programme's is ``rules.urgency.urgent_limits`` (the store may
# not import the rules: the caller, which knows the programme, hands it over).
UrgentReading = Callable[[str, float], bool]


class Origin(StrEnum):
    """Where a batch's readings come from, which decides how its patients are queued."""

    # A device, just now: its patient is evaluated and the device told what the rules made of it.
    DEVICE = "device"
    # A history import (docs/import.md): evaluated, but no device is told about readings it
    # did not just send (the importer marks the range as history, unless asked for alerts).
    IMPORT = "import"


@dataclass(frozen=True)
class BatchResult:
    """For each message of the batch, in order, how many of its readings were stored by it."""

    stored: tuple[int, ...]


class ReadingWriter:
    """Writes batches on one connection, which it prepares with the staging table.

    ``urgent``: which device readings make their patient urgent in the evaluation queue; None
    (a tool's or a test's writer) queues every patient in arrival order. The services that
    store devices' readings (ingest, the FHIR and patient-app APIs) pass the programme's.
    """

    def __init__(
        self, conn: psycopg.Connection[TupleRow], *, urgent: UrgentReading | None = None
    ) -> None:
        self._conn = conn
        self._urgent = urgent
        with conn.transaction():
            conn.execute(query("create_readings_staging"))

    @property
    def connection(self) -> psycopg.Connection[TupleRow]:
        return self._conn

    def write(
        self,
        messages: Sequence[Sequence[Reading]],
        dead_letters: Sequence[DeadLetter],
        *,
        origin: Origin = Origin.DEVICE,
    ) -> BatchResult:
        """Store the readings of a batch of messages and its dead letters in one transaction."""
        conn = self._conn
        stored = [0] * len(messages)
        with conn.transaction(), conn.cursor() as cur:
            if any(messages):
                staged = 0
                with cur.copy(query("copy_readings_staging")) as copy:
                    copy.set_types(_STAGING_TYPES)
                    for seq, readings in enumerate(messages):
                        for r in readings:
                            # Not dataclasses.astuple: it deep-copies, 40 us a row.
                            copy.write_row(
                                (seq, r.patient_id, r.device_id, r.metric, r.value, r.measured_at)
                            )
                        staged += len(readings)
                stored = self._insert_staged(cur, messages, staged)
                # The rules worker evaluates these patients once this transaction commits.
                if origin is Origin.DEVICE:
                    enqueue_staged_patients(cur, self._urgent_patients(messages))
                else:
                    enqueue_staged_quietly(cur)
            if dead_letters:
                insert_dead_letters(cur, dead_letters)
        return BatchResult(tuple(stored))

    def _urgent_patients(self, messages: Sequence[Sequence[Reading]]) -> list[UUID]:
        is_urgent = self._urgent
        if is_urgent is None:
            return []
        return sorted(
            {
                r.patient_id
                for readings in messages
                for r in readings
                if is_urgent(r.metric, r.value)
            }
        )

    def _insert_staged(
        self,
        cur: psycopg.Cursor[TupleRow],
        messages: Sequence[Sequence[Reading]],
        staged: int,
    ) -> list[int]:
        """Move the staged readings into the table; how many of each message's were new.

        The plain INSERT runs in a savepoint. When its row count says every staged reading was
        new (the common case) or none was (a resent batch), each message's count follows;
        otherwise it is rolled back and the counting INSERT runs instead.
        """
        with self._conn.transaction():
            cur.execute(query("insert_staged_readings"))
            inserted = cur.rowcount
            if 0 < inserted < staged:
                raise psycopg.Rollback
        if inserted == staged:
            return [len(readings) for readings in messages]
        stored = [0] * len(messages)
        if inserted > 0:  # rolled back: count per message
            cur.execute(query("insert_staged_readings_counted"))
            for seq, count in cur.fetchall():
                stored[seq] = count
        return stored


# A packed reading of ``series_of_patients_between``: measured_at as microseconds since
# 2000-01-01 UTC (PostgreSQL's binary timestamptz), then the value; big-endian.
_PACKED = np.dtype([("t", ">i8"), ("v", ">f8")])
# 2000-01-01 UTC in microseconds since the Unix epoch.
_PG_EPOCH_US = 946_684_800_000_000

SeriesArrays = dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]


def without_jit(conn: Conn) -> None:
    """No JIT compilation for the rest of the caller's transaction (the rules worker's batch:
    its reads are quicker than compiling them)."""
    conn.execute(query("without_jit"))


def series_of_patients_between(
    conn: Conn, patient_ids: Sequence[UUID], since: datetime, until: datetime
) -> dict[UUID, SeriesArrays]:
    """Per patient, metric -> (measured_at as int64 epoch microseconds UTC, value as float64)
    of her readings measured from ``since`` to ``until``, unsorted (the rules engine's input,
    ``rules.series``), in one round trip."""
    by_patient: dict[UUID, SeriesArrays] = {}
    with conn.cursor(binary=True) as cur:
        cur.execute(
            query("series_of_patients_between"),
            {"patient_ids": list(patient_ids), "since": since, "until": until},
        )
        for patient_id, metric, packed in cur:
            rows = np.frombuffer(packed, dtype=_PACKED)
            times = rows["t"].astype(np.int64) + _PG_EPOCH_US
            by_patient.setdefault(patient_id, {})[str(metric)] = (
                times,
                rows["v"].astype(np.float64),
            )
    return by_patient


@dataclass(frozen=True)
class Prompted:
    """An evaluation's prompt: the patient's readings from these devices, received from
    ``since`` on, the oldest measured at ``oldest``."""

    patient_id: UUID
    device_ids: Sequence[UUID]
    since: datetime
    oldest: datetime


def readings_received_since(
    conn: Conn, prompts: Sequence[Prompted], metrics: Sequence[str]
) -> dict[UUID, list[tuple[str, datetime, float]]]:
    """The (metric, measured_at, value) readings of each prompt (of these metrics), in one
    round trip."""
    by_patient: dict[UUID, list[tuple[str, datetime, float]]] = {p.patient_id: [] for p in prompts}
    if not prompts:
        return by_patient
    rows = conn.execute(
        query("readings_received_since"),
        {
            "patient_ids": [p.patient_id for p in prompts],
            "since": [p.since for p in prompts],
            "oldest": [p.oldest for p in prompts],
            "device_ids": sorted({d for p in prompts for d in p.device_ids}),
            "metrics": list(metrics),
        },
    )
    for patient_id, metric, measured_at, value in rows:
        by_patient[patient_id].append((str(metric), measured_at, float(value)))
    return by_patient


def readings_between(
    conn: Conn, patient_id: UUID, since: datetime, until: datetime
) -> list[tuple[str, datetime, float]]:
    rows = conn.execute(
        query("readings_between"), {"patient_id": patient_id, "since": since, "until": until}
    ).fetchall()
    return [(str(metric), at, float(value)) for metric, at, value in rows]
