"""The care team across care providers (docs/access.md): care providers, a patient's care
team (the units with a care relationship with her), her consents and blocks (spärr) for
sharing with other providers, and emergency access.

Who records what:
- care providers: the region's administrators (they set up the units of every provider);
- a patient's care team, consents and blocks: her own health centre's staff (its nurses,
  clinicians and administrators). Her centre's provider documents her monitoring and is
  responsible for it; she gives or withdraws her consent, and asks for a block, in her contact
  with it, and it is the one that decides with her who else sees what it documented. Another
  provider's unit, even one that sees her with consent, cannot widen its own access.
- emergency access: a nurse or clinician, for herself, with a stated reason, for
  ``care_access.EMERGENCY_ACCESS_DURATION``; each is flagged for review (reviewed_at, 0020).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import psycopg
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from hemkoll.api import care_access
from hemkoll.api.access import ADMINS, CARE_AND_ADMIN, NURSES, Caller, Session, allow
from hemkoll.api.models import Model
from hemkoll.api.problems import conflict, forbidden, invalid, not_found
from hemkoll.api.routes import PREFIX
from hemkoll.store import care_team, health_centres
from hemkoll.store.care_team import BlockRecord, CareProvider, ConsentRecord, TeamMember
from hemkoll.store.patients import PatientRecord

router = APIRouter(prefix=PREFIX, tags=["care team"])
Admin = Annotated[Caller, Depends(allow(*ADMINS))]
Anyone = Annotated[Caller, Depends(allow(*CARE_AND_ADMIN))]
Nurse = Annotated[Caller, Depends(allow(*NURSES))]


class NewProvider(Model):
    name: str = Field(min_length=1, max_length=200, examples=["Tuna kommun"])
    kind: Literal["region", "municipality"]
    hsa_id: str | None = Field(None, min_length=1, max_length=64)


class NewMember(Model):
    health_centre_id: UUID = Field(description="The care unit joining her care team.")


class ProviderChoice(Model):
    care_provider_id: UUID
    scope: Literal["monitoring"] = Field(
        "monitoring", description="What is shared: everything hemkoll holds of her."
    )


class BlockChoice(Model):
    care_provider_id: UUID


class EmergencyRequest(Model):
    reason: str = Field(
        min_length=care_access.REASON_MIN_CHARS,
        max_length=care_access.REASON_MAX_CHARS,
        description="Why you need her data now (kept, and reviewed); no personal identity.",
        examples=["escalated red alert on call, the patient does not answer the phone"],
    )


class CareTeam(BaseModel):
    members: list[TeamMember]
    consents: list[ConsentRecord]
    blocks: list[BlockRecord]


class EmergencyAccessOut(BaseModel):
    id: UUID
    patient_id: UUID
    started_at: datetime
    expires_at: datetime


@router.post("/care-providers", status_code=201, summary="Create a care provider")
def create_provider(body: NewProvider, caller: Admin) -> CareProvider:
    with caller.session() as s:
        if caller.scope is not None:
            raise forbidden("only the region's administrators create care providers")
        try:
            with s.conn.transaction():
                provider = care_team.create_provider(
                    s.conn, name=body.name, kind=body.kind, hsa_id=body.hsa_id
                )
        except psycopg.errors.UniqueViolation as exc:
            raise conflict(f"a care provider named {body.name!r} (or that HSA id) exists") from exc
        s.record("care_provider", provider.id)
    return provider


@router.get("/care-providers", summary="The care providers (region and municipalities)")
def list_providers(caller: Anyone) -> list[CareProvider]:
    with caller.session() as s:
        found = care_team.list_providers(s.conn)
        s.record("care_provider", "list")
    return found


def _team(s: Session, patient_id: UUID) -> CareTeam:
    return CareTeam(
        members=care_team.team(s.conn, patient_id),
        consents=care_team.consents(s.conn, patient_id),
        blocks=care_team.blocks(s.conn, patient_id),
    )


def _own_centre(caller: Caller, s: Session, patient_id: UUID) -> PatientRecord:
    """The patient, if the caller is of her own health centre (see the module's doc)."""
    patient = care_access.patient_or_404(caller, s, patient_id)
    if caller.scope != patient.health_centre_id:
        raise forbidden("her care team, consents and blocks are recorded by her own health centre")
    return patient


def _provider(s: Session, care_provider_id: UUID, patient: PatientRecord) -> CareProvider:
    provider = care_team.provider_by_id(s.conn, care_provider_id)
    if provider is None:
        raise invalid(f"care_provider_id: no care provider {care_provider_id}")
    home = care_team.unit_provider(s.conn, patient.health_centre_id)
    if provider.id == home:
        raise invalid("care_provider_id: her own health centre's provider documents her data")
    return provider


@router.get("/patients/{patient_id}/care-team", summary="Her care team, consents and blocks")
def get_team(patient_id: UUID, caller: Anyone) -> CareTeam:
    with caller.session() as s:
        care_access.patient_or_404(caller, s, patient_id)
        team = _team(s, patient_id)
        s.record("care_team", patient_id, patient_id=patient_id)
    return team


@router.post(
    "/patients/{patient_id}/care-team", status_code=201, summary="A unit joins her care team"
)
def add_member(patient_id: UUID, body: NewMember, caller: Anyone) -> CareTeam:
    with caller.session() as s:
        _own_centre(caller, s, patient_id)
        if not health_centres.list_centres(s.conn, health_centre_id=body.health_centre_id):
            raise invalid(f"health_centre_id: no care unit {body.health_centre_id}")
        if not care_team.start_relationship(
            s.conn,
            patient_id=patient_id,
            unit_id=body.health_centre_id,
            recorded_by=caller.principal.staff_id,
            now=caller.now(),
        ):
            raise conflict("the unit is in her care team already")
        s.record("care_relationship", body.health_centre_id, patient_id=patient_id)
        return _team(s, patient_id)


@router.post(
    "/patients/{patient_id}/care-team/{unit_id}/end", summary="A unit leaves her care team"
)
def end_member(patient_id: UUID, unit_id: UUID, caller: Anyone) -> CareTeam:
    with caller.session() as s:
        patient = _own_centre(caller, s, patient_id)
        if unit_id == patient.health_centre_id:
            raise invalid("her own health centre stays in her care team while she is enrolled")
        if not care_team.end_relationship(
            s.conn, patient_id=patient_id, unit_id=unit_id, now=caller.now()
        ):
            raise not_found("care relationship of unit", unit_id)
        s.record("care_relationship", unit_id, patient_id=patient_id)
        return _team(s, patient_id)


@router.post(
    "/patients/{patient_id}/sharing-consents",
    status_code=201,
    summary="Record her consent that another care provider sees her data",
)
def record_consent(patient_id: UUID, body: ProviderChoice, caller: Anyone) -> CareTeam:
    with caller.session() as s:
        patient = _own_centre(caller, s, patient_id)
        _provider(s, body.care_provider_id, patient)
        if not care_team.record_consent(
            s.conn,
            patient_id=patient_id,
            care_provider_id=body.care_provider_id,
            scope=body.scope,
            recorded_by=caller.principal.staff_id,
            now=caller.now(),
        ):
            raise conflict("her consent to that provider is recorded already")
        s.record("sharing_consent", body.care_provider_id, patient_id=patient_id)
        return _team(s, patient_id)


@router.post(
    "/patients/{patient_id}/sharing-consents/{care_provider_id}/withdraw",
    summary="Her consent withdrawn: the provider's units no longer see her data",
)
def withdraw_consent(patient_id: UUID, care_provider_id: UUID, caller: Anyone) -> CareTeam:
    with caller.session() as s:
        _own_centre(caller, s, patient_id)
        if not care_team.withdraw_consent(
            s.conn, patient_id=patient_id, care_provider_id=care_provider_id, now=caller.now()
        ):
            raise not_found("consent in force for care provider", care_provider_id)
        s.record("sharing_consent", care_provider_id, patient_id=patient_id)
        return _team(s, patient_id)


@router.post(
    "/patients/{patient_id}/sharing-blocks",
    status_code=201,
    summary="Record her block (spärr): the provider's units see nothing of her data",
)
def record_block(patient_id: UUID, body: BlockChoice, caller: Anyone) -> CareTeam:
    with caller.session() as s:
        patient = _own_centre(caller, s, patient_id)
        _provider(s, body.care_provider_id, patient)
        if not care_team.record_block(
            s.conn,
            patient_id=patient_id,
            care_provider_id=body.care_provider_id,
            recorded_by=caller.principal.staff_id,
            now=caller.now(),
        ):
            raise conflict("her block against that provider is in force already")
        s.record("sharing_block", body.care_provider_id, patient_id=patient_id)
        return _team(s, patient_id)


@router.post(
    "/patients/{patient_id}/sharing-blocks/{care_provider_id}/lift", summary="Her block lifted"
)
def lift_block(patient_id: UUID, care_provider_id: UUID, caller: Anyone) -> CareTeam:
    with caller.session() as s:
        _own_centre(caller, s, patient_id)
        if not care_team.lift_block(
            s.conn, patient_id=patient_id, care_provider_id=care_provider_id, now=caller.now()
        ):
            raise not_found("block in force against care provider", care_provider_id)
        s.record("sharing_block", care_provider_id, patient_id=patient_id)
        return _team(s, patient_id)


@router.post(
    "/patients/{patient_id}/emergency-access",
    status_code=201,
    summary="Emergency access (nödåtkomst): her data for a few hours, with a reason, reviewed",
)
def emergency_access(patient_id: UUID, body: EmergencyRequest, caller: Nurse) -> EmergencyAccessOut:
    with caller.session() as s:
        access = care_access.start_emergency(caller, s, patient_id, body.reason)
    return EmergencyAccessOut(
        id=access.id,
        patient_id=patient_id,
        started_at=access.started_at,
        expires_at=access.expires_at,
    )
