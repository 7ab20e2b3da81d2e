"""Every route x every role x every relation to the object, and the answer each must get.

Roles: a unit's nurse, clinician and administrator, and a region administrator (no unit).
Relations (docs/access.md): "own" targets objects of the caller's centre (A); "other" those of
another centre of the same region (B); and the staff of a municipality's home-care unit (another
care provider) target A's patients shared with it by consent, in its care team without consent,
blocked (spärr) despite consent, and reached by their own emergency access. A role a route does
not allow gets 403; an object the access decision does not let the caller see gets 404, exactly
as one that does not exist (0 leaks); one it lets them see answers as the route does, except
what only her own health centre does (403). A region administrator reaches every centre.
Routes that change state get a fresh object for each call, so each case is independent. A test
also checks that the matrix covers every route the application has, so a new route cannot skip
it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID, uuid4

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from hemkoll.fhir import observation
from hemkoll.store import (
    care_team,
    devices,
    hospital_stays,
    notifications,
    patients,
    questionnaire_responses,
    staff,
)
from hemkoll.store.connect import Conn, connect
from hemkoll.store.readings_query import RawReading
from tests.api.conftest import (
    SHARINGS,
    Centre,
    World,
    api_client,
    bearer,
    build_world,
    make_alert,
)
from tests.conftest import create_database_from, drop_database, url_for

ROLES = ("nurse", "clinician", "admin", "region")
UNIT_ROLES = ("nurse", "clinician", "admin")
SEEN = frozenset({"consent", "emergency"})  # the shared relations the decision allows
ALL = frozenset(ROLES)
CARE = frozenset({"nurse", "clinician"})
UNIT = frozenset({"nurse", "clinician", "admin"})
# The world's home-care unit and municipality, for targets made before a case's calls (set by
# the test from its world).
HOME_CARE: list[UUID] = []
MUNICIPALITY: list[UUID] = []
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
    """A new patient of the centre, shared as the centre's patients of the case are."""
    patient = patients.create_patient(
        conn,
        health_centre_id=centre.id,
        reference=f"F-{uuid4().hex[:10]}",
        language="en",
        timezone="Europe/Stockholm",
    )
    if centre.share is not None:
        centre.share(conn, patient.id)
    return {**_existing(centre), "patient": patient.id}


def team_member(conn: Conn, centre: Centre, unit: UUID) -> dict[str, Any]:
    target = fresh_patient(conn, centre)
    care_team.start_relationship(
        conn,
        patient_id=target["patient"],
        unit_id=unit,
        recorded_by=centre.staff_ids["nurse"],
        now=_ago(),
    )
    return target


def _ago() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=1)


def consented(conn: Conn, centre: Centre, provider: UUID) -> dict[str, Any]:
    target = fresh_patient(conn, centre)
    care_team.record_consent(
        conn,
        patient_id=target["patient"],
        care_provider_id=provider,
        scope="monitoring",
        recorded_by=centre.staff_ids["nurse"],
        now=_ago(),
    )
    return target


def blocked(conn: Conn, centre: Centre, provider: UUID) -> dict[str, Any]:
    target = fresh_patient(conn, centre)
    care_team.record_block(
        conn,
        patient_id=target["patient"],
        care_provider_id=provider,
        recorded_by=centre.staff_ids["nurse"],
        now=_ago(),
    )
    return target


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
    # What the path names: a patient's object (the access decision says), a care unit's
    # (another unit's answers 404 whatever is shared), or nothing of either.
    scope: Literal["patient", "centre", "none"] = "patient"
    target: Target = existing
    body: Callable[[dict[str, Any]], Any] | None = None
    # Only her own health centre does it: another unit that sees her gets 403.
    own: bool = False
    # The answer per (role, relation) where the rule above is not the route's (None: it is).
    expect: Callable[[str, str], int] | None = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


