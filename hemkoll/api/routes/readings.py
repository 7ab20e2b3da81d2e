"""A patient's readings over a time range: raw (paged) or per day of the patient's time zone."""

from __future__ import annotations

import base64
from datetime import date, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from hemkoll.api.access import NURSES, Caller, allow
from hemkoll.api.models import AwareDatetime, Page
from hemkoll.api.problems import invalid
from hemkoll.api.routes import PREFIX
from hemkoll.api.routes.patients import patient_or_404
from hemkoll.protocol.measurements import METRICS
from hemkoll.store import readings_query
from hemkoll.store.readings_query import RawCursor

router = APIRouter(prefix=PREFIX, tags=["readings"])
Nurse = Annotated[Caller, Depends(allow(*NURSES))]
# Without a range, the last 30 days: what a nurse looks at first.
DEFAULT_PERIOD = timedelta(days=30)
# Per-day rows are few (a year of nine metrics is about 3,300); raw pages are capped.
MAX_DAILY_PERIOD = timedelta(days=3 * 366)
DEFAULT_RAW_PAGE = 1000


class RawOut(BaseModel):
    metric: str
    unit: str
    value: float
    measured_at: datetime
    device_id: UUID


class DayOut(BaseModel):
    metric: str
    unit: str
    day: date = Field(description="The day in the patient's time zone.")
    n: int
    min: float
    max: float
    mean: float
    last_value: float
    last_at: datetime


class Readings(Page):
    patient_id: UUID
    resolution: Literal["raw", "day"]
    timezone: str
    since: datetime
    until: datetime
    readings: list[RawOut] = Field(default_factory=list, description="resolution=raw")
    days: list[DayOut] = Field(default_factory=list, description="resolution=day")


def encode_cursor(cursor: RawCursor) -> str:
    at, metric, device_id = cursor
    raw = orjson.dumps([at.isoformat(), metric, str(device_id)])
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_cursor(cursor: str) -> RawCursor:
    try:
        at, metric, device_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        parsed = datetime.fromisoformat(at)
        position = (parsed, str(metric), UUID(device_id))
    except (ValueError, TypeError) as exc:
        raise invalid("cursor: not a cursor this API gave out") from exc
    if parsed.tzinfo is None:
        raise invalid("cursor: not a cursor this API gave out")
    return position


def _unit(metric: str) -> str:
    return METRICS[metric].canonical_unit if metric in METRICS else ""


@router.get(
    "/patients/{patient_id}/readings",
    summary="Readings over a time range, raw (paged) or per day (min/max/mean/last)",
)
def get_readings(
    patient_id: UUID,
    caller: Nurse,
    since: Annotated[
        AwareDatetime | None, Query(alias="from", description="Default: 30 days before until.")
    ] = None,
    until: Annotated[AwareDatetime | None, Query(description="Default: now.")] = None,
    metric: Annotated[
        list[str] | None, Query(description="Repeat for several; default every metric.")
    ] = None,
    resolution: Literal["raw", "day"] = "raw",
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=readings_query.MAX_PAGE)] = DEFAULT_RAW_PAGE,
) -> Readings:
    end = until or caller.now()
    start = since or end - DEFAULT_PERIOD
    if start > end:
        raise invalid("from: is after until")
    unknown = sorted(set(metric or ()) - set(METRICS))
    if unknown:
        raise invalid(f"metric: unknown {', '.join(unknown)}; known: {', '.join(METRICS)}")
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id)
        s.record(
            "readings", patient_id, patient_id=patient_id, health_centre_id=patient.health_centre_id
        )
        out = Readings(
            patient_id=patient_id,
            resolution=resolution,
            timezone=patient.timezone,
            since=start,
            until=end,
            next_cursor=None,
        )
        if resolution == "day":
            if end - start > MAX_DAILY_PERIOD:
                raise invalid("from: per-day readings cover at most three years at a time")
            tz = ZoneInfo(patient.timezone)
            try:
                days = readings_query.daily_readings(
                    s.conn,
                    patient_id,
                    metrics=metric,
                    since=start.astimezone(tz).date(),
                    until=end.astimezone(tz).date() + timedelta(days=1),
                    tz=patient.timezone,
                )
            except ValueError as exc:
                raise invalid(str(exc)) from exc
            except OverflowError as exc:  # the range touches the ends of the calendar
                raise invalid(
                    "from, until: per-day readings need days between the years 1 and 9999 in "
                    "the patient's time zone"
                ) from exc
            out.days.extend(
                DayOut(
                    metric=d.metric,
                    unit=_unit(d.metric),
                    day=d.day,
                    n=d.n,
                    min=d.min,
                    max=d.max,
                    mean=d.mean,
                    last_value=d.last_value,
                    last_at=d.last_at,
                )
                for d in days
            )
            return out
        rows = readings_query.raw_readings(
            s.conn,
            patient_id,
            metrics=metric,
            since=start,
            until=end,
            limit=limit,
            after=None if cursor is None else decode_cursor(cursor),
        )
    out.readings.extend(
        RawOut(
            metric=r.metric,
            unit=_unit(r.metric),
            value=r.value,
            measured_at=r.measured_at,
            device_id=r.device_id,
        )
        for r in rows
    )
    if len(rows) == limit:
        out.next_cursor = encode_cursor(rows[-1].cursor)
    return out
