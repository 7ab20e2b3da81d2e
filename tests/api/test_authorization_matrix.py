"""Every route x every role x own / other health centre, and the answer each must get.

Roles: a centre's nurse, clinician and administrator, and a region administrator (no centre).
"Own" targets objects of the caller's centre (A), "other" those of centre B. A role a route does
not allow gets 403; staff of A asking for B's object get 404, exactly as for an object that does
not exist; a region administrator reaches both centres. Routes that change state get a fresh
object for each call, so each case is independent. A test also checks that the matrix covers
every route the application has, so a new route cannot skip it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from hemkoll.fhir import observation
from hemkoll.store import (
    devices,
    hospital_stays,
    notifications,
    patients,
    questionnaire_responses,
    staff,
)
from hemkoll.store.connect import Conn, connect
from hemkoll.store.readings_query import RawReading
from tests.api.conftest import Centre, World, bearer, make_alert

ROLES = ("nurse", "clinician", "admin", "region")
ALL = frozenset(ROLES)
CARE = frozenset({"nurse", "clinician"})
ADMINS = frozenset({"admin", "region"})

Target = Callable[[Conn, Centre], dict[str, Any]]


def _existing(centre: Centre) -> dict[str, Any]:
    return {
        "centre": centre.id,
        "patient": centre.patient_id,
        "device": centre.device_id,
        "alert": centre.alert_id,
        "flag": centre.alert_id,
        "staff": centre.staff_ids["nurse"],
    }


def existing(conn: Conn, centre: Centre) -> dict[str, Any]:
    return _existing(centre)


def fresh_alert(conn: Conn, centre: Centre) -> dict[str, Any]:
    # One unresolved alert per patient and rule: the new one gets a rule of its own.
    alert = make_alert(conn, centre.patient_id, "yellow", rule_id=f"r-{uuid4().hex[:8]}")
    return {**_existing(centre), "alert": alert}


def fresh_patient(conn: Conn, centre: Centre) -> dict[str, Any]:
    patient = patients.create_patient(
        conn,
        health_centre_id=centre.id,
        reference=f"F-{uuid4().hex[:10]}",
        language="en",
        timezone="Europe/Stockholm",
    )
    return {**_existing(centre), "patient": patient.id}


def open_stay(conn: Conn, centre: Centre) -> dict[str, Any]:
    target = fresh_patient(conn, centre)
    stay = hospital_stays.record(
        conn,
        target["patient"],
        admitted_at=datetime.now(UTC) - timedelta(days=2),
        discharged_at=None,
        note=None,
        recorded_by=centre.staff_ids["nurse"],
    )
    return {**target, "stay": stay.id}


def fresh_device(conn: Conn, centre: Centre) -> dict[str, Any]:
    device = devices.add_device(conn, centre.patient_id, "pulse_oximeter")
    return {**_existing(centre), "device": device.device.id}


def fresh_staff(conn: Conn, centre: Centre) -> dict[str, Any]:
    member = staff.create_staff(conn, name="temp", role="nurse", health_centre_id=centre.id)
    staff.issue_token(conn, member.id, now=datetime.now(UTC))
    return {**_existing(centre), "staff": member.id}


def delivered_notification(conn: Conn, centre: Centre) -> dict[str, Any]:
    notification = notifications.enqueue_alert_webhook(conn, centre.alert_id, event="alert.opened")
    conn.execute(
        "UPDATE notifications SET state = 'delivered', delivered_at = now() WHERE id = %s",
        (notification,),
    )
    return {**_existing(centre), "notification": notification}


def stored_reading(conn: Conn, centre: Centre) -> dict[str, Any]:
    """A reading of the centre's patient, named by its FHIR Observation id."""
    at = datetime(2026, 11, 9, 8, tzinfo=UTC) + timedelta(microseconds=uuid4().int % 10**9)
    conn.execute(
        "INSERT INTO readings (patient_id, device_id, metric, value, measured_at)"
        " VALUES (%s, %s, 'body_weight', 80.5, %s)",
        (centre.patient_id, centre.device_id, at),
    )
    reading = RawReading("body_weight", 80.5, at, centre.device_id, at)
    return {**_existing(centre), "observation": observation.observation_id(reading)}