CASES = [
    Case(
        "POST",
        "/api/v1/health-centres",
        frozenset({"region"}),
        201,
        scope="none",
        body=lambda t: {"name": f"VC {uuid4().hex[:8]}"},
    ),
    Case("GET", "/api/v1/health-centres", ALL, scope="none"),
    Case("GET", "/api/v1/health-centres/{centre}", ALL, scope="centre"),
    Case(
        "PATCH",
        "/api/v1/health-centres/{centre}",
        ADMINS,
        scope="centre",
        body=lambda t: {"escalation_contact": "Hemsjukvården, jour"},
    ),
    Case("POST", "/api/v1/health-centres/{centre}/signing-secrets", ADMINS, scope="centre"),
    Case(
        "POST",
        "/api/v1/health-centres/{centre}/enrolments",
        ADMINS,
        scope="centre",
        body=lambda t: [{"reference": f"B-{uuid4().hex[:8]}", "devices": ["scale"]}],
    ),
    Case(
        "POST",
        "/api/v1/staff",
        ADMINS,
        201,
        scope="centre",
        body=lambda t: {"name": "N", "role": "nurse", "health_centre_id": str(t["centre"])},
    ),
    Case("GET", "/api/v1/staff", ADMINS, scope="none"),
    Case("POST", "/api/v1/staff/{staff}/tokens", ADMINS, 201, scope="centre", body=lambda t: {}),
    Case("DELETE", "/api/v1/staff/{staff}/tokens", ADMINS, scope="centre", target=fresh_staff),
    Case("POST", "/api/v1/staff/{staff}/deactivate", ADMINS, scope="centre", target=fresh_staff),
    Case(
        "POST",
        "/api/v1/patients",
        ADMINS,
        201,
        scope="centre",
        body=lambda t: {"reference": f"N-{uuid4().hex[:8]}", "health_centre_id": str(t["centre"])},
    ),
    Case("GET", "/api/v1/patients", ALL, scope="none"),
    Case("GET", "/api/v1/patients/{patient}", ALL),
    Case(
        "POST",
        "/api/v1/patients/{patient}/monitoring/pause",
        CARE,
        target=fresh_patient,
        own=True,
    ),
    Case("POST", "/api/v1/patients/{patient}/monitoring/resume", CARE, own=True),
    Case(
        "POST",
        "/api/v1/patients/{patient}/discharge",
        frozenset({"admin", "region", "clinician"}),
        target=fresh_patient,
        own=True,
    ),
    Case(
        "POST",
        "/api/v1/patients/{patient}/devices",
        ADMINS,
        201,
        body=lambda t: {"kind": "scale"},
        own=True,
    ),
    Case("GET", "/api/v1/patients/{patient}/devices", ALL),
    Case("POST", "/api/v1/devices/{device}/deactivate", ADMINS, target=fresh_device, own=True),
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
    Case("GET", "/api/v1/alerts", CARE, scope="none"),
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
        scope="centre",
        target=delivered_notification,
    ),
    Case("GET", "/api/v1/patients/{patient}/thresholds", CARE),
    Case(
        "PUT",
        "/api/v1/patients/{patient}/thresholds",
        frozenset({"clinician"}),
        body=lambda t: {"overrides": {"source": "test"}, "reason": "individual target"},
        own=True,
    ),
    Case("GET", "/api/v1/patients/{patient}/thresholds/history", CARE),
    Case(
        "POST",
        "/api/v1/patients/{patient}/thresholds/backtest",
        frozenset({"clinician"}),
        body=lambda t: {"overrides": {"source": "test"}, "days": 30},
    ),
    Case("POST", "/api/v1/patients/{patient}/patient-codes", ALL, 201, own=True),
    Case("POST", "/api/v1/patients/{patient}/patient-sessions/revoke", ALL, own=True),
    Case("GET", "/api/v1/audit", ADMINS, scope="none"),
    Case(
        "POST",
        "/api/v1/care-providers",
        frozenset({"region"}),
        201,
        scope="none",
        body=lambda t: {"name": f"Kommun {uuid4().hex[:8]}", "kind": "municipality"},
    ),
    Case("GET", "/api/v1/care-providers", ALL, scope="none"),
    Case("GET", "/api/v1/patients/{patient}/care-team", ALL),
    Case(
        "POST",
        "/api/v1/patients/{patient}/care-team",
        UNIT,
        201,
        target=fresh_patient,
        own=True,
        body=lambda t: {"health_centre_id": str(t["unit"])},
    ),
    Case(
        "POST",
        "/api/v1/patients/{patient}/care-team/{unit}/end",
        UNIT,
        target=lambda conn, c: team_member(conn, c, HOME_CARE[0]),
        own=True,
    ),
    Case(
        "POST",
        "/api/v1/patients/{patient}/sharing-consents",
        UNIT,
        201,
        target=fresh_patient,
        own=True,
        body=lambda t: {"care_provider_id": str(t["provider"])},
    ),
    Case(
        "POST",
        "/api/v1/patients/{patient}/sharing-consents/{provider}/withdraw",
        UNIT,
        target=lambda conn, c: consented(conn, c, MUNICIPALITY[0]),
        own=True,
        # The target gives her consent: the home care then sees her without it too.
        expect=lambda role, relation: {
            "own": 200,
            "other": 404,
            "consent": 403,
            "emergency": 403,
            "no_consent": 403,
            "blocked": 404,
        }[relation],
    ),
    Case(
        "POST",
        "/api/v1/patients/{patient}/sharing-blocks",
        UNIT,
        201,
        target=fresh_patient,
        own=True,
        body=lambda t: {"care_provider_id": str(t["provider"])},
    ),
    Case(
        "POST",
        "/api/v1/patients/{patient}/sharing-blocks/{provider}/lift",
        UNIT,
        target=lambda conn, c: blocked(conn, c, MUNICIPALITY[0]),
        own=True,
        # The target blocks the home care's provider: it sees her in no way at all.
        expect=lambda role, relation: {"own": 200}.get(relation, 404),
    ),
    Case(
        "POST",
        "/api/v1/patients/{patient}/emergency-access",
        CARE,
        201,
        target=fresh_patient,
        body=lambda t: {"reason": "red alert escalated, she does not answer"},
        # Only for a patient the caller does not see already (409), and never one who has
        # blocked the caller's provider (403).
        expect=lambda role, relation: {
            "own": 409,
            "other": 201,
            "consent": 409,
            "emergency": 409,
            "no_consent": 201,
            "blocked": 403,
        }[relation],
    ),
]


