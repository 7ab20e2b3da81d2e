"""Bulk enrolment: a file of patients with devices in one call, all or nothing, idempotent on the
centre's reference, each new device's credentials once, audited per patient."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
from fastapi.testclient import TestClient

from hemkoll.api.guards import MAX_BODY_BYTES
from hemkoll.store.credentials import verify_secret
from hemkoll.store.enrolment_file import MAX_DEVICES_PER_PATIENT
from tests.api.conftest import World, bearer

KINDS = ["scale", "blood_pressure_monitor", "pulse_oximeter", "thermometer"]


def _url(world: World) -> str:
    return f"/api/v1/health-centres/{world.a.id}/enrolments"


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return b"\n".join(orjson.dumps(row) for row in rows) + b"\n"


def _post(client: TestClient, world: World, body: bytes, media: str) -> Any:
    return client.post(
        _url(world),
        content=body,
        headers={**bearer(world.a.tokens["admin"]), "Content-Type": media},
    )


def _scalar(db_url: str, sql: str, *params: object) -> Any:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


def test_a_thousand_patients_with_four_devices_in_one_call_and_a_rerun_adds_nothing(
    client: TestClient, world: World, db_url: str
) -> None:
    rows = [{"reference": f"VC-{n:05d}", "devices": KINDS} for n in range(1000)]
    body = _jsonl(rows)
    assert len(body) < MAX_BODY_BYTES  # the default body limit, not a raised one
    first = _post(client, world, body, "application/x-ndjson")
    assert first.status_code == 200, first.text[:500]
    report = first.json()
    assert (report["created"], report["unchanged"], report["new_devices"]) == (1000, 0, 4000)
    passwords = [d["mqtt_password"] for p in report["patients"] for d in p["devices"]]
    assert len(set(passwords)) == 4000
    one = report["patients"][17]["devices"][2]
    stored = _scalar(db_url, "SELECT credential_hash FROM devices WHERE id = %s", one["id"])
    assert verify_secret(one["mqtt_password"], stored)
    assert one["mqtt_password"] not in stored
    assert [p["row"] for p in report["patients"][:3]] == [1, 2, 3]

    again = _post(client, world, body, "application/x-ndjson")
    assert again.status_code == 200
    rerun = again.json()
    assert (rerun["created"], rerun["unchanged"], rerun["new_devices"]) == (0, 1000, 0)
    assert {p["outcome"] for p in rerun["patients"]} == {"unchanged"}
    assert all(p["devices"] == [] for p in rerun["patients"])  # credentials never again
    assert [p["patient_id"] for p in rerun["patients"]] == [
        p["patient_id"] for p in report["patients"]
    ]
    centre = world.a.id
    sql = "SELECT count(*) FROM patients WHERE health_centre_id = %s AND reference LIKE 'VC-%%'"
    assert _scalar(db_url, sql, centre) == 1000
    assert _scalar(db_url, "SELECT count(*) FROM devices") == 4000 + 2  # and the world's two
    # Audited per patient, on each call; each new device once.
    action = "POST /api/v1/health-centres/{centre_id}/enrolments"
    audited = "SELECT count(*) FROM audit_log WHERE action = %s AND object_type = %s"
    assert _scalar(db_url, audited, action, "patient") == 2000
    assert _scalar(db_url, audited, action, "device") == 4000


def test_a_file_with_bad_rows_writes_nothing_and_names_each_rows_problem(
    client: TestClient, world: World, db_url: str
) -> None:
    long_ago = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    rows: list[Any] = [
        {"reference": "OK-1", "devices": ["scale"]},
        {"reference": "19121212-1212", "devices": ["scale"]},
        {"reference": "OK-2", "devices": ["toaster"]},
        {"reference": "OK-3", "monitoring_started_at": long_ago},
        {"reference": "OK-1"},
        {"reference": "OK-4", "timezone": "Mars/Olympus"},
        {"reference": "OK-5", "colour": "blue"},
    ]
    body = _jsonl(rows) + b"{not json\n"
    response = _post(client, world, body, "application/x-ndjson")
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    got = {(e["row"], e["field"]) for e in problem["errors"]}
    assert got == {
        (2, "reference"),
        (3, "devices"),
        (4, "reason"),
        (5, "reference"),
        (6, "timezone"),
        (7, "colour"),
        (8, None),
    }
    assert problem["problems"] == 7
    assert "nothing was written" in problem["detail"]
    assert _scalar(db_url, "SELECT count(*) FROM patients WHERE reference LIKE 'OK-%%'") == 0


def test_csv_one_line_per_device_and_a_rerun_with_more_devices_adds_only_those(
    client: TestClient, world: World, db_url: str
) -> None:
    csv = "reference,language,device_kind\nC-1,en,scale\nC-1,en,thermometer\nC-2,sv,\n"
    first = _post(client, world, csv.encode(), "text/csv")
    assert first.status_code == 200, first.text
    by_ref = {p["reference"]: p for p in first.json()["patients"]}
    assert sorted(d["kind"] for d in by_ref["C-1"]["devices"]) == ["scale", "thermometer"]
    assert by_ref["C-2"]["devices"] == []
    more = csv + "C-2,sv,scale\n"
    second = _post(client, world, more.encode(), "text/csv").json()
    outcomes = {p["reference"]: (p["outcome"], len(p["devices"])) for p in second["patients"]}
    assert outcomes == {"C-1": ("unchanged", 0), "C-2": ("devices_added", 1)}
    clash = "reference,language,device_kind\nC-3,en,scale\nC-3,sv,thermometer\n"
    refused = _post(client, world, clash.encode(), "text/csv")
    assert refused.status_code == 422
    assert [(e["row"], e["field"]) for e in refused.json()["errors"]] == [(3, "reference")]
    # One device a line: the per-patient limit counts a patient's lines together.
    many = "reference,language,device_kind\n" + "C-4,sv,scale\n" * (MAX_DEVICES_PER_PATIENT + 1)
    too_many = _post(client, world, many.encode(), "text/csv")
    assert too_many.status_code == 422
    assert [(e["row"], e["field"]) for e in too_many.json()["errors"]] == [
        (MAX_DEVICES_PER_PATIENT + 2, "device_kind")
    ]


def test_a_json_array_is_a_file_too_and_other_media_types_are_refused(
    client: TestClient, world: World
) -> None:
    admin = bearer(world.a.tokens["admin"])
    ok = client.post(_url(world), json=[{"reference": "J-1", "devices": ["scale"]}], headers=admin)
    assert ok.status_code == 200
    assert ok.json()["created"] == 1
    other = _post(client, world, b"reference\nX-1\n", "text/plain")
    assert other.status_code == 415
    assert other.json()["type"] == "/problems/unsupported-media-type"


def test_an_existing_enrolment_is_not_moved_and_a_discharged_patient_not_re_enrolled(
    client: TestClient, world: World, db_url: str
) -> None:
    admin = bearer(world.a.tokens["admin"])
    assert _post(client, world, _jsonl([{"reference": "E-1"}]), "application/x-ndjson").is_success
    earlier = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    moved = [{"reference": "E-1", "monitoring_started_at": earlier, "reason": "history"}]
    refused = _post(client, world, _jsonl(moved), "application/x-ndjson")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "monitoring_started_at"
    discharged = client.post(f"/api/v1/patients/{world.a.patient_id}/discharge", headers=admin)
    assert discharged.status_code == 200
    again = _post(client, world, _jsonl([{"reference": "PA-0001"}]), "application/x-ndjson")
    assert again.status_code == 422
    assert "discharged" in again.json()["errors"][0]["message"]


def test_another_centres_administrator_cannot_enrol_there(client: TestClient, world: World) -> None:
    response = client.post(
        f"/api/v1/health-centres/{world.b.id}/enrolments",
        json=[{"reference": "X-1"}],
        headers=bearer(world.a.tokens["admin"]),
    )
    assert response.status_code == 404
