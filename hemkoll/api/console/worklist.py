"""The worklist: the health centre's open and acknowledged alerts, red before yellow, then
oldest first, refreshing itself every ``REFRESH_SECONDS``, filtered by the GET form above it
(mine or unassigned, severity, rule: ``worklist_filters``, kept by the refresh) and grouped
under each patient; acknowledge, assign to me (or release) and resolve with an outcome and a
note, each in place without leaving the page.

The same checks and audit rows as the API's alert routes: nurses and clinicians only, their
own centre's alerts only (another centre's answers 404), one audit row per alert shown or
changed, in the transaction that reads or changes it. A resolve form without an outcome (or
with too long a note) comes back open as it was filled in, the message beside the field, 422.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response

from hemkoll.alerts import nurse_actions
from hemkoll.api import care_access
from hemkoll.api.access import NURSES, Caller, Session
from hemkoll.api.console import form_errors
from hemkoll.api.console.auth import Form, signed_in
from hemkoll.api.console.form_errors import FieldError
from hemkoll.api.console.i18n import CATALOGUE, Formatter
from hemkoll.api.console.patient_side import worklist_items
from hemkoll.api.console.rules_view import find, rule_label
from hemkoll.api.console.web import (
    PREFIX,
    ConsoleRoute,
    Rejected,
    is_htmx,
    language,
    rejected,
    render,
)
from hemkoll.api.console.worklist_filters import Filters, by_patient, filters_from, rule_choices
from hemkoll.api.problems import conflict, forbidden, invalid, not_found
from hemkoll.rules.alerting import Outcome
from hemkoll.rules.config import RuleSet
from hemkoll.store import alerts, care_team, health_centres, staff, worklist_filters
from hemkoll.store.connect import Conn

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
Nurse = Annotated[Caller, Depends(signed_in(*NURSES))]

# How often the worklist refreshes itself: a new red alert shows within half a minute, and a
# centre's dozen open tabs cost a request each per half minute.
REFRESH_SECONDS = 30
# The worklist shows at most this many alerts (the API's largest page); more is a backlog the
# page says it cut.
WORKLIST_LIMIT = 200
OUTCOMES = tuple(outcome.value for outcome in Outcome)
# What the worklist lists: alerts not yet resolved.
STATES = ("open", "acknowledged")
NO_FILTERS = Filters()
# As the API's notes.
MAX_NOTE = 2000


def centre_of(caller: Caller, conn: Conn) -> health_centres.Centre:
    if caller.scope is None:  # the database's CHECK gives every nurse a centre
        raise forbidden("the worklist is a health centre's; this account has none")
    found = health_centres.list_centres(conn, health_centre_id=caller.scope)
    if not found:
        raise not_found("health centre", caller.scope)
    return found[0]


def worklist_context(
    request: Request,
    caller: Caller,
    s: Session,
    programme: RuleSet,
    filters: Filters = NO_FILTERS,
) -> tuple[dict[str, Any], str]:
    """The worklist's page (or its rows) as ``filters`` keep it, grouped by patient, with the
    rule filter's choices and the counts of alerts kept and in all."""
    centre = centre_of(caller, s.conn)
    by_filters = filters.worklist_args(caller.principal.staff_id)
    shown = care_access.visible_patients(caller, s) or []
    scope: dict[str, Any] = {"health_centre_id": centre.id, "patient_ids": shown}
    found = alerts.worklist(s.conn, **scope, states=STATES, limit=WORKLIST_LIMIT, **by_filters)
    counts = worklist_filters.rule_counts(s.conn, **scope, states=STATES)
    matching = (
        worklist_filters.matching(s.conn, **scope, states=STATES, **by_filters)
        if filters.active
        else sum(c.alerts for c in counts)
    )
    for a in found:
        s.record("alert", a.id, patient_id=a.patient_id)
    handovers = care_team.handovers(s.conn, [a.id for a in found if a.escalated_at])
    lang = language(request)
    fmt = Formatter(lang, ZoneInfo(centre.timezone), caller.now())
    kinds, rules = rule_choices(counts, programme, filters, CATALOGUE[lang], fmt)
    return _shared(request, caller, s.conn, programme) | {
        "alerts": found,
        "handovers": handovers,
        "groups": by_patient(found),
        "filters": filters,
        "kind_choices": kinds,
        "rule_choices": rules,
        "total": sum(c.alerts for c in counts),
        "matching": matching,
        "cut": len(found) == WORKLIST_LIMIT,
        "centre": centre,
        "refresh_s": REFRESH_SECONDS,
        "section": "worklist",
        **worklist_items(s, centre.id, shown),
    }, centre.timezone


def _shared(request: Request, caller: Caller, conn: Conn, programme: RuleSet) -> dict[str, Any]:
    t = CATALOGUE[language(request)]
    names = {m.id: m.name for m in staff.list_staff(conn, health_centre_id=caller.scope)}
    return {
        "staff_names": names,
        "my_id": caller.principal.staff_id,
        "outcomes": OUTCOMES,
        "label": lambda rule_id: rule_label(find(programme, rule_id), rule_id, t),
        "now": caller.now(),
    }


@router.get("/worklist")
def worklist_page(request: Request, caller: Nurse) -> Response:
    with caller.session() as s:
        filters = filters_from(request.query_params)
        context, tz = worklist_context(request, caller, s, request.app.state.programme, filters)
    return render(request, "worklist.html", context, me=caller.principal, tz=tz)


@router.get("/worklist/rows")
def worklist_rows(request: Request, caller: Nurse) -> Response:
    with caller.session() as s:
        filters = filters_from(request.query_params)
        context, tz = worklist_context(request, caller, s, request.app.state.programme, filters)
    return render(request, "_worklist.html", context, me=caller.principal, tz=tz)


