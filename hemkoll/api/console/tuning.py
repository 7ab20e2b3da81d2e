"""Threshold tuning: a patient's effective rules and their history (nurses and clinicians), and,
for clinicians, editing one rule, its backtest over the last ``BACKTEST_DAYS`` days on the
chart before saving, and saving it with a reason (a new version of the patient's overrides).

The same rules as the API's threshold routes: validation by ``change_patient_overrides`` and
``proposed_rules``, the backtest by ``what_if``, one "thresholds" audit row per request.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse

from hemkoll.alerts.configuration import RuleConfigError, change_patient_overrides, effective_for
from hemkoll.alerts.what_if import proposed_rules, what_if
from hemkoll.api.access import CLINICIANS, NURSES, Caller, Session
from hemkoll.api.console import backtest_view, proposal
from hemkoll.api.console.auth import Form, signed_in
from hemkoll.api.console.i18n import CATALOGUE, Formatter
from hemkoll.api.console.patient import patient_or_404
from hemkoll.api.console.patient_charts import METRICS, by_metric, local_days
from hemkoll.api.console.rules_view import find, rule_label, rule_summary, unit
from hemkoll.api.console.web import PREFIX, ConsoleRoute, is_htmx, language, render
from hemkoll.api.console.worklist import centre_of
from hemkoll.api.problems import invalid, not_found
from hemkoll.rules.config import ChangeRule, PlainRule, RuleSet, ThresholdRule, TrendRule
from hemkoll.rules.overrides import OverrideLayer, effective_rules
from hemkoll.store import alerts, readings_query, rule_overrides, staff
from hemkoll.store.patients import PatientRecord

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
Nurse = Annotated[Caller, Depends(signed_in(*NURSES))]
Clinician = Annotated[Caller, Depends(signed_in(*CLINICIANS))]

# The question: what would have fired over the last 90 days.
BACKTEST_DAYS = 90
MAX_REASON = 2000


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


def _field_unit(rule: PlainRule | None) -> str:
    """The unit of the edited rule's fields (thresholds, changes and trends: the metric's)."""
    if isinstance(rule, (ThresholdRule, ChangeRule, TrendRule)):
        return unit(rule.metric)
    return ""


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
    editing = None
    if rule_id is not None and caller.principal.role == "clinician":
        editing = find(rule_set, rule_id)
        if editing is None:
            raise not_found("rule", rule_id)
    return {
        "patient": patient,
        "rules": [
            (rule, rule_label(rule, rule.id, t), rule_summary(rule, fmt, t), rule.id in overridden)
            for rule in rule_set.rules
        ],
        "editing": editing,
        "editing_label": rule_label(editing, editing.id, t) if editing else "",
        "field_unit": _field_unit(editing),
        "fields": proposal.fields_for(editing) if editing else (),
        "values": proposal.form_values(editing) if editing else {},
        "history": [
            (change, _changed_rules(change.layer, change.previous_layer))
            for change in rule_overrides.history(s.conn, patient.id)
        ],
        "names": _names(s, caller),
        "preview": None,
        "section": "patients",
        "backtest_days": BACKTEST_DAYS,
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
        patient = patient_or_404(caller, s.conn, patient_id)
        context = _page(request, caller, s, patient, rule)
        centre_tz = centre_of(caller, s.conn).timezone
        _record(s, patient)
    context["saved"] = saved
    return render(request, "thresholds.html", context, me=caller.principal, tz=centre_tz)


def _proposal(
    request: Request, caller: Caller, s: Session, patient: PatientRecord, form: dict[str, str]
) -> tuple[PlainRule, OverrideLayer]:
    """The edited rule (as it is beneath the patient's layer) and the layer the form makes."""
    programme: RuleSet = request.app.state.programme
    centre, current = _layers(s, patient.id)
    rule_id = form.get("rule", "")
    base = find(effective_rules(programme, *centre), rule_id)
    if base is None:
        raise invalid(f"rule: no rule {rule_id!r} to change")
    try:
        override = proposal.edit(base, form)
    except proposal.EditError as exc:
        raise invalid(str(exc)) from exc
    source = f"patient:{patient.reference} ({caller.principal.name})"
    note = form.get("reason", "").strip() or None
    return base, proposal.layer_with(current, rule_id, override, source=source, note=note)


@router.post("/patients/{patient_id}/thresholds/preview")
def preview(request: Request, patient_id: UUID, caller: Clinician, form: Form) -> Response:
    programme: RuleSet = request.app.state.programme
    now = caller.now()
    with caller.session() as s:
        patient = patient_or_404(caller, s.conn, patient_id)
        base, layer = _proposal(request, caller, s, patient, form)
        try:
            proposed = proposed_rules(s.conn, programme, patient_id, layer)
            report = what_if(
                s.conn, programme, patient_id, proposed=proposed, days=BACKTEST_DAYS, until=now
            )
        except RuleConfigError as exc:
            raise invalid(f"overrides: {exc}") from exc
        tz = ZoneInfo(patient.timezone)
        days = local_days(now.astimezone(tz).date(), BACKTEST_DAYS)
        fired = alerts.patient_alerts(
            s.conn, patient_id, since=report.since, until=now + timedelta(days=1)
        )
        try:
            rows = readings_query.daily_readings(
                s.conn,
                patient_id,
                metrics=METRICS,
                since=days[0],
                until=days[-1] + timedelta(days=1),
                tz=patient.timezone,
            )
        except ValueError as exc:  # a time zone the hourly rollup cannot fold into days
            raise invalid(str(exc)) from exc
        centre_tz = centre_of(caller, s.conn).timezone
        context = _page(request, caller, s, patient, base.id) if not is_htmx(request) else {}
        _record(s, patient)
    lang = language(request)
    t = CATALOGUE[lang]
    fmt = Formatter(lang, ZoneInfo(centre_tz), now)
    view = backtest_view.build(report, base.id, fired, by_metric(rows), days, tz=tz, fmt=fmt, t=t)
    context |= {
        "patient": patient,
        "preview": view,
        "carried": proposal.proposal_fields(base, form),
        "proposal_label": rule_label(base, base.id, t),
        "now": now,
        "values": {**context.get("values", {}), **form},
        "backtest_days": BACKTEST_DAYS,
        "is_fragment": is_htmx(request),
    }
    template = "_preview.html" if is_htmx(request) else "thresholds.html"
    return render(request, template, context, me=caller.principal, tz=centre_tz)


@router.post("/patients/{patient_id}/thresholds", status_code=303)
def save(request: Request, patient_id: UUID, caller: Clinician, form: Form) -> Response:
    programme: RuleSet = request.app.state.programme
    reason = form.get("reason", "").strip()
    with caller.session() as s:
        patient = patient_or_404(caller, s.conn, patient_id)
        if not reason or len(reason) > MAX_REASON:
            raise invalid(f"reason: a change needs a reason (1-{MAX_REASON} characters)")
        _, layer = _proposal(request, caller, s, patient, form)
        try:
            version = change_patient_overrides(
                s.conn,
                programme,
                patient_id,
                layer,
                changed_by=caller.principal.actor,
                reason=reason,
            )
        except RuleConfigError as exc:
            raise invalid(f"overrides: {exc}") from exc
        _record(s, patient)
    return RedirectResponse(
        f"{PREFIX}/patients/{patient_id}/thresholds?saved={version}#history", status_code=303
    )
