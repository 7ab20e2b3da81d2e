"""The console's patient list: a health centre's patients under monitoring, each with her
latest values (weight against her usual, blood pressure, the last reading, adherence) and her
unresolved alerts with who has them, read in one statement (queries/patient_list.sql) from the
hourly rollup of readings and the alerts, never one query per patient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query

# "Her usual weight": the median of her daily weights over the days before the latest one,
# given enough of them to be a usual.
USUAL_DAYS = 14
USUAL_MIN_DAYS = 5
# Adherence: the share of the last whole days (today is not over yet) with a weight.
ADHERENCE_DAYS = 14
# A centre's patient list on one page: programmes run to a few hundred patients per centre.
MAX_LISTED = 1000


@dataclass(frozen=True)
class PatientListRow:
    id: UUID
    reference: str
    monitoring_paused_since: datetime | None
    weight_kg: float | None
    weight_at: datetime | None
    usual_weight_kg: float | None
    systolic: float | None
    diastolic: float | None
    bp_at: datetime | None
    last_reading_at: datetime | None
    # Her local days from the last reading's day to today (0: today); None: no reading yet.
    days_since_reading: int | None
    weighed_days: int
    # The whole days of the adherence window she was enrolled on (0: enrolled today).
    adherence_days: int
    red_alerts: int
    yellow_alerts: int
    assignees: list[UUID]

    @property
    def weight_change_kg(self) -> float | None:
        """The latest weight less her usual one (None without either)."""
        if self.weight_kg is None or self.usual_weight_kg is None:
            return None
        return self.weight_kg - self.usual_weight_kg

    @property
    def adherence(self) -> float | None:
        """The share of the window's days with a weight (None: no whole day enrolled yet)."""
        if self.adherence_days == 0:
            return None
        return self.weighed_days / self.adherence_days

    @property
    def open_alerts(self) -> int:
        return self.red_alerts + self.yellow_alerts


def patient_list(
    conn: Conn,
    patient_ids: Sequence[UUID],
    *,
    now: datetime,
    search: str | None = None,
    limit: int = MAX_LISTED,
) -> list[PatientListRow]:
    """Those of ``patient_ids`` not discharged whose reference contains ``search`` (any case;
    None: all), by reference, with their latest values as of ``now``."""
    with conn.cursor(row_factory=class_row(PatientListRow)) as cur:
        return cur.execute(
            query("patient_list"),
            {
                "patient_ids": list(patient_ids),
                "now": now,
                "search": search or None,
                "limit": limit,
                "usual_days": USUAL_DAYS,
                "usual_min_days": USUAL_MIN_DAYS,
                "adherence_days": ADHERENCE_DAYS,
            },
        ).fetchall()
