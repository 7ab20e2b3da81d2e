"""The audit log, read-only, for administrators (a centre's administrator: the centre's rows)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from hemkoll.api.access import ADMINS, Caller, allow
from hemkoll.api.models import AwareDatetime
from hemkoll.api.routes import PREFIX
from hemkoll.store import audit_log
from hemkoll.store.audit_log import AuditRow

router = APIRouter(prefix=PREFIX, tags=["audit"])
Admin = Annotated[Caller, Depends(allow(*ADMINS))]


@router.get("/audit", summary="Who accessed what, newest first (page with before_id)")
def read_audit(
    caller: Admin,
    patient_id: UUID | None = None,
    staff_id: UUID | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditRow]:
    with caller.session() as s:
        rows = audit_log.read(
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
    return rows
