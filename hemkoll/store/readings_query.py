"""A patient's readings over a time range for the care-team API: raw, page by page, or per day.

* ``raw_readings``: the readings themselves, ordered by (measured_at, metric, device_id), in
  pages of at most ``limit``; the next page starts after the last row's ``cursor``. A year of a
  continuous wearable is about 525,000 readings, so the API always pages.
* ``daily_readings``: per metric and day of the patient's time zone, the count, min, max,
  mean and newest value, folded from the hourly rollup ``readings_hourly`` (migration 0006: a
  table kept by a trigger on plain PostgreSQL, a continuous aggregate on TimescaleDB), so a
  year is read as at most 8,760 rows per metric rather than every reading.

Times are aware datetimes; rows come back with the connection's time zone (hemkoll sessions
use UTC).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query

# The API's largest page; a caller that wants everything pages through.
MAX_PAGE = 10_000

T = TypeVar("T")

# Where a page ended: (measured_at, metric, device_id) of its last reading, the reading's key.
RawCursor = tuple[datetime, str, UUID]


@dataclass(frozen=True)
class RawReading:
    metric: str
    value: float
    measured_at: datetime
    device_id: UUID
    received_at: datetime

    @property
    def cursor(self) -> RawCursor:
        """Pass the last reading's cursor as ``after`` to get the next page."""
        return (self.measured_at, self.metric, self.device_id)


@dataclass(frozen=True)
class DailyAggregate:
    """One metric on one local day: only days with at least one reading have a row."""

    metric: str
    day: date
    n: int
    min: float
    max: float
    mean: float
    last_value: float
    last_at: datetime


def raw_readings(
    conn: Conn,
    patient_id: UUID,
    *,
    metrics: Sequence[str] | None,
    since: datetime,
    until: datetime,
    limit: int,
    after: RawCursor | None = None,
) -> list[RawReading]:
    """The first ``limit`` readings measured in [since, until) after ``after``, of ``metrics``.

    ``metrics`` None means every metric. Fewer than ``limit`` rows means the range is done.
    """
    _check_aware(since=since, until=until)
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be 1..{MAX_PAGE}, got {limit}")
    after_at, after_metric, after_device = after if after is not None else (None, None, None)
    if after_at is not None:
        _check_aware(after=after_at)
    params = {
        "patient_id": patient_id,
        "metrics": _metric_list(metrics),
        "since": since,
        "until": until,
        "after_at": after_at,
        "after_metric": after_metric,
        "after_device": after_device,
        "limit": limit,
    }
    return _fetch(conn, RawReading, "raw_readings_page", params)


def daily_readings(
    conn: Conn,
    patient_id: UUID,
    *,
    metrics: Sequence[str] | None,
    since: date,
    until: date,
    tz: str,
) -> list[DailyAggregate]:
    """Per metric and local day of ``tz``, the days ``since`` (included) to ``until`` (excluded).

    The bounds are local dates, so every day returned is whole: there is no partial first or
    last day. A day starts at local midnight, whatever its length (23 or 25 hours across a
    daylight-saving change). Ordered by metric, then day; ``metrics`` None means every metric.
    Only time zones whose UTC offset is a whole number of hours over the range are supported
    (ValueError otherwise): the rollup is hourly.
    """
    return _daily(
        "daily_readings", conn, patient_id, metrics=metrics, since=since, until=until, tz=tz
    )


def daily_readings_from_raw(
    conn: Conn,
    patient_id: UUID,
    *,
    metrics: Sequence[str] | None,
    since: date,
    until: date,
    tz: str,
) -> list[DailyAggregate]:
    """``daily_readings`` computed from every raw reading instead of the rollup.

    The baseline of bench/readings_query.py and a cross-check; reads every reading in range.
    """
    return _daily(
        "daily_readings_from_raw",
        conn,
        patient_id,
        metrics=metrics,
        since=since,
        until=until,
        tz=tz,
    )


def _daily(
    name: str,
    conn: Conn,
    patient_id: UUID,
    *,
    metrics: Sequence[str] | None,
    since: date,
    until: date,
    tz: str,
) -> list[DailyAggregate]:
    if isinstance(since, datetime) or isinstance(until, datetime):
        raise TypeError("since and until are local dates, not datetimes")
    if since > until:
        raise ValueError(f"since {since} is after until {until}")
    check_whole_hour_offsets(tz, since, until)
    params = {
        "patient_id": patient_id,
        "metrics": _metric_list(metrics),
        "since": since,
        "until": until,
        "tz": tz,
    }
    return _fetch(conn, DailyAggregate, name, params)


def check_whole_hour_offsets(tz: str, since: date, until: date) -> None:
    """ValueError unless every local midnight from ``since`` to ``until`` is a whole UTC hour.

    That is what folding UTC hours into local days needs: true of Europe/Stockholm and most
    zones, false of e.g. Asia/Kolkata (+05:30) or Australia/Adelaide (+09:30/+10:30).
    """
    zone = ZoneInfo(tz)  # ZoneInfoNotFoundError (a KeyError) for an unknown name
    hour = timedelta(hours=1)
    for ordinal in range(since.toordinal(), until.toordinal() + 1):
        midnight = datetime.combine(date.fromordinal(ordinal), time(), zone)
        offset = midnight.utcoffset()
        if offset is None or offset % hour:
            raise ValueError(
                f"time zone {tz} is {offset} from UTC on {midnight.date()}: daily readings need "
                "a whole-hour offset"
            )


