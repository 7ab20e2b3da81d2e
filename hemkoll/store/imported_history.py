"""History imports' marks: per patient, how far her imported history reaches.

The importer (``ingest.history``) marks the patients it has touched in each batch's
transaction, up to her own newest imported reading; the rules worker reads the marks of the
patients it evaluates (``imported_until``) and treats findings at or before them as history
(``alerting.Live``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query


def mark_history(conn: Conn, until: Mapping[UUID, datetime]) -> None:
    """Each patient's imported history reaches at least her ``until`` (her newest imported
    reading); the caller's transaction (the import batch's, so that no evaluation sees its
    readings without the mark)."""
    patient_ids = sorted(until)
    conn.execute(
        query("mark_history"),
        {"patient_ids": patient_ids, "untils": [until[p] for p in patient_ids]},
    )


def enqueue_staged_quietly(cur: psycopg.Cursor[TupleRow]) -> None:
    """Queue the staged readings' patients for evaluation, with no device to tell."""
    cur.execute(query("enqueue_staged_patients_quietly"))


def imported_until(conn: Conn, patient_ids: Sequence[UUID]) -> dict[UUID, datetime]:
    """The newest imported reading's measured_at of each of these patients that has one."""
    if not patient_ids:
        return {}
    rows = conn.execute(query("imported_history_of"), {"patient_ids": list(patient_ids)})
    return {patient_id: until for patient_id, until in rows}
