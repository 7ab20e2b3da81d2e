"""The API's /metrics: requests by route template and status, never a patient's or alert's id."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import World, bearer


def test_the_api_counts_requests_by_route_template(client: TestClient, world: World) -> None:
    client.get(f"/api/v1/alerts/{world.a.alert_id}", headers=bearer(world.a.tokens["nurse"]))
    text = client.get("/metrics").text
    name = 'hemkoll_api_requests_total{route="/api/v1/alerts/{alert_id}",status="200"}'
    counts = [float(row.rsplit(" ", 1)[1]) for row in text.splitlines() if row.startswith(name)]
    assert counts
    assert counts[0] >= 1
    assert str(world.a.alert_id) not in text