def _metric_list(metrics: Sequence[str] | None) -> list[str] | None:
    if metrics is None:
        return None
    if isinstance(metrics, str):
        raise TypeError("metrics is a list of metric names, not one string")
    return list(dict.fromkeys(metrics))  # each metric once: raw pages probe each in turn


def _check_aware(**times: datetime) -> None:
    for name, value in times.items():
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be an aware datetime")


def _fetch(conn: Conn, row_type: type[T], name: str, params: dict[str, Any]) -> list[T]:
    with conn.cursor(row_factory=class_row(row_type)) as cur:
        return cur.execute(query(name), params).fetchall()


@dataclass(frozen=True)
class ScopedReading(RawReading):
    """A reading with the patient and health centre it belongs to."""

    patient_id: UUID
    health_centre_id: UUID


def reading_in_scope(
    conn: Conn,
    *,
    device_id: UUID,
    metric: str,
    measured_at: datetime,
    health_centre_id: UUID | None,
) -> ScopedReading | None:
    """The reading with this key in the centre (None: any centre), or None."""
    _check_aware(measured_at=measured_at)
    found = _fetch(
        conn,
        ScopedReading,
        "reading_in_scope",
        {
            "device_id": device_id,
            "metric": metric,
            "measured_at": measured_at,
            "health_centre_id": health_centre_id,
        },
    )
    return found[0] if found else None


# A cuff's two halves are one served entry (the FHIR panel 85354-9) of this kind.
BLOOD_PRESSURE = "blood_pressure"
BLOOD_PRESSURE_HALVES = ("systolic_bp", "diastolic_bp")


@dataclass(frozen=True)
class BloodPressure:
    """A cuff's systolic and diastolic measured together (same device and instant); a half
    that was never stored is None. ``received_at`` is the later half's."""

    measured_at: datetime
    device_id: UUID
    systolic: float | None
    diastolic: float | None
    received_at: datetime

    @property
    def cursor(self) -> RawCursor:
        return (self.measured_at, BLOOD_PRESSURE, self.device_id)


@dataclass(frozen=True)
class _EntryRow:
    kind: str
    value: float | None
    measured_at: datetime
    device_id: UUID
    received_at: datetime
    systolic: float | None
    diastolic: float | None

    def entry(self) -> RawReading | BloodPressure:
        if self.kind == BLOOD_PRESSURE:
            return BloodPressure(
                self.measured_at, self.device_id, self.systolic, self.diastolic, self.received_at
            )
        if self.value is None:
            raise ValueError(f"a {self.kind} reading without a value")
        return RawReading(self.kind, self.value, self.measured_at, self.device_id, self.received_at)


def observation_entries(
    conn: Conn,
    patient_id: UUID,
    *,
    kinds: Sequence[str] | None,
    since: datetime,
    until: datetime,
    limit: int,
    after: RawCursor | None = None,
) -> list[RawReading | BloodPressure]:
    """The first ``limit`` entries measured in [since, until) after ``after``: each reading, but
    a device's systolic_bp and diastolic_bp of one instant paired into one ``BloodPressure``.

    ``kinds`` are metric names other than the two halves, and ``BLOOD_PRESSURE``; None means
    every kind. Ordered by (measured_at, kind, device_id); an entry's ``cursor`` is that triple.
    Fewer than ``limit`` entries means the range is done.
    """
    _check_aware(since=since, until=until)
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be 1..{MAX_PAGE}, got {limit}")
    if kinds is not None and set(kinds) & set(BLOOD_PRESSURE_HALVES):
        raise ValueError(f"{BLOOD_PRESSURE_HALVES} are served as {BLOOD_PRESSURE!r}, not alone")
    after_at, after_kind, after_device = after if after is not None else (None, None, None)
    if after_at is not None:
        _check_aware(after=after_at)
    params = {
        "patient_id": patient_id,
        "kinds": _metric_list(kinds),
        "since": since,
        "until": until,
        "after_at": after_at,
        "after_kind": after_kind,
        "after_device": after_device,
        "limit": limit,
    }
    return [row.entry() for row in _fetch(conn, _EntryRow, "observation_page", params)]


@dataclass(frozen=True)
class ScopedBloodPressure(BloodPressure):
    """A panel with the patient and health centre it belongs to."""

    patient_id: UUID
    health_centre_id: UUID


def blood_pressure_in_scope(
    conn: Conn, *, device_id: UUID, measured_at: datetime, health_centre_id: UUID | None
) -> ScopedBloodPressure | None:
    """The device's systolic and diastolic at ``measured_at`` in the centre (None: any centre);
    None when neither is stored."""
    _check_aware(measured_at=measured_at)
    found = _fetch(
        conn,
        ScopedBloodPressure,
        "blood_pressure_in_scope",
        {"device_id": device_id, "measured_at": measured_at, "health_centre_id": health_centre_id},
    )
    return found[0] if found else None