def stored_response(conn: Conn, centre: Centre) -> dict[str, Any]:
    response = questionnaire_responses.add(
        conn, centre.patient_id, "phq-2", {"phq2_interest": 1, "phq2_mood": 0}, score=1.0
    )
    return {**_existing(centre), "response": response}


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    roles: frozenset[str]
    ok: int = 200
    # Whether the path names an object of a centre (own -> ok, other -> 404).
    scoped: bool = True
    target: Target = existing
    body: Callable[[dict[str, Any]], Any] | None = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


CASES = [
    Case(
        "POST",
        "/api/v1/health-centres",
        frozenset({"region"}),
        201,
        scoped=False,
        body=lambda t: {"name": f"VC {uuid4().hex[:8]}"},
    ),
    Case("GET", "/api/v1/health-centres", ALL, scoped=False),
    Case("GET", "/api/v1/health-centres/{centre}", ALL),
    Case(
        "PATCH",
        "/api/v1/health-centres/{centre}",
        ADMINS,
        body=lambda t: {"escalation_contact": "Hemsjukvården, jour"},
    ),
    Case("POST", "/api/v1/health-centres/{centre}/signing-secrets", ADMINS),
    Case(
        "POST",
        "/api/v1/health-centres/{centre}/enrolments",
        ADMINS,
        body=lambda t: [{"reference": f"B-{uuid4().hex[:8]}", "devices": ["scale"]}],
    ),
    Case(
        "POST",
        "/api/v1/staff",
        ADMINS,
        201,
        body=lambda t: {"name": "N", "role": "nurse", "health_centre_id": str(t["centre"])},
    ),
    Case("GET", "/api/v1/staff", ADMINS, scoped=False),
    Case("POST", "/api/v1/staff/{staff}/tokens", ADMINS, 201, body=lambda t: {}),
    Case("DELETE", "/api/v1/staff/{staff}/tokens", ADMINS, target=fresh_staff),
    Case("POST", "/api/v1/staff/{staff}/deactivate", ADMINS, target=fresh_staff),
    Case(
        "POST",
        "/api/v1/patients",
        ADMINS,
        201,
        body=lambda t: {"reference": f"N-{uuid4().hex[:8]}", "health_centre_id": str(t["centre"])},
    ),
    Case("GET", "/api/v1/patients", ALL, scoped=False),
    Case("GET", "/api/v1/patients/{patient}", ALL),
    Case("POST", "/api/v1/patients/{patient}/monitoring/pause", CARE, target=fresh_patient),
    Case("POST", "/api/v1/patients/{patient}/monitoring/resume", CARE),
    Case(
        "POST",
        "/api/v1/patients/{patient}/discharge",
        frozenset({"admin", "region", "clinician"}),
        target=fresh_patient,
    ),
    Case(
        "POST", "/api/v1/patients/{patient}/devices", ADMINS, 201, body=lambda t: {"kind": "scale"}
    ),
    Case("GET", "/api/v1/patients/{patient}/devices", ALL),
    Case("POST", "/api/v1/devices/{device}/deactivate", ADMINS, target=fresh_device),
    Case("GET", "/api/v1/patients/{patient}/readings", CARE),
    Case("GET", "/fhir/R4/Patient/{patient}", CARE),
    Case("GET", "/fhir/R4/Device/{device}", CARE),
    Case("GET", "/fhir/R4/Observation?patient={patient}", CARE),
    Case("GET", "/fhir/R4/Observation/{observation}", CARE, target=stored_reading),
    Case("GET", "/fhir/R4/Flag/{flag}", CARE),
    Case("GET", "/fhir/R4/Flag?patient={patient}", CARE),
    Case("GET", "/fhir/R4/QuestionnaireResponse/{response}", CARE, target=stored_response),
    Case("GET", "/fhir/R4/QuestionnaireResponse?patient={patient}", CARE),
    Case("GET", "/fhir/R4/Communication?patient={patient}", CARE),
    Case("GET", "/api/v1/patients/{patient}/contacts", CARE),
    Case(
        "POST",
        "/api/v1/patients/{patient}/contacts",
        CARE,
        201,
        body=lambda t: {"kind": "call_out", "text": "Ringde, mår bra."},
    ),
    Case("GET", "/api/v1/patients/{patient}/hospital-stays", CARE),
    Case(
        "POST",
        "/api/v1/patients/{patient}/hospital-stays",
        CARE,
        201,
        target=fresh_patient,
        body=lambda t: {"admitted_at": (datetime.now(UTC) - timedelta(hours=3)).isoformat()},
    ),
    Case(
        "PATCH",
        "/api/v1/patients/{patient}/hospital-stays/{stay}",
        CARE,
        target=open_stay,
        body=lambda t: {},
    ),
    Case("GET", "/api/v1/alerts", CARE, scoped=False),
    Case("GET", "/api/v1/alerts/{alert}", CARE),
    Case(
        "POST",
        "/api/v1/alerts/{alert}/acknowledge",
        CARE,
        target=fresh_alert,
        body=lambda t: {"note": "called"},
    ),
    Case(
        "POST",
        "/api/v1/alerts/{alert}/resolve",
        CARE,
        target=fresh_alert,
        body=lambda t: {"outcome": "contacted_patient", "note": "fine"},
    ),
    Case(
        "POST", "/api/v1/alerts/{alert}/assign", CARE, body=lambda t: {"staff_id": str(t["staff"])}
    ),
    Case("POST", "/api/v1/alerts/{alert}/comments", CARE, body=lambda t: {"text": "voicemail"}),
    Case("GET", "/api/v1/alerts/{alert}/notifications", CARE),
    Case(
        "POST",
        "/api/v1/notifications/{notification}/redeliver",
        ALL,
        202,
        target=delivered_notification,
    ),
    Case("GET", "/api/v1/patients/{patient}/thresholds", CARE),
    Case(
        "PUT",
        "/api/v1/patients/{patient}/thresholds",
        frozenset({"clinician"}),
        body=lambda t: {"overrides": {"source": "test"}, "reason": "individual target"},
    ),
    Case("GET", "/api/v1/patients/{patient}/thresholds/history", CARE),
    Case(
        "POST",
        "/api/v1/patients/{patient}/thresholds/backtest",
        frozenset({"clinician"}),
        body=lambda t: {"overrides": {"source": "test"}, "days": 30},
    ),
    Case("POST", "/api/v1/patients/{patient}/patient-codes", ALL, 201),
    Case("POST", "/api/v1/patients/{patient}/patient-sessions/revoke", ALL),
    Case("GET", "/api/v1/audit", ADMINS, scoped=False),
]


