"""Limits before any route: oversized bodies (413) and too many requests per caller (429)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient

from hemkoll.api.app import ApiConfig, create_app
from hemkoll.api.guards import MAX_BODY_BYTES
from hemkoll.rules.preset import HEART_FAILURE
from tests.api.conftest import World, bearer


def test_an_oversized_body_is_refused_before_it_is_read(client: TestClient, world: World) -> None:
    path = f"/api/v1/alerts/{world.a.alert_id}/comments"
    nurse = bearer(world.a.tokens["nurse"])
    big = b'{"text": "' + b"x" * (MAX_BODY_BYTES + 10) + b'"}'
    announced = client.post(
        path, content=big, headers={**nurse, "content-type": "application/json"}
    )
    assert announced.status_code == 413
    assert announced.headers["content-type"] == "application/problem+json"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"text": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    streamed = client.post(
        path, content=chunks(), headers={**nurse, "content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert streamed.json()["type"] == "/problems/too-large"


def test_a_caller_past_the_rate_gets_429_with_retry_after(db_url: str, world: World) -> None:
    app = create_app(ApiConfig(database_url=db_url, programme=HEART_FAILURE, rate_limit="5/minute"))
    with TestClient(app) as client:
        nurse = bearer(world.a.tokens["nurse"])
        statuses = [client.get("/api/v1/alerts", headers=nurse).status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        refused = client.get("/api/v1/alerts", headers=nurse)
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["type"] == "/problems/rate-limited"
        # Another caller has a budget of its own; health checks are never limited.
        clinician = bearer(world.a.tokens["clinician"])
        assert client.get("/api/v1/alerts", headers=clinician).status_code == 200
        assert all(client.get("/healthz").status_code == 200 for _ in range(10))
