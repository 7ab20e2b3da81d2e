"""Staff's side of the patient app (docs/patient.md): an enrolment code for a patient to sign
in with, and ending her sessions (a lost phone)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from hemkoll.api.access import CARE_AND_ADMIN, Caller, allow
from hemkoll.api.mitt.access import MITT, issue_recorded_code
from hemkoll.api.routes import PREFIX
from hemkoll.api.routes.patients import patient_or_404
from hemkoll.store import patient_access

router = APIRouter(prefix=PREFIX, tags=["patient app"])
Staff = Annotated[Caller, Depends(allow(*CARE_AND_ADMIN))]


class PatientCode(BaseModel):
    code: str = Field(description="Shown once; give it to the patient. Works once.")
    expires_at: datetime
    sign_in_url: str


class Revoked(BaseModel):
    revoked: int = Field(description="How many open sessions were ended.")


@router.post(
    "/patients/{patient_id}/patient-codes",
    status_code=201,
    summary="A one-time enrolment code for the patient app (valid a week, shown once)",
)
def create_code(request: Request, patient_id: UUID, caller: Staff) -> PatientCode:
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id, own=True)
        issued = issue_recorded_code(
            s,
            patient_id,
            patient.health_centre_id,
            created_by=caller.principal.staff_id,
            now=caller.now(),
        )
    public: str = request.app.state.public_url
    return PatientCode(
        code=issued.code,
        expires_at=issued.expires_at,
        sign_in_url=f"{public.rstrip('/')}{MITT}/sign-in",
    )


@router.post(
    "/patients/{patient_id}/patient-sessions/revoke",
    summary="End every open session of the patient in her app",
)
def revoke_sessions(patient_id: UUID, caller: Staff) -> Revoked:
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id, own=True)
        n = patient_access.revoke_patient_sessions(s.conn, patient_id, now=caller.now())
        s.record(
            "patient_sessions",
            patient_id,
            patient_id=patient_id,
            health_centre_id=patient.health_centre_id,
        )
    return Revoked(revoked=n)
