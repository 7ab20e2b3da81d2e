"""Errors are RFC 9457 problem details with messages specific to the request."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import World, bearer


def test_validation_errors_name_the_field_and_the_reason(client: TestClient, world: World) -> None:
    nurse = bearer(world.a.tokens["nurse"])
    response = client.post(
        f"/api/v1/alerts/{world.a.alert_id}/resolve", json={"outcome": "cured"}, headers=nurse
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/invalid-request"
    assert body["detail"].startswith("body.outcome:")
    assert body["instance"] == f"/api/v1/alerts/{world.a.alert_id}/resolve"
    unknown_field = client.post(
        f"/api/v1/alerts/{world.a.alert_id}/acknowledge", json={"nte": "x"}, headers=nurse
    )
    assert unknown_field.status_code == 422
    assert "body.nte" in unknown_field.json()["detail"]
    bad_time = client.get(
        f"/api/v1/patients/{world.a.patient_id}/readings",
        params={"from": "2026-01-01T00:00:00"},
        headers=nurse,
    )
    assert bad_time.status_code == 422
    assert "UTC offset" in bad_time.json()["detail"]


def test_a_transition_not_allowed_from_the_state_is_a_conflict(
    client: TestClient, world: World
) -> None:
    nurse = bearer(world.a.tokens["nurse"])
    path = f"/api/v1/alerts/{world.a.alert_id}"
    assert (
        client.post(f"{path}/resolve", json={"outcome": "false_alarm"}, headers=nurse).status_code
        == 200
    )
    again = client.post(f"{path}/acknowledge", json={}, headers=nurse)
    assert again.status_code == 409
    assert again.json()["detail"] == "cannot acknowledge an alert that is resolved"


def test_personal_identity_numbers_are_refused_as_references(
    client: TestClient, world: World
) -> None:
    response = client.post(
        "/api/v1/patients",
        json={"reference": "19121212-1212"},
        headers=bearer(world.a.tokens["admin"]),
    )
    assert response.status_code == 422
    assert "personal identity number" in response.json()["detail"]


def test_unknown_routes_and_methods_are_problems_too(client: TestClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    wrong_method = client.delete("/healthz")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["type"] == "/problems/method-not-allowed"


def test_a_nul_character_is_an_invalid_request_not_a_server_error(
    client: TestClient, world: World
) -> None:
    # Found by schemathesis: PostgreSQL text cannot hold NUL.
    response = client.get(
        "/api/v1/patients", params={"reference": "a\x00b"}, headers=bearer(world.a.tokens["nurse"])
    )
    assert response.status_code == 422
    assert "NUL" in response.json()["detail"]
