"""The evaluation queue: patients waiting for the rules worker, claimed with a lease.

Ingest queues the patients of a batch in the batch's transaction; a change of a patient's rules,
pause or hospital stays queues her (``reevaluate``); the scheduler queues the patients whose
deadline has passed (``evaluation_deadlines``: the time-based rules, ``rules.deadlines``); the
rules worker claims due patients (SKIP LOCKED: several workers may run), urgent ones first (a
new reading beyond a red limit: ``rules.urgency``, which the batch writer is given), evaluates
them, stores their next deadlines and finishes or postpones each claim.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow, class_row

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query

# The rules workers LISTEN here (``notify_evaluation`` in evaluation_queue.sql sends it).
EVALUATE_CHANNEL = "hemkoll_evaluate"


@dataclass(frozen=True)
class Claim:
    patient_id: UUID
    # Requests so far; finishing removes the row only if no newer request came meanwhile.
    generation: int
    attempts: int
    # Devices that sent readings since the patient's last evaluation (they get feedback), the
    # readings' received_at from which on they did, and the oldest one's measured_at.
    feedback_devices: list[UUID]
    feedback_since: datetime | None
    feedback_oldest: datetime | None


def claim(conn: Conn, *, limit: int, lease_s: float) -> list[Claim]:
    with conn.transaction(), conn.cursor(row_factory=class_row(Claim)) as cur:
        return cur.execute(
            query("claim_evaluations"), {"limit": limit, "lease_s": lease_s}
        ).fetchall()


def finish(conn: Conn, claims: Sequence[Claim]) -> None:
    """Take the evaluated patients off the queue (one round trip: psycopg pipelines them)."""
    with conn.cursor() as cur:
        cur.executemany(
            query("finish_evaluation"),
            [
                {
                    "patient_id": claimed.patient_id,
                    "generation": claimed.generation,
                    "feedback_devices": claimed.feedback_devices,
                }
                # In patient order, as ingest queues them: two transactions that lock the same
                # rows in the same order cannot deadlock.
                for claimed in sorted(claims, key=lambda c: c.patient_id)
            ],
        )


def postpone(conn: Conn, patient_id: UUID, *, delay_s: float, error: str) -> None:
    with conn.transaction():
        conn.execute(
            query("postpone_evaluation"),
            {"patient_id": patient_id, "delay_s": delay_s, "error": error},
        )


def queue_due(conn: Conn, *, now: datetime, limit: int) -> int:
    """Queue up to ``limit`` patients whose deadline has passed by ``now``; how many."""
    with conn.transaction():
        return conn.execute(query("queue_due_deadlines"), {"now": now, "limit": limit}).rowcount


def queue_other_programme(conn: Conn, programme: str) -> int:
    """Queue the patients whose deadline was computed under another programme; how many."""
    with conn.transaction():
        return conn.execute(query("queue_other_programme"), {"programme": programme}).rowcount


def store_deadlines(conn: Conn, programme: str, due: Mapping[UUID, datetime | None]) -> None:
    """Each evaluated patient's next deadline (None: nothing due) under ``programme``."""
    if due:
        conn.execute(
            query("store_deadlines"),
            {"programme": programme, "patient_ids": list(due), "due_at": list(due.values())},
        )


def enqueue_patients(conn: Conn, patient_ids: Sequence[UUID]) -> None:
    """Queue these patients for evaluation now (one being evaluated is evaluated again)."""
    conn.execute(query("enqueue_patients"), {"patient_ids": list(patient_ids)})


def reevaluate(conn: Conn, patient_ids: Sequence[UUID]) -> None:
    """Something the rules judge by changed for these patients (their rules, pause, hospital
    stays): queue them, which recomputes their deadlines, and wake the workers on commit."""
    enqueue_patients(conn, patient_ids)
    notify_workers(conn)


def reevaluate_centre(conn: Conn, health_centre_id: UUID) -> None:
    """``reevaluate`` every patient of a health centre (its rule overrides changed)."""
    conn.execute(query("enqueue_centre_patients"), {"health_centre_id": health_centre_id})
    notify_workers(conn)


def notify_workers(conn: Conn) -> None:
    """Wake the rules workers (on commit of the caller's transaction)."""
    conn.execute(query("notify_evaluation"))


def enqueue_staged_patients(cur: psycopg.Cursor[TupleRow], urgent: Sequence[UUID] = ()) -> None:
    """Queue the patients of the readings staged in ``readings_staging`` (the batch writer's:
    ``readings.ReadingWriter``) with the devices that sent them, ``urgent`` ones ahead of the
    others, and wake the rules worker once the caller's transaction commits."""
    cur.execute(query("enqueue_staged_patients"), {"urgent": list(urgent)})
    cur.execute(query("notify_evaluation"))


@dataclass(frozen=True)
class QueueBacklog:
    """For the metrics: patients waiting, and the age of the oldest request."""

    waiting: int
    oldest_age_s: float | None


def backlog(conn: Conn) -> QueueBacklog:
    with conn.cursor(row_factory=class_row(QueueBacklog)) as cur:
        row = cur.execute(query("evaluation_queue_backlog")).fetchone()
    return row if row is not None else QueueBacklog(0, None)


def due_count(conn: Conn) -> int:
    """Patients queued and due now, being evaluated or not (postponed ones are not due)."""
    row = conn.execute(query("evaluations_due")).fetchone()
    return 0 if row is None else int(row[0])
