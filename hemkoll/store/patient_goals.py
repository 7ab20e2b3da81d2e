"""What matters to a patient (``patient_goals``, migration 0017): her goals and preferences
in her own words, shown to staff beside her alerts; removed, never deleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query

GoalKind = Literal["goal", "preference"]
MAX_TEXT = 300


@dataclass(frozen=True)
class Goal:
    id: UUID
    kind: GoalKind
    text: str
    created_at: datetime


def add(conn: Conn, patient_id: UUID, *, kind: GoalKind, text: str) -> UUID:
    row = conn.execute(
        query("insert_patient_goal"), {"patient_id": patient_id, "kind": kind, "text": text}
    ).fetchone()
    if row is None:
        raise LookupError("the goal was not stored")
    return UUID(str(row[0]))


def current(conn: Conn, patient_id: UUID) -> list[Goal]:
    with conn.cursor(row_factory=class_row(Goal)) as cur:
        return cur.execute(query("current_patient_goals"), {"patient_id": patient_id}).fetchall()


def remove(conn: Conn, patient_id: UUID, goal_id: UUID) -> bool:
    return (
        conn.execute(
            query("remove_patient_goal"), {"patient_id": patient_id, "id": goal_id}
        ).rowcount
        == 1
    )
