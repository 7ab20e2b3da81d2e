"""Fixtures of the deployment tests: a database set up as deployed (owner, migrations, roles)."""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from hemkoll.store.migrate import migrate
from tests.conftest import ADMIN_URL, SESSION

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ROLES_SQL = DEPLOY / "postgres" / "roles.sql"
OWNER = "hemkoll_owner"
SERVICE_ROLES = (
    "hemkoll_ingest",
    "hemkoll_rules",
    "hemkoll_dispatch",
    "hemkoll_api",
    "hemkoll_broker_auth",
)
_counter = itertools.count(1)


# Roles are the cluster's, not one database's: two test sessions on one cluster applying
# roles.sql at the same moment can collide on a role's catalogue row ("tuple concurrently
# updated"). The script is idempotent, so it is applied again, a few times at most.
ROLES_ATTEMPTS = 5
ROLES_RETRY_S = 0.5


def apply_roles(admin_url: str) -> None:
    """deploy/postgres/roles.sql as deployed: one script, as a superuser, in the database."""
    for attempt in range(1, ROLES_ATTEMPTS + 1):
        try:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(ROLES_SQL.read_bytes())
        except psycopg.errors.InternalError_ as exc:
            if "concurrently updated" not in str(exc) or attempt == ROLES_ATTEMPTS:
                raise
            time.sleep(ROLES_RETRY_S * attempt)
        else:
            return


def ensure_owner_role() -> None:
    """The owner exists before the first migration (deploy/postgres/initdb creates it)."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (OWNER,)).fetchone()
        if exists is None:
            # Another test session may make it at the same moment.
            with contextlib.suppress(psycopg.errors.DuplicateObject):
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(OWNER)))


@dataclass(frozen=True)
class DeployedDb:
    """A database created, migrated and granted as the deployment does it."""

    name: str

    def url(self, role: str | None = None) -> str:
        """The database as ``role`` (trust authentication here), or as the test's superuser."""
        if role is None:
            return make_conninfo(ADMIN_URL, dbname=self.name)
        return make_conninfo(ADMIN_URL, dbname=self.name, user=role)


@pytest.fixture
def deployed_db() -> Iterator[DeployedDb]:
    """Owned by hemkoll_owner, migrated by it (not by a superuser), then roles.sql applied."""
    ensure_owner_role()
    name = f"hemkoll_test_{SESSION}_deploy_{next(_counter)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(OWNER)
            )
        )
    db = DeployedDb(name)
    try:
        migrate(db.url(OWNER))
        apply_roles(db.url())
        yield db
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
