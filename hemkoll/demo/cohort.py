"""The demo's health centre, its nurse, and the simulated cohort enrolled like real patients.

While past days are replayed the patients' monitoring is paused: the missing-measurement rules
measure silence against the wall clock, so a patient whose replayed readings are days behind
would look silent since then. Once the replay has caught up, monitoring is resumed and every
patient evaluated: gaps in the replayed days then show as they would have.

Every simulated device is enrolled through the registry (``enrol_device``) and gets its own
MQTT password; the enrolment is backdated to the day before the first simulated day, because
ingest refuses readings measured before their device was enrolled. The health centre's
notification URL points at the simulated health centre's webhook receiver; since that listens
on a new port each run, the URL is set and the signing secret rotated at every start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from hemkoll.demo.errors import DemoError
from hemkoll.store import staff
from hemkoll.store.connect import Conn
from hemkoll.store.devices import enrol_device
from hemkoll.store.health_centres import (
    CentreSettings,
    create_centre,
    list_centres,
    rotate_secrets,
    update_centre,
)
from hemkoll.store.patients import set_monitoring_paused

# The person trying the demo: the token the banner prints is hers.
NURSE_NAME = "Demo nurse"
# The simulated health centre's nurse, a staff member of her own, so that the alert history
# ("staff:<id>") and the audit log tell what she did from what the visitor did.
SIMULATED_NURSE_NAME = "Simulated nurse"


def enrolment_time(start: date, timezone: str) -> datetime:
    """Local midnight a day before the first simulated day, in UTC."""
    local = datetime.combine(start - timedelta(days=1), time(0, 0), tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC)


def centre_id(conn: Conn, name: str) -> UUID | None:
    for centre in list_centres(conn, health_centre_id=None):
        if centre.name == name:
            return centre.id
    return None


# The demo centre's phone number, which red alerts' patient messages name: from the range the
# Swedish regulator (PTS) keeps for fiction, so nobody real is called.
DEMO_CENTRE_PHONE = "070-174 06 05"


def prepare_centre(conn: Conn, name: str, notification_url: str) -> tuple[UUID, str]:
    """Create the centre (or point it at this run's receiver); its id and new signing secret."""
    existing = centre_id(conn, name)
    settings = CentreSettings(phone=DEMO_CENTRE_PHONE, notification_url=notification_url)
    if existing is None:
        created = create_centre(conn, name, settings)
        if created.signing_secret is None:
            raise RuntimeError("a centre created with a notification URL has a signing secret")
        conn.commit()
        return created.id, created.signing_secret
    update_centre(conn, existing, settings)
    secrets = rotate_secrets(conn, existing)
    if secrets is None or secrets[0] is None:
        raise RuntimeError(f"health centre {name} vanished while it was being set up")
    conn.commit()
    return existing, secrets[0]


def enrol_cohort(
    conn: Conn, centre: str, device_keys: Iterable[str], enrolled_at: datetime
) -> dict[str, list[str]]:
    """Enrol every simulated device (``SIM-0001/scale``): key -> [device id, MQTT password]."""
    devices: dict[str, list[str]] = {}
    for key in device_keys:
        reference, kind = key.split("/", 1)
        enrolment = enrol_device(
            conn,
            health_centre_name=centre,
            patient_reference=reference,
            device_kind=kind,
            enrolled_at=enrolled_at,
        )
        devices[key] = [str(enrolment.device.id), enrolment.mqtt_password]
    conn.commit()
    return devices


def check_enrolled(conn: Conn, centre: UUID, devices: Mapping[str, list[str]]) -> None:
    """The state's devices are this centre's active devices (a database reset shows here)."""
    rows = conn.execute(
        "SELECT d.id FROM devices d JOIN patients p ON p.id = d.patient_id "
        "WHERE p.health_centre_id = %s AND d.active",
        (centre,),
    ).fetchall()
    conn.commit()
    if {str(device_id) for (device_id,) in rows} != {v[0] for v in devices.values()}:
        raise DemoError(
            "the database does not hold the cohort that the data directory describes "
            "(was the database reset?); run `hemkoll demo --reset` to start a new one"
        )


def has_devices(conn: Conn, centre: UUID) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM devices d JOIN patients p ON p.id = d.patient_id "
        "WHERE p.health_centre_id = %s)",
        (centre,),
    ).fetchone()
    conn.commit()
    return bool(row and row[0])


def staff_token(
    conn: Conn, centre: UUID, name: str, now: datetime, *, revoke_earlier: bool = False
) -> tuple[UUID, str]:
    """A new API token for the centre's staff member ``name`` (created on first use, found by
    name on later starts, never duplicated): her id and the token. ``revoke_earlier``: her
    tokens of earlier runs stop working (the simulated nurse's were never shown to anyone)."""
    members = [m for m in staff.list_staff(conn, health_centre_id=centre) if m.name == name]
    member = members[0] if members else None
    if member is None:
        member = staff.create_staff(conn, name=name, role="nurse", health_centre_id=centre)
    elif revoke_earlier:
        staff.revoke_tokens(conn, member.id)
    token = staff.issue_token(conn, member.id, now=now).token
    conn.commit()
    return member.id, token


def unresolved_alerts(conn: Conn, centre: UUID) -> list[UUID]:
    """Alerts an earlier run left on the worklist, oldest first."""
    rows = conn.execute(
        "SELECT a.id FROM alerts a JOIN patients p ON p.id = a.patient_id "
        "WHERE p.health_centre_id = %s AND a.state <> 'resolved' ORDER BY a.opened_at",
        (centre,),
    ).fetchall()
    conn.commit()
    return [alert_id for (alert_id,) in rows]


# One patient per transaction: the rules worker locks a batch
# of patients (and their queue rows) in one transaction, so a demo transaction that held
# several of them while waiting for another could deadlock with it.
def _patients(conn: Conn, centre: UUID) -> list[UUID]:
    rows = conn.execute(
        "SELECT id FROM patients WHERE health_centre_id = %s ORDER BY id", (centre,)
    ).fetchall()
    conn.commit()
    return [patient_id for (patient_id,) in rows]


def set_paused(conn: Conn, centre: UUID, *, paused: bool) -> None:
    """Pause (or resume) the monitoring of every patient of the centre; each is queued for the
    rules worker as her pause changes (``set_monitoring_paused``), so a resume evaluates her."""
    for patient_id in _patients(conn, centre):
        set_monitoring_paused(conn, patient_id, paused=paused)  # its own transaction
