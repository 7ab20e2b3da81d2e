"""Threshold tuning: a patient's effective rules and their history (nurses and clinicians), and,
for clinicians, editing one rule, its backtest over the last ``BACKTEST_DAYS`` days (or the
period of the optional from/to dates) on the chart before saving, and saving it with a reason
(a new version of the patient's overrides).

The same rules as the API's threshold routes: validation by ``change_patient_overrides`` and
``proposed_rules``, the backtest by ``what_if``, one "thresholds" audit row per request. Before
them, ``proposal.check`` finds what is wrong with the form, field by field: a preview or a save
it refuses answers 422 with the form again as it was typed and each message beside its field
(for htmx, the edit form alone, swapped in place of the one posted). Anything refused later is
logged by its codes and shown as one message beside the form, never in a library's words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse

from hemkoll.alerts.backtest_period import MAX_SPAN, PeriodError, resolve_period
from hemkoll.alerts.configuration import RuleConfigError, change_patient_overrides, effective_for
from hemkoll.alerts.what_if import proposed_rules, what_if
from hemkoll.api.access import CLINICIANS, NURSES, Caller, Session
from hemkoll.api.console import backtest_view, form_errors, index_chart, proposal
from hemkoll.api.console.auth import Form, signed_in
from hemkoll.api.console.form_errors import FORM, FieldError
from hemkoll.api.console.i18n import CATALOGUE, Formatter
from hemkoll.api.console.patient import patient_or_404
from hemkoll.api.console.patient_charts import METRICS, by_metric, local_days
from hemkoll.api.console.rules_view import (
    Catalogue,
    find,
    rule_description,
    rule_label,
    rule_summary,
    unit,
)
from hemkoll.api.console.web import (
    PREFIX,
    ConsoleRoute,
    Rejected,
    is_htmx,
    language,
    rejected,
    render,
)
from hemkoll.api.console.worklist import centre_of
from hemkoll.api.problems import invalid, not_found
from hemkoll.rules.config import (
    ChangeRule,
    IndexRule,
    PlainRule,
    RuleSet,
    ThresholdRule,
    TrendRule,
)
from hemkoll.rules.overrides import OverrideLayer, effective_rules
from hemkoll.store import alerts, readings_query, rule_overrides, staff
from hemkoll.store.patients import PatientRecord

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
Nurse = Annotated[Caller, Depends(signed_in(*NURSES))]
Clinician = Annotated[Caller, Depends(signed_in(*CLINICIANS))]

# The question: what would have fired over the last 90 days.
BACKTEST_DAYS = 90
MAX_REASON = 2000
# The optional period of the preview (dates of the patient's zone), beside the rule's fields.
PERIOD_FIELDS = ("backtest_from", "backtest_until")
_PERIOD_CODES = {"until": "period_future", "since": "period_order", "days": "period_order"}


def _record(s: Session, patient: PatientRecord) -> None:
    s.record(
        "thresholds", patient.id, patient_id=patient.id, health_centre_id=patient.health_centre_id
    )


def _layers(s: Session, patient_id: UUID) -> tuple[list[OverrideLayer], OverrideLayer | None]:
    """The centre's newest layer (if any) and the patient's (if any)."""
    versions = rule_overrides.current_overrides(s.conn, patient_id)
    layers = {v.scope: OverrideLayer.model_validate(v.layer) for v in versions}
    centre = [layers["health_centre"]] if "health_centre" in layers else []
    return centre, layers.get("patient")


def _names(s: Session, caller: Caller) -> dict[str, str]:
    members = staff.list_staff(s.conn, health_centre_id=caller.scope)
    return {f"staff:{m.id}": m.name for m in members}


def _changed_rules(layer: dict[str, Any], previous: dict[str, Any] | None) -> list[str]:
    def by_id(data: dict[str, Any] | None) -> dict[str, Any]:
        return {o["id"]: o for o in (data or {}).get("overrides", [])}

    now, before = by_id(layer), by_id(previous)
    return sorted(k for k in now.keys() | before.keys() if now.get(k) != before.get(k))


@dataclass(frozen=True)
class _RuleRow:
    """A line of the rules table: the rule (its id only for URLs and element ids), its name,
    levels and what it does in words, and the reasons people gave for changing it."""

    rule: PlainRule
    name: str
    summary: str
    description: str
    overridden: bool
    reasons: tuple[str, ...]


def _reasons(
    versions: list[rule_overrides.OverridesVersion], t: Catalogue
) -> dict[str, tuple[str, ...]]:
    """Per rule, the notes of the centre's and the patient's overrides, labelled as theirs."""
    found: dict[str, list[str]] = {}
    for scope, key in (("health_centre", "centre_reason"), ("patient", "own_reason")):
        layer = next((v.layer for v in versions if v.scope == scope), {})
        for o in layer.get("overrides", []):
            if o.get("note"):
                found.setdefault(o["id"], []).append(t[key].format(note=o["note"]))
    return {rule_id: tuple(notes) for rule_id, notes in found.items()}


def _field_unit(rule: PlainRule | None, t: Catalogue) -> str:
    """The unit of the edited rule's fields (thresholds, changes and trends: the metric's)."""
    if isinstance(rule, (ThresholdRule, ChangeRule, TrendRule)):
        return unit(rule.metric, t)
    return ""


def _units(rule: PlainRule, t: Catalogue) -> dict[str, str]:
    """Each field's unit, for the messages beside it (days, hours and scores go without)."""
    metric_unit = _field_unit(rule, t)
    return {s.name: metric_unit for s in proposal.fields_for(rule) if s.in_metric_unit}


