"""A patient's hospital stays: recorded at admission (or afterwards), read, and discharged.

While a patient is in hospital, and ``hemkoll.rules.stays.DISCHARGE_GRACE`` after she is out,
the missing-measurement rules are silent for her, and readings taken during the stay are left
out of her baselines and trends (recording a stay or a discharge queues her for the rules
worker, which reads the stays at each evaluation and recomputes her deadlines).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from hemkoll.api.access import NURSES, Caller, allow
from hemkoll.api.models import AwareDatetime, Model
from hemkoll.api.problems import Problem, conflict, invalid, not_found
from hemkoll.api.routes import PREFIX
from hemkoll.api.routes.patients import patient_or_404
from hemkoll.store import hospital_stays
from hemkoll.store.hospital_stays import MAX_NOTE, HospitalStay, StayClash

router = APIRouter(prefix=PREFIX, tags=["hospital stays"])
Nurse = Annotated[Caller, Depends(allow(*NURSES))]
# A clock a few minutes ahead of the server's is skew, not a stay in the future (as the
# table's CHECK on admitted_at).
CLOCK_SKEW = timedelta(minutes=5)


class Stay(BaseModel):
    id: UUID
    admitted_at: datetime
    discharged_at: datetime | None = Field(description="Null while she is in hospital.")
    note: str | None
    recorded_by: UUID
    recorded_at: datetime

    @classmethod
    def of(cls, s: HospitalStay) -> Stay:
        return cls(
            id=s.id,
            admitted_at=s.admitted_at,
            discharged_at=s.discharged_at,
            note=s.note,
            recorded_by=s.recorded_by,
            recorded_at=s.recorded_at,
        )


class Stays(BaseModel):
    stays: list[Stay]


class NewStay(Model):
    admitted_at: AwareDatetime
    discharged_at: AwareDatetime | None = Field(
        None, description="Recorded afterwards: when she came home."
    )
    note: str | None = Field(None, max_length=MAX_NOTE, description="E.g. the ward.")


class Discharge(Model):
    discharged_at: AwareDatetime | None = Field(None, description="Defaults to now.")


def _not_in_future(field: str, at: datetime, caller: Caller) -> None:
    if at > caller.now() + CLOCK_SKEW:
        raise invalid(f"{field}: a stay is recorded when it has begun, not ahead of it")


def _clash(exc: StayClash) -> Problem:
    other = exc.other
    if other is None:
        return conflict("the stay overlaps one of the patient's recorded at the same moment")
    if other.discharged_at is None:
        return conflict(
            f"the patient is in hospital already (stay {other.id}, admitted "
            f"{other.admitted_at.isoformat()}): record its discharge first",
            stay_id=str(other.id),
        )
    return conflict(
        f"the stay overlaps stay {other.id} ({other.admitted_at.isoformat()} to "
        f"{other.discharged_at.isoformat()})",
        stay_id=str(other.id),
    )


@router.get(
    "/patients/{patient_id}/hospital-stays",
    summary="The patient's hospital stays, the newest admission first",
)
def list_stays(
    patient_id: UUID, caller: Nurse, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> Stays:
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id)
        found = hospital_stays.stays_of(s.conn, patient_id, limit=limit)
        s.record(
            "hospital_stays",
            patient_id,
            patient_id=patient_id,
            health_centre_id=patient.health_centre_id,
        )
    return Stays(stays=[Stay.of(stay) for stay in found])


@router.post(
    "/patients/{patient_id}/hospital-stays",
    status_code=201,
    summary="Record a hospital stay (at admission, or afterwards with its discharge)",
)
def record_stay(patient_id: UUID, body: NewStay, caller: Nurse) -> Stay:
    _not_in_future("admitted_at", body.admitted_at, caller)
    if body.discharged_at is not None:
        if body.discharged_at <= body.admitted_at:
            raise invalid("discharged_at: must be after admitted_at")
        _not_in_future("discharged_at", body.discharged_at, caller)
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id)
        try:
            made = hospital_stays.record(
                s.conn,
                patient_id,
                admitted_at=body.admitted_at,
                discharged_at=body.discharged_at,
                note=body.note,
                recorded_by=caller.principal.staff_id,
            )
        except StayClash as exc:
            raise _clash(exc) from exc
        s.record(
            "hospital_stay",
            made.id,
            patient_id=patient_id,
            health_centre_id=patient.health_centre_id,
        )
    return Stay.of(made)


@router.patch(
    "/patients/{patient_id}/hospital-stays/{stay_id}",
    summary="Record the discharge of the patient's open hospital stay",
)
def discharge_stay(patient_id: UUID, stay_id: UUID, body: Discharge, caller: Nurse) -> Stay:
    discharged_at = body.discharged_at or caller.now()
    _not_in_future("discharged_at", discharged_at, caller)
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id)
        found = hospital_stays.stay(s.conn, patient_id, stay_id)
        if found is None:
            raise not_found("hospital stay", stay_id)
        s.record(
            "hospital_stay",
            stay_id,
            patient_id=patient_id,
            health_centre_id=patient.health_centre_id,
        )
        if found.discharged_at is not None:
            raise conflict(
                f"stay {stay_id} was discharged already ({found.discharged_at.isoformat()})"
            )
        if discharged_at <= found.admitted_at:
            raise invalid(
                f"discharged_at: must be after the admission ({found.admitted_at.isoformat()})"
            )
        done = hospital_stays.discharge(s.conn, patient_id, stay_id, discharged_at=discharged_at)
        if done is None:  # discharged by someone else since it was read
            raise conflict(f"stay {stay_id} was discharged already")
    return Stay.of(done)
