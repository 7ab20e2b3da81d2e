"""Enrolment with history: an earlier monitoring start needs a reason (audited), is bounded (at
most five years back, never ahead), and ingest then takes readings measured since it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson
import psycopg
import pytest
from fastapi.testclient import TestClient

from hemkoll.protocol.feedback import Rejection
from hemkoll.protocol.payload import check_reading
from hemkoll.store.connect import connect
from hemkoll.store.devices import devices_by_id
from hemkoll.store.types import Reading
from tests.api.conftest import World, bearer

REASON = "moved from the region's previous programme; history to be imported"


def _reading(at: datetime) -> bytes:
    return orjson.dumps(
        {"metric": "body_weight", "value": 80, "unit": "kg", "measured_at": at.isoformat()}
    )


def _ingest_verdict(db_url: str, device_id: UUID, at: datetime) -> Reading | Rejection:
    """What ingest decides about a reading of the device measured at ``at`` (its registry
    read and its check, as the ingest service runs them)."""
    with connect(db_url) as conn:
        device = devices_by_id(conn, [device_id])[device_id]
    return check_reading(0, _reading(at), device=device, now=datetime.now(UTC))


def _reasons(db_url: str, patient_id: str) -> list[Any]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT reason FROM audit_log WHERE patient_id = %s AND object_type = 'patient'",
            (patient_id,),
        ).fetchall()
    return [row[0] for row in rows]


def test_bulk_history_enrolment_is_audited_and_ingest_takes_readings_since_the_start(
    client: TestClient, world: World, db_url: str
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=365)
    row = {
        "reference": "H-1",
        "devices": ["scale"],
        "monitoring_started_at": start.isoformat(),
        "reason": REASON,
    }
    response = client.post(
        f"/api/v1/health-centres/{world.a.id}/enrolments",
        content=orjson.dumps(row),
        headers={**bearer(world.a.tokens["admin"]), "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    [patient] = response.json()["patients"]
    assert datetime.fromisoformat(patient["enrolled_at"]) == start
    assert _reasons(db_url, patient["patient_id"]) == [REASON]
    device_id = UUID(patient["devices"][0]["id"])
    accepted = _ingest_verdict(db_url, device_id, start + timedelta(days=200))
    assert isinstance(accepted, Reading)
    refused = _ingest_verdict(db_url, device_id, start - timedelta(days=1))
    assert isinstance(refused, Rejection)
    assert refused.code == "measured_at_before_enrolment"


@pytest.mark.parametrize(
    ("started", "reason", "field"),
    [
        (timedelta(days=-30), None, "reason"),
        (timedelta(days=-30), "   ", "reason"),
        (timedelta(days=-30), "patient 19121212-1212 moved here", "reason"),
        (timedelta(days=-(5 * 365 + 2)), REASON, "monitoring_started_at"),
        (timedelta(hours=1), REASON, "monitoring_started_at"),
        (None, REASON, "reason"),
    ],
    ids=["no-reason", "blank-reason", "identity-in-reason", "too-far-back", "future", "no-start"],
)
def test_an_earlier_start_needs_a_reason_and_is_bounded(
    client: TestClient,
    world: World,
    db_url: str,
    *,
    started: timedelta | None,
    reason: str | None,
    field: str,
) -> None:
    body: dict[str, Any] = {"reference": "H-2"}
    if started is not None:
        body["monitoring_started_at"] = (datetime.now(UTC) + started).isoformat()
    if reason is not None:
        body["reason"] = reason
    admin = bearer(world.a.tokens["admin"])
    single = client.post("/api/v1/patients", json=body, headers=admin)
    assert single.status_code == 422
    assert single.json()["detail"].startswith(f"{field}:")
    bulk = client.post(
        f"/api/v1/health-centres/{world.a.id}/enrolments", json=[body], headers=admin
    )
    assert bulk.status_code == 422
    assert [(e["row"], e["field"]) for e in bulk.json()["errors"]] == [(1, field)]
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT count(*) FROM patients WHERE reference = 'H-2'").fetchone()
    assert row == (0,)


def test_the_single_patient_api_enrols_with_history_and_backdates_her_devices(
    client: TestClient, world: World, db_url: str
) -> None:
    admin = bearer(world.a.tokens["admin"])
    start = datetime.now(UTC) - timedelta(days=90)
    created = client.post(
        "/api/v1/patients",
        json={"reference": "H-3", "monitoring_started_at": start.isoformat(), "reason": REASON},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    patient = created.json()
    assert datetime.fromisoformat(patient["enrolled_at"]) == start
    assert _reasons(db_url, patient["id"]) == [REASON]
    devices = f"/api/v1/patients/{patient['id']}/devices"
    too_early = (start - timedelta(days=1)).isoformat()
    refused = client.post(
        devices,
        json={"kind": "scale", "monitoring_started_at": too_early, "reason": REASON},
        headers=admin,
    )
    assert refused.status_code == 422
    assert "before the patient's monitoring start" in refused.json()["detail"]
    no_reason = client.post(
        devices, json={"kind": "scale", "monitoring_started_at": start.isoformat()}, headers=admin
    )
    assert no_reason.status_code == 422
    enrolled = client.post(
        devices,
        json={"kind": "scale", "monitoring_started_at": start.isoformat(), "reason": REASON},
        headers=admin,
    )
    assert enrolled.status_code == 201, enrolled.text
    device_id = UUID(enrolled.json()["id"])
    verdict = _ingest_verdict(db_url, device_id, start + timedelta(days=1))
    assert isinstance(verdict, Reading)
    # A device enrolled now, as before, takes readings measured from now on only.
    plain = client.post(devices, json={"kind": "thermometer"}, headers=admin).json()
    late = _ingest_verdict(db_url, UUID(plain["id"]), start + timedelta(days=1))
    assert isinstance(late, Rejection)
