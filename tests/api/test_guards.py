"""Limits before any route: oversized bodies (413) and too many requests per caller (429), both
set from the settings, and the RateLimit / RateLimit-Policy headers on every answer."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hemkoll.api.app import ApiConfig, create_app
from hemkoll.api.guards import MAX_BODY_BYTES, ApiLimits
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.settings import Settings
from tests.api.conftest import World, bearer
from tests.conftest import as_api_role


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


def _limited_app(db_url: str, monkeypatch: pytest.MonkeyPatch, **env: str) -> TestClient:
    for name, value in env.items():
        monkeypatch.setenv(f"HEMKOLL_{name.upper()}", value)
    limits = ApiLimits.from_settings(Settings())
    return TestClient(create_app(ApiConfig(as_api_role(db_url), HEART_FAILURE, limits=limits)))


def test_the_settings_defaults_are_the_documented_limits() -> None:
    assert ApiLimits.from_settings(Settings()) == ApiLimits(50, 600, MAX_BODY_BYTES)


def test_a_caller_past_the_rate_gets_429_with_retry_after(
    db_url: str, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _limited_app(db_url, monkeypatch, api_rate_per_minute="5") as client:
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


_RATELIMIT = re.compile(r'^"(burst|minute)";r=(\d+);t=(\d+)$')


def test_every_answer_says_the_policy_and_what_is_left(
    db_url: str, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _limited_app(
        db_url, monkeypatch, api_rate_per_second="40", api_rate_per_minute="3"
    ) as client:
        nurse = bearer(world.a.tokens["nurse"])
        answers = [client.get("/api/v1/alerts", headers=nurse) for _ in range(4)]
        policy = '"burst";q=40;w=1, "minute";q=3;w=60'
        assert all(a.headers["ratelimit-policy"] == policy for a in answers)
        left = []
        for answer in answers:
            match = _RATELIMIT.match(answer.headers["ratelimit"])
            assert match is not None, answer.headers["ratelimit"]
            assert match[1] == "minute"  # the fewer requests left
            assert 0 <= int(match[3]) <= 60
            left.append(int(match[2]))
        assert left == [2, 1, 0, 0]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        # Retry-After and the reset of the exhausted policy name the same moment.
        refused = answers[-1]
        assert refused.headers["ratelimit"].endswith(f";t={refused.headers['retry-after']}")
        # A refusal of a bad request carries them too (the headers are on every answer).
        other = bearer(world.a.tokens["clinician"])
        missing = client.get("/api/v1/alerts/00000000-0000-0000-0000-000000000000", headers=other)
        assert missing.status_code == 404
        assert missing.headers["ratelimit"].startswith('"minute";r=2;')


def test_the_body_limit_comes_from_the_settings(
    db_url: str, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _limited_app(db_url, monkeypatch, api_max_body_bytes="2048") as client:
        path = f"/api/v1/alerts/{world.a.alert_id}/comments"
        nurse = {**bearer(world.a.tokens["nurse"]), "content-type": "application/json"}
        big = b'{"text": "' + b"x" * 3000 + b'"}'
        refused = client.post(path, content=big, headers=nurse)
        assert refused.status_code == 413
        assert "at most 2048" in refused.json()["detail"]
        assert "ratelimit" in refused.headers
