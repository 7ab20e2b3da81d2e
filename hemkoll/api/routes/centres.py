"""Health centres: their time zone, phone number, notification endpoint and escalation contact
(admins)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import psycopg
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from hemkoll.api.access import ADMINS, CARE_AND_ADMIN, Caller, allow
from hemkoll.api.models import Model, TimeZoneName, WebhookUrl
from hemkoll.api.problems import conflict, forbidden, invalid, not_found
from hemkoll.api.routes import PREFIX
from hemkoll.store import care_team, health_centres, notifications
from hemkoll.store.health_centres import Centre, CentreSettings, CentreWithSecrets

router = APIRouter(prefix=PREFIX, tags=["health centres"])

# As a patient dials it: digits, spaces, hyphens and brackets, an optional leading +; the same
# check as the column's (migration 0010).
PHONE_PATTERN = r"^\+?[0-9][0-9 ()-]{4,30}$"


class CentreChange(Model):
    timezone: TimeZoneName | None = None
    phone: str | None = Field(
        None,
        pattern=PHONE_PATTERN,
        description="The number the centre's patients call; the messages to them name it "
        "(docs/patient-messages.md).",
        examples=["08-123 456 78", "+46 8 123 456 78"],
    )
    notification_url: WebhookUrl | None = Field(
        None, description="Where the centre receives signed alert notifications."
    )
    escalation_contact: str | None = Field(
        None, min_length=1, max_length=200, examples=["Kommunal hemsjukvård, jour"]
    )
    escalation_url: WebhookUrl | None = Field(
        None, description="Where an urgent alert goes when nobody acknowledged it in time."
    )
    escalate_after_minutes: int | None = Field(None, ge=1, le=7 * 24 * 60)
    webhook_format: Literal["hemkoll", "fhir"] | None = Field(
        None,
        description="The body of the centre's alert webhooks: hemkoll's JSON (the default) or "
        "a FHIR R4 Bundle of the alert's Flag and the Observations behind it (docs/fhir.md); "
        "signed the same way.",
    )

    def settings(self) -> CentreSettings:
        return CentreSettings(
            timezone=self.timezone,
            phone=self.phone,
            notification_url=self.notification_url,
            escalation_contact=self.escalation_contact,
            escalation_url=self.escalation_url,
            escalate_after_minutes=self.escalate_after_minutes,
            webhook_format=self.webhook_format,
        )


class NewCentre(CentreChange):
    name: str = Field(min_length=1, max_length=200)
    care_provider_id: UUID | None = Field(
        None,
        description="The care provider whose care unit it is (GET /care-providers); default: "
        "the region's. A municipality's home-care unit names its municipality (docs/access.md).",
    )
    unit_kind: Literal["health_centre", "home_care"] = "health_centre"
    hsa_id: str | None = Field(None, min_length=1, max_length=64, description="HSA id, if any.")


Admin = Annotated[Caller, Depends(allow(*ADMINS))]
Anyone = Annotated[Caller, Depends(allow(*CARE_AND_ADMIN))]


@router.post("/health-centres", status_code=201, summary="Create a health centre")
def create_centre(body: NewCentre, caller: Admin) -> CentreWithSecrets:
    with caller.session() as s:
        if caller.scope is not None:
            raise forbidden("only the region's administrators create health centres")
        try:
            if body.care_provider_id is not None and not care_team.provider_by_id(
                s.conn, body.care_provider_id
            ):
                raise invalid(f"care_provider_id: no care provider {body.care_provider_id}")
            with s.conn.transaction():
                centre = health_centres.create_centre(
                    s.conn,
                    body.name,
                    body.settings(),
                    care_provider_id=body.care_provider_id,
                    unit_kind=body.unit_kind,
                    hsa_id=body.hsa_id,
                )
        except psycopg.errors.UniqueViolation as exc:
            raise conflict(f"a health centre named {body.name!r} exists") from exc
        s.record("health_centre", centre.id, health_centre_id=centre.id)
    return centre


@router.get("/health-centres", summary="Health centres (staff see their own)")
def list_centres(caller: Anyone) -> list[Centre]:
    with caller.session() as s:
        found = health_centres.list_centres(s.conn, health_centre_id=caller.scope)
        s.record("health_centre", "list")
    return found


def _one(caller: Caller, centre_id: UUID) -> Centre:
    with caller.session() as s:
        found = health_centres.list_centres(s.conn, health_centre_id=centre_id)
        if not found or not caller.sees_centre(centre_id):
            raise not_found("health centre", centre_id)
        s.record("health_centre", centre_id, health_centre_id=centre_id)
    return found[0]


@router.get("/health-centres/{centre_id}", summary="One health centre")
def get_centre(centre_id: UUID, caller: Anyone) -> Centre:
    return _one(caller, centre_id)


@router.patch(
    "/health-centres/{centre_id}",
    summary="Change a centre's settings; a first endpoint URL gets its signing secret",
)
def update_centre(centre_id: UUID, body: CentreChange, caller: Admin) -> CentreWithSecrets:
    with caller.session() as s:
        if not caller.sees_centre(centre_id):
            raise not_found("health centre", centre_id)
        centre = health_centres.update_centre(s.conn, centre_id, body.settings())
        if centre is None:
            raise not_found("health centre", centre_id)
        if body.notification_url or body.escalation_url:
            # Waiting notifications go to the new endpoint now, not at their next retry.
            notifications.retry_pending_now(s.conn, centre_id)
        s.record("health_centre", centre_id, health_centre_id=centre_id)
    return centre


class Secrets(BaseModel):
    signing_secret: str | None
    escalation_signing_secret: str | None


@router.post(
    "/health-centres/{centre_id}/signing-secrets",
    summary="Replace the centre's signing secrets (shown once); the old ones stop at once",
)
def rotate_secrets(centre_id: UUID, caller: Admin) -> Secrets:
    with caller.session() as s:
        if not caller.sees_centre(centre_id):
            raise not_found("health centre", centre_id)
        rotated = health_centres.rotate_secrets(s.conn, centre_id)
        if rotated is None:
            raise not_found("health centre", centre_id)
        s.record("health_centre", centre_id, health_centre_id=centre_id)
    return Secrets(signing_secret=rotated[0], escalation_signing_secret=rotated[1])