def expected(case: Case, role: str, relation: str) -> int:
    """own: A's staff, A's object; other: A's staff (or the region's) and B's object; a
    sharing state: the home-care unit's staff and A's patient shared so."""
    if role not in case.roles:
        return 403
    if case.expect is not None:
        return case.expect(role, relation)
    if relation == "own" or case.scope == "none" or role == "region":
        return case.ok
    if relation == "other" or case.scope == "centre" or relation not in SEEN:
        return 404
    return 403 if case.own else case.ok


def _calls(world: World) -> list[tuple[str, str, Centre, str]]:
    """(role, relation, the centre whose objects are targeted, the caller's token)."""
    calls = []
    for role in ROLES:
        token = world.region_admin if role == "region" else world.a.tokens[role]
        calls += [(role, "own", world.a, token), (role, "other", world.b, token)]
    for role in UNIT_ROLES:
        for how in SHARINGS:
            calls.append((role, how, world.shared[how], world.home_care.tokens[role]))
    return calls


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
        .replace("{unit}", "{unit_id}")
        .replace("{provider}", "{care_provider_id}")
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


@pytest.fixture(scope="module")
def matrix_db(template_db: str) -> Iterator[str]:
    """One database for the whole matrix: its cases leave the world as they found it for the
    others (what a call changes is an object made for it), so it is built once."""
    name = create_database_from(template_db)
    yield url_for(name)
    drop_database(name)


