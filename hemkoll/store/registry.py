"""The registry: health centres, their pseudonymous patients and the patients' devices."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow, class_row

from hemkoll.store.credentials import hash_secret, new_secret
from hemkoll.store.sql import query
from hemkoll.store.types import (
    DEVICE_KINDS,
    Device,
    DeviceCredential,
    HealthCentre,
    Patient,
)

# Swedish personal identity and coordination numbers: YYMMDD-NNNN, YYYYMMDDNNNN and the like.
_PERSONAL_NUMBER = re.compile(r"^\s*(\d{2})?\d{6}\s*[-+]?\s*\d{4}\s*$")
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
# A backdated enrolment may name a time this far ahead of the database's clock (clock skew
# between the caller and the database), no further: enrolment is never in the future.
ENROLLED_AT_MAX_AHEAD = timedelta(minutes=1)


T = TypeVar("T")


class RegistryError(ValueError):
    """A registry request that cannot be carried out, with the reason."""


def _fetch_one(
    conn: psycopg.Connection[TupleRow], row_type: type[T], name: str, params: dict[str, object]
) -> T:
    """Run a named statement that returns exactly one row."""
    with conn.cursor(row_factory=class_row(row_type)) as cur:
        row = cur.execute(query(name), params).fetchone()
    if row is None:
        raise RuntimeError(f"statement {name} returned no row")
    return row


def check_reference(reference: str) -> str:
    """Validate a health centre's patient reference: pseudonymous, short, printable."""
    if _PERSONAL_NUMBER.match(reference):
        raise RegistryError(
            "patient reference looks like a personal identity number; hemkoll stores only "
            "the health centre's own pseudonymous reference"
        )
    if not _REFERENCE.match(reference):
        raise RegistryError(
            "patient reference must be 1-64 characters of letters, digits and . _ : / -, "
            "starting with a letter or digit"
        )
    return reference


@dataclass(frozen=True)
class Enrolment:
    """A newly enrolled device with the one-time MQTT password the device is given."""

    health_centre: HealthCentre
    patient: Patient
    device: Device
    mqtt_password: str


def enrol_device(
    conn: psycopg.Connection[TupleRow],
    *,
    health_centre_name: str,
    patient_reference: str,
    device_kind: str,
    enrolled_at: datetime | None = None,
) -> Enrolment:
    """Create (or reuse) the health centre and patient, and enrol a new device: one transaction.

    ``enrolled_at`` (admin use) backdates the enrolment of a device already in use, and of the
    patient if new: ingest refuses readings measured before their device's enrolment, so a
    replay of past days (the demo) or a device's stored history needs it. None: now.
    """
    if device_kind not in DEVICE_KINDS:
        raise RegistryError(
            f"unknown device kind {device_kind!r}; expected one of {', '.join(DEVICE_KINDS)}"
        )
    if not health_centre_name.strip() or len(health_centre_name) > 200:
        raise RegistryError("health centre name must be 1-200 characters")
    check_reference(patient_reference)
    if enrolled_at is not None:
        if enrolled_at.tzinfo is None:
            raise RegistryError("enrolled_at needs a time zone (UTC offset)")
        if enrolled_at > datetime.now(UTC) + ENROLLED_AT_MAX_AHEAD:
            raise RegistryError("enrolled_at cannot be in the future")
    secret = new_secret()
    with conn.transaction():
        centre = _fetch_one(
            conn, HealthCentre, "upsert_health_centre", {"name": health_centre_name}
        )
        patient = _fetch_one(
            conn,
            Patient,
            "upsert_patient",
            {
                "health_centre_id": centre.id,
                "reference": patient_reference,
                "enrolled_at": enrolled_at,
            },
        )
        device = _fetch_one(
            conn,
            Device,
            "insert_device_at",
            {
                "patient_id": patient.id,
                "kind": device_kind,
                "credential_hash": hash_secret(secret),
                "enrolled_at": enrolled_at,
            },
        )
    return Enrolment(centre, patient, device, secret)


def deactivate_device(conn: psycopg.Connection[TupleRow], device_id: UUID) -> Device:
    with conn.transaction(), conn.cursor(row_factory=class_row(Device)) as cur:
        device = cur.execute(query("deactivate_device"), {"device_id": device_id}).fetchone()
    if device is None:
        raise RegistryError(f"no active device {device_id}")
    return device


def active_device_credentials(conn: psycopg.Connection[TupleRow]) -> list[DeviceCredential]:
    with conn.cursor(row_factory=class_row(DeviceCredential)) as cur:
        return cur.execute(query("active_device_credentials")).fetchall()


def devices_by_id(conn: psycopg.Connection[TupleRow], device_ids: list[UUID]) -> dict[UUID, Device]:
    with conn.cursor(row_factory=class_row(Device)) as cur:
        rows = cur.execute(query("devices_by_id"), {"device_ids": device_ids}).fetchall()
    return {device.id: device for device in rows}
