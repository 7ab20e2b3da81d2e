"""Notifications of an alert (the delivery log: every attempt and its answer), and redelivery."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from hemkoll.api.access import CARE_AND_ADMIN, NURSES, Caller, allow
from hemkoll.api.problems import conflict, not_found
from hemkoll.api.routes import PREFIX
from hemkoll.api.routes.alerts import alert_or_404
from hemkoll.store import notifications

router = APIRouter(prefix=PREFIX, tags=["notifications"])
Nurse = Annotated[Caller, Depends(allow(*NURSES))]
Anyone = Annotated[Caller, Depends(allow(*CARE_AND_ADMIN))]


class AttemptOut(BaseModel):
    attempt: int
    started_at: datetime
    duration_ms: int
    result: str
    status_code: int | None
    error: str | None


class NotificationOut(BaseModel):
    id: UUID
    channel: str
    event: str
    device_id: UUID | None
    state: str
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    log: list[AttemptOut]


@router.get(
    "/alerts/{alert_id}/notifications",
    summary="Every notification of the alert with each delivery attempt",
)
def delivery_log(alert_id: UUID, caller: Nurse) -> list[NotificationOut]:
    with caller.session() as s:
        alert = alert_or_404(caller, s, alert_id)
        log = notifications.delivery_log(s.conn, alert_id)
        s.record("alert", alert_id, patient_id=alert.patient_id)
    return [
        NotificationOut(
            id=entry.notification.id,
            channel=entry.notification.channel,
            event=entry.notification.event,
            device_id=entry.notification.device_id,
            state=entry.notification.state,
            created_at=entry.notification.created_at,
            attempts=entry.notification.attempts,
            next_attempt_at=entry.notification.next_attempt_at,
            delivered_at=entry.notification.delivered_at,
            last_error=entry.notification.last_error,
            log=[
                AttemptOut(
                    attempt=a.attempt,
                    started_at=a.started_at,
                    duration_ms=a.duration_ms,
                    result=a.result,
                    status_code=a.status_code,
                    error=a.error,
                )
                for a in entry.attempts
            ],
        )
        for entry in log
    ]


class Redelivery(BaseModel):
    id: UUID
    state: str


@router.post(
    "/notifications/{notification_id}/redeliver",
    status_code=202,
    summary="Send a notification again (same webhook-id, so a receiver that has it drops it)",
)
def redeliver(notification_id: UUID, caller: Anyone) -> Redelivery:
    with caller.session() as s:
        owner = notifications.notification_owner(s.conn, notification_id)
        if owner is None or not caller.sees_centre(owner.health_centre_id):
            raise not_found("notification", notification_id)
        outcome = notifications.redeliver(s.conn, notification_id)
        if outcome == "already_pending":
            raise conflict("the notification is still being delivered")
        s.record(
            "notification",
            notification_id,
            patient_id=owner.patient_id,
            health_centre_id=owner.health_centre_id,
        )
    return Redelivery(id=notification_id, state="pending")
