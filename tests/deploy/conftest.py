"""Fixtures of the deployment tests: a database set up as deployed (owner, migrations, roles)."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from hemkoll.store.migrate import migrate
from tests.conftest import ADMIN_URL, SESSION, apply_roles

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OWNER = "hemkoll_owner"
SERVICE_ROLES = (
    "hemkoll_ingest",
    "hemkoll_rules",
    "hemkoll_dispatch",
    "hemkoll_api",
    "hemkoll_broker_auth",
)
_counter = itertools.count(1)


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
