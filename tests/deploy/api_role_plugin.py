"""A pytest plugin: the API tests, with the API connecting as the deployed role hemkoll_api.

``pytest -p tests.deploy.api_role_plugin tests/api`` runs the API's own suite (every route,
role and centre of the authorization matrix, the audit log, readings) unchanged, except that
after the session's template database is migrated, deploy/postgres/roles.sql is applied to it,
and every app the tests create connects as ``hemkoll_api``. The tests' own set-up (staff,
alerts, readings) still uses the superuser, as an operator or another service would. A
privilege the API needs and roles.sql does not grant fails the test that needs it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

import hemkoll.api.app
import hemkoll.store.migrate

API_ROLE = "hemkoll_api"
ROLES_SQL = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "roles.sql"
_apps_as_api_role: list[str] = []

_original_migrate = hemkoll.store.migrate.migrate
_original_create_app = hemkoll.api.app.create_app


def _migrate_then_grant(conninfo: str) -> list[hemkoll.store.migrate.Migration]:
    applied = _original_migrate(conninfo)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(ROLES_SQL.read_bytes())
    return applied


def _create_app_as_api_role(config: hemkoll.api.app.ApiConfig) -> Any:
    url = make_conninfo(config.database_url, user=API_ROLE)
    _apps_as_api_role.append(url)
    return _original_create_app(dataclasses.replace(config, database_url=url))


# Patched at import (``-p`` loads this before the tests' conftest imports these names).
hemkoll.store.migrate.migrate = _migrate_then_grant  # type: ignore[assignment]
hemkoll.api.app.create_app = _create_app_as_api_role


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _apps_as_api_role:
        print("api_role_plugin: no app was created as hemkoll_api")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        print(f"api_role_plugin: {len(_apps_as_api_role)} apps ran as {API_ROLE}")
