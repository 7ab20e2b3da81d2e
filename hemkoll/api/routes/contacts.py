"""A patient's contact log: calls, visits, notes and hand-overs, read newest first and added
to, never changed (a correction is a new entry naming the one it corrects)."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Annotated
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from hemkoll.api.access import NURSES, Caller, allow
from hemkoll.api.models import AwareDatetime, Model, Page
from hemkoll.api.problems import invalid, not_found
from hemkoll.api.routes import PREFIX
from hemkoll.api.routes.patients import patient_or_404
from hemkoll.store import alerts, contact_log
from hemkoll.store.contact_log import MAX_TEXT, ContactEntry, ContactKind, Position

router = APIRouter(prefix=PREFIX, tags=["contacts"])
Nurse = Annotated[Caller, Depends(allow(*NURSES))]
# A clock a few minutes ahead of the server's is skew, not an entry about the future (as the
# table's CHECK).
CLOCK_SKEW = timedelta(minutes=5)


class Contact(BaseModel):
    id: UUID
    kind: ContactKind
    occurred_at: datetime = Field(description="When it happened.")
    written_at: datetime = Field(description="When the entry was made.")
    author: UUID
    author_name: str
    text: str
    alert_id: UUID | None
    corrects: UUID | None = Field(description="The earlier entry this one corrects.")
    corrected_by: UUID | None = Field(description="The latest entry correcting this one.")

    @classmethod
    def of(cls, e: ContactEntry) -> Contact:
        return cls(
            id=e.id,
            kind=e.kind,
            occurred_at=e.occurred_at,
            written_at=e.written_at,
            author=e.author,
            author_name=e.author_name,
            text=e.text,
            alert_id=e.alert_id,
            corrects=e.corrects,
            corrected_by=e.corrected_by,
        )


class Contacts(Page):
    contacts: list[Contact]


class NewContact(Model):
    kind: ContactKind
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    occurred_at: AwareDatetime | None = Field(None, description="Defaults to now.")
    alert_id: UUID | None = Field(None, description="An alert of the patient's it is about.")
    corrects: UUID | None = Field(None, description="An earlier entry of the patient's.")


def _cursor(position: Position) -> str:
    raw = orjson.dumps([position.occurred_at.isoformat(), str(position.id)])
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _position(cursor: str) -> Position:
    try:
        occurred_at, entry_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        return Position(datetime.fromisoformat(occurred_at), UUID(entry_id))
    except (ValueError, TypeError) as exc:
        raise invalid("cursor: not a cursor this API gave out") from exc


@router.get(
    "/patients/{patient_id}/contacts",
    summary="The patient's contact log, newest (by when it happened) first",
)
def list_contacts(
    patient_id: UUID,
    caller: Nurse,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Contacts:
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id)
        found = contact_log.entries(
            s.conn,
            patient_id,
            since=since,
            until=until,
            before=None if cursor is None else _position(cursor),
            limit=limit,
        )
        s.record(
            "contact_log",
            patient_id,
            patient_id=patient_id,
            health_centre_id=patient.health_centre_id,
        )
    last = found[-1] if len(found) == limit else None
    return Contacts(
        contacts=[Contact.of(e) for e in found],
        next_cursor=None if last is None else _cursor(Position(last.occurred_at, last.id)),
    )


@router.post(
    "/patients/{patient_id}/contacts",
    status_code=201,
    summary="Add an entry to the patient's contact log",
)
def add_contact(patient_id: UUID, body: NewContact, caller: Nurse) -> Contact:
    if not body.text.strip():
        raise invalid("text: write what happened")
    if body.occurred_at is not None and body.occurred_at > caller.now() + CLOCK_SKEW:
        raise invalid("occurred_at: an entry is about what has happened, not the future")
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id)
        centre_id = patient.health_centre_id
        if body.alert_id is not None:
            # Her alert (she is one the caller may see: patient_or_404 above).
            alert = alerts.alert_in_scope(s.conn, body.alert_id, health_centre_id=None)
            if alert is None or alert.patient_id != patient_id:
                raise not_found("alert", body.alert_id)
        if body.corrects is not None and not contact_log.is_patients_entry(
            s.conn, patient_id, body.corrects
        ):
            raise invalid(f"corrects: no entry {body.corrects} in this patient's log")
        entry_id = contact_log.add(
            s.conn,
            patient_id,
            kind=body.kind,
            text=body.text,
            author=caller.principal.staff_id,
            occurred_at=body.occurred_at,
            alert_id=body.alert_id,
            corrects=body.corrects,
        )
        s.record("contact", entry_id, patient_id=patient_id, health_centre_id=centre_id)
        written = contact_log.entry(s.conn, entry_id)
    if written is None:  # written in this very transaction
        raise not_found("contact", entry_id)
    return Contact.of(written)