def _page(
    request: Request, caller: Caller, s: Session, patient: PatientRecord, rule_id: str | None
) -> dict[str, Any]:
    programme: RuleSet = request.app.state.programme
    t = CATALOGUE[language(request)]
    fmt = Formatter(language(request), ZoneInfo(patient.timezone), caller.now())
    versions = rule_overrides.current_overrides(s.conn, patient.id)
    rule_set = effective_for(programme, versions)
    patient_layer = next((v.layer for v in versions if v.scope == "patient"), {})
    overridden = {o["id"] for o in patient_layer.get("overrides", [])}
    # What people wrote when they changed a rule, as theirs; never the programme's own notes.
    reasons = _reasons(versions, t)
    editing = None
    if rule_id is not None and caller.principal.role == "clinician":
        editing = find(rule_set, rule_id)
        if editing is None:
            raise not_found("rule", rule_id)
    return {
        "patient": patient,
        "rules": [
            _RuleRow(
                rule,
                rule_label(rule, rule.id, t),
                rule_summary(rule, fmt, t, rule_set),
                rule_description(rule, fmt, t, rule_set),
                rule.id in overridden,
                reasons.get(rule.id, ()),
            )
            for rule in rule_set.rules
        ],
        "editing": editing,
        "editing_label": rule_label(editing, editing.id, t) if editing else "",
        "field_unit": _field_unit(editing, t),
        "fields": proposal.fields_for(editing) if editing else (),
        "values": proposal.form_values(editing) if editing else {},
        "errors": {},
        "error_focus": None,
        "history": [
            (
                change,
                [
                    rule_label(find(rule_set, rule_id), rule_id, t)
                    for rule_id in _changed_rules(change.layer, change.previous_layer)
                ],
            )
            for change in rule_overrides.history(s.conn, patient.id)
        ],
        "names": _names(s, caller),
        "preview": None,
        "section": "patients",
        "backtest_days": BACKTEST_DAYS,
        "max_reason": MAX_REASON,
        "is_fragment": False,
    }


@router.get("/patients/{patient_id}/thresholds")
def thresholds_page(
    request: Request,
    patient_id: UUID,
    caller: Nurse,
    rule: Annotated[str | None, Query(max_length=64)] = None,
    saved: Annotated[int | None, Query()] = None,
) -> Response:
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id)
        context = _page(request, caller, s, patient, rule)
        centre_tz = centre_of(caller, s.conn).timezone
        _record(s, patient)
    context["saved"] = saved
    return render(request, "thresholds.html", context, me=caller.principal, tz=centre_tz)


@dataclass(frozen=True)
class _Edit:
    """A posted edit of one rule: by whom, of which patient's rule, and the form as typed."""

    request: Request
    caller: Caller
    s: Session
    patient: PatientRecord
    # The rule as it is beneath the patient's layer, and the patient's layer.
    base: PlainRule
    current: OverrideLayer | None
    form: dict[str, str]
    centre_tz: str


