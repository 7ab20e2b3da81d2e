"""Alerts: the health centre's worklist, one alert with its evidence and history, and the
nurse's actions on it (acknowledge, assign, comment, resolve with an outcome)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from hemkoll.alerts import nurse_actions
from hemkoll.api import care_access
from hemkoll.api.access import NURSES, Caller, Session, allow
from hemkoll.api.models import Model, Note, Page
from hemkoll.api.problems import conflict, forbidden, invalid, not_found
from hemkoll.api.routes import PREFIX
from hemkoll.rules.alerting import Outcome
from hemkoll.store import alert_actions, care_team, staff
from hemkoll.store import alerts as store
from hemkoll.store.alerts import AlertDetail, WorklistAlert, WorklistPosition

router = APIRouter(prefix=PREFIX, tags=["alerts"])
Nurse = Annotated[Caller, Depends(allow(*NURSES))]
State = Literal["open", "acknowledged", "resolved"]


class AlertSummary(BaseModel):
    id: UUID
    patient_id: UUID
    patient_reference: str
    rule_id: str
    rule_kind: str
    state: str
    severity: str
    opened_at: datetime
    severity_since: datetime
    last_fired_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    outcome: str | None
    assigned_to: UUID | None
    escalated_at: datetime | None
    explanation_en: str
    explanation_sv: str

    @classmethod
    def of(cls, a: WorklistAlert | AlertDetail) -> AlertSummary:
        return cls(
            id=a.id,
            patient_id=a.patient_id,
            patient_reference=a.patient_reference,
            rule_id=a.rule_id,
            rule_kind=a.rule_kind,
            state=a.state,
            severity=a.severity,
            opened_at=a.opened_at,
            severity_since=a.severity_since,
            last_fired_at=a.last_fired_at,
            acknowledged_at=a.acknowledged_at,
            resolved_at=a.resolved_at,
            outcome=a.outcome,
            assigned_to=a.assigned_to,
            escalated_at=a.escalated_at,
            explanation_en=a.explanation_en,
            explanation_sv=a.explanation_sv,
        )


class Worklist(Page):
    alerts: list[AlertSummary]


class Event(BaseModel):
    at: datetime
    kind: str
    severity: str | None
    actor: str
    details: dict[str, Any]
    # Who the actor is, when a member of staff: both sides of a care team read the history
    # (a home-care nurse's acknowledgement and hand-over note, and the centre's).
    actor_name: str | None = None
    actor_role: str | None = None
    actor_unit: str | None = None
    actor_care_provider: str | None = None


def _staff_id(actor: str) -> UUID | None:
    if not actor.startswith(nurse_actions.STAFF_ACTOR):
        return None
    try:
        return UUID(actor.removeprefix(nurse_actions.STAFF_ACTOR))
    except ValueError:
        return None


class AlertOut(AlertSummary):
    rule_set: str
    first_fired_at: datetime
    evidence: dict[str, Any] = Field(description="The finding's figures, per rule kind.")
    history: list[Event]


def _cursor(position: WorklistPosition) -> str:
    raw = orjson.dumps([position.severity_order, position.opened_at.isoformat(), str(position.id)])
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _position(cursor: str) -> WorklistPosition:
    try:
        order, opened_at, alert_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        return WorklistPosition(int(order), datetime.fromisoformat(opened_at), UUID(alert_id))
    except (ValueError, TypeError) as exc:
        raise invalid("cursor: not a cursor this API gave out") from exc


@router.get("/alerts", summary="The health centre's worklist: most severe, then oldest, first")
def worklist(
    caller: Nurse,
    state: Annotated[
        list[State] | None, Query(description="Default: open and acknowledged.")
    ] = None,
    severity: Literal["yellow", "red"] | None = None,
    patient_id: UUID | None = None,
    assigned_to: UUID | None = None,
    rule_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Worklist:
    with caller.session() as s:
        if caller.scope is None:  # the database's CHECK gives every nurse a centre
            raise forbidden("the worklist is a health centre's; this account has none")
        found = store.worklist(
            s.conn,
            health_centre_id=caller.scope,
            patient_ids=care_access.visible_patients(caller, s) or [],
            states=state or ["open", "acknowledged"],
            severity=severity,
            patient_id=patient_id,
            assigned_to=assigned_to,
            rule_id=rule_id,
            after=None if cursor is None else _position(cursor),
            limit=limit,
        )
        for a in found:
            s.record("alert", a.id, patient_id=a.patient_id)
    last = found[-1] if len(found) == limit else None
    return Worklist(
        alerts=[AlertSummary.of(a) for a in found],
        next_cursor=None
        if last is None
        else _cursor(WorklistPosition(last.severity_order, last.opened_at, last.id)),
    )


def alert_or_404(caller: Caller, s: Session, alert_id: UUID) -> AlertDetail:
    """The alert, if the access decision lets the caller see its patient (404 otherwise)."""
    found = store.alert_in_scope(s.conn, alert_id, health_centre_id=None)
    if found is None:
        raise not_found("alert", alert_id)
    care_access.require_patient(caller, s, found.patient_id, missing=not_found("alert", alert_id))
    return found


def _detail(caller: Caller, s: Session, alert_id: UUID) -> AlertOut:
    conn = s.conn
    alert = alert_or_404(caller, s, alert_id)
    events = alert_actions.events(conn, alert_id)
    actors = [sid for e in events if (sid := _staff_id(e.actor)) is not None]
    who = care_team.staff_identities(conn, actors)
    history = []
    for e in events:
        sid = _staff_id(e.actor)
        known = who.get(sid) if sid is not None else None
        history.append(
            Event(
                at=e.at,
                kind=e.kind,
                severity=e.severity,
                actor=e.actor,
                details=e.details,
                actor_name=known.name if known else None,
                actor_role=known.role if known else None,
                actor_unit=known.unit_name if known else None,
                actor_care_provider=known.care_provider_name if known else None,
            )
        )
    return AlertOut(
        **AlertSummary.of(alert).model_dump(),
        rule_set=alert.rule_set,
        first_fired_at=alert.first_fired_at,
        evidence=alert.evidence,
        history=history,
    )


@router.get("/alerts/{alert_id}", summary="One alert with its evidence and history")
def get_alert(alert_id: UUID, caller: Nurse) -> AlertOut:
    with caller.session() as s:
        out = _detail(caller, s, alert_id)
        s.record("alert", alert_id, patient_id=out.patient_id)
    return out


class Acknowledge(Model):
    note: Note = ""


class Resolve(Model):
    outcome: Outcome
    note: Note = ""


class Assign(Model):
    staff_id: UUID | None = Field(description="A member of the centre's staff; null unassigns.")


class Comment(Model):
    text: str = Field(min_length=1, max_length=2000)


def _act(caller: Caller, alert_id: UUID, action: str, body: Model) -> AlertOut:
    with caller.session() as s:
        alert = alert_or_404(caller, s, alert_id)
        by = caller.principal.actor
        try:
            if isinstance(body, Acknowledge):
                nurse_actions.acknowledge(
                    s.conn, alert_id, by=by, note=body.note, at=caller.alert_action_at
                )
            elif isinstance(body, Resolve):
                nurse_actions.resolve(
                    s.conn,
                    alert_id,
                    body.outcome,
                    by=by,
                    note=body.note,
                    at=caller.alert_action_at,
                )
            elif isinstance(body, Assign):
                if body.staff_id is not None:
                    member = staff.staff_by_id(s.conn, body.staff_id)
                    # Her centre's staff, or the caller's own unit's (a home-care unit takes an
                    # escalated alert of a shared patient).
                    units = (alert.health_centre_id, caller.scope)
                    if member is None or member.health_centre_id not in units:
                        raise invalid(f"staff_id: no staff member {body.staff_id} at this centre")
                    if member.role not in NURSES or not member.active:
                        raise invalid("staff_id: alerts go to active nurses or clinicians")
                nurse_actions.assign(s.conn, alert_id, body.staff_id, by=by)
            elif isinstance(body, Comment):
                nurse_actions.comment(s.conn, alert_id, body.text, by=by)
            else:
                raise TypeError(f"no alert action {action}")
        except nurse_actions.TransitionRefused as exc:
            raise conflict(str(exc)) from exc
        s.record("alert", alert_id, patient_id=alert.patient_id)
        return _detail(caller, s, alert_id)


@router.post("/alerts/{alert_id}/acknowledge", summary="Acknowledge: someone is on it")
def acknowledge(alert_id: UUID, body: Acknowledge, caller: Nurse) -> AlertOut:
    return _act(caller, alert_id, "acknowledge", body)


@router.post("/alerts/{alert_id}/resolve", summary="Resolve with an outcome")
def resolve(alert_id: UUID, body: Resolve, caller: Nurse) -> AlertOut:
    return _act(caller, alert_id, "resolve", body)


@router.post("/alerts/{alert_id}/assign", summary="Give the alert to a nurse or clinician")
def assign(alert_id: UUID, body: Assign, caller: Nurse) -> AlertOut:
    return _act(caller, alert_id, "assign", body)


@router.post("/alerts/{alert_id}/comments", summary="Add a comment to the alert's history")
def comment(alert_id: UUID, body: Comment, caller: Nurse) -> AlertOut:
    return _act(caller, alert_id, "comment", body)
