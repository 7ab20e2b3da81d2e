"""A printable one-page summary of a patient's period, for the patient record.

``/console/patients/{id}/summary?from=YYYY-MM-DD&to=YYYY-MM-DD``, by default the last
``DEFAULT_DAYS`` days up to and including today (the patient's days): the patient's reference,
the period, per metric the readings' count, median, range and latest; the days weighed; the
alerts of the period (the rule in words, severity, when measured, opened and resolved, the
outcome); the contact log of the period; and the thresholds that are the patient's own (they
differ from the programme's). The page's print style sheet fits it on one A4 page for a
typical month without the console's navigation; the browser's print dialog saves it as a PDF
(there is no PDF engine on the server). A period that is not one comes back as typed with the
message beside the date at fault, 422. Nurses and clinicians of the patient's centre only;
the page records what it shows, as the patient page does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response

from hemkoll.alerts.configuration import effective_for
from hemkoll.api.access import NURSES, Caller
from hemkoll.api.console import form_errors
from hemkoll.api.console.auth import signed_in
from hemkoll.api.console.form_errors import FieldError
from hemkoll.api.console.i18n import CATALOGUE, Formatter
from hemkoll.api.console.patient_charts import METRICS, group_of
from hemkoll.api.console.rules_view import find, metric_label, rule_label, rule_summary, unit
from hemkoll.api.console.web import PREFIX, ConsoleRoute, language, rejected, render
from hemkoll.api.console.worklist import centre_of
from hemkoll.api.routes.patients import patient_or_404
from hemkoll.rules.config import RuleSet
from hemkoll.store import alerts, contact_log, period_summary, rule_overrides

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
Nurse = Annotated[Caller, Depends(signed_in(*NURSES))]
# About a month: the period a summary for the record usually covers.
DEFAULT_DAYS = 30
# A longer period no longer fits one page.
MAX_DAYS = 366
# The entries of a period the page lists at most.
MAX_CONTACTS = 200


@dataclass(frozen=True)
class MetricRow:
    label: str
    unit: str
    readings: int
    median: str
    lowest: str
    highest: str
    latest: str
    latest_at: datetime


@dataclass(frozen=True)
class OwnThreshold:
    rule: str
    now: str
    programme: str


def _metric_rows(
    stats: dict[str, period_summary.MetricStats], fmt: Formatter, t: Any
) -> list[MetricRow]:
    rows = []
    for metric in METRICS:
        found = stats.get(metric)
        if found is None:
            continue
        group = group_of(metric)
        decimals = group.decimals if group else 1
        rows.append(
            MetricRow(
                label=metric_label(metric, t),
                unit=unit(metric, t),
                readings=found.readings,
                median=fmt.number(found.median, decimals),
                lowest=fmt.number(found.lowest, decimals),
                highest=fmt.number(found.highest, decimals),
                latest=fmt.number(found.latest, decimals),
                latest_at=found.latest_at,
            )
        )
    return rows


def own_thresholds(
    programme: RuleSet, rule_set: RuleSet, fmt: Formatter, t: Any
) -> list[OwnThreshold]:
    """The rules of ``rule_set`` that differ from the programme's, as they read now and then."""
    rows = []
    for rule in rule_set.rules:
        default = find(programme, rule.id)
        if default == rule:
            continue
        label = rule_label(rule, rule.id, t)
        mine = rule_summary(rule, fmt, t, rule_set) if rule.enabled else t["summary_rule_off"]
        if default is None:
            theirs = t["summary_rule_new"]
        elif default.enabled:
            theirs = rule_summary(default, fmt, t, programme)
        else:
            theirs = t["summary_rule_off"]
        rows.append(OwnThreshold(label, mine, theirs))
    return rows


@router.get("/patients/{patient_id}/summary")
def summary_page(
    request: Request,
    patient_id: UUID,
    caller: Nurse,
    since: Annotated[str | None, Query(alias="from", max_length=32)] = None,
    until: Annotated[str | None, Query(alias="to", max_length=32)] = None,
) -> Response:
    programme: RuleSet = request.app.state.programme
    now = caller.now()
    lang = language(request)
    t = CATALOGUE[lang]
    errors: list[FieldError] = []
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id)
        centre = centre_of(caller, s.conn)
        centre_id = patient.health_centre_id
        tz = ZoneInfo(patient.timezone)
        fmt = Formatter(lang, tz, now)
        today = now.astimezone(tz).date()
        first, last = form_errors.day_period(
            form_errors.typed_day(since, "from", today, errors),
            form_errors.typed_day(until, "to", today, errors),
            today,
            errors,
            default_days=DEFAULT_DAYS,
            max_days=MAX_DAYS,
            last_field="to",
        )
        context: dict[str, Any] = {
            "patient": patient,
            "centre": centre,
            "section": "patients",
            "typed": {"from": since or "", "to": until or ""},
            "first": first,
            "last": last,
        }
        s.record("patient", patient_id, patient_id=patient_id, health_centre_id=centre_id)
        if errors:
            shown = form_errors.messages(errors, {}, fmt, t)
            raise rejected(
                request,
                "summary.html",
                context | {"summary": False},
                errors=shown,
                me=caller.principal,
                tz=patient.timezone,
            )
        start = datetime.combine(first, time(), tz)
        end = datetime.combine(last + timedelta(days=1), time(), tz)
        stats = period_summary.metric_stats(
            s.conn, patient_id, metrics=METRICS, since=start, until=end
        )
        # Whole days only, as the follow-up counts them: today is not over.
        weighed = period_summary.weighed_days(
            s.conn,
            patient_id,
            first_day=first,
            last_day=min(last, today - timedelta(days=1)),
            tz=patient.timezone,
        )
        shown_alerts = alerts.patient_alerts(s.conn, patient_id, since=start, until=end)
        contacts = contact_log.entries(
            s.conn, patient_id, since=start, until=end, limit=MAX_CONTACTS
        )
        rule_set = effective_for(programme, rule_overrides.current_overrides(s.conn, patient_id))
        s.record("readings", patient_id, patient_id=patient_id, health_centre_id=centre_id)
        s.record("thresholds", patient_id, patient_id=patient_id, health_centre_id=centre_id)
        s.record("contact_log", patient_id, patient_id=patient_id, health_centre_id=centre_id)
        for a in shown_alerts:
            s.record("alert", a.id, patient_id=patient_id, health_centre_id=centre_id)
    context |= {
        "summary": True,
        "days": (last - first).days + 1,
        "metrics": _metric_rows(stats, fmt, t),
        "weighed": weighed,
        "alerts": shown_alerts,
        "contacts": list(reversed(contacts)),
        "contacts_cut": len(contacts) == MAX_CONTACTS,
        "own": own_thresholds(programme, rule_set, fmt, t),
        "label": lambda rule_id: rule_label(find(rule_set, rule_id), rule_id, t),
        "printed_by": caller.principal.name,
        "errors": {},
    }
    return render(request, "summary.html", context, me=caller.principal, tz=patient.timezone)
