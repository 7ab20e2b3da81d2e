"""A patient's rules: effective thresholds, changes with a reason (clinicians), their history,
and what a proposed change would have flagged (backtest) before it is saved."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel, Field

from hemkoll.alerts.backtest_period import DEFAULT_DAYS, MAX_SPAN, PeriodError
from hemkoll.alerts.configuration import RuleConfigError, change_patient_overrides, effective_for
from hemkoll.alerts.what_if import alert_as_json, proposed_rules, what_if
from hemkoll.api.access import CLINICIANS, NURSES, Caller, allow
from hemkoll.api.models import Model
from hemkoll.api.problems import invalid
from hemkoll.api.routes import PREFIX
from hemkoll.api.routes.patients import patient_or_404
from hemkoll.rules.config import RuleSet
from hemkoll.rules.overrides import OverrideLayer
from hemkoll.store import rule_overrides
from hemkoll.store.connect import Conn

router = APIRouter(prefix=PREFIX, tags=["thresholds"])
Nurse = Annotated[Caller, Depends(allow(*NURSES))]
Clinician = Annotated[Caller, Depends(allow(*CLINICIANS))]


class Layer(BaseModel):
    scope: str
    version: int
    changed_by: str
    changed_at: datetime
    reason: str
    layer: dict[str, Any]


class Thresholds(BaseModel):
    programme: str
    effective: dict[str, Any] = Field(description="The rule set the rules worker applies.")
    layers: list[Layer] = Field(description="Centre then patient overrides, newest versions.")


class Change(Model):
    overrides: OverrideLayer = Field(description="The patient's whole new override layer.")
    reason: str = Field(min_length=1, max_length=2000)


class HistoryEntry(BaseModel):
    version: int
    changed_at: datetime
    changed_by: str
    reason: str
    layer: dict[str, Any]
    previous_layer: dict[str, Any] | None


class Proposal(Model):
    overrides: OverrideLayer
    since: AwareDatetime | date | None = Field(
        None,
        description="Start of the period: a time with its UTC offset, or a date (the start of "
        "that day in the patient's time zone). Default: `days` before `until`.",
    )
    until: AwareDatetime | date | None = Field(
        None,
        description="End of the period, not in the future: a time with its UTC offset, or a "
        "date (the end of that local day). Default: now.",
    )
    days: int | None = Field(
        None,
        ge=1,
        le=MAX_SPAN.days,
        description=f"Shorthand for `since`: the last days before `until` "
        f"(default {DEFAULT_DAYS}).",
    )


class BacktestOut(BaseModel):
    since: datetime
    until: datetime
    readings: int
    current_rules: str
    current: list[dict[str, Any]] = Field(description="Alerts the current rules raise.")
    proposed: list[dict[str, Any]] = Field(description="Alerts the proposal would have raised.")


def _programme(request: Request) -> RuleSet:
    programme: RuleSet = request.app.state.programme
    return programme


def _thresholds(conn: Conn, programme: RuleSet, patient_id: UUID) -> Thresholds:
    versions = rule_overrides.current_overrides(conn, patient_id)
    return Thresholds(
        programme=programme.name,
        effective=effective_for(programme, versions).model_dump(mode="json"),
        layers=[
            Layer(
                scope=v.scope,
                version=v.version,
                changed_by=v.changed_by,
                changed_at=v.changed_at,
                reason=v.reason,
                layer=v.layer,
            )
            for v in versions
        ],
    )


@router.get("/patients/{patient_id}/thresholds", summary="The patient's effective rules")
def get_thresholds(patient_id: UUID, caller: Nurse, request: Request) -> Thresholds:
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id)
        s.record(
            "thresholds",
            patient_id,
            patient_id=patient_id,
            health_centre_id=patient.health_centre_id,
        )
        return _thresholds(s.conn, _programme(request), patient_id)


@router.put(
    "/patients/{patient_id}/thresholds",
    summary="Replace the patient's overrides (a new version, with a reason)",
)
def put_thresholds(
    patient_id: UUID, body: Change, caller: Clinician, request: Request
) -> Thresholds:
    programme = _programme(request)
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id, own=True)
        try:
            change_patient_overrides(
                s.conn,
                programme,
                patient_id,
                body.overrides,
                changed_by=caller.principal.actor,
                reason=body.reason,
            )
        except RuleConfigError as exc:
            raise invalid(f"overrides: {exc}") from exc
        s.record(
            "thresholds",
            patient_id,
            patient_id=patient_id,
            health_centre_id=patient.health_centre_id,
        )
        return _thresholds(s.conn, programme, patient_id)


@router.get("/patients/{patient_id}/thresholds/history", summary="Every change, with its reason")
def history(patient_id: UUID, caller: Nurse) -> list[HistoryEntry]:
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id)
        changes = rule_overrides.history(s.conn, patient_id)
        s.record(
            "thresholds",
            patient_id,
            patient_id=patient_id,
            health_centre_id=patient.health_centre_id,
        )
    return [
        HistoryEntry(
            version=c.version,
            changed_at=c.changed_at,
            changed_by=c.changed_by,
            reason=c.reason,
            layer=c.layer,
            previous_layer=c.previous_layer,
        )
        for c in changes
    ]


@router.post(
    "/patients/{patient_id}/thresholds/backtest",
    summary="What a proposed change would have flagged over a period (since/until, or the last "
    "days), beside what the current rules flag",
)
def backtest(patient_id: UUID, body: Proposal, caller: Clinician, request: Request) -> BacktestOut:
    programme = _programme(request)
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id)
        try:
            proposed = proposed_rules(s.conn, programme, patient_id, body.overrides)
            report = what_if(
                s.conn,
                programme,
                patient_id,
                proposed=proposed,
                now=caller.now(),
                since=body.since,
                until=body.until,
                days=body.days,
            )
        except RuleConfigError as exc:
            raise invalid(f"overrides: {exc}") from exc
        except PeriodError as exc:
            raise invalid(
                f"body.{exc.field}: {exc.message}",
                errors=[{"location": ["body", exc.field], "message": exc.message}],
            ) from exc
        s.record(
            "thresholds",
            patient_id,
            patient_id=patient_id,
            health_centre_id=patient.health_centre_id,
        )
    return BacktestOut(
        since=report.since,
        until=report.until,
        readings=report.readings,
        current_rules=report.current.name,
        current=[alert_as_json(a) for a in report.current_alerts],
        proposed=[alert_as_json(a) for a in report.proposed_alerts],
    )
