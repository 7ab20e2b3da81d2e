"""The backtest over a chosen period: since/until (or days), each refusal naming its field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from hemkoll.alerts.backtest_period import PeriodError, parse_bound, resolve_period
from tests.api.conftest import World, bearer

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
TZ = ZoneInfo("Europe/Stockholm")
EMPTY = {"source": "test", "overrides": [], "add": []}


def test_a_date_is_the_patients_local_day_and_today_ends_now() -> None:
    period = resolve_period(
        since=parse_bound("since", "2026-06-01"),
        until=parse_bound("until", "2026-06-15"),
        days=None,
        now=NOW,
        tz=TZ,
    )
    assert period.since == datetime(2026, 6, 1, tzinfo=TZ)
    assert period.until == NOW
    earlier = resolve_period(
        since=None, until=parse_bound("until", "2026-05-31"), days=30, now=NOW, tz=TZ
    )
    assert earlier.until == datetime(2026, 6, 1, tzinfo=TZ)
    assert earlier.since == earlier.until - timedelta(days=30)
    assert resolve_period(since=None, until=None, days=None, now=NOW, tz=TZ).days == 90


@pytest.mark.parametrize(
    ("since", "until", "days", "field"),
    [
        ("2026-06-10", "2026-06-01", None, "since"),
        (None, "2026-06-16T00:00:00+00:00", None, "until"),
        ("2024-01-01", None, None, "since"),
        ("2026-06-01", None, 10, "days"),
        (None, None, 731, "days"),
    ],
)
def test_a_period_that_cannot_be_used_names_its_field(
    since: str | None, until: str | None, days: int | None, field: str
) -> None:
    with pytest.raises(PeriodError) as refused:
        resolve_period(
            since=None if since is None else parse_bound("since", since),
            until=None if until is None else parse_bound("until", until),
            days=days,
            now=NOW,
            tz=TZ,
        )
    assert refused.value.field == field


def test_a_time_without_its_offset_is_refused() -> None:
    with pytest.raises(PeriodError, match="UTC offset"):
        parse_bound("since", "2026-06-01T08:00")


def test_the_api_backtests_the_period_asked_for(client: TestClient, world: World) -> None:
    path = f"/api/v1/patients/{world.a.patient_id}/thresholds/backtest"
    clinician = bearer(world.a.tokens["clinician"])
    now = datetime.now(UTC)
    since, until = now - timedelta(days=40), now - timedelta(days=10)
    answer = client.post(
        path,
        json={"overrides": EMPTY, "since": since.isoformat(), "until": until.isoformat()},
        headers=clinician,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert datetime.fromisoformat(body["since"]) == since
    assert datetime.fromisoformat(body["until"]) == until
    shorthand = client.post(path, json={"overrides": EMPTY, "days": 7}, headers=clinician)
    assert shorthand.status_code == 200
    got = shorthand.json()
    span = datetime.fromisoformat(got["until"]) - datetime.fromisoformat(got["since"])
    assert span == timedelta(days=7)

    refusals = {
        "until": {"until": (now + timedelta(days=1)).isoformat()},
        "since": {"since": until.isoformat(), "until": since.isoformat()},
        "days": {"since": since.isoformat(), "days": 5},
    }
    for field, period in refusals.items():
        refused = client.post(path, json={"overrides": EMPTY, **period}, headers=clinician)
        assert refused.status_code == 422, period
        problem = refused.json()
        assert problem["type"] == "/problems/invalid-request"
        assert problem["errors"][0]["location"] == ["body", field]
        assert problem["detail"].startswith(f"body.{field}: ")
    naive = client.post(
        path, json={"overrides": EMPTY, "since": "2026-01-01T08:00:00"}, headers=clinician
    )
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["location"][:2] == ["body", "since"]
