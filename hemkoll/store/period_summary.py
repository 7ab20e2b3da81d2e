"""A patient's period in figures, for the summary printed into the patient record: per metric
the readings' count, median, range and latest, and the days weighed (the programme's
adherence)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query


@dataclass(frozen=True)
class MetricStats:
    metric: str
    readings: int
    median: float
    lowest: float
    highest: float
    latest: float
    latest_at: datetime


@dataclass(frozen=True)
class WeighedDays:
    days: int
    weighed_days: int

    @property
    def share(self) -> float | None:
        return self.weighed_days / self.days if self.days else None


def metric_stats(
    conn: Conn, patient_id: UUID, *, metrics: Sequence[str], since: datetime, until: datetime
) -> dict[str, MetricStats]:
    """The figures of each metric with readings measured in [since, until), by metric."""
    with conn.cursor(row_factory=class_row(MetricStats)) as cur:
        rows = cur.execute(
            query("period_metric_stats"),
            {"patient_id": patient_id, "metrics": list(metrics), "since": since, "until": until},
        ).fetchall()
    return {row.metric: row for row in rows}


def weighed_days(
    conn: Conn, patient_id: UUID, *, first_day: date, last_day: date, tz: str
) -> WeighedDays:
    """The patient's enrolled whole days in [first_day, last_day] and those weighed on."""
    with conn.cursor(row_factory=class_row(WeighedDays)) as cur:
        row = cur.execute(
            query("period_weighed_days"),
            {"patient_id": patient_id, "first_day": first_day, "last_day": last_day, "tz": tz},
        ).fetchone()
    return row or WeighedDays(0, 0)
