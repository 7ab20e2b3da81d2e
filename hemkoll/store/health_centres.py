"""Health centres: their phone number, and their notification settings (endpoints, signing
secrets, escalation).

A centre is created with its settings by an administrator (``create_centre``), or by name
only when the first device of one of its patients is enrolled (``upsert_health_centre``,
``devices.enrol_device``).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query
from hemkoll.store.types import HealthCentre

# Standard Webhooks secrets are "whsec_" and base64 of 24-64 random bytes; 32 is the common size.
SIGNING_SECRET_BYTES = 32


@dataclass(frozen=True)
class Centre:
    id: UUID
    name: str
    timezone: str
    # As the centre's patients dial it; the messages to them name it.
    phone: str | None
    notification_url: str | None
    escalation_contact: str | None
    escalation_url: str | None
    escalate_after_minutes: int
    # The body of its webhooks: hemkoll's JSON or a FHIR Bundle (migration 0018, docs/fhir.md).
    webhook_format: str
    created_at: datetime
    # The care provider whose care unit it is, and the unit's kind (migration 0020).
    care_provider_id: UUID
    unit_kind: str
    hsa_id: str | None


@dataclass(frozen=True)
class CentreWithSecrets(Centre):
    """A centre as created or changed, with any signing secret made just now (shown once)."""

    signing_secret: str | None = None
    escalation_signing_secret: str | None = None


@dataclass(frozen=True)
class CentreSettings:
    """Settings to create a centre with, or to change (None leaves a setting as it is)."""

    timezone: str | None = None
    phone: str | None = None
    notification_url: str | None = None
    escalation_contact: str | None = None
    escalation_url: str | None = None
    escalate_after_minutes: int | None = None
    webhook_format: str | None = None


def new_signing_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(SIGNING_SECRET_BYTES)).decode("ascii")


def create_centre(
    conn: Conn,
    name: str,
    settings: CentreSettings,
    *,
    care_provider_id: UUID | None = None,
    unit_kind: str = "health_centre",
    hsa_id: str | None = None,
) -> CentreWithSecrets:
    """A care unit of ``care_provider_id`` (None: the deployment's region, see 0020)."""
    signing = new_signing_secret() if settings.notification_url else None
    escalation = new_signing_secret() if settings.escalation_url else None
    with conn.cursor(row_factory=class_row(Centre)) as cur:
        row = cur.execute(
            query("insert_health_centre"),
            {
                "name": name,
                "timezone": settings.timezone or "Europe/Stockholm",
                "phone": settings.phone,
                "notification_url": settings.notification_url,
                "signing_secret": signing,
                "escalation_contact": settings.escalation_contact,
                "escalation_url": settings.escalation_url,
                "escalation_signing_secret": escalation,
                "escalate_after_minutes": settings.escalate_after_minutes or 120,
                "webhook_format": settings.webhook_format or "hemkoll",
                "care_provider_id": care_provider_id,
                "unit_kind": unit_kind,
                "hsa_id": hsa_id,
            },
        ).fetchone()
    if row is None:
        raise RuntimeError("insert_health_centre returned no row")
    return CentreWithSecrets(
        **asdict(row), signing_secret=signing, escalation_signing_secret=escalation
    )


def list_centres(conn: Conn, *, health_centre_id: UUID | None) -> list[Centre]:
    with conn.cursor(row_factory=class_row(Centre)) as cur:
        return cur.execute(
            query("list_health_centres"), {"health_centre_id": health_centre_id}
        ).fetchall()


def update_centre(
    conn: Conn, health_centre_id: UUID, settings: CentreSettings
) -> CentreWithSecrets | None:
    with conn.cursor(row_factory=class_row(CentreWithSecrets)) as cur:
        return cur.execute(
            query("update_health_centre"),
            {
                "health_centre_id": health_centre_id,
                "timezone": settings.timezone,
                "phone": settings.phone,
                "notification_url": settings.notification_url,
                "new_signing_secret": new_signing_secret(),
                "escalation_contact": settings.escalation_contact,
                "escalation_url": settings.escalation_url,
                "new_escalation_signing_secret": new_signing_secret(),
                "escalate_after_minutes": settings.escalate_after_minutes,
                "webhook_format": settings.webhook_format,
            },
        ).fetchone()


def rotate_secrets(conn: Conn, health_centre_id: UUID) -> tuple[str | None, str | None] | None:
    """New signing secrets for the centre's endpoints; None if there is no such centre."""
    row = conn.execute(
        query("rotate_signing_secrets"),
        {
            "health_centre_id": health_centre_id,
            "signing_secret": new_signing_secret(),
            "escalation_signing_secret": new_signing_secret(),
        },
    ).fetchone()
    return None if row is None else (row[0], row[1])


def upsert_health_centre(conn: Conn, name: str) -> HealthCentre:
    """The centre of that name, created (with the default settings) if there is none."""
    with conn.cursor(row_factory=class_row(HealthCentre)) as cur:
        row = cur.execute(query("upsert_health_centre"), {"name": name}).fetchone()
    if row is None:
        raise RuntimeError("statement upsert_health_centre returned no row")
    return row
