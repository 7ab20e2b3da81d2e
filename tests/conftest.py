"""Fixtures: real PostgreSQL and real Mosquitto, isolated per test session and per test.

* The session migrates one template database; each test that asks for ``db_url`` gets a fresh
  copy of it (``CREATE DATABASE ... TEMPLATE``), dropped afterwards.
* Each test gets its own topic prefix and MQTT client ids, so tests never see each other's
  messages or persistent sessions on a shared broker.
* ``own_broker`` starts a Mosquitto of the test's own on a free port with the project's limits
  (deploy/mosquitto/conf.d, via ``LocalMosquitto``): the machine's broker keeps Debian's
  defaults, which drop messages for a slow subscriber, so tests of delivery guarantees use it.
"""

from __future__ import annotations

import itertools
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from hemkoll.local_services.mosquitto import LocalMosquitto
from hemkoll.local_services.ports import wait_for_port
from hemkoll.store.migrate import migrate

ADMIN_URL = os.environ.get(
    "HEMKOLL_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
MACHINE_BROKER = ("127.0.0.1", 1883)
SESSION = uuid.uuid4().hex[:8]
_counter = itertools.count(1)
ROLES_SQL = Path(__file__).resolve().parents[1] / "deploy" / "postgres" / "roles.sql"
# The API's deployed role: tests/api serve every app as it, so a privilege the API needs and
# roles.sql does not grant fails the test that needs it.
API_ROLE = "hemkoll_api"
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


def as_api_role(db_url: str) -> str:
    """The same database, connecting as the API's deployed role (the tests' own set-up keeps
    the superuser, as an operator or another service would)."""
    return make_conninfo(db_url, user=API_ROLE)


def url_for(dbname: str) -> str:
    """A test database's URL (as the tests' superuser)."""
    return _url_for(dbname)


def drop_database(dbname: str) -> None:
    _drop(dbname)


def _url_for(dbname: str) -> str:
    return psycopg.conninfo.make_conninfo(ADMIN_URL, dbname=dbname)


def _drop(dbname: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )


@pytest.fixture(scope="session")
def template_db() -> Iterator[str]:
    name = f"hemkoll_test_{SESSION}_template"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    migrate(_url_for(name))
    apply_roles(_url_for(name))  # every test database has the deployed roles' grants
    yield name
    _drop(name)


def create_database_from(template: str) -> str:
    name = f"hemkoll_test_{SESSION}_{next(_counter)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    return name


@pytest.fixture
def db_url(template_db: str) -> Iterator[str]:
    """A freshly migrated database of the test's own."""
    name = create_database_from(template_db)
    yield _url_for(name)
    _drop(name)


@pytest.fixture
def empty_db_url() -> Iterator[str]:
    """An empty database (no migrations applied)."""
    name = f"hemkoll_test_{SESSION}_{next(_counter)}_empty"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield _url_for(name)
    _drop(name)


@pytest.fixture
def topic_prefix() -> str:
    return f"hemkoll-test-{SESSION}-{next(_counter)}"


Broker = LocalMosquitto


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Broker]:
    broker = Broker(tmp_path)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def machine_broker_url() -> str:
    host, port = MACHINE_BROKER
    wait_for_port(host, port, timeout=2.0)
    return f"mqtt://{host}:{port}"
