"""Patients: enrol (administrators), look up, pause or resume monitoring, discharge."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from hemkoll.api import care_access
from hemkoll.api.access import ADMINS, CARE_AND_ADMIN, NURSES, Caller, Session, allow
from hemkoll.api.models import AwareDatetime, Language, Model, TimeZoneName
from hemkoll.api.problems import conflict, invalid, not_found
from hemkoll.api.routes import PREFIX
from hemkoll.store import health_centres, patients
from hemkoll.store.patients import (
    REASON_MAX_CHARS,
    PatientRecord,
    RegistryError,
    check_monitoring_start,
)

router = APIRouter(prefix=PREFIX, tags=["patients"])
Admin = Annotated[Caller, Depends(allow(*ADMINS))]
Anyone = Annotated[Caller, Depends(allow(*CARE_AND_ADMIN))]
Nurse = Annotated[Caller, Depends(allow(*NURSES))]
AdminOrClinician = Annotated[Caller, Depends(allow("admin", "clinician"))]


class NewPatient(Model):
    reference: str = Field(
        min_length=1,
        max_length=64,
        description="The health centre's own pseudonymous reference; never a personal "
        "identity number.",
        examples=["VC-0042"],
    )
    health_centre_id: UUID | None = Field(
        None, description="Defaults to the administrator's own centre."
    )
    language: Language = "sv"
    timezone: TimeZoneName | None = Field(None, description="Defaults to the centre's.")
    monitoring_started_at: AwareDatetime | None = Field(
        None,
        description="Enrolment with history: her monitoring start, earlier than now (at most "
        "five years back), so that her past readings can be imported. Needs a reason.",
    )
    reason: str | None = Field(
        None,
        max_length=REASON_MAX_CHARS,
        description="Why the monitoring start is earlier (kept in the audit log); required "
        "with monitoring_started_at. Say why, not who: no personal identity.",
        examples=["moved from the region's previous programme; history to be imported"],
    )


def patient_or_404(
    caller: Caller, s: Session, patient_id: UUID, *, own: bool = False
) -> PatientRecord:
    """The patient, if the access decision lets the caller see her (404 otherwise); ``own``:
    only her own health centre (403 for another unit: care_access.patient_or_404)."""
    return care_access.patient_or_404(caller, s, patient_id, own=own)


@router.post("/patients", status_code=201, summary="Enrol a patient")
def create_patient(body: NewPatient, caller: Admin) -> PatientRecord:
    with caller.session() as s:
        centre_id = body.health_centre_id or caller.scope
        if centre_id is None:
            raise invalid("health_centre_id: a region administrator must name the centre")
        if not caller.sees_centre(centre_id):
            raise not_found("health centre", centre_id)
        found = health_centres.list_centres(s.conn, health_centre_id=centre_id)
        if not found:
            raise not_found("health centre", centre_id)
        try:
            reason = check_monitoring_start(
                body.monitoring_started_at, body.reason, now=caller.now()
            )
        except RegistryError as exc:
            raise invalid(str(exc)) from exc
        try:
            patient = patients.create_patient(
                s.conn,
                health_centre_id=centre_id,
                reference=body.reference,
                language=body.language,
                timezone=body.timezone or found[0].timezone,
                enrolled_at=body.monitoring_started_at,
            )
        except RegistryError as exc:
            if "already has" in str(exc):
                raise conflict(str(exc)) from exc
            raise invalid(f"reference: {exc}") from exc
        s.record(
            "patient",
            patient.id,
            patient_id=patient.id,
            health_centre_id=centre_id,
            reason=reason,
        )
    return patient


@router.get("/patients", summary="The centre's patients, by reference")
def list_patients(
    caller: Anyone,
    reference: Annotated[str | None, Query(max_length=64)] = None,
    include_discharged: bool = False,
    after: Annotated[
        str | None, Query(max_length=64, description="Reference the previous page ended at.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[PatientRecord]:
    with caller.session() as s:
        found = patients.list_patients(
            s.conn,
            health_centre_id=None,
            patient_ids=care_access.visible_patients(caller, s),
            reference=reference,
            include_discharged=include_discharged,
            after_reference=after,
            limit=limit,
        )
        for p in found:
            s.record("patient", p.id, patient_id=p.id, health_centre_id=p.health_centre_id)
    return found


@router.get("/patients/{patient_id}", summary="One patient")
def get_patient(patient_id: UUID, caller: Anyone) -> PatientRecord:
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id)
        s.record(
            "patient", patient_id, patient_id=patient_id, health_centre_id=patient.health_centre_id
        )
    return patient


def _set_paused(caller: Caller, patient_id: UUID, *, paused: bool) -> PatientRecord:
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id, own=True)
        if patient.discharged_at is not None:
            raise conflict("the patient is discharged")
        patients.set_monitoring_paused(s.conn, patient_id, paused=paused)
        s.record(
            "patient", patient_id, patient_id=patient_id, health_centre_id=patient.health_centre_id
        )
        return patient_or_404(caller, s, patient_id)


@router.post(
    "/patients/{patient_id}/monitoring/pause",
    summary="Pause monitoring (missing-measurement alerts go silent, e.g. in hospital)",
)
def pause(patient_id: UUID, caller: Nurse) -> PatientRecord:
    return _set_paused(caller, patient_id, paused=True)


@router.post("/patients/{patient_id}/monitoring/resume", summary="Resume monitoring")
def resume(patient_id: UUID, caller: Nurse) -> PatientRecord:
    return _set_paused(caller, patient_id, paused=False)


@router.post(
    "/patients/{patient_id}/discharge",
    summary="Discharge: monitoring ends and the devices are deactivated; the data stays",
)
def discharge(patient_id: UUID, caller: AdminOrClinician) -> PatientRecord:
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id, own=True)
        if patient.discharged_at is not None:
            raise conflict("the patient is already discharged")
        discharged = patients.discharge(s.conn, patient_id)
        s.record(
            "patient", patient_id, patient_id=patient_id, health_centre_id=patient.health_centre_id
        )
    return discharged
