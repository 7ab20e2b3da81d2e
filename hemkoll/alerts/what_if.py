"""What a rule change would have flagged: a backtest over one patient's stored readings.

The clinician's question before saving a change: over a period (``since``/``until``, or the
last ``days``; ``backtest_period``), which alerts do the current rules raise, and which would
the proposed ones have raised? Both run through the same pure ``backtest`` (the live worker's
steps, with a nurse resolving each alert as ``backtest`` says) on the same readings and the
patient's hospital stays, with the history each rule needs before the period starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from hemkoll.alerts.backtest_period import Bound, resolve_period
from hemkoll.alerts.configuration import RuleConfigError, effective_for
from hemkoll.rules.backtest import BacktestAlert, backtest
from hemkoll.rules.config import RuleSet
from hemkoll.rules.engine import required_history
from hemkoll.rules.overrides import OverrideLayer, effective_rules
from hemkoll.rules.series import series_from_rows
from hemkoll.rules.stays import DISCHARGE_GRACE
from hemkoll.store import hospital_stays, patients, rule_overrides
from hemkoll.store.connect import Conn
from hemkoll.store.readings import readings_between


@dataclass(frozen=True)
class WhatIf:
    since: datetime
    until: datetime
    readings: int
    current: RuleSet
    current_alerts: tuple[BacktestAlert, ...]
    proposed: RuleSet | None
    proposed_alerts: tuple[BacktestAlert, ...]


def proposed_rules(
    conn: Conn, programme: RuleSet, patient_id: UUID, layer: OverrideLayer
) -> RuleSet:
    """The patient's rules if ``layer`` replaced their current overrides (validated)."""
    centre = [
        OverrideLayer.model_validate(version.layer)
        for version in rule_overrides.current_overrides(conn, patient_id)
        if version.scope == "health_centre"
    ]
    try:
        combined = effective_rules(programme, *centre, layer)
    except (ValueError, ValidationError) as exc:
        raise RuleConfigError(str(exc)) from exc
    return RuleSet(
        name=f"{programme.name}; proposed ({layer.source})",
        rules=combined.rules,
        advice=combined.advice,
    )


def what_if(
    conn: Conn,
    programme: RuleSet,
    patient_id: UUID,
    *,
    proposed: RuleSet | None,
    now: datetime,
    since: Bound | None = None,
    until: Bound | None = None,
    days: int | None = None,
) -> WhatIf:
    """Raises ``PeriodError`` (naming the field) for a period that cannot be used."""
    patient = patients.patient(conn, patient_id)
    if patient is None:
        raise RuleConfigError(f"no patient {patient_id}")
    tz = ZoneInfo(patient.timezone)
    period = resolve_period(since=since, until=until, days=days, now=now, tz=tz)
    current = effective_for(programme, rule_overrides.current_overrides(conn, patient_id))
    history = max(required_history(r) for r in (current, proposed) if r is not None)
    rows = readings_between(conn, patient_id, period.since - history, period.until)
    series = series_from_rows(rows)
    # Her hospital stays, as the live worker reads them: the backtest is silent where it was.
    stays = hospital_stays.stays_of_patients(
        conn, [patient_id], period.since - history, period.until, grace=DISCHARGE_GRACE
    ).get(patient_id, [])

    def shown(rule_set: RuleSet) -> tuple[BacktestAlert, ...]:
        return tuple(
            a
            for a in backtest(rule_set, series, tz=tz, until=period.until, stays=stays)
            if a.opened_at >= period.since
        )

    return WhatIf(
        since=period.since,
        until=period.until,
        readings=len(rows),
        current=current,
        current_alerts=shown(current),
        proposed=proposed,
        proposed_alerts=() if proposed is None else shown(proposed),
    )


def alert_as_json(alert: BacktestAlert) -> dict[str, Any]:
    """One backtest alert as the CLI and the API show it."""
    return {
        "rule_id": alert.rule_id,
        "opened_at": alert.opened_at.isoformat(),
        "severity": alert.severity,
        "final_severity": alert.final_severity,
        "resolved_at": None if alert.resolved_at is None else alert.resolved_at.isoformat(),
        "evidence": dict(alert.opening.evidence),
        "explanation_en": alert.opening.explanation_en,
        "explanation_sv": alert.opening.explanation_sv,
        # Other rules' findings of the same deterioration that joined it (one alert per
        # deterioration: hemkoll.rules.alerting), as its history would record them.
        "evidence_added": [
            {
                "rule_id": f.rule_id,
                "fired_at": f.fired_at.isoformat(),
                "severity": f.severity,
                "explanation_en": f.explanation_en,
                "explanation_sv": f.explanation_sv,
            }
            for f in alert.evidence_added
        ],
    }
