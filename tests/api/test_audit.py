"""The audit log: every read or change of patient data is recorded (who, role, action,
patient, when, from where), refusals too, and no one can change or remove a record."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import CLIENT, World, bearer


def _rows(db_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(db_url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(
            "SELECT staff_id, role, action, status, health_centre_id, patient_id, object_type,"
            " object_id, host(client_address) AS client_address, at FROM audit_log ORDER BY id"
        ).fetchall()


def test_reading_an_alert_is_recorded_with_who_what_patient_when_and_where(
    client: TestClient, world: World, db_url: str
) -> None:
    a = world.a
    response = client.get(f"/api/v1/alerts/{a.alert_id}", headers=bearer(a.tokens["nurse"]))
    assert response.status_code == 200
    [row] = _rows(db_url)
    assert row["staff_id"] == a.staff_ids["nurse"]
    assert row["role"] == "nurse"
    assert row["action"] == "GET /api/v1/alerts/{alert_id}"
    assert row["status"] == 200
    assert row["patient_id"] == a.patient_id
    assert row["health_centre_id"] == a.id
    assert row["object_type"] == "alert"
    assert row["object_id"] == str(a.alert_id)
    assert row["client_address"] == CLIENT[0]
    assert row["at"].tzinfo is not None


def test_a_list_records_every_patient_it_shows(
    client: TestClient, world: World, db_url: str
) -> None:
    region = bearer(world.region_admin)
    assert client.get("/api/v1/patients", headers=region).status_code == 200
    patients = {row["patient_id"] for row in _rows(db_url)}
    assert patients == {world.a.patient_id, world.b.patient_id}


def test_refusals_are_recorded_and_another_centres_object_is_named(
    client: TestClient, world: World, db_url: str
) -> None:
    nurse = bearer(world.a.tokens["nurse"])
    assert client.get(f"/api/v1/alerts/{world.b.alert_id}", headers=nurse).status_code == 404
    assert client.get("/api/v1/audit", headers=nurse).status_code == 403
    assert client.get(f"/api/v1/alerts/{world.a.alert_id}").status_code == 401
    rows = _rows(db_url)
    assert [(r["status"], r["role"]) for r in rows] == [(404, "nurse"), (403, "nurse"), (401, None)]
    assert rows[0]["staff_id"] == world.a.staff_ids["nurse"]
    assert rows[0]["patient_id"] is None  # not shown: the attempt is logged, nothing revealed


def test_a_change_and_its_record_commit_together(
    client: TestClient, world: World, db_url: str
) -> None:
    clinician = bearer(world.a.tokens["clinician"])
    path = f"/api/v1/patients/{world.a.patient_id}/thresholds"
    bad = client.put(
        path,
        json={"overrides": {"source": "x", "overrides": [{"id": "nope"}]}, "reason": "try"},
        headers=clinician,
    )
    assert bad.status_code == 422
    assert "no rule 'nope'" in bad.json()["detail"]
    good = client.put(
        path, json={"overrides": {"source": "x"}, "reason": "baseline"}, headers=clinician
    )
    assert good.status_code == 200
    assert [(r["action"], r["status"]) for r in _rows(db_url)] == [
        ("PUT /api/v1/patients/{patient_id}/thresholds", 422),
        ("PUT /api/v1/patients/{patient_id}/thresholds", 200),
    ]
    with psycopg.connect(db_url) as conn:
        versions = conn.execute("SELECT count(*) FROM rule_overrides").fetchone()
    assert versions == (1,)


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET status = 200", "DELETE FROM audit_log", "TRUNCATE audit_log"],
)
def test_nobody_changes_or_removes_a_record(
    client: TestClient, world: World, db_url: str, statement: str
) -> None:
    client.get(f"/api/v1/alerts/{world.a.alert_id}", headers=bearer(world.a.tokens["nurse"]))
    with psycopg.connect(db_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)  # type: ignore[arg-type]
    assert len(_rows(db_url)) == 1


def test_a_centres_admin_reads_only_the_centres_records(client: TestClient, world: World) -> None:
    client.get(f"/api/v1/alerts/{world.a.alert_id}", headers=bearer(world.a.tokens["nurse"]))
    client.get(f"/api/v1/alerts/{world.b.alert_id}", headers=bearer(world.b.tokens["nurse"]))
    seen_by_a = client.get("/api/v1/audit", headers=bearer(world.a.tokens["admin"])).json()
    assert {row["health_centre_id"] for row in seen_by_a} == {str(world.a.id)}
    seen_by_region = client.get(
        "/api/v1/audit",
        params={"patient_id": str(world.b.patient_id)},
        headers=bearer(world.region_admin),
    ).json()
    assert [row["patient_id"] for row in seen_by_region] == [str(world.b.patient_id)]