def _edit(
    request: Request, caller: Caller, s: Session, patient_id: UUID, form: dict[str, str]
) -> _Edit:
    programme: RuleSet = request.app.state.programme
    patient = patient_or_404(caller, s, patient_id, own=True)
    centre_tz = centre_of(caller, s.conn).timezone
    centre, current = _layers(s, patient.id)
    rule_id = form.get("rule", "")
    base = find(effective_rules(programme, *centre), rule_id)
    if base is None:  # not a form the console showed
        raise invalid(f"rule: no rule {rule_id!r} to change")
    return _Edit(request, caller, s, patient, base, current, form, centre_tz)


def _layer(e: _Edit) -> OverrideLayer:
    """The patient's layer the form makes (its values checked already)."""
    override = proposal.edit(e.base, e.form)
    source = f"patient:{e.patient.reference} ({e.caller.principal.name})"
    note = e.form.get("reason", "").strip() or None
    return proposal.layer_with(e.current, e.base.id, override, source=source, note=note)


def period_errors(form: dict[str, str], tz: ZoneInfo, now: datetime) -> list[FieldError]:
    """What is wrong with the preview's from/to dates, beside the field at fault."""
    errors: list[FieldError] = []
    typed: dict[str, date] = {}
    example = now.astimezone(tz).date().isoformat()
    for name in PERIOD_FIELDS:
        text = form.get(name, "").strip()
        if text:
            try:
                typed[name] = date.fromisoformat(text)
            except ValueError:
                errors.append(FieldError(name, "date", values={"example": example}))
    if errors:
        return errors
    since, until = typed.get("backtest_from"), typed.get("backtest_until")
    try:
        resolve_period(since=since, until=until, days=None, now=now, tz=tz)
    except PeriodError as exc:
        name = "backtest_until" if exc.field == "until" else "backtest_from"
        if "at most" in exc.message:
            return [FieldError(name, "period_too_long", values={"n": MAX_SPAN.days})]
        return [FieldError(name, _PERIOD_CODES[exc.field])]
    return []


def _period(form: dict[str, str]) -> tuple[date | None, date | None]:
    """The from/to dates of a form ``period_errors`` accepted (empty: the default)."""
    since, until = (form.get(name, "").strip() for name in PERIOD_FIELDS)
    return (
        date.fromisoformat(since) if since else None,
        date.fromisoformat(until) if until else None,
    )


def _backtest(e: _Edit, layer: OverrideLayer, now: datetime) -> dict[str, Any]:
    """The proposal's backtest and its save form; RuleConfigError if the layer is refused."""
    programme: RuleSet = e.request.app.state.programme
    patient, conn = e.patient, e.s.conn
    proposed = proposed_rules(conn, programme, patient.id, layer)
    since, until = _period(e.form)
    report = what_if(
        conn,
        programme,
        patient.id,
        proposed=proposed,
        now=now,
        since=since,
        until=until,
        days=None if since else BACKTEST_DAYS,
    )
    tz = ZoneInfo(patient.timezone)
    first = report.since.astimezone(tz).date()
    last = (report.until - timedelta(microseconds=1)).astimezone(tz).date()
    days = local_days(last, (last - first).days + 1)
    fired = alerts.patient_alerts(
        conn, patient.id, since=report.since, until=report.until + timedelta(days=1)
    )
    try:
        rows = readings_query.daily_readings(
            conn,
            patient.id,
            metrics=METRICS,
            since=days[0],
            until=days[-1] + timedelta(days=1),
            tz=patient.timezone,
        )
    except ValueError as exc:  # a time zone the hourly rollup cannot fold into days
        raise invalid(str(exc)) from exc
    lang = language(e.request)
    t = CATALOGUE[lang]
    fmt = Formatter(lang, ZoneInfo(e.centre_tz), now)
    # A change of the index: its score day by day under the proposed levels, drawn with them.
    proposed_rule = find(proposed, e.base.id)
    index = (
        index_chart.load(
            conn, patient.id, [proposed_rule], first_day=days[0], tz=tz, now=report.until
        )[0]
        if isinstance(proposed_rule, IndexRule)
        else None
    )
    view = backtest_view.build(
        report, e.base.id, fired, by_metric(rows), days, tz=tz, fmt=fmt, t=t, index=index
    )
    period_text = (
        fmt.count("last_n_days", BACKTEST_DAYS)
        if since is None and until is None
        else t["backtest_between"].format(first=fmt.short_date(first), last=fmt.short_date(last))
    )
    return {
        "preview": view,
        "period_text": period_text,
        "carried": proposal.proposal_fields(e.base, e.form) | _period_typed(e),
        "proposal_label": rule_label(e.base, e.base.id, t),
        "now": now,
    }


