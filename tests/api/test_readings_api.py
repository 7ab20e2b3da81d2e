"""Readings through the API: raw pages that add up to every reading, per-day figures in the
patient's time zone, units with every row."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from hemkoll.store.connect import connect
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.types import Reading
from tests.api.conftest import World, bearer


def test_raw_pages_and_local_days(client: TestClient, world: World, db_url: str) -> None:
    a = world.a
    # 22:30 UTC on 9 and 10 November is 23:30 in Stockholm: the same local day as 08:00 UTC.
    times = [
        datetime(2026, 11, 9, 8, tzinfo=UTC),
        datetime(2026, 11, 9, 22, 30, tzinfo=UTC),
        datetime(2026, 11, 9, 23, 30, tzinfo=UTC),  # 00:30 on the 10th, local
        datetime(2026, 11, 10, 8, tzinfo=UTC),
    ]
    weights = [81.0, 81.6, 82.0, 82.4]
    with connect(db_url) as conn:
        conn.execute("UPDATE devices SET enrolled_at = '2026-01-01' WHERE id = %s", (a.device_id,))
        conn.commit()
        ReadingWriter(conn).write(
            [
                [
                    Reading(a.patient_id, a.device_id, "body_weight", w, t)
                    for w, t in zip(weights, times, strict=True)
                ]
            ],
            [],
        )
    nurse = bearer(a.tokens["nurse"])
    path = f"/api/v1/patients/{a.patient_id}/readings"
    window = {"from": "2026-11-09T00:00:00Z", "until": "2026-11-11T00:00:00Z"}
    seen: list[float] = []
    params: dict[str, str | int] = {**window, "limit": 3}
    while True:
        page = client.get(path, params=params, headers=nurse).json()
        seen += [r["value"] for r in page["readings"]]
        assert all(r["unit"] == "kg" for r in page["readings"])
        if page["next_cursor"] is None:
            break
        params = {**window, "limit": 3, "cursor": page["next_cursor"]}
    assert seen == weights

    days = client.get(path, params={**window, "resolution": "day"}, headers=nurse).json()
    assert days["timezone"] == "Europe/Stockholm"
    by_day = {d["day"]: d for d in days["days"]}
    assert by_day["2026-11-09"]["n"] == 2
    assert by_day["2026-11-09"]["last_value"] == 81.6
    assert by_day["2026-11-10"]["n"] == 2
    assert by_day["2026-11-10"]["min"] == 82.0
    assert abs(by_day["2026-11-10"]["mean"] - 82.2) < 1e-9

    unknown = client.get(path, params={"metric": "weight"}, headers=nurse)
    assert unknown.status_code == 422
    assert "unknown weight" in unknown.json()["detail"]
    backwards = client.get(
        path,
        params={"from": "2026-11-10T00:00:00Z", "until": "2026-11-09T00:00:00Z"},
        headers=nurse,
    )
    assert backwards.status_code == 422
