"""SQL injection attempts in every string parameter: refused or harmless, never a server
error, never another centre's data; every statement takes its values as parameters."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import World, bearer

ATTEMPTS = [
    "' OR '1'='1",
    "x'; DROP TABLE readings; --",
    '" OR ""="',
    "1) UNION SELECT reference, NULL FROM patients --",
    "%' OR 1=1 --",
    "\\'; SELECT pg_sleep(5); --",
]


@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_string_parameters_carry_injection_attempts_harmlessly(
    client: TestClient, world: World, db_url: str, attempt: str
) -> None:
    nurse = bearer(world.a.tokens["nurse"])
    clinician = bearer(world.a.tokens["clinician"])
    admin = bearer(world.region_admin)
    pid = world.a.patient_id
    answers = {
        "patients?reference": client.get(
            "/api/v1/patients", params={"reference": attempt}, headers=nurse
        ),
        "patients?after": client.get("/api/v1/patients", params={"after": attempt}, headers=nurse),
        "alerts?rule_id": client.get("/api/v1/alerts", params={"rule_id": attempt}, headers=nurse),
        "alerts?cursor": client.get("/api/v1/alerts", params={"cursor": attempt}, headers=nurse),
        "readings?metric": client.get(
            f"/api/v1/patients/{pid}/readings", params={"metric": attempt}, headers=nurse
        ),
        "readings?cursor": client.get(
            f"/api/v1/patients/{pid}/readings", params={"cursor": attempt}, headers=nurse
        ),
        "comment": client.post(
            f"/api/v1/alerts/{world.a.alert_id}/comments", json={"text": attempt}, headers=nurse
        ),
        "note": client.post(
            f"/api/v1/alerts/{world.a.alert_id}/acknowledge", json={"note": attempt}, headers=nurse
        ),
        "reason": client.put(
            f"/api/v1/patients/{pid}/thresholds",
            json={"overrides": {"source": attempt}, "reason": attempt},
            headers=clinician,
        ),
        "patient reference": client.post(
            "/api/v1/patients", json={"reference": attempt}, headers=bearer(world.a.tokens["admin"])
        ),
        "centre name": client.post("/api/v1/health-centres", json={"name": attempt}, headers=admin),
        "path id": client.get(f"/api/v1/alerts/{attempt}", headers=nurse),
    }
    for name, answer in answers.items():
        assert answer.status_code < 500, name
        if answer.status_code == 200 and name in {"patients?reference", "alerts?rule_id"}:
            body = answer.json()
            assert (body if isinstance(body, list) else body["alerts"]) == [], name
    # A keyset position compares as text: it may list patients, only ever the caller's own.
    listed = answers["patients?after"].json()
    assert {p["health_centre_id"] for p in listed} <= {str(world.a.id)}
    with psycopg.connect(db_url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name IN"
            " ('readings', 'patients', 'alerts')"
        ).fetchone()
        comment = conn.execute(
            "SELECT details->>'text' FROM alert_events WHERE kind = 'commented'"
        ).fetchone()
    assert tables == (3,)
    assert comment == (attempt,)  # stored as the text it is