def expected(case: Case, role: str, other: bool) -> int:
    if role not in case.roles:
        return 403
    if other and case.scoped and role != "region":
        return 404
    return case.ok


def _token(world: World, role: str) -> str:
    return world.region_admin if role == "region" else world.a.tokens[role]


def _path(case: Case, target: dict[str, Any]) -> str:
    return case.path.format(**{k: str(v) for k, v in target.items()})


def test_the_matrix_covers_every_route(client: TestClient) -> None:
    routes = {
        f"{method} {route.path}"
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, APIRoute)
        for method in route.methods
    } | _included_routes(client)
    expected_routes = {
        f"{c.method} "
        + c.path.replace("{centre}", "{centre_id}")
        .replace("{patient}", "{patient_id}")
        .replace("{alert}", "{alert_id}")
        .replace("{flag}", "{flag_id}")
        .replace("{staff}", "{staff_id}")
        .replace("{device}", "{device_id}")
        .replace("{notification}", "{notification_id}")
        .replace("{stay}", "{stay_id}")
        .replace("{observation}", "{observation_id}")
        .replace("{response}", "{response_id}")
        .split("?")[0]
        for c in CASES
    }
    # Without a token by design: health, metrics and the FHIR CapabilityStatement carry no
    # patient data.
    # POST /fhir/R4 takes a device's credentials, not a staff token (tests/api/test_fhir_ingest.py).
    unscoped = {"GET /healthz", "GET /metrics", "GET /fhir/R4/metadata", "POST /fhir/R4"}
    assert routes - unscoped == expected_routes


