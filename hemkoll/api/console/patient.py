"""One patient's page (the centre's list is patient_list.py): charts of weight, blood
pressure, heart rate, SpO2 and symptoms over 7, 30 or 90 days with the patient's threshold
lines, alert markers and missing days; the alerts of the period with their evidence in words.

Nurses and clinicians, their own centre's patients only; the page records what it shows (the
readings, the thresholds, each alert), as the API's routes for the same data do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response

from hemkoll.alerts.configuration import effective_for
from hemkoll.api import care_access
from hemkoll.api.access import NURSES, Caller, Session
from hemkoll.api.console.auth import signed_in
from hemkoll.api.console.contact_log import log_context
from hemkoll.api.console.evidence import Evidence, evidence_view
from hemkoll.api.console.i18n import CATALOGUE, Formatter
from hemkoll.api.console.index_chart import index_rules, load, patient_view, suffix_of
from hemkoll.api.console.patient_charts import (
    GROUPS,
    METRICS,
    PERIODS,
    alert_first,
    alert_markers,
    by_metric,
    chart_rows,
    counted_days,
    group_chart,
    limit_lines,
    local_days,
)
from hemkoll.api.console.patient_side import patient_side_context
from hemkoll.api.console.rules_view import find, limits_for, rule_label, rule_metrics
from hemkoll.api.console.web import PREFIX, ConsoleRoute, language, render
from hemkoll.api.console.worklist import centre_of
from hemkoll.api.problems import invalid, not_found
from hemkoll.rules.config import RuleSet
from hemkoll.store import alert_actions, alerts, readings_query, rule_overrides, staff
from hemkoll.store.alert_actions import AlertEvent
from hemkoll.store.alerts import AlertDetail
from hemkoll.store.connect import Conn
from hemkoll.store.patients import PatientRecord

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
Nurse = Annotated[Caller, Depends(signed_in(*NURSES))]


def patient_or_404(
    caller: Caller, s: Session, patient_id: UUID, *, own: bool = False
) -> PatientRecord:
    """The patient, if the access decision lets the caller see her (404 otherwise); ``own``:
    only her own health centre (403 for another unit: care_access.patient_or_404)."""
    return care_access.patient_or_404(caller, s, patient_id, own=own)


def effective_rules(conn: Conn, programme: RuleSet, patient_id: UUID) -> RuleSet:
    return effective_for(programme, rule_overrides.current_overrides(conn, patient_id))


@router.get("/patients/{patient_id}")
def patient_page(
    request: Request,
    patient_id: UUID,
    caller: Nurse,
    days: Annotated[int, Query()] = 30,
    alert: Annotated[UUID | None, Query()] = None,
) -> Response:
    if days not in PERIODS:
        raise invalid(f"days: one of {', '.join(map(str, PERIODS))}")
    programme: RuleSet = request.app.state.programme
    now = caller.now()
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id)
        centre = centre_of(caller, s.conn)
        tz = ZoneInfo(patient.timezone)
        day_list = local_days(now.astimezone(tz).date(), days)
        try:
            rows = readings_query.daily_readings(
                s.conn,
                patient_id,
                metrics=METRICS,
                since=day_list[0],
                until=day_list[-1] + timedelta(days=1),
                tz=patient.timezone,
            )
        except ValueError as exc:
            raise invalid(str(exc)) from exc
        rule_set = effective_rules(s.conn, programme, patient_id)
        since = datetime.combine(day_list[0], time(), tz)
        shown = alerts.patient_alerts(
            s.conn, patient_id, since=since, until=now + timedelta(days=1)
        )
        focus, joined = _focus(s.conn, shown, alert, patient_id)
        # Her deterioration indexes over the days shown, whether or not they are on for her.
        rules = index_rules(rule_set)
        found_indexes = list(
            zip(
                rules,
                load(s.conn, patient_id, rules, first_day=day_list[0], tz=tz, now=now),
                strict=True,
            )
        )
        names = {m.id: m.name for m in staff.list_staff(s.conn, health_centre_id=caller.scope)}
        contacts = log_context(s.conn, patient, lang=language(request), now=now)
        own_side = patient_side_context(s, patient, by=caller.principal.staff_id)
        centre_id = patient.health_centre_id
        s.record("contact_log", patient_id, patient_id=patient_id, health_centre_id=centre_id)
        s.record("readings", patient_id, patient_id=patient_id, health_centre_id=centre_id)
        s.record("thresholds", patient_id, patient_id=patient_id, health_centre_id=centre_id)
        for a in {a.id: a for a in [*shown, *([focus] if focus else [])]}.values():
            s.record("alert", a.id, patient_id=patient_id, health_centre_id=centre_id)
    lang = language(request)
    t = CATALOGUE[lang]
    centre_tz = centre.timezone
    fmt = Formatter(lang, ZoneInfo(centre_tz), now)
    daily = by_metric(rows)

    def label(rule_id: str) -> str:
        return rule_label(find(rule_set, rule_id), rule_id, t)

    # The evidence's dates and times are the patient's, as the rules read them.
    patient_fmt = Formatter(lang, tz, now)

    def evidence(a: AlertDetail) -> Evidence:
        return evidence_view(
            a.rule_kind,
            a.evidence,
            explanation_sv=a.explanation_sv,
            explanation_en=a.explanation_en,
            fmt=patient_fmt,
            t=t,
            rule_name=label,
        )

    tracks = [("fired", t["track_fired"])]
    today = now.astimezone(tz).date()
    ended = patient.discharged_at.astimezone(tz).date() if patient.discharged_at else None
    counted = counted_days(
        day_list,
        monitored_from=patient.enrolled_at.astimezone(tz).date(),
        monitored_until=ended,
        today=today,
    )
    # The alert asked about: its metric's chart comes first.
    order = alert_first(GROUPS, rule_metrics(rule_set, focus.rule_id) if focus else ())
    charts = [
        group_chart(
            group,
            day_list,
            daily,
            lines=limit_lines(limits_for(rule_set, group.metrics), t, fmt),
            markers=alert_markers(shown, rule_set, metrics=group.metrics, tz=tz, t=t, fmt=fmt),
            tracks=tracks,
            fmt=fmt,
            t=t,
            counted=counted,
        )
        for group in order
    ]
    index_views = [
        patient_view(
            rule,
            found,
            day_list,
            fired=alert_markers(
                [a for a in shown if a.rule_id == rule.id],
                rule_set,
                metrics=rule.metrics,
                tz=tz,
                t=t,
                fmt=fmt,
            ),
            counted=counted,
            fmt=fmt,
            t=t,
            suffix=suffix_of(position, rule),
        )
        for position, (rule, found) in enumerate(found_indexes)
    ]
    context = {
        "patient": patient,
        "joined": [_joined_view(e, lang=lang, fmt=patient_fmt, label=label) for e in joined],
        "index_views": index_views,
        "days": days,
        "periods": PERIODS,
        "chart_rows": chart_rows(charts),
        "alerts": list(reversed(shown)),
        "focus": focus,
        "staff_names": names,
        "label": label,
        "evidence": evidence,
        "section": "patients",
        "now": now,
        **contacts,
        **own_side,
    }
    return render(request, "patient.html", context, me=caller.principal, tz=centre_tz, now=now)


def _focus(
    conn: Conn, shown: list[AlertDetail], alert: UUID | None, patient_id: UUID
) -> tuple[AlertDetail | None, list[AlertEvent]]:
    """The alert asked about (404 if it is not hers), and the other rules' findings that
    joined it (one alert per deterioration, hemkoll.rules.alerting): the events of its
    history that carry a rule."""
    focus = next((a for a in shown if a.id == alert), None)
    if alert is not None and focus is None:
        # Her alert (she is one the caller may see: patient_or_404 in the page).
        focus = alerts.alert_in_scope(conn, alert, health_centre_id=None)
        if focus is None or focus.patient_id != patient_id:
            raise not_found("alert", alert)
    if focus is None:
        return None, []
    return focus, [e for e in alert_actions.events(conn, focus.id) if "rule_id" in e.details]


def _joined_view(
    e: AlertEvent, *, lang: str, fmt: Formatter, label: Callable[[str], str]
) -> dict[str, str]:
    """One joined finding as the alert's page shows it: its rule, when, and its sentence."""
    fired_at = datetime.fromisoformat(str(e.details["fired_at"]))
    said = e.details.get("explanation_sv" if lang == "sv" else "explanation_en")
    return {
        "kind": e.kind,
        "severity": e.severity or "",
        "when": fmt.datetime(fired_at),
        "rule": label(str(e.details["rule_id"])),
        "sentence": str(said or ""),
    }
