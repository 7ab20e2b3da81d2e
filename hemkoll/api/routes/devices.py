"""A patient's devices: enrol one (with its one-time MQTT credentials), list, deactivate."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from hemkoll.api import care_access
from hemkoll.api.access import ADMINS, CARE_AND_ADMIN, Caller, allow
from hemkoll.api.models import AwareDatetime, Model
from hemkoll.api.problems import conflict, invalid, not_found
from hemkoll.api.routes import PREFIX
from hemkoll.api.routes.patients import patient_or_404
from hemkoll.protocol.topics import feedback_topic, readings_topic
from hemkoll.store import devices
from hemkoll.store.devices import deactivate_device
from hemkoll.store.patients import REASON_MAX_CHARS, RegistryError, check_monitoring_start
from hemkoll.store.types import Device, DeviceKind

router = APIRouter(prefix=PREFIX, tags=["devices"])
Admin = Annotated[Caller, Depends(allow(*ADMINS))]
Anyone = Annotated[Caller, Depends(allow(*CARE_AND_ADMIN))]


class NewDevice(Model):
    kind: DeviceKind
    monitoring_started_at: AwareDatetime | None = Field(
        None,
        description="A device in use since an earlier time (a patient enrolled with history): "
        "ingest takes its readings measured from then on. Not before the patient's monitoring "
        "start; needs a reason.",
    )
    reason: str | None = Field(
        None,
        max_length=REASON_MAX_CHARS,
        description="Why (kept in the audit log); required with monitoring_started_at.",
    )


class EnrolledDevice(BaseModel):
    id: UUID
    patient_id: UUID
    kind: str
    active: bool
    enrolled_at: datetime
    mqtt_username: str
    mqtt_password: str = Field(description="Shown once; hemkoll keeps only its hash.")
    readings_topic: str
    feedback_topic: str


@router.post(
    "/patients/{patient_id}/devices",
    status_code=201,
    summary="Enrol a device; returns its id and one-time MQTT credentials",
)
def enrol(patient_id: UUID, body: NewDevice, caller: Admin, request: Request) -> EnrolledDevice:
    prefix: str = request.app.state.topic_prefix
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id, own=True)
        if patient.discharged_at is not None:
            raise conflict("the patient is discharged")
        started = body.monitoring_started_at
        try:
            reason = check_monitoring_start(started, body.reason, now=caller.now())
        except RegistryError as exc:
            raise invalid(str(exc)) from exc
        if started is not None and started < patient.enrolled_at:
            raise invalid(
                "monitoring_started_at: before the patient's monitoring start "
                f"({patient.enrolled_at.isoformat()})"
            )
        new = devices.add_device(s.conn, patient_id, body.kind, enrolled_at=started)
        s.record(
            "device",
            new.device.id,
            patient_id=patient_id,
            health_centre_id=patient.health_centre_id,
            reason=reason,
        )
    device = new.device
    return EnrolledDevice(
        id=device.id,
        patient_id=device.patient_id,
        kind=device.kind,
        active=device.active,
        enrolled_at=device.enrolled_at,
        mqtt_username=str(device.id),
        mqtt_password=new.mqtt_password,
        readings_topic=readings_topic(prefix, device.id),
        feedback_topic=feedback_topic(prefix, device.id),
    )


@router.get("/patients/{patient_id}/devices", summary="A patient's devices")
def list_devices(patient_id: UUID, caller: Anyone) -> list[Device]:
    with caller.session() as s:
        patient = patient_or_404(caller, s, patient_id)
        found = devices.devices_of_patient(s.conn, patient_id)
        s.record(
            "patient", patient_id, patient_id=patient_id, health_centre_id=patient.health_centre_id
        )
    return found


@router.post("/devices/{device_id}/deactivate", summary="Deactivate a device")
def deactivate(device_id: UUID, caller: Admin) -> Device:
    with caller.session() as s:
        device = devices.device_in_scope(s.conn, device_id, health_centre_id=None)
        missing = not_found("device", device_id)
        if device is None:
            raise missing
        care_access.require_patient(caller, s, device.patient_id, missing=missing)
        patient_or_404(caller, s, device.patient_id, own=True)
        if not device.active:
            raise conflict("the device is already deactivated")
        changed = deactivate_device(s.conn, device_id)
        s.record("device", device_id, patient_id=device.patient_id)
    return changed
