"""What the console's worklist filters need besides the worklist itself (``alerts.worklist``):
the centre's unresolved alerts counted per rule (the rule filter's choices and the total), and
how many of them a set of filters keeps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query


@dataclass(frozen=True)
class RuleCount:
    rule_id: str
    rule_kind: str
    alerts: int


def rule_counts(
    conn: Conn, *, health_centre_id: UUID, patient_ids: Sequence[UUID], states: Sequence[str]
) -> list[RuleCount]:
    args = {
        "health_centre_id": health_centre_id,
        "patient_ids": list(patient_ids),
        "states": list(states),
    }
    with conn.cursor(row_factory=class_row(RuleCount)) as cur:
        return cur.execute(query("worklist_rules"), args).fetchall()


def matching(
    conn: Conn,
    *,
    health_centre_id: UUID,
    patient_ids: Sequence[UUID],
    states: Sequence[str],
    severity: str | None = None,
    assigned_to: UUID | None = None,
    unassigned: bool = False,
    rule_id: str | None = None,
    rule_kind: str | None = None,
) -> int:
    row = conn.execute(
        query("worklist_matching"),
        {
            "health_centre_id": health_centre_id,
            "patient_ids": list(patient_ids),
            "states": list(states),
            "severity": severity,
            "assigned_to": assigned_to,
            "unassigned": unassigned,
            "rule_id": rule_id,
            "rule_kind": rule_kind,
        },
    ).fetchone()
    return 0 if row is None else int(row[0])
