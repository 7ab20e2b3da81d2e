"""The API in-process (FastAPI's TestClient runs the real lifespan and pool) on a fresh database,
with two health centres and a full set of staff: the world every API test starts from."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from hemkoll.api.app import ApiConfig, create_app
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.store import (
    alert_actions,
    alerts,
    devices,
    health_centres,
    patients,
    staff,
)
from hemkoll.store import care_team as care_team_store
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

    # How a patient made for this "centre" is shared with the home-care unit (the matrix's
    # shared cases: hemkoll/access/decision.py): None for the centre's own.
    sharing: str | None = None
    share: Callable[[Conn, UUID], None] | None = None


@dataclass
class World:
    region_admin: str
    region_admin_id: UUID
    a: Centre
    b: Centre
    # With ``build_world(care_team=True)``: a municipality's home-care unit (its own care
    # provider), and centre A's patients shared with it by state: consent, no_consent,
    # blocked, emergency (docs/access.md).
    home_care_unit: Centre | None = None
    municipality: UUID | None = None
    shared: dict[str, Centre] = field(default_factory=dict)

    @property
    def home_care(self) -> Centre:
        if self.home_care_unit is None:
            raise LookupError("a world built without its care team")
        return self.home_care_unit

    @property
    def municipality_id(self) -> UUID:
        if self.municipality is None:
            raise LookupError("a world built without its care team")
        return self.municipality


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


SHARINGS = ("consent", "no_consent", "blocked", "emergency")


def _home_care(conn: Conn, municipality: UUID) -> Centre:
    now = datetime.now(UTC)
    unit = health_centres.create_centre(
        conn,
        "Hemsjukvården Tuna",
        CentreSettings(),
        care_provider_id=municipality,
        unit_kind="home_care",
    )
    made = Centre(unit.id, unit.id, unit.id, unit.id)  # it enrols no patients of its own
    for role in ("nurse", "clinician", "admin"):
        member = staff.create_staff(
            conn, name=f"{role} hemsjukvård", role=role, health_centre_id=unit.id
        )
        made.tokens[role] = staff.issue_token(conn, member.id, now=now).token
        made.staff_ids[role] = member.id
    return made


def sharer(
    how: str, home_care: Centre, municipality: UUID, by: UUID
) -> Callable[[Conn, UUID], None]:
    """Shares a patient with the home-care unit as ``how`` says (the store's own writes)."""

    def share(conn: Conn, patient_id: UUID) -> None:
        now = datetime.now(UTC) - timedelta(minutes=1)
        if how != "emergency":
            care_team_store.start_relationship(
                conn, patient_id=patient_id, unit_id=home_care.id, recorded_by=by, now=now
            )
        if how in ("consent", "blocked"):
            care_team_store.record_consent(
                conn,
                patient_id=patient_id,
                care_provider_id=municipality,
                scope="monitoring",
                recorded_by=by,
                now=now,
            )
        if how == "blocked":
            care_team_store.record_block(
                conn, patient_id=patient_id, care_provider_id=municipality, recorded_by=by, now=now
            )
        if how == "emergency":
            for member in home_care.staff_ids.values():
                care_team_store.start_emergency(
                    conn,
                    staff_id=member,
                    patient_id=patient_id,
                    reason="escalated alert, patient not answering",
                    now=now,
                    expires_at=now + timedelta(hours=4),
                )

    return share


def _shared(conn: Conn, a: Centre, home_care: Centre, municipality: UUID, how: str) -> Centre:
    """Another patient of centre A (device, alert escalated), shared as ``how``."""
    patient = patients.create_patient(
        conn,
        health_centre_id=a.id,
        reference=f"PA-{how}",
        language="sv",
        timezone="Europe/Stockholm",
    )
    device = devices.add_device(conn, patient.id, "scale")
    alert = make_alert(conn, patient.id)
    conn.execute("UPDATE alerts SET escalated_at = now() WHERE id = %s", (alert,))
    share = sharer(how, home_care, municipality, a.staff_ids["nurse"])
    share(conn, patient.id)
    return Centre(
        a.id, patient.id, device.device.id, alert, a.tokens, a.staff_ids, sharing=how, share=share
    )


@pytest.fixture
def world(db_url: str) -> World:
    return build_world(db_url)


@pytest.fixture
def team_world(db_url: str) -> World:
    return build_world(db_url, care_team=True)


def build_world(db_url: str, *, care_team: bool = False) -> World:
    """Two centres of the region and their staff; with ``care_team``, a municipality's
    home-care unit and its staff too, and centre A's patients shared with it in each way."""
    with connect(db_url) as conn, conn.transaction():
        region = staff.create_staff(conn, name="region admin", role="admin", health_centre_id=None)
        token = staff.issue_token(conn, region.id, now=datetime.now(UTC)).token
        world = World(
            token, region.id, _centre(conn, "Vårdcentral A"), _centre(conn, "Vårdcentral B")
        )
        if care_team:
            _add_care_team(conn, world)
        return world


def _add_care_team(conn: Conn, world: World) -> None:
    municipality = care_team_store.create_provider(
        conn, name="Tuna kommun", kind="municipality", hsa_id=None
    )
    world.municipality = municipality.id
    world.home_care_unit = _home_care(conn, municipality.id)
    world.shared = {
        how: _shared(conn, world.a, world.home_care, municipality.id, how) for how in SHARINGS
    }


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    yield from api_client(db_url)


def api_client(db_url: str) -> Iterator[TestClient]:
    """The app in-process, serving as the API's deployed role."""
    app = create_app(ApiConfig(database_url=as_api_role(db_url), programme=HEART_FAILURE))
    with TestClient(app, raise_server_exceptions=False, client=CLIENT) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
