"""The patient app's pages of her own data: her values and trends over 7, 30 or 90 days
with her targets in words, and what became of each alert about her.

Every page reads only the signed-in patient's rows (her session names her; no route takes a
patient id) and records what it shows in the audit log, her session as the actor.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response

from hemkoll.alerts.configuration import effective_for
from hemkoll.api.console.i18n import CATALOGUE, Formatter
from hemkoll.api.console.patient_charts import (
    GROUPS,
    METRICS,
    PERIODS,
    alert_markers,
    by_metric,
    chart_rows,
    counted_days,
    group_chart,
    limit_lines,
    local_days,
)
from hemkoll.api.console.rules_view import find, limits_for, rule_label
from hemkoll.api.console.web import ConsoleRoute, language, render
from hemkoll.api.mitt.access import MITT, Patient, PatientCaller
from hemkoll.api.mitt.targets import targets, usual
from hemkoll.api.problems import invalid, not_found
from hemkoll.rules.config import RuleSet
from hemkoll.store import (
    alerts,
    care_messages,
    health_centres,
    patients,
    readings_query,
    rule_overrides,
)
from hemkoll.store.alerts import AlertDetail
from hemkoll.store.connect import Conn
from hemkoll.store.patients import PatientRecord

router = APIRouter(prefix=MITT, route_class=ConsoleRoute, include_in_schema=False)
# Her alerts shown: those of the last 90 days and any still open.
ALERT_DAYS = 90


def her_record(caller: PatientCaller, conn: Conn) -> PatientRecord:
    found = patients.patient_in_scope(conn, caller.patient_id, health_centre_id=None)
    if found is None:  # her session was checked a moment ago; discharged since
        raise not_found("patient", caller.patient_id)
    return found


def alert_words(a: AlertDetail, t: Mapping[str, str], *, phone: str | None = None) -> str:
    """What happened to the alert, as the patient reads it; an open one says what its
    severity promises (red: contact now, else she calls, on ``phone``, the centre's number
    when it has one; yellow: the same day)."""
    if a.state == "resolved":
        return t["mitt_alert_resolved"].format(outcome=t[f"mitt_outcome_{a.outcome}"])
    if a.state == "acknowledged":
        return t["mitt_alert_acknowledged"]
    if a.severity != "red":
        return t["mitt_alert_open_yellow"]
    if phone:
        return t["mitt_alert_open_red_phone"].format(phone=phone)
    return t["mitt_alert_open_red"]


@router.get("/")
def home(request: Request, caller: Patient, days: Annotated[int, Query()] = 30) -> Response:
    if days not in PERIODS:
        raise invalid(f"days: one of {', '.join(map(str, PERIODS))}")
    programme: RuleSet = request.app.state.programme
    now = caller.now()
    with caller.session() as s:
        patient = her_record(caller, s.conn)
        tz = ZoneInfo(patient.timezone)
        today = now.astimezone(tz).date()
        day_list = local_days(today, days)
        fetched = local_days(today, max(days, 30))
        rows = readings_query.daily_readings(
            s.conn,
            caller.patient_id,
            metrics=METRICS,
            since=fetched[0],
            until=fetched[-1] + timedelta(days=1),
            tz=patient.timezone,
        )
        rule_set = effective_for(
            programme, rule_overrides.current_overrides(s.conn, caller.patient_id)
        )
        since = datetime.combine(today - timedelta(days=ALERT_DAYS), time(), tz)
        shown = alerts.patient_alerts(
            s.conn, caller.patient_id, since=since, until=now + timedelta(days=1)
        )
        messages = care_messages.for_patient(s.conn, caller.patient_id)
        centres = health_centres.list_centres(s.conn, health_centre_id=patient.health_centre_id)
        caller.record(s, "readings")
        caller.record(s, "thresholds")
        for a in shown:
            caller.record(s, "alert", a.id)
    lang = language(request)
    t = CATALOGUE[lang]
    fmt = Formatter(lang, tz, now)
    daily = by_metric(rows)
    past = [d for d in fetched if d < today]
    usual_values = {
        metric: value
        for metric in ("body_weight", "systolic_bp", "heart_rate")
        if (value := usual([daily[metric][d].mean for d in past if d in daily.get(metric, {})]))
        is not None
    }
    ended = patient.discharged_at.astimezone(tz).date() if patient.discharged_at else None
    counted = counted_days(
        day_list,
        monitored_from=patient.enrolled_at.astimezone(tz).date(),
        monitored_until=ended,
        today=today,
    )
    charts = [
        group_chart(
            group,
            day_list,
            daily,
            lines=limit_lines(limits_for(rule_set, group.metrics), t, fmt),
            markers=alert_markers(shown, rule_set, metrics=group.metrics, tz=tz, t=t, fmt=fmt),
            tracks=[("fired", t["track_fired"])],
            fmt=fmt,
            t=t,
            counted=counted,
        )
        for group in GROUPS
    ]
    phone = centres[0].phone if centres else None
    from_team = [m for m in messages if not m.from_patient]
    context = {
        "days": days,
        "periods": PERIODS,
        "targets": targets(rule_set, usual_values, t, fmt),
        "chart_rows": chart_rows(charts),
        "alerts": list(reversed(shown)),
        "alert_words": lambda a: alert_words(a, t, phone=phone),
        "label": lambda rule_id: rule_label(find(rule_set, rule_id), rule_id, t),
        "unread": sum(1 for m in from_team if m.read_at is None),
        "latest": from_team[-1] if from_team else None,
        "section": "home",
    }
    return render(request, "mitt_home.html", context, tz=patient.timezone, now=now)