@pytest.fixture(scope="module")
def matrix_world(matrix_db: str) -> World:
    return build_world(matrix_db, care_team=True)


@pytest.fixture(scope="module")
def matrix_client(matrix_db: str) -> Iterator[TestClient]:
    yield from api_client(matrix_db)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_route_by_role_and_relation(
    case: Case, matrix_client: TestClient, matrix_world: World, matrix_db: str
) -> None:
    client, world, db_url = matrix_client, matrix_world, matrix_db
    HOME_CARE[:] = [world.home_care.id]
    MUNICIPALITY[:] = [world.municipality_id]
    outcomes: dict[tuple[str, str], tuple[int, int]] = {}
    for role, relation, centre, token in _calls(world):
        with connect(db_url) as conn, conn.transaction():
            target = {
                **case.target(conn, centre),
                "unit": world.home_care.id,
                "provider": world.municipality_id,
            }
        response = client.request(
            case.method,
            _path(case, target),
            json=None if case.body is None else case.body(target),
            headers=bearer(token),
        )
        want = expected(case, role, relation)
        outcomes[(role, relation)] = (response.status_code, want)
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
        if response.status_code == 404:
            # Refused exactly as a missing object: the answer says nothing of why.
            text = str(response.json().get("detail", response.json().get("issue"))).lower()
            assert not any(w in text for w in ("consent", "block", "emergency", "share")), text
    wrong = {k: v for k, v in outcomes.items() if v[0] != v[1]}
    assert not wrong, f"(got, expected) per (role, relation): {wrong}"


def test_lists_show_only_what_the_caller_may_see(
    client: TestClient, team_world: World, db_url: str
) -> None:
    world = team_world
    a_patients = {world.a.patient_id} | {c.patient_id for c in world.shared.values()}
    nurse = bearer(world.a.tokens["nurse"])
    alerts = client.get("/api/v1/alerts", headers=nurse).json()["alerts"]
    assert {a["id"] for a in alerts} == {str(world.a.alert_id)} | {
        str(c.alert_id) for c in world.shared.values()
    }
    # Filtering on another centre's patient finds nothing rather than that patient's alerts.
    other = client.get(
        "/api/v1/alerts", params={"patient_id": str(world.b.patient_id)}, headers=nurse
    ).json()["alerts"]
    assert other == []
    listed = client.get("/api/v1/patients", headers=nurse).json()
    assert {p["id"] for p in listed} == {str(p) for p in a_patients}
    centres = client.get("/api/v1/health-centres", headers=nurse).json()
    assert [c["id"] for c in centres] == [str(world.a.id)]
    staff_list = client.get("/api/v1/staff", headers=bearer(world.a.tokens["admin"])).json()
    assert {UUID(s["health_centre_id"]) for s in staff_list} == {world.a.id}
    region = client.get("/api/v1/patients", headers=bearer(world.region_admin)).json()
    assert {p["id"] for p in region} == {str(p) for p in a_patients | {world.b.patient_id}}
    # The home care sees the patients shared with it by consent or its emergency access, and
    # of their alerts only the escalated ones; not one in its care team without consent, nor
    # one who blocked its provider.
    seen = [world.shared["consent"], world.shared["emergency"]]
    home = bearer(world.home_care.tokens["nurse"])
    listed = client.get("/api/v1/patients", headers=home).json()
    assert {p["id"] for p in listed} == {str(c.patient_id) for c in seen}
    with connect(db_url) as conn, conn.transaction():  # a new alert, not escalated
        make_alert(conn, world.shared["consent"].patient_id, rule_id="spo2_low")
    alerts = client.get("/api/v1/alerts", headers=home).json()["alerts"]
    assert {a["id"] for a in alerts} == {str(c.alert_id) for c in seen}


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
