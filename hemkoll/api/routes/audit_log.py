"""The audit log, read-only, for administrators (a centre's administrator: the centre's rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from hemkoll.api.access import ADMINS, Caller, allow
from hemkoll.api.models import AwareDatetime
from hemkoll.api.routes import PREFIX
from hemkoll.store import audit

router = APIRouter(prefix=PREFIX, tags=["audit"])
Admin = Annotated[Caller, Depends(allow(*ADMINS))]


class AuditOut(BaseModel):
    id: int
    at: datetime
    staff_id: UUID | None
    role: str | None
    action: str
    status: int
    health_centre_id: UUID | None
    patient_id: UUID | None
    object_type: str | None
    object_id: str | None
    client_address: str | None


@router.get("/audit", summary="Who accessed what, newest first (page with before_id)")
def read_audit(
    caller: Admin,
    patient_id: UUID | None = None,
    staff_id: UUID | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditOut]:
    with caller.session() as s:
        rows = audit.read(
            s.conn,
            health_centre_id=caller.scope,
            patient_id=patient_id,
            staff_id=staff_id,
            since=since,
            until=until,
            before_id=before_id,
            limit=limit,
        )
        s.record("audit_log", "read", patient_id=patient_id)
    return [AuditOut(**row.__dict__) for row in rows]
