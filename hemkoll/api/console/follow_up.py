"""The programme follow-up of a health centre (hemkoll.store.followup) over a chosen period,
by default the last ``DEFAULT_DAYS`` days up to and including today (in the centre's time zone:
an alert opened this morning counts): what the region asks the centre for.

Nurses, clinicians and the centre's administrators see their own centre; the region's
administrators choose one. The figures are counts and shares, no patient is named; the page
records one audit row for the centre it shows. Above them, how the centre's notification
endpoints answer now (``store.endpoint_health``): one failing for a day is seen here. A period
that is not one (not a date, ending before it starts, too long) comes back as typed with the
message beside the date at fault, 422. The dates are typed and shown as ISO dates
(2026-11-30) in a text field: a date input shows its value in the browser's own format (US on
an English browser), whatever the page's language.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response

from hemkoll.api.access import CARE_AND_ADMIN, Caller
from hemkoll.api.console import form_errors
from hemkoll.api.console.auth import signed_in
from hemkoll.api.console.form_errors import FieldError
from hemkoll.api.console.i18n import CATALOGUE, Formatter
from hemkoll.api.console.rules_view import find, rule_label
from hemkoll.api.console.web import PREFIX, ConsoleRoute, language, rejected, render
from hemkoll.api.problems import not_found
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
    since: Annotated[str | None, Query(alias="from", max_length=32)] = None,
    until: Annotated[str | None, Query(max_length=32)] = None,
    centre: Annotated[UUID | None, Query()] = None,
) -> Response:
    programme: RuleSet = request.app.state.programme
    now = caller.now()
    lang = language(request)
    t = CATALOGUE[lang]
    errors: list[FieldError] = []
    example = now.date()
    first_typed = form_errors.typed_day(since, "from", example, errors)
    last_typed = form_errors.typed_day(until, "until", example, errors)
    with caller.session() as s:
        visible = health_centres.list_centres(s.conn, health_centre_id=caller.scope)
        chosen = centre or caller.scope or (visible[0].id if visible else None)
        shown = next((c for c in visible if c.id == chosen), None)
        if chosen is not None and shown is None:
            raise not_found("health centre", chosen)
        figures = first = last = endpoints = None
        tz = shown.timezone if shown else "Europe/Stockholm"
        context: dict[str, Any] = {
            "centres": visible,
            "centre": shown,
            "label": lambda rule_id: rule_label(find(programme, rule_id), rule_id, t),
            "section": "follow_up",
            "typed": {"from": since or "", "until": until or ""},
        }
        if shown is not None and not errors:
            today = now.astimezone(ZoneInfo(shown.timezone)).date()
            first, last = form_errors.day_period(
                first_typed,
                last_typed,
                today,
                errors,
                default_days=DEFAULT_DAYS,
                max_days=MAX_DAYS,
                last_field="until",
            )
        if errors:
            fmt = Formatter(lang, ZoneInfo(tz), now)
            context |= {"figures": None, "endpoints": None, "first": None, "last": None}
            raise rejected(
                request,
                "follow_up.html",
                context,
                errors=form_errors.messages(errors, {}, fmt, t),
                me=caller.principal,
                tz=tz,
            )
        if shown is not None and first is not None and last is not None:
            figures = followup(
                s.conn, shown.id, first_day=first, last_day=last, today=today, tz=shown.timezone
            )
            endpoints = endpoint_health.of_centre(s.conn, shown.id)
            s.record("follow_up", shown.id, health_centre_id=shown.id)
    context |= {"figures": figures, "endpoints": endpoints, "first": first, "last": last}
    return render(
        request, "follow_up.html", context | {"errors": {}}, me=caller.principal, tz=tz, now=now
    )
