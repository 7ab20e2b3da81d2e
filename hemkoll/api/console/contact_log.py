"""The patient's contact log on the console: the entries newest first (kind, when, who, what,
the alert it is about) and a form to add one, on the patient page.

The form takes when it happened as a date and a time of day in the patient's own time zone,
by default now; a form that is not one (no kind, a date or time that is not one, a time still
to come, no text or too much) comes back as typed with each message beside its field, 422.
With htmx the section alone changes in place; without JavaScript a saved entry sends the
browser back to the patient page, a refused one answers a page with the form and its errors.
Nurses and clinicians of the patient's centre only; every read and write is audited, as the
API's routes (``hemkoll.api.routes.contacts``) are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from hemkoll.alerts.configuration import effective_for
from hemkoll.api.access import NURSES, Caller
from hemkoll.api.console import form_errors
from hemkoll.api.console.auth import Form, signed_in
from hemkoll.api.console.form_errors import FieldError
from hemkoll.api.console.i18n import CATALOGUE, Formatter
from hemkoll.api.console.rules_view import find, rule_label
from hemkoll.api.console.web import PREFIX, ConsoleRoute, is_htmx, language, rejected, render
from hemkoll.api.routes.patients import patient_or_404
from hemkoll.rules.config import RuleSet
from hemkoll.store import contact_log, rule_overrides
from hemkoll.store.connect import Conn
from hemkoll.store.contact_log import KINDS, MAX_TEXT, ContactKind
from hemkoll.store.patients import PatientRecord

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
Nurse = Annotated[Caller, Depends(signed_in(*NURSES))]
# The page shows the latest entries; the API pages through all of them.
SHOWN = 50
# As the API: a clock a few minutes ahead is skew, not an entry about the future.
CLOCK_SKEW = timedelta(minutes=5)
FIELDS = ("kind", "date", "time", "text")
# An entry written this long after it happened says when it was written too.
WRITTEN_LATER = timedelta(hours=1)


def blank_form(now: datetime, tz: ZoneInfo) -> dict[str, str]:
    """A new entry's form: a call to the patient, now in the patient's time."""
    local = now.astimezone(tz)
    return {"kind": "call_out", "date": local.date().isoformat(), "time": local.strftime("%H:%M")}


def rule_names(
    conn: Conn, programme: RuleSet, patient_id: UUID, lang: str
) -> Callable[[str | None], str]:
    rule_set = effective_for(programme, rule_overrides.current_overrides(conn, patient_id))
    t = CATALOGUE["en" if lang == "en" else "sv"]
    return lambda rule_id: rule_label(find(rule_set, rule_id or ""), rule_id or "", t)


def log_context(
    conn: Conn,
    patient: PatientRecord,
    *,
    lang: str,
    now: datetime,
    typed: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """What ``_contact_log.html`` shows: the latest entries (times in the patient's zone) and
    the form, blank or as typed with its errors."""
    tz = ZoneInfo(patient.timezone)
    shown = contact_log.entries(conn, patient.id, limit=SHOWN)
    return {
        "contacts": shown,
        "contacts_cut": len(shown) == SHOWN,
        "contact_kinds": KINDS,
        "contact_form": dict(typed) if typed is not None else blank_form(now, tz),
        "contact_errors": dict(errors or {}),
        "contact_fmt": Formatter("en" if lang == "en" else "sv", tz, now),
        "contact_tz": patient.timezone,
        "contact_late": WRITTEN_LATER,
    }


def _kind(value: str) -> ContactKind | None:
    return next((k for k in KINDS if k == value), None)


def parse(
    form: Mapping[str, str], tz: ZoneInfo, now: datetime
) -> tuple[ContactKind | None, datetime | None, str, list[FieldError]]:
    """The entry a form describes, or the errors beside its fields."""
    errors: list[FieldError] = []
    kind = _kind(form.get("kind", ""))
    if kind is None:
        errors.append(FieldError("kind", "contact_kind"))
    local = now.astimezone(tz)
    day: date | None = None
    at: time | None = None
    try:
        day = date.fromisoformat(form.get("date", "").strip())
    except ValueError:
        errors.append(FieldError("date", "date", values={"example": local.date().isoformat()}))
    try:
        at = time.fromisoformat(form.get("time", "").strip().replace(".", ":"))
    except ValueError:
        errors.append(FieldError("time", "contact_time"))
    occurred = None
    if day is not None and at is not None:
        occurred = datetime.combine(day, at.replace(tzinfo=None), tz)
        if occurred > now + CLOCK_SKEW:
            errors.append(FieldError("time", "contact_future"))
    text = form.get("text", "")
    if not text.strip():
        errors.append(FieldError("text", "contact_text"))
    elif len(text) > MAX_TEXT:
        errors.append(FieldError("text", "too_long", values={"n": MAX_TEXT}))
    return kind, occurred, text, errors


@router.post("/patients/{patient_id}/contacts")
def add_contact(request: Request, patient_id: UUID, caller: Nurse, form: Form) -> Response:
    lang = language(request)
    t = CATALOGUE[lang]
    now = caller.now()
    programme: RuleSet = request.app.state.programme
    typed = {name: form.get(name, "") for name in FIELDS}
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id)
        centre_id = patient.health_centre_id
        tz = ZoneInfo(patient.timezone)
        kind, occurred, text, errors = parse(form, tz, now)
        context: dict[str, Any] = {"patient": patient, "section": "patients", "now": now}
        if errors or kind is None or occurred is None:
            shown = form_errors.messages(errors, {}, Formatter(lang, tz, now), t)
            s.record("contact_log", patient_id, patient_id=patient_id, health_centre_id=centre_id)
            context |= log_context(s.conn, patient, lang=lang, now=now, typed=typed, errors=shown)
            context |= {
                "label": rule_names(s.conn, programme, patient_id, lang),
                "focus_log": False,
            }
            context["is_fragment"] = is_htmx(request)
            template = "_contact_log.html" if is_htmx(request) else "contact_log.html"
            raise rejected(
                request, template, context, errors=shown, me=caller.principal, tz=patient.timezone
            )
        entry_id = contact_log.add(
            s.conn,
            patient_id,
            kind=kind,
            text=text,
            author=caller.principal.staff_id,
            occurred_at=occurred,
        )
        s.record("contact", entry_id, patient_id=patient_id, health_centre_id=centre_id)
        if not is_htmx(request):
            return RedirectResponse(f"{PREFIX}/patients/{patient_id}#contact-log", status_code=303)
        s.record("contact_log", patient_id, patient_id=patient_id, health_centre_id=centre_id)
        context |= log_context(s.conn, patient, lang=lang, now=now)
        context |= {"label": rule_names(s.conn, programme, patient_id, lang), "focus_log": True}
        context["is_fragment"] = True
    context["message"] = t["contact_saved"]
    return render(request, "_contact_log.html", context, me=caller.principal, tz=patient.timezone)
