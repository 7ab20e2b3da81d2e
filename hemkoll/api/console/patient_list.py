"""The centre's patient list, beside the worklist: each patient's latest values (weight against
her usual, last blood pressure, days since her last reading, adherence), her unresolved alerts
and who has them; searched by patient reference and sorted by a column.

Search and sort are query parameters of a GET form and of the column headers' links, so they
work without JavaScript and by keyboard; the sorted column says so with ``aria-sort``. The
figures come from one statement (``store.patient_list``); the page records, per patient shown,
the patient and her readings, as the patient page does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response

from hemkoll.api import care_access
from hemkoll.api.access import NURSES, Caller
from hemkoll.api.console.auth import signed_in
from hemkoll.api.console.web import PREFIX, ConsoleRoute, render
from hemkoll.api.console.worklist import centre_of
from hemkoll.store import staff
from hemkoll.store.patient_list import ADHERENCE_DAYS, MAX_LISTED, PatientListRow, patient_list

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
Nurse = Annotated[Caller, Depends(signed_in(*NURSES))]

Sort = Literal["reference", "alerts", "days", "adherence"]
Order = Literal["asc", "desc"]
# Each column's first order is the one that puts whom to look at first on top: most alerts,
# longest without a reading, lowest adherence.
FIRST_ORDER: dict[str, Order] = {
    "reference": "asc",
    "alerts": "desc",
    "days": "desc",
    "adherence": "asc",
}
_KEYS: dict[str, Callable[[PatientListRow], Any]] = {
    "reference": lambda p: p.reference,
    "alerts": lambda p: (p.red_alerts, p.yellow_alerts),
    "days": lambda p: p.days_since_reading,
    "adherence": lambda p: p.adherence,
}
MAX_SEARCH = 64


def sorted_rows(rows: list[PatientListRow], sort: str, order: str) -> list[PatientListRow]:
    """The rows by the column, in the order; rows without a value last either way, and the
    reference deciding between equals."""
    key = _KEYS[sort]
    by_reference = sorted(rows, key=lambda p: p.reference)
    known = [p for p in by_reference if key(p) is not None]
    unknown = [p for p in by_reference if key(p) is None]
    return sorted(known, key=key, reverse=order == "desc") + unknown


@dataclass(frozen=True)
class Column:
    """A sortable column header: its link, and how it is sorted now (aria-sort)."""

    name: str
    href: str
    aria_sort: str | None


def columns(search: str, sort: str, order: str) -> dict[str, Column]:
    heads = {}
    for name, first in FIRST_ORDER.items():
        now_sorted = name == sort
        flipped: Order = "desc" if order == "asc" else "asc"
        params = {"q": search} if search else {}
        params |= {"sort": name, "order": flipped if now_sorted else first}
        aria = ("ascending" if order == "asc" else "descending") if now_sorted else None
        heads[name] = Column(name, f"{PREFIX}/patients?{urlencode(params)}", aria)
    return heads


@router.get("/patients")
def patients_page(
    request: Request,
    caller: Nurse,
    q: Annotated[str, Query(max_length=MAX_SEARCH)] = "",
    sort: Annotated[Sort, Query()] = "reference",
    order: Annotated[Order | None, Query()] = None,
) -> Response:
    search = q.strip()
    chosen_order: Order = order or FIRST_ORDER[sort]
    with caller.session() as s:
        centre = centre_of(caller, s.conn)
        shown = care_access.visible_patients(caller, s) or []
        found = patient_list(s.conn, shown, now=caller.now(), search=search or None)
        names = {m.id: m.name for m in staff.list_staff(s.conn, health_centre_id=caller.scope)}
        for p in found:
            s.record("patient", p.id, patient_id=p.id, health_centre_id=centre.id)
            s.record("readings", p.id, patient_id=p.id, health_centre_id=centre.id)
    context = {
        "patients": sorted_rows(found, sort, chosen_order),
        "centre": centre,
        "search": search,
        "sort": sort,
        "order": chosen_order,
        "columns": columns(search, sort, chosen_order),
        "staff_names": names,
        "my_id": caller.principal.staff_id,
        "adherence_days": ADHERENCE_DAYS,
        "cut": len(found) == MAX_LISTED,
        "section": "patients",
    }
    return render(request, "patients.html", context, me=caller.principal, tz=centre.timezone)
