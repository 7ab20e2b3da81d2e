"""Hospital stays through the API: a nurse records an admission, a clinician its discharge,
each step audited; what cannot be a stay is refused with a problem naming why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from tests.api.conftest import World, bearer

NOW = datetime.now(UTC)


def _path(world: World, other: bool = False) -> str:
    return f"/api/v1/patients/{(world.b if other else world.a).patient_id}/hospital-stays"


def _post(client: TestClient, world: World, **body: Any) -> Any:
    json = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in body.items()}
    return client.post(_path(world), json=json, headers=bearer(world.a.tokens["nurse"]))


def test_a_nurse_records_an_admission_and_a_clinician_the_discharge_each_audited(
    client: TestClient, world: World, db_url: str
) -> None:
    admitted = NOW - timedelta(days=3)
    made = _post(client, world, admitted_at=admitted, note="Avd 12, hjärtsvikt")
    assert made.status_code == 201, made.text
    stay = made.json()
    assert datetime.fromisoformat(stay["admitted_at"]) == admitted
    assert stay["discharged_at"] is None
    assert stay["recorded_by"] == str(world.a.staff_ids["nurse"])
    discharged = NOW - timedelta(hours=5)
    done = client.patch(
        f"{_path(world)}/{stay['id']}",
        json={"discharged_at": discharged.isoformat()},
        headers=bearer(world.a.tokens["clinician"]),
    )
    assert done.status_code == 200, done.text
    assert datetime.fromisoformat(done.json()["discharged_at"]) == discharged
    listed = client.get(_path(world), headers=bearer(world.a.tokens["nurse"]))
    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()["stays"]] == [stay["id"]]
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT action, status, object_type, object_id, patient_id FROM audit_log ORDER BY id"
        ).fetchall()
    pid = world.a.patient_id
    assert rows == [
        (
            "POST /api/v1/patients/{patient_id}/hospital-stays",
            201,
            "hospital_stay",
            stay["id"],
            pid,
        ),
        (
            "PATCH /api/v1/patients/{patient_id}/hospital-stays/{stay_id}",
            200,
            "hospital_stay",
            stay["id"],
            pid,
        ),
        ("GET /api/v1/patients/{patient_id}/hospital-stays", 200, "hospital_stays", str(pid), pid),
    ]


def _refused(response: Any, status: int, detail: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"], response.json()


def test_what_cannot_be_a_stay_is_refused_with_a_reason(
    client: TestClient, world: World, db_url: str
) -> None:
    _refused(_post(client, world, admitted_at=NOW + timedelta(hours=2)), 422, "admitted_at")
    _refused(
        _post(
            client,
            world,
            admitted_at=NOW - timedelta(days=2),
            discharged_at=NOW - timedelta(days=3),
        ),
        422,
        "discharged_at: must be after admitted_at",
    )
    _refused(
        _post(
            client,
            world,
            admitted_at=NOW - timedelta(days=2),
            discharged_at=NOW + timedelta(days=1),
        ),
        422,
        "discharged_at",
    )
    _refused(_post(client, world, admitted_at=NOW - timedelta(days=1), note="x" * 501), 422, "note")
    _refused(_post(client, world, admitted_at="yesterday"), 422, "admitted_at")
    naive = client.post(
        _path(world),
        json={"admitted_at": "2026-01-01T10:00:00"},
        headers=bearer(world.a.tokens["nurse"]),
    )
    _refused(naive, 422, "admitted_at")

    # An earlier stay, closed; then one open.
    past = _post(
        client, world, admitted_at=NOW - timedelta(days=30), discharged_at=NOW - timedelta(days=25)
    )
    assert past.status_code == 201
    overlapping = _post(
        client, world, admitted_at=NOW - timedelta(days=27), discharged_at=NOW - timedelta(days=20)
    )
    _refused(overlapping, 409, f"overlaps stay {past.json()['id']}")
    assert overlapping.json()["stay_id"] == past.json()["id"]
    open_stay = _post(client, world, admitted_at=NOW - timedelta(days=2))
    assert open_stay.status_code == 201
    _refused(_post(client, world, admitted_at=NOW - timedelta(hours=1)), 409, "in hospital already")
    # A stay recorded afterwards that would end inside the open one overlaps it too.
    _refused(
        _post(
            client,
            world,
            admitted_at=NOW - timedelta(days=4),
            discharged_at=NOW - timedelta(days=1),
        ),
        409,
        "in hospital already",
    )

    stay_path = f"{_path(world)}/{open_stay.json()['id']}"
    nurse = bearer(world.a.tokens["nurse"])
    before = (NOW - timedelta(days=3)).isoformat()
    _refused(client.patch(stay_path, json={"discharged_at": before}, headers=nurse), 422, "after")
    future = (NOW + timedelta(hours=3)).isoformat()
    _refused(
        client.patch(stay_path, json={"discharged_at": future}, headers=nurse), 422, "discharged_at"
    )
    assert client.patch(stay_path, json={}, headers=nurse).status_code == 200
    _refused(client.patch(stay_path, json={}, headers=nurse), 409, "discharged already")
    # The closed stay is another patient's to B's nurse: not found, like one that does not exist.
    other = bearer(world.b.tokens["nurse"])
    _refused(client.patch(stay_path, json={}, headers=other), 404, "no patient")
    wrong_patient = f"{_path(world, other=True)}/{open_stay.json()['id']}"
    _refused(client.patch(wrong_patient, json={}, headers=other), 404, "no hospital stay")
    _refused(client.get(_path(world), headers=other), 404, "no patient")
    with psycopg.connect(db_url) as conn:
        statuses = [
            s
            for (s,) in conn.execute("SELECT status FROM audit_log WHERE status >= 400 ORDER BY id")
        ]
    assert statuses.count(409) == 4
    assert 404 in statuses


def test_a_stay_at_the_same_moment_is_refused_by_the_table(db_url: str, world: World) -> None:
    """The constraint holds whatever the API's check saw (two nurses at once)."""
    with psycopg.connect(db_url) as conn:
        insert = (
            "INSERT INTO hospital_stays (patient_id, admitted_at, discharged_at, recorded_by)"
            " VALUES (%s, %s, %s, %s)"
        )
        nurse = world.a.staff_ids["nurse"]
        conn.execute(
            insert, (world.a.patient_id, NOW - timedelta(days=9), NOW - timedelta(days=5), nurse)
        )
        for admitted, discharged, error in (
            (NOW - timedelta(days=6), NOW - timedelta(days=4), psycopg.errors.ExclusionViolation),
            (NOW - timedelta(days=3), NOW - timedelta(days=4), psycopg.errors.CheckViolation),
            (NOW + timedelta(days=1), None, psycopg.errors.CheckViolation),
        ):
            try:
                with conn.transaction():
                    conn.execute(insert, (world.a.patient_id, admitted, discharged, nurse))
            except error:
                continue
            raise AssertionError(f"{admitted}..{discharged} was accepted")