def _included_routes(client: TestClient) -> set[str]:
    paths = client.get("/openapi.json").json()["paths"]
    return {f"{method.upper()} {path}" for path, ops in paths.items() for method in ops}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_route_by_role_and_centre(
    case: Case, client: TestClient, world: World, db_url: str
) -> None:
    outcomes: dict[tuple[str, str], tuple[int, int]] = {}
    for role in ROLES:
        for other in (False, True):
            centre = world.b if other else world.a
            with connect(db_url) as conn, conn.transaction():
                target = case.target(conn, centre)
            response = client.request(
                case.method,
                _path(case, target),
                json=None if case.body is None else case.body(target),
                headers=bearer(_token(world, role)),
            )
            want = expected(case, role, other)
            outcomes[(role, "other" if other else "own")] = (response.status_code, want)
            if response.status_code >= 400:
                # FHIR routes answer errors as OperationOutcome (docs/fhir.md).
                assert response.headers["content-type"] == (
                    "application/fhir+json"
                    if case.path.startswith("/fhir/")
                    else "application/problem+json"
                )
                body = response.json()
                if case.path.startswith("/fhir/"):
                    assert body["resourceType"] == "OperationOutcome"
                else:
                    assert body["status"] == response.status_code
    wrong = {k: v for k, v in outcomes.items() if v[0] != v[1]}
    assert not wrong, f"(got, expected) per (role, centre): {wrong}"


def test_lists_show_only_the_callers_centre(client: TestClient, world: World) -> None:
    nurse = bearer(world.a.tokens["nurse"])
    alerts = client.get("/api/v1/alerts", headers=nurse).json()["alerts"]
    assert [a["id"] for a in alerts] == [str(world.a.alert_id)]
    # Filtering on another centre's patient finds nothing rather than that patient's alerts.
    other = client.get(
        "/api/v1/alerts", params={"patient_id": str(world.b.patient_id)}, headers=nurse
    ).json()["alerts"]
    assert other == []
    listed = client.get("/api/v1/patients", headers=nurse).json()
    assert {p["id"] for p in listed} == {str(world.a.patient_id)}
    centres = client.get("/api/v1/health-centres", headers=nurse).json()
    assert [c["id"] for c in centres] == [str(world.a.id)]
    staff_list = client.get("/api/v1/staff", headers=bearer(world.a.tokens["admin"])).json()
    assert {UUID(s["health_centre_id"]) for s in staff_list} == {world.a.id}
    region = client.get("/api/v1/patients", headers=bearer(world.region_admin)).json()
    assert {p["id"] for p in region} == {str(world.a.patient_id), str(world.b.patient_id)}


def test_tokens_unknown_expired_revoked_and_deactivated_are_refused(
    client: TestClient, world: World, db_url: str
) -> None:
    path = f"/api/v1/alerts/{world.a.alert_id}"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=bearer("hk_not-a-token")).status_code == 401
    assert client.get(path, headers={"Authorization": "Basic eDp5"}).status_code == 401
    with connect(db_url) as conn, conn.transaction():
        conn.execute(
            "UPDATE api_tokens SET expires_at = now() - interval '1 s' WHERE staff_id = %s",
            (world.a.staff_ids["nurse"],),
        )
    answer = client.get(path, headers=bearer(world.a.tokens["nurse"]))
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    clinician = bearer(world.a.tokens["clinician"])
    assert client.get(path, headers=clinician).status_code == 200
    admin = bearer(world.a.tokens["admin"])
    revoked = client.delete(f"/api/v1/staff/{world.a.staff_ids['clinician']}/tokens", headers=admin)
    assert revoked.json() == {"revoked": 1}
    assert client.get(path, headers=clinician).status_code == 401
    issued = client.post(
        f"/api/v1/staff/{world.a.staff_ids['clinician']}/tokens", json={}, headers=admin
    ).json()["token"]
    assert client.get(path, headers=bearer(issued)).status_code == 200
    client.post(f"/api/v1/staff/{world.a.staff_ids['clinician']}/deactivate", headers=admin)
    assert client.get(path, headers=bearer(issued)).status_code == 401
