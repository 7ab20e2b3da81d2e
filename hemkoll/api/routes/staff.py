"""Staff and their API tokens (administrators; a centre's administrator for its own staff)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from hemkoll.api.access import ADMINS, Caller, Role, allow
from hemkoll.api.models import Model
from hemkoll.api.problems import forbidden, invalid, not_found
from hemkoll.api.routes import PREFIX
from hemkoll.store import health_centres, staff_sessions
from hemkoll.store import staff as store
from hemkoll.store.connect import Conn
from hemkoll.store.staff import Staff, StaffError

router = APIRouter(prefix=PREFIX, tags=["staff"])
Admin = Annotated[Caller, Depends(allow(*ADMINS))]


class NewStaff(Model):
    name: str = Field(min_length=1, max_length=200)
    role: Role
    health_centre_id: UUID | None = Field(
        None, description="Required for nurses and clinicians; none makes a region admin."
    )
    hsa_id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9-]{1,64}$",
        description="The person's HSA id: she signs in to the console with the identity "
        "provider by it (docs/operations.md, Staff sign-in).",
    )


class NewToken(Model):
    valid_days: int = Field(30, ge=1, le=365)


class TokenOut(BaseModel):
    id: UUID
    staff_id: UUID
    token: str = Field(description="The bearer token: shown once, only its hash is kept.")
    expires_at: datetime


def _member_in_scope(caller: Caller, conn: Conn, staff_id: UUID) -> Staff:
    member = store.staff_by_id(conn, staff_id)
    if member is None or (caller.scope is not None and member.health_centre_id != caller.scope):
        raise not_found("staff member", staff_id)
    return member


@router.post("/staff", status_code=201, summary="Add a member of staff")
def create_staff(body: NewStaff, caller: Admin) -> Staff:
    with caller.session() as s:
        centre = body.health_centre_id
        if caller.scope is not None:
            if centre is None:
                raise forbidden("a health centre's administrator cannot create region admins")
            if centre != caller.scope:
                raise not_found("health centre", centre)
        if centre is not None and not health_centres.list_centres(s.conn, health_centre_id=centre):
            raise not_found("health centre", centre)
        try:
            member = store.create_staff(
                s.conn, name=body.name, role=body.role, health_centre_id=centre, hsa_id=body.hsa_id
            )
        except StaffError as exc:
            raise invalid(str(exc)) from exc
        s.record("staff", member.id, health_centre_id=centre)
    return member


@router.get("/staff", summary="Staff (of the administrator's centre)")
def list_staff(caller: Admin) -> list[Staff]:
    with caller.session() as s:
        members = store.list_staff(s.conn, health_centre_id=caller.scope)
        s.record("staff", "list")
    return members


@router.post(
    "/staff/{staff_id}/tokens", status_code=201, summary="Issue a bearer token (shown once)"
)
def issue_token(staff_id: UUID, body: NewToken, caller: Admin) -> TokenOut:
    with caller.session() as s:
        member = _member_in_scope(caller, s.conn, staff_id)
        if not member.active:
            raise invalid("the staff member is deactivated")
        issued = store.issue_token(
            s.conn, staff_id, now=caller.now(), lifetime=timedelta(days=body.valid_days)
        )
        s.record("api_token", issued.id, health_centre_id=member.health_centre_id)
    return TokenOut(
        id=issued.id, staff_id=staff_id, token=issued.token, expires_at=issued.expires_at
    )


class Revoked(BaseModel):
    revoked: int = Field(description="Tokens and console sessions revoked.")


@router.delete(
    "/staff/{staff_id}/tokens",
    summary="Revoke every token and console session of a staff member",
)
def revoke_tokens(staff_id: UUID, caller: Admin) -> Revoked:
    with caller.session() as s:
        member = _member_in_scope(caller, s.conn, staff_id)
        revoked = store.revoke_tokens(s.conn, staff_id)
        revoked += staff_sessions.revoke_sessions(s.conn, staff_id, now=caller.now())
        s.record("staff", staff_id, health_centre_id=member.health_centre_id)
    return Revoked(revoked=revoked)


@router.post("/staff/{staff_id}/deactivate", summary="Deactivate a staff member")
def deactivate(staff_id: UUID, caller: Admin) -> Staff:
    with caller.session() as s:
        member = _member_in_scope(caller, s.conn, staff_id)
        changed = store.deactivate_staff(s.conn, staff_id)
        if changed is None:
            raise not_found("staff member", staff_id)
        store.revoke_tokens(s.conn, staff_id)
        staff_sessions.revoke_sessions(s.conn, staff_id, now=caller.now())
        s.record("staff", staff_id, health_centre_id=member.health_centre_id)
    return changed