def _form_errors(action: str, form: dict[str, str]) -> list[FieldError]:
    """What is wrong with a resolve form, beside its fields (acknowledge and assign have none
    a person fills in)."""
    if action != "resolve":
        return []
    errors = []
    if form.get("outcome", "") not in OUTCOMES:
        errors.append(FieldError("outcome", "outcome_required"))
    if len(form.get("note", "")) > MAX_NOTE:
        errors.append(FieldError("note", "too_long", values={"n": MAX_NOTE}))
    return errors


def _apply(conn: Conn, caller: Caller, alert_id: UUID, action: str, form: dict[str, str]) -> None:
    by = caller.principal.actor
    note = form.get("note", "")
    if len(note) > MAX_NOTE:  # no console form sends a note but the resolve form's
        raise invalid(f"note: at most {MAX_NOTE} characters")
    try:
        if action == "acknowledge":
            nurse_actions.acknowledge(conn, alert_id, by=by, note=note)
        elif action == "resolve":
            nurse_actions.resolve(conn, alert_id, Outcome(form["outcome"]), by=by, note=note)
        else:
            to = caller.principal.staff_id if form.get("to", "me") == "me" else None
            nurse_actions.assign(conn, alert_id, to, by=by)
    except nurse_actions.TransitionRefused as exc:
        raise conflict(str(exc)) from exc


def _act(
    request: Request, caller: Caller, alert_id: UUID, action: str, form: dict[str, str]
) -> Response:
    lang = language(request)
    t = CATALOGUE[lang]
    programme: RuleSet = request.app.state.programme
    with caller.session() as s:
        alert = alerts.alert_in_scope(s.conn, alert_id, health_centre_id=None)
        missing = not_found("alert", alert_id)
        if alert is None:
            raise missing
        care_access.require_patient(caller, s, alert.patient_id, missing=missing)
        errors = _form_errors(action, form)
        if errors:
            s.record("alert", alert_id, patient_id=alert.patient_id)
            raise _rejected(request, caller, s, alert, form=form, errors=errors)
        filters = filters_from(form)
        _apply(s.conn, caller, alert_id, action, form)
        s.record("alert", alert_id, patient_id=alert.patient_id)
        message = t[f"done_{action}"].format(patient=alert.patient_reference)
        if is_htmx(request) and action == "resolve":
            # A resolved alert leaves the list at once: the list again, as its filters kept
            # it, with its counts; focus on the patient's other cards, or on the count.
            context, tz = worklist_context(request, caller, s, programme, filters)
            context["focus_group"] = alert.patient_id
            template = "_worklist_done.html"
        elif is_htmx(request):
            # The alert's card changes in place (acknowledged, assigned).
            tz = centre_of(caller, s.conn).timezone
            changed = alerts.alert_in_scope(s.conn, alert_id, health_centre_id=None)
            context = _shared(request, caller, s.conn, programme) | {
                "a": changed or alert,
                "filters": filters,
                "handovers": care_team.handovers(s.conn, [alert_id]),
            }
            # The list's count goes along, out of band: a resolved alert no longer counts.
            context["open_count"] = len(
                alerts.worklist(
                    s.conn,
                    health_centre_id=centre_of(caller, s.conn).id,
                    patient_ids=care_access.visible_patients(caller, s) or [],
                    states=["open", "acknowledged"],
                    limit=WORKLIST_LIMIT,
                )
            )
            template = "_alert_done.html"
        else:
            context, tz = worklist_context(request, caller, s, programme, filters)
            template = "worklist.html"
    context["message"] = message
    return render(request, template, context, me=caller.principal, tz=tz)


def _rejected(
    request: Request,
    caller: Caller,
    s: Session,
    alert: alerts.AlertDetail,
    *,
    form: dict[str, str],
    errors: list[FieldError],
) -> Rejected:
    """The alert's resolve form again, open, as it was filled in, each error beside its field:
    for htmx the alert's card alone, otherwise the whole worklist."""
    lang = language(request)
    t = CATALOGUE[lang]
    programme: RuleSet = request.app.state.programme
    tz = centre_of(caller, s.conn).timezone
    fmt = Formatter(lang, ZoneInfo(tz), caller.now())
    shown = form_errors.messages(errors, {}, fmt, t)
    failed = {
        "id": alert.id,
        "errors": shown,
        "outcome": form.get("outcome", ""),
        "note": form.get("note", ""),
    }
    filters = filters_from(form)
    headers = None
    if is_htmx(request):
        context = _shared(request, caller, s.conn, programme) | {"a": alert, "filters": filters}
        template = "_alert_refused.html"
        # The resolve form targets the list; refused, only its card comes back, in place.
        headers = {"HX-Retarget": f"#alert-{alert.id}", "HX-Reswap": "outerHTML"}
    else:
        context, tz = worklist_context(request, caller, s, programme, filters)
        template = "worklist.html"
    return rejected(
        request,
        template,
        context | {"failed": failed},
        errors=shown,
        me=caller.principal,
        tz=tz,
        headers=headers,
    )


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge(request: Request, alert_id: UUID, caller: Nurse, form: Form) -> Response:
    return _act(request, caller, alert_id, "acknowledge", form)


@router.post("/alerts/{alert_id}/assign")
def assign(request: Request, alert_id: UUID, caller: Nurse, form: Form) -> Response:
    return _act(request, caller, alert_id, "assign", form)


@router.post("/alerts/{alert_id}/resolve")
def resolve(request: Request, alert_id: UUID, caller: Nurse, form: Form) -> Response:
    return _act(request, caller, alert_id, "resolve", form)
