"""Bulk enrolment (administrators): a file of a centre's patients with their devices, checked
as a whole and written in one transaction, idempotent on the centre's patient reference.

The body is the file itself: a JSON array, JSON lines (``application/x-ndjson``) or CSV
(``text/csv``), in the format ``hemkoll.store.enrolment_file`` reads (docs/api.md). A file with
problems is refused with every row's problems and nothing written (422); otherwise each patient
is reported created, unchanged or with devices added, and each NEW device with its one-time
MQTT credentials (a device enrolled earlier never shows them again). Each patient is audited,
with the reason given for an earlier monitoring start, and each new device.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from hemkoll.api.access import ADMINS, Caller, allow
from hemkoll.api.problems import Problem, conflict, invalid, not_found
from hemkoll.api.routes import PREFIX
from hemkoll.api.routes.devices import EnrolledDevice
from hemkoll.protocol.topics import feedback_topic, readings_topic
from hemkoll.store import enrolment, health_centres
from hemkoll.store.enrolment import BulkPatient, EnrolmentConflict
from hemkoll.store.enrolment_file import (
    MAX_PATIENTS,
    MAX_PROBLEMS_LISTED,
    FileRefused,
    format_for,
    read_file,
)

router = APIRouter(prefix=PREFIX, tags=["patients"])
Admin = Annotated[Caller, Depends(allow(*ADMINS))]

_ROW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["reference"],
    "properties": {
        "reference": {"type": "string", "minLength": 1, "maxLength": 64},
        "language": {"type": "string", "enum": ["sv", "en"]},
        "timezone": {"type": "string", "maxLength": 64},
        "devices": {"type": "array", "items": {"type": "string"}, "maxItems": 16},
        "monitoring_started_at": {"type": "string", "format": "date-time"},
        "reason": {"type": "string", "maxLength": 500},
    },
}
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file: a JSON array of patients (below), the same objects as JSON "
        "lines (application/x-ndjson), or CSV (text/csv) with one line per device and the "
        "patient's columns repeated (docs/api.md, Bulk enrolment).",
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": _ROW_SCHEMA, "maxItems": MAX_PATIENTS}
            },
        },
    }
}


class PatientEnrolled(BaseModel):
    row: int = Field(description="The file's row (line) the patient was first named on.")
    reference: str
    patient_id: UUID
    outcome: str = Field(description="created, unchanged or devices_added")
    enrolled_at: datetime = Field(description="Her monitoring start.")
    devices: list[EnrolledDevice] = Field(
        description="The devices enrolled now, each with its one-time MQTT password."
    )


class BulkEnrolment(BaseModel):
    health_centre_id: UUID
    created: int
    unchanged: int
    devices_added: int = Field(description="Patients already enrolled who got new devices.")
    new_devices: int
    patients: list[PatientEnrolled]


def _refused(refused: FileRefused) -> Problem:
    listed = refused.problems[:MAX_PROBLEMS_LISTED]
    return invalid(
        str(refused),
        errors=[{"row": p.row, "field": p.field, "message": p.message} for p in listed],
        problems=len(refused.problems),
    )


def _report(centre_id: UUID, rows: list[BulkPatient], prefix: str) -> BulkEnrolment:
    patients = [
        PatientEnrolled(
            row=p.row,
            reference=p.reference,
            patient_id=p.patient_id,
            outcome=p.outcome,
            enrolled_at=p.enrolled_at,
            devices=[
                EnrolledDevice(
                    id=d.id,
                    patient_id=d.patient_id,
                    kind=d.kind,
                    active=True,
                    enrolled_at=d.enrolled_at,
                    mqtt_username=str(d.id),
                    mqtt_password=d.mqtt_password,
                    readings_topic=readings_topic(prefix, d.id),
                    feedback_topic=feedback_topic(prefix, d.id),
                )
                for d in p.devices
            ],
        )
        for p in rows
    ]
    return BulkEnrolment(
        health_centre_id=centre_id,
        created=sum(p.outcome == "created" for p in rows),
        unchanged=sum(p.outcome == "unchanged" for p in rows),
        devices_added=sum(p.outcome == "devices_added" for p in rows),
        new_devices=sum(len(p.devices) for p in rows),
        patients=patients,
    )


def _enrol(caller: Caller, centre_id: UUID, data: bytes, media: str | None) -> list[BulkPatient]:
    with caller.session() as s:
        if not caller.sees_centre(centre_id):
            raise not_found("health centre", centre_id)
        found = health_centres.list_centres(s.conn, health_centre_id=centre_id)
        if not found:
            raise not_found("health centre", centre_id)
        fmt = format_for(media)
        if fmt is None:
            raise Problem(
                415,
                "unsupported-media-type",
                "Unsupported media type",
                "send the file as application/json (an array), application/x-ndjson (JSON "
                "lines) or text/csv",
            )
        try:
            rows = enrolment.enrol_bulk(
                s.conn,
                health_centre_id=centre_id,
                default_timezone=found[0].timezone,
                patients=read_file(data, fmt, now=caller.now()),
            )
        except FileRefused as refused:
            raise _refused(refused) from refused
        except EnrolmentConflict as exc:
            raise conflict(str(exc)) from exc
        for p in rows:
            s.record(
                "patient",
                p.patient_id,
                patient_id=p.patient_id,
                health_centre_id=centre_id,
                reason=p.reason,
            )
            for d in p.devices:
                s.record(
                    "device",
                    d.id,
                    patient_id=p.patient_id,
                    health_centre_id=centre_id,
                    reason=p.reason,
                )
    return rows


@router.post(
    "/health-centres/{centre_id}/enrolments",
    summary="Bulk enrolment: a file of patients with their devices, all or nothing; a rerun "
    "changes nothing",
    openapi_extra=_BODY,
    responses={415: {"description": "Not JSON, JSON lines or CSV"}},
)
async def enrol_bulk(centre_id: UUID, caller: Admin, request: Request) -> BulkEnrolment:
    data = await request.body()
    prefix: str = request.app.state.topic_prefix
    media = request.headers.get("content-type")
    rows = await run_in_threadpool(_enrol, caller, centre_id, data, media)
    return _report(centre_id, rows, prefix)
