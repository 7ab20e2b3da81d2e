"""The API tests' app connects as the deployed role hemkoll_api (tests/conftest.py applies
deploy/postgres/roles.sql to every test database), so every route, role and centre of
tests/api runs with exactly the privileges roles.sql grants the API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from hemkoll.store.connect import connect
from tests.api.conftest import World, bearer
from tests.conftest import API_ROLE


def test_the_apps_connections_are_the_api_role_and_not_a_superuser(
    client: TestClient, world: World, db_url: str
) -> None:
    answer = client.get("/api/v1/alerts", headers=bearer(world.a.tokens["nurse"]))
    assert answer.status_code == 200, answer.text
    with connect(db_url) as conn:
        users = conn.execute(
            "SELECT DISTINCT a.usename, r.rolsuper FROM pg_stat_activity a "
            "JOIN pg_roles r ON r.rolname = a.usename "
            "WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
        ).fetchall()
    assert users == [(API_ROLE, False)]
