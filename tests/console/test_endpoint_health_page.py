"""The follow-up page tells the centre's staff when its notification endpoint keeps failing:
since when, how long and how many attempts in a row; another centre's endpoints stay hidden."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from hemkoll.store import endpoint_health
from hemkoll.store.connect import connect
from tests.console.conftest import ORIGIN, World, sign_in


def test_a_webhook_failing_for_a_day_shows_on_the_follow_up_page(
    client: TestClient, world: World, db_url: str
) -> None:
    since = datetime.now(UTC) - timedelta(days=1, hours=2)
    with connect(db_url) as conn, conn.transaction():
        for i in range(40):
            endpoint_health.observe(
                conn,
                world.a.id,
                "care_team",
                at=since + timedelta(minutes=39 * i),
                delivered=False,
                error="HTTP 503",
            )
        endpoint_health.observe(
            conn, world.a.id, "escalation", at=since, delivered=True, error=None
        )
        endpoint_health.observe(
            conn, world.b.id, "care_team", at=since, delivered=False, error="HTTP 404"
        )
    sign_in(client, world.a.tokens["nurse"])
    page = client.get("/console/follow-up").text
    assert "Aviseringar till vårdcentralen" in page
    assert "Misslyckas sedan" in page
    assert "1 d 2 tim, 40 försök i rad" in page
    assert "HTTP 503" in page
    assert "Levererar" in page  # the escalation endpoint
    assert "HTTP 404" not in page  # centre B's

    client.post("/console/language", data={"lang": "en"}, headers={"Origin": ORIGIN})
    page = client.get("/console/follow-up").text
    assert "Failing since" in page
    assert "1 d 2 h, 40 attempts in a row" in page


def test_a_centre_that_never_sent_a_notification_says_so(client: TestClient, world: World) -> None:
    sign_in(client, world.a.tokens["nurse"])
    assert "Inga aviseringar har skickats ännu." in client.get("/console/follow-up").text
