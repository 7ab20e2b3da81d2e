"""The API in-process (FastAPI's TestClient runs the real lifespan and pool) on a fresh database,
with two health centres and a full set of staff: the world every API test starts from."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from hemkoll.api.app import ApiConfig, create_app
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.store import alert_actions, alerts, devices, health_centres, patients, staff
from hemkoll.store.alerts import AlertContent
from hemkoll.store.connect import Conn, connect
from hemkoll.store.health_centres import CentreSettings
from tests.conftest import as_api_role

# The address the in-process client calls from (a documentation address, RFC 5737).
CLIENT = ("203.0.113.7", 50000)


@dataclass
class Centre:
    id: UUID
    patient_id: UUID
    device_id: UUID
    alert_id: UUID
    tokens: dict[str, str] = field(default_factory=dict)
    staff_ids: dict[str, UUID] = field(default_factory=dict)


@dataclass
class World:
    region_admin: str
    region_admin_id: UUID
    a: Centre
    b: Centre


def make_alert(
    conn: Conn,
    patient_id: UUID,
    severity: str = "red",
    rule_id: str = "weight_gain_2kg_3d",
) -> UUID:
    content = AlertContent(
        rule_id=rule_id,
        rule_kind="change",
        severity=severity,
        fired_at=datetime.now(UTC) - timedelta(hours=1),
        evidence={"gain_kg": 2.4, "days": 3},
        explanation_en="Weight up 2.4 kg in 3 days.",
        explanation_sv="Vikten har ökat 2,4 kg på 3 dagar.",
    )
    alert_id = alerts.insert_alert(conn, patient_id, "test rules", content)
    alert_actions.insert_event(
        conn, alert_id, kind="opened", severity=severity, actor="rules", details={}
    )
    return alert_id


def _centre(conn: Conn, name: str) -> Centre:
    now = datetime.now(UTC)
    centre = health_centres.create_centre(conn, name, CentreSettings())
    patient = patients.create_patient(
        conn,
        health_centre_id=centre.id,
        reference=f"P{name[-1]}-0001",
        language="sv",
        timezone="Europe/Stockholm",
    )
    device = devices.add_device(conn, patient.id, "scale")
    made = Centre(centre.id, patient.id, device.device.id, make_alert(conn, patient.id))
    for role in ("nurse", "clinician", "admin"):
        member = staff.create_staff(
            conn, name=f"{role} {name}", role=role, health_centre_id=centre.id
        )
        made.tokens[role] = staff.issue_token(conn, member.id, now=now).token
        made.staff_ids[role] = member.id
    return made


@pytest.fixture
def world(db_url: str) -> World:
    with connect(db_url) as conn, conn.transaction():
        region = staff.create_staff(conn, name="region admin", role="admin", health_centre_id=None)
        token = staff.issue_token(conn, region.id, now=datetime.now(UTC)).token
        return World(
            token, region.id, _centre(conn, "Vårdcentral A"), _centre(conn, "Vårdcentral B")
        )


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    app = create_app(ApiConfig(database_url=as_api_role(db_url), programme=HEART_FAILURE))
    with TestClient(app, raise_server_exceptions=False, client=CLIENT) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
