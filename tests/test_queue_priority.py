"""The evaluation queue serves urgent patients first (migration 0023), on the real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import psycopg

from hemkoll.alerts.worker import CLAIM_BATCH
from hemkoll.store import evaluation_queue
from hemkoll.store.connect import connect
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.types import Reading
from tests.helpers import (
    PROGRAMME_URGENT,
    Device,
    enrol,
    message,
    reading,
    running_ingest,
    scalar,
    wait_until,
)

ROUTINE = 1_000


def _patients(db_url: str, count: int) -> list[tuple[UUID, UUID]]:
    """``count`` patients of one health centre with a gateway each: (patient, device)."""
    first = enrol(db_url, patient="R-0")
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            """
            WITH p AS (
                INSERT INTO patients (health_centre_id, reference)
                SELECT %s, 'R-' || g FROM generate_series(1, %s) AS g
                RETURNING id
            )
            INSERT INTO devices (patient_id, kind, credential_hash, enrolled_at)
            SELECT id, 'gateway', 'unused', now() - interval '30 days' FROM p
            RETURNING patient_id, id
            """,
            (first.patient.health_centre_id, count - 1),
        ).fetchall()
    return [(first.patient.id, first.device.id), *rows]


def _write(db_url: str, readings: list[Reading]) -> None:
    with connect(db_url) as conn:
        ReadingWriter(conn, urgent=PROGRAMME_URGENT).write([[r] for r in readings], [])


def _deadline_passed(db_url: str, patient_id: UUID) -> None:
    """Her missing-measurement deadline a minute ago, as an evaluation would have stored it."""
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO evaluation_deadlines (patient_id, due_at, programme, computed_at) "
            "VALUES (%s, now() - interval '1 minute', 'p', now())",
            (patient_id,),
        )


def _priority(db_url: str, patient_id: UUID) -> int:
    return int(
        scalar(db_url, "SELECT priority FROM evaluation_queue WHERE patient_id = %s", (patient_id,))
    )


def test_an_urgent_patient_queued_after_a_thousand_routine_ones_is_claimed_first(
    db_url: str,
) -> None:
    people = _patients(db_url, ROUTINE + 1)
    routine, (urgent_patient, urgent_device) = people[:-1], people[-1]
    at = datetime.now(UTC) - timedelta(minutes=5)
    # A morning's weighings in ten batches, then one blood-pressure reading of 72 mmHg.
    for start in range(0, ROUTINE, 100):
        _write(
            db_url,
            [Reading(p, d, "body_weight", 80.0, at) for p, d in routine[start : start + 100]],
        )
    _write(db_url, [Reading(urgent_patient, urgent_device, "systolic_bp", 72.0, at)])
    assert scalar(db_url, "SELECT count(*) FROM evaluation_queue") == ROUTINE + 1
    assert _priority(db_url, urgent_patient) == 1
    assert scalar(db_url, "SELECT count(*) FROM evaluation_queue WHERE priority = 0") == ROUTINE

    with psycopg.connect(db_url) as conn:
        oldest = {
            row[0]
            for row in conn.execute(
                "SELECT patient_id FROM evaluation_queue ORDER BY requested_at LIMIT %s",
                (CLAIM_BATCH - 1,),
            )
        }
    assert oldest <= {p for p, _ in routine[:CLAIM_BATCH]}  # of the first two batches

    with connect(db_url) as conn:
        claimed = {
            c.patient_id for c in evaluation_queue.claim(conn, limit=CLAIM_BATCH, lease_s=60)
        }
    assert urgent_patient in claimed
    # The rest of the batch is the oldest routine requests.
    assert claimed - {urgent_patient} == oldest


def test_a_later_routine_request_keeps_the_patient_urgent(db_url: str) -> None:
    e = enrol(db_url, kind="pulse_oximeter")
    at = datetime.now(UTC) - timedelta(hours=2)
    _write(db_url, [Reading(e.patient.id, e.device.id, "spo2", 85.0, at)])
    assert _priority(db_url, e.patient.id) == 1
    # Another reading in range, a change of her rules and her passed deadline all queue her
    # again, routine: she stays urgent, and the requests are counted.
    _write(db_url, [Reading(e.patient.id, e.device.id, "spo2", 97.0, at + timedelta(hours=1))])
    with connect(db_url) as conn, conn.transaction():
        evaluation_queue.reevaluate(conn, [e.patient.id])
    _deadline_passed(db_url, e.patient.id)
    with connect(db_url) as conn:
        assert evaluation_queue.queue_due(conn, now=datetime.now(UTC), limit=10) == 1
    assert _priority(db_url, e.patient.id) == 1
    assert scalar(db_url, "SELECT generation FROM evaluation_queue") == 3


def test_a_routine_patient_becomes_urgent_when_a_severe_reading_follows(db_url: str) -> None:
    e = enrol(db_url, kind="pulse_oximeter")
    at = datetime.now(UTC) - timedelta(hours=2)
    _write(db_url, [Reading(e.patient.id, e.device.id, "spo2", 96.0, at)])
    assert _priority(db_url, e.patient.id) == 0
    _write(db_url, [Reading(e.patient.id, e.device.id, "spo2", 86.0, at + timedelta(hours=1))])
    assert _priority(db_url, e.patient.id) == 1


def test_passed_deadlines_and_writers_without_the_programme_queue_routine(db_url: str) -> None:
    e = enrol(db_url, kind="pulse_oximeter")
    with connect(db_url) as conn:
        ReadingWriter(conn).write([[Reading(e.patient.id, e.device.id, "spo2", 80.0, _now())]], [])
    assert _priority(db_url, e.patient.id) == 0
    other = enrol(db_url, patient="P-2")
    _deadline_passed(db_url, other.patient.id)
    with connect(db_url) as conn:
        evaluation_queue.queue_due(conn, now=datetime.now(UTC), limit=10)
    assert _priority(db_url, other.patient.id) == 0


def test_the_ingest_service_marks_a_severe_message_urgent(
    db_url: str, machine_broker_url: str, topic_prefix: str
) -> None:
    severe = enrol(db_url, kind="blood_pressure_monitor", patient="P-severe")
    usual = enrol(db_url, kind="blood_pressure_monitor", patient="P-usual")
    at = datetime.now(UTC) - timedelta(minutes=1)
    with running_ingest(db_url, machine_broker_url, topic_prefix) as service:
        for e, msg_id, rate in [(severe, "m1", 125), (usual, "m2", 70)]:
            with Device(machine_broker_url, topic_prefix, str(e.device.id)) as dev:
                dev.publish(message(msg_id, reading("heart_rate", rate, "/min", at)))
        wait_until(lambda: service.stats.messages == 2, 10, "both messages stored")
    assert _priority(db_url, severe.patient.id) == 1
    assert _priority(db_url, usual.patient.id) == 0


def _now() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=1)
