"""The programme follow-up of a health centre: the figures the region asks for, over a period.

All over the local days ``first_day`` to ``last_day`` (both included) of the centre's time zone:

* patients: enrolled and discharged in the period, under monitoring at its end, and monitored
  (with at least one patient-day) in it;
* adherence: of the patient-days (a local day on which the patient was enrolled, from the day
  of enrolment to the day before discharge), the share with at least one body weight reading;
* alerts opened in the period per rule, and per patient-month (patient-days / 30.4375);
* of those alerts, the median time from opening to acknowledgement and to resolution (alerts
  not yet acknowledged or resolved are left out of that median, and counted);
* of those resolved, how many per outcome.

``followup`` caps ``last_day`` at ``today``: what has happened today counts (an alert opened
this morning is one of the period's). Patient-days and adherence stop at the day before (a day
still going on would count as a day without a weight): ``adherence_last_day``. Computed in SQL
(queries/followup.sql); tests/console/test_followup.py checks every figure against a small
data set worked out by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query

# Days in a patient-month: a mean month of the Julian year (365.25 / 12), the usual figure.
DAYS_PER_MONTH = 30.4375


@dataclass(frozen=True)
class Enrolment:
    enrolled: int
    discharged: int
    at_end: int


@dataclass(frozen=True)
class Adherence:
    patients: int
    patient_days: int
    weighed_days: int

    @property
    def share(self) -> float | None:
        return None if self.patient_days == 0 else self.weighed_days / self.patient_days

    @property
    def patient_months(self) -> float:
        return self.patient_days / DAYS_PER_MONTH


@dataclass(frozen=True)
class RuleAlerts:
    rule_id: str
    alerts: int
    per_patient_month: float | None


@dataclass(frozen=True)
class ResponseTimes:
    alerts: int
    acknowledged: int
    resolved: int
    median_acknowledge: timedelta | None
    median_resolve: timedelta | None


@dataclass(frozen=True)
class OutcomeCount:
    outcome: str
    alerts: int


@dataclass(frozen=True)
class FollowUp:
    health_centre_id: UUID
    first_day: date
    last_day: date
    # Patient-days and adherence: whole days only, up to the day before today at the latest.
    adherence_last_day: date
    enrolment: Enrolment
    adherence: Adherence
    by_rule: tuple[RuleAlerts, ...]
    response: ResponseTimes
    outcomes: tuple[OutcomeCount, ...]


@dataclass(frozen=True)
class _RuleCount:
    rule_id: str
    alerts: int


@dataclass(frozen=True)
class _Times:
    alerts: int
    acknowledged: int
    resolved: int
    median_acknowledge_s: float | None
    median_resolve_s: float | None


def _seconds(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=round(value))


def followup(
    conn: Conn,
    health_centre_id: UUID,
    *,
    first_day: date,
    last_day: date,
    today: date,
    tz: str,
) -> FollowUp:
    """The centre's figures over [first_day, min(last_day, today)] in ``tz``; patient-days and
    adherence over the whole days of it, [first_day, min(last_day, today - 1 day)]."""
    if first_day > last_day:
        raise ValueError(f"the period starts ({first_day}) after it ends ({last_day})")
    last_day = min(last_day, today)
    adherence_last_day = min(last_day, today - timedelta(days=1))
    params: dict[str, Any] = {
        "health_centre_id": health_centre_id,
        "first_day": first_day,
        "last_day": last_day,
        "adherence_last_day": adherence_last_day,
        "tz": tz,
    }
    with conn.cursor(row_factory=class_row(Enrolment)) as cur:
        enrolment = cur.execute(query("followup_enrolment"), params).fetchone()
    with conn.cursor(row_factory=class_row(Adherence)) as cur:
        adherence = cur.execute(query("followup_adherence"), params).fetchone()
    with conn.cursor(row_factory=class_row(_RuleCount)) as cur:
        counts = cur.execute(query("followup_alerts_by_rule"), params).fetchall()
    with conn.cursor(row_factory=class_row(_Times)) as cur:
        times = cur.execute(query("followup_response_times"), params).fetchone()
    with conn.cursor(row_factory=class_row(OutcomeCount)) as cur:
        outcomes = cur.execute(query("followup_outcomes"), params).fetchall()
    if enrolment is None or adherence is None or times is None:
        raise RuntimeError("a follow-up aggregate returned no row")
    months = adherence.patient_months
    return FollowUp(
        health_centre_id=health_centre_id,
        first_day=first_day,
        last_day=last_day,
        adherence_last_day=adherence_last_day,
        enrolment=enrolment,
        adherence=adherence,
        by_rule=tuple(
            RuleAlerts(c.rule_id, c.alerts, c.alerts / months if months else None) for c in counts
        ),
        response=ResponseTimes(
            alerts=times.alerts,
            acknowledged=times.acknowledged,
            resolved=times.resolved,
            median_acknowledge=_seconds(times.median_acknowledge_s),
            median_resolve=_seconds(times.median_resolve_s),
        ),
        outcomes=tuple(outcomes),
    )
