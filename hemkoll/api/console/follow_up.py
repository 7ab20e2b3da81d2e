"""The programme follow-up of a health centre (hemkoll.store.followup) over a chosen period,
by default the last ``DEFAULT_DAYS`` whole days: what the region asks the centre for.

Nurses, clinicians and the centre's administrators see their own centre; the region's
administrators choose one. The figures are counts and shares, no patient is named; the page
records one audit row for the centre it shows. Above them, how the centre's notification
endpoints answer now (``store.endpoint_health``): one failing for a day is seen here.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response

from hemkoll.api.access import CARE_AND_ADMIN, Caller
from hemkoll.api.console.auth import signed_in
from hemkoll.api.console.i18n import CATALOGUE
from hemkoll.api.console.rules_view import find, rule_label
from hemkoll.api.console.web import PREFIX, ConsoleRoute, language, render
from hemkoll.api.problems import invalid, not_found
from hemkoll.rules.config import RuleSet
from hemkoll.store import endpoint_health, health_centres
from hemkoll.store.followup import followup

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
Anyone = Annotated[Caller, Depends(signed_in(*CARE_AND_ADMIN))]

# The region's follow-up is quarterly: about 90 days.
DEFAULT_DAYS = 90
# A period of more than three years is a different question (and a slow one).
MAX_DAYS = 3 * 366


@router.get("/follow-up")
def follow_up_page(
    request: Request,
    caller: Anyone,
    since: Annotated[date | None, Query(alias="from")] = None,
    until: Annotated[date | None, Query()] = None,
    centre: Annotated[UUID | None, Query()] = None,
) -> Response:
    programme: RuleSet = request.app.state.programme
    now = caller.now()
    with caller.session() as s:
        visible = health_centres.list_centres(s.conn, health_centre_id=caller.scope)
        chosen = centre or caller.scope or (visible[0].id if visible else None)
        shown = next((c for c in visible if c.id == chosen), None)
        if chosen is not None and shown is None:
            raise not_found("health centre", chosen)
        figures = first = last = endpoints = None
        if shown is not None:
            today = now.astimezone(ZoneInfo(shown.timezone)).date()
            last = until or today - timedelta(days=1)
            try:
                first = since or last - timedelta(days=DEFAULT_DAYS - 1)
            except OverflowError as exc:  # "until" at the very start of the calendar
                raise invalid("until: the period would start before the year 1") from exc
            if first > last:
                raise invalid("from: the period starts after it ends")
            if (last - first).days >= MAX_DAYS:
                raise invalid(f"from: a period is at most {MAX_DAYS} days")
            figures = followup(
                s.conn, shown.id, first_day=first, last_day=last, today=today, tz=shown.timezone
            )
            endpoints = endpoint_health.of_centre(s.conn, shown.id)
            s.record("follow_up", shown.id, health_centre_id=shown.id)
    t = CATALOGUE[language(request)]
    context = {
        "centres": visible,
        "centre": shown,
        "figures": figures,
        "endpoints": endpoints,
        "first": first,
        "last": last,
        "label": lambda rule_id: rule_label(find(programme, rule_id), rule_id, t),
        "section": "follow_up",
    }
    tz = shown.timezone if shown else "Europe/Stockholm"
    return render(request, "follow_up.html", context, me=caller.principal, tz=tz, now=now)
