"""The access-log review page (HSLF-FS 2016:40 ch. 4 §9), for administrators: one of four
selections of the audit log over a period (hemkoll.store.access_review), and the form that
records the review of what it shows (who, which rows, the finding, a note).

A centre's administrator reviews her centre's rows; the region's administrators every
centre's. Showing a selection is itself recorded in the audit log, and so is a review.
Dates are ISO dates in Stockholm time, the last one included; the default period is the last
``DEFAULT_DAYS`` days.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse

from hemkoll.api.access import ADMINS, Caller
from hemkoll.api.console.auth import signed_in
from hemkoll.api.console.web import DEFAULT_TZ, PREFIX, ConsoleRoute, form_fields, render
from hemkoll.api.problems import invalid
from hemkoll.store import access_review
from hemkoll.store.access_review import KINDS, Kind, ReviewError, Selection

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
Admin = Annotated[Caller, Depends(signed_in(*ADMINS))]
Form = Annotated[dict[str, str], Depends(form_fields)]
# Reviews are made monthly: the last 30 days unless asked otherwise.
DEFAULT_DAYS = 30
# A period of more than a year is several reviews.
MAX_DAYS = 366
# A random sample's size unless asked otherwise: a sitting's worth of rows to read.
DEFAULT_SAMPLE = 20
# The other selections show at most this many rows (a review of more is split by period).
MAX_ROWS = 500
TZ = ZoneInfo(DEFAULT_TZ)


def _day(value: str | None, default: date, name: str) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise invalid(f"{name} is not a date (YYYY-MM-DD)") from exc


def selection_of(
    caller: Caller,
    *,
    kind: str,
    since: str | None,
    until: str | None,
    staff: str | None,
    seed: str | None,
) -> Selection:
    if kind not in KINDS:
        raise invalid(f"the selection is one of {', '.join(KINDS)}")
    today = caller.now().astimezone(TZ).date()
    last = _day(until, today, "until")
    first = _day(since, last - timedelta(days=DEFAULT_DAYS - 1), "from")
    if last < first or (last - first).days >= MAX_DAYS:
        raise invalid(f"the period is 1-{MAX_DAYS} days, ending after it starts")
    try:
        staff_id = UUID(staff) if staff else None
    except ValueError as exc:
        raise invalid("staff is not a staff member's id") from exc
    chosen: Kind = kind  # checked against KINDS above
    return Selection(
        kind=chosen,
        since=datetime.combine(first, time(0), TZ),
        until=datetime.combine(last + timedelta(days=1), time(0), TZ),
        health_centre_id=caller.scope,
        staff_id=staff_id,
        size=DEFAULT_SAMPLE if kind == "random" else MAX_ROWS,
        seed=seed or "",
    )


def _query(selection: Selection) -> dict[str, str]:
    last = (selection.until - timedelta(days=1)).astimezone(TZ).date()
    params = {
        "kind": selection.kind,
        "from": selection.since.astimezone(TZ).date().isoformat(),
        "until": last.isoformat(),
    }
    if selection.staff_id is not None:
        params["staff"] = str(selection.staff_id)
    if selection.seed:
        params["seed"] = selection.seed
    return params


@router.get("/access-review")
def review_page(
    request: Request,
    caller: Admin,
    *,
    kind: Annotated[str, Query(max_length=40)] = "no_care_relationship",
    since: Annotated[str | None, Query(alias="from", max_length=32)] = None,
    until: Annotated[str | None, Query(max_length=32)] = None,
    staff: Annotated[str | None, Query(max_length=64)] = None,
    seed: Annotated[str | None, Query(max_length=64)] = None,
    recorded: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    selection = selection_of(caller, kind=kind, since=since, until=until, staff=staff, seed=seed)
    if selection.kind == "random" and not selection.seed:  # a fresh draw, kept in the form
        selection = Selection(**{**selection.__dict__, "seed": caller.now().isoformat()})
    context: dict[str, Any] = {"section": "access_review", "recorded": bool(recorded)}
    with caller.session() as s:
        try:
            if selection.kind == "emergency":
                emergencies = access_review.emergency_accesses(s.conn, selection)
                rows: list[access_review.Access] = []
            else:
                emergencies = []
                rows = access_review.accesses(s.conn, selection)
        except ReviewError as exc:
            raise invalid(str(exc)) from exc
        past = access_review.reviews(s.conn, health_centre_id=caller.scope, limit=10)
        s.record("audit_log", f"review:{selection.kind}")
    audit_ids = sorted({r.id for r in rows} | {i for e in emergencies for i in e.audit_ids})
    context |= {
        "kinds": KINDS,
        "selection": selection,
        "typed": _query(selection),
        "rows": rows,
        "emergencies": emergencies,
        "audit_ids": ",".join(str(i) for i in audit_ids),
        "emergency_ids": ",".join(str(e.id) for e in emergencies),
        "reviews": past,
    }
    return render(request, "access_review.html", context, me=caller.principal)


def _ids(value: str, kind: type[int] | type[UUID]) -> list[Any]:
    try:
        return [kind(part) for part in value.split(",") if part.strip()]
    except ValueError as exc:
        raise invalid("the reviewed rows are not a list of ids") from exc


@router.post("/access-review", status_code=303)
def record_review(caller: Admin, form: Form) -> Response:
    selection = selection_of(
        caller,
        kind=form.get("kind", ""),
        since=form.get("from"),
        until=form.get("until"),
        staff=form.get("staff"),
        seed=form.get("seed"),
    )
    with caller.session() as s:
        try:
            review = access_review.record_review(
                s.conn,
                selection,
                reviewed_by=caller.principal.staff_id,
                reviewer_name=caller.principal.name,
                audit_ids=_ids(form.get("audit_ids", ""), int),
                emergency_ids=_ids(form.get("emergency_ids", ""), UUID),
                finding=form.get("finding", ""),
                note=form.get("note"),
                now=caller.now(),
            )
        except ReviewError as exc:
            raise invalid(str(exc)) from exc
        s.record("access_review", review.id)
    query = urlencode({**_query(selection), "recorded": str(review.id)})
    return RedirectResponse(f"{PREFIX}/access-review?{query}", status_code=303)
