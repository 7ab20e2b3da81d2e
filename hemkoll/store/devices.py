"""Patients' devices: enrolment (with the one-time MQTT password), lookup, deactivation, and
the broker's and ingest's reads of them.

A device is enrolled for an existing patient (``add_device``, the care-team API) or, by an
administrator, together with its health centre and patient, created if new (``enrol_device``).
Only the hash of its MQTT password is stored (``credentials``). The patient app is her
device for the answers she gives in it (``app_device``): made by hemkoll, without a password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.credentials import hash_secret, new_secret
from hemkoll.store.health_centres import upsert_health_centre
from hemkoll.store.patients import RegistryError, check_reference, upsert_patient
from hemkoll.store.sql import query
from hemkoll.store.types import DEVICE_KINDS, Device, DeviceCredential, HealthCentre, Patient

# A backdated enrolment may name a time this far ahead of the database's clock (clock skew
# between the caller and the database), no further: enrolment is never in the future.
ENROLLED_AT_MAX_AHEAD = timedelta(minutes=1)


@dataclass(frozen=True)
class NewDevice:
    """A device just enrolled, with the one-time MQTT password it is given."""

    device: Device
    mqtt_password: str


@dataclass(frozen=True)
class Enrolment:
    """A newly enrolled device with the one-time MQTT password the device is given."""

    health_centre: HealthCentre
    patient: Patient
    device: Device
    mqtt_password: str


def add_device(
    conn: Conn, patient_id: UUID, kind: str, *, enrolled_at: datetime | None = None
) -> NewDevice:
    """Enrol a new device for an existing patient; the caller's transaction. ``enrolled_at``
    (None: now) backdates a device in use since then, checked by the caller: ingest takes its
    readings measured from then on."""
    if kind not in DEVICE_KINDS:
        raise RegistryError(
            f"unknown device kind {kind!r}; expected one of {', '.join(DEVICE_KINDS)}"
        )
    secret = new_secret()
    with conn.cursor(row_factory=class_row(Device)) as cur:
        device = cur.execute(
            query("insert_device_at"),
            {
                "patient_id": patient_id,
                "kind": kind,
                "credential_hash": hash_secret(secret),
                "enrolled_at": enrolled_at,
            },
        ).fetchone()
    if device is None:
        raise RuntimeError("insert_device_at returned no row")
    return NewDevice(device, secret)


def app_device(conn: Conn, patient_id: UUID) -> Device:
    """The patient's app as the device of the answers she gives in it (``APP_DEVICE_KIND``):
    made on first use, in the caller's transaction; no MQTT credential."""
    conn.execute(query("insert_app_device"), {"patient_id": patient_id})
    with conn.cursor(row_factory=class_row(Device)) as cur:
        device = cur.execute(query("app_device_of_patient"), {"patient_id": patient_id}).fetchone()
    if device is None:
        raise RuntimeError(f"no patient {patient_id} to make an app device for")
    return device


def devices_of_patient(conn: Conn, patient_id: UUID) -> list[Device]:
    with conn.cursor(row_factory=class_row(Device)) as cur:
        return cur.execute(query("devices_of_patient"), {"patient_id": patient_id}).fetchall()


def device_in_scope(conn: Conn, device_id: UUID, *, health_centre_id: UUID | None) -> Device | None:
    with conn.cursor(row_factory=class_row(Device)) as cur:
        return cur.execute(
            query("device_in_scope"),
            {"device_id": device_id, "health_centre_id": health_centre_id},
        ).fetchone()


def enrol_device(
    conn: Conn,
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
        centre = upsert_health_centre(conn, health_centre_name)
        patient = upsert_patient(
            conn,
            health_centre_id=centre.id,
            reference=patient_reference,
            enrolled_at=enrolled_at,
        )
        with conn.cursor(row_factory=class_row(Device)) as cur:
            device = cur.execute(
                query("insert_device_at"),
                {
                    "patient_id": patient.id,
                    "kind": device_kind,
                    "credential_hash": hash_secret(secret),
                    "enrolled_at": enrolled_at,
                },
            ).fetchone()
        if device is None:
            raise RuntimeError("statement insert_device_at returned no row")
    return Enrolment(centre, patient, device, secret)


def deactivate_device(conn: Conn, device_id: UUID) -> Device:
    with conn.transaction(), conn.cursor(row_factory=class_row(Device)) as cur:
        device = cur.execute(query("deactivate_device"), {"device_id": device_id}).fetchone()
    if device is None:
        raise RegistryError(f"no active device {device_id}")
    return device


def active_device_credentials(conn: Conn) -> list[DeviceCredential]:
    with conn.cursor(row_factory=class_row(DeviceCredential)) as cur:
        return cur.execute(query("active_device_credentials")).fetchall()


@dataclass(frozen=True)
class DeviceLogin:
    """A device with its password hash: what an HTTP Basic login is checked against."""

    id: UUID
    patient_id: UUID
    kind: str
    active: bool
    enrolled_at: datetime
    credential_hash: str

    @property
    def device(self) -> Device:
        return Device(self.id, self.patient_id, self.kind, self.active, self.enrolled_at)


def device_login(conn: Conn, device_id: UUID) -> DeviceLogin | None:
    with conn.cursor(row_factory=class_row(DeviceLogin)) as cur:
        return cur.execute(query("device_login"), {"device_id": device_id}).fetchone()


def devices_by_id(conn: Conn, device_ids: list[UUID]) -> dict[UUID, Device]:
    with conn.cursor(row_factory=class_row(Device)) as cur:
        rows = cur.execute(query("devices_by_id"), {"device_ids": device_ids}).fetchall()
    return {device.id: device for device in rows}
