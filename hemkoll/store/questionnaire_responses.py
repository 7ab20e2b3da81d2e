"""A patient's questionnaire answers (``questionnaire_responses``, migration 0017): answers by
the definition's linkId, and the instrument's score where it has one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query


@dataclass(frozen=True)
class QuestionnaireResponse:
    id: UUID
    patient_id: UUID
    questionnaire: str
    answers: dict[str, Any]
    score: float | None
    authored_at: datetime


def add(
    conn: Conn,
    patient_id: UUID,
    questionnaire: str,
    answers: Mapping[str, Any],
    *,
    score: float | None,
) -> UUID:
    row = conn.execute(
        query("insert_questionnaire_response"),
        {
            "patient_id": patient_id,
            "questionnaire": questionnaire,
            "answers": Jsonb(dict(answers)),
            "score": score,
        },
    ).fetchone()
    if row is None:
        raise LookupError("the response was not stored")
    return UUID(str(row[0]))


def latest(conn: Conn, patient_id: UUID) -> list[QuestionnaireResponse]:
    """Each questionnaire's newest response of the patient."""
    with conn.cursor(row_factory=class_row(QuestionnaireResponse)) as cur:
        return cur.execute(
            query("latest_questionnaire_responses"), {"patient_id": patient_id}
        ).fetchall()


def page(
    conn: Conn, patient_id: UUID, *, limit: int, after: tuple[datetime, UUID] | None
) -> list[QuestionnaireResponse]:
    """The patient's responses ordered by (authored_at, id), after ``after``."""
    after_at, after_id = after if after is not None else (None, None)
    with conn.cursor(row_factory=class_row(QuestionnaireResponse)) as cur:
        return cur.execute(
            query("questionnaire_responses_page"),
            {"patient_id": patient_id, "after_at": after_at, "after_id": after_id, "limit": limit},
        ).fetchall()


def in_scope(
    conn: Conn, response_id: UUID, *, health_centre_id: UUID | None
) -> QuestionnaireResponse | None:
    with conn.cursor(row_factory=class_row(QuestionnaireResponse)) as cur:
        return cur.execute(
            query("questionnaire_response_in_scope"),
            {"id": response_id, "health_centre_id": health_centre_id},
        ).fetchone()