def _period_typed(e: _Edit) -> dict[str, str]:
    return {name: e.form.get(name, "").strip() for name in PERIOD_FIELDS}


def _typed(e: _Edit) -> dict[str, str]:
    """The form's values as typed, to show again (an unticked box is absent from a form)."""
    return {
        **proposal.proposal_fields(e.base, e.form),
        **_period_typed(e),
        "reason": e.form.get("reason", ""),
    }


def _rejected(
    e: _Edit, errors: list[FieldError], backtest: dict[str, Any] | None = None
) -> Rejected:
    """The form again as typed, each error beside its field: for htmx the edit form alone (in
    place of the one posted, the stale preview cleared), otherwise the whole page."""
    lang = language(e.request)
    t = CATALOGUE[lang]
    fmt = Formatter(lang, ZoneInfo(e.centre_tz), e.caller.now())
    shown = form_errors.messages(errors, _units(e.base, t), fmt, t)
    order = [FORM, *(spec.name for spec in proposal.fields_for(e.base)), *PERIOD_FIELDS, "reason"]
    context = _page(e.request, e.caller, e.s, e.patient, e.base.id) | (backtest or {})
    context |= {"values": _typed(e), "error_focus": next((n for n in order if n in shown), None)}
    _record(e.s, e.patient)
    fragment = is_htmx(e.request) and backtest is None
    return rejected(
        e.request,
        "_edit.html" if fragment else "thresholds.html",
        context | {"is_fragment": fragment},
        errors=shown,
        me=e.caller.principal,
        tz=e.centre_tz,
        headers={"HX-Retarget": "#edit", "HX-Reswap": "outerHTML"} if fragment else None,
    )


@router.post("/patients/{patient_id}/thresholds/preview")
def preview(request: Request, patient_id: UUID, caller: Clinician, form: Form) -> Response:
    now = caller.now()
    with caller.session() as s:
        e = _edit(request, caller, s, patient_id, form)
        errors = proposal.check(e.base, form)
        errors += period_errors(form, ZoneInfo(e.patient.timezone), now)
        if errors:
            raise _rejected(e, errors)
        try:
            backtest = _backtest(e, _layer(e), now)
        except RuleConfigError as exc:
            raise _rejected(e, [proposal.unexpected("the preview", exc)]) from exc
        # For htmx too: the edit form comes along, without the errors it may have shown.
        context = _page(request, caller, s, e.patient, e.base.id)
        _record(s, e.patient)
    context |= backtest | {
        "patient": e.patient,
        "values": _typed(e),
        "errors": {},
        "error_focus": None,
        "backtest_days": BACKTEST_DAYS,
        "max_reason": MAX_REASON,
        "is_fragment": is_htmx(request),
    }
    template = "_preview.html" if is_htmx(request) else "thresholds.html"
    return render(request, template, context, me=caller.principal, tz=e.centre_tz)


def _reason_errors(reason: str) -> list[FieldError]:
    if not reason:
        return [FieldError("reason", "reason_required")]
    if len(reason) > MAX_REASON:
        return [FieldError("reason", "too_long", values={"n": MAX_REASON})]
    return []


@router.post("/patients/{patient_id}/thresholds", status_code=303)
def save(request: Request, patient_id: UUID, caller: Clinician, form: Form) -> Response:
    programme: RuleSet = request.app.state.programme
    reason = form.get("reason", "").strip()
    with caller.session() as s:
        e = _edit(request, caller, s, patient_id, form)
        errors = proposal.check(e.base, form)
        errors += period_errors(form, ZoneInfo(e.patient.timezone), caller.now())
        if errors:  # values changed since the preview (or never previewed)
            raise _rejected(e, errors)
        layer = _layer(e)
        try:
            if errors := _reason_errors(reason):  # the preview again, the error beside the reason
                raise _rejected(e, errors, _backtest(e, layer, caller.now()))
            version = change_patient_overrides(
                s.conn,
                programme,
                patient_id,
                layer,
                changed_by=caller.principal.actor,
                reason=reason,
            )
        except RuleConfigError as exc:
            raise _rejected(e, [proposal.unexpected("saving", exc)]) from exc
        _record(s, e.patient)
    return RedirectResponse(
        f"{PREFIX}/patients/{patient_id}/thresholds?saved={version}#history", status_code=303
    )
