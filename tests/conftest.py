"""Fixtures: real PostgreSQL and real Mosquitto, isolated per test session and per test.

* The session migrates one template database; each test that asks for ``db_url`` gets a fresh
  copy of it (``CREATE DATABASE ... TEMPLATE``), dropped afterwards. A copy costs about 0.25 s
  and a drop 0.15 s, across some 900 tests: a background thread (``DatabaseSupply``) keeps a
  couple of copies made ahead and drops used ones, so that work overlaps the tests' own waiting.
* Each test gets its own topic prefix and MQTT client ids, so tests never see each other's
  messages or persistent sessions on a shared broker.
* ``own_broker`` starts a Mosquitto of the test's own on a free port with the project's limits
  (deploy/mosquitto/conf.d, via ``LocalMosquitto``): the machine's broker keeps Debian's
  defaults, which drop messages for a slow subscriber, so tests of delivery guarantees use it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import threading
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``long`` first (a stable sort: the rest keep their order). pytest-xdist hands
    out files in collection order, so a long test starts at once and the other worker runs many
    short files beside it, instead of one worker finishing alone with it at the end. The order
    is the same in every worker, as xdist requires."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


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
    return psycopg.conninfo.make_conninfo(ADMIN_URL, dbname=dbname)


def drop_database(dbname: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )


@pytest.fixture(scope="session")
def template_db() -> Iterator[str]:
    name = f"hemkoll_test_{SESSION}_template"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    migrate(url_for(name))
    apply_roles(url_for(name))  # every test database has the deployed roles' grants
    yield name
    drop_database(name)


def create_database_from(template: str) -> str:
    name = f"hemkoll_test_{SESSION}_{next(_counter)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    return name


# Copies made ahead of the tests that will take them: two cover a test that is quicker than a
# copy, and more would only hold disk and catalogue rows for nothing.
SUPPLY_AHEAD = 2
# How long a test waits for its copy before the supply is declared broken (a copy takes about
# 0.25 s; a minute means PostgreSQL is stuck, not slow).
SUPPLY_WAIT_S = 60.0
# What the supply hands out instead of a name once it has failed.
FAILED = ""


class DatabaseSupply:
    """Fresh copies of the template, made ahead, and used ones dropped, in one thread of its
    own. One thread does both, in turn, so the cluster never sees two of these at once; a test
    that finds no copy ready waits for the next one. An error in the thread is raised in the
    test that asks next, never swallowed."""

    def __init__(self, template: str) -> None:
        self._template = template
        self._ready: queue.Queue[str] = queue.Queue(maxsize=SUPPLY_AHEAD + 1)
        self._used: queue.Queue[str | None] = queue.Queue()
        self._stop = threading.Event()
        self._error: psycopg.Error | None = None
        self._thread = threading.Thread(target=self._run, name="database-supply", daemon=True)
        self._thread.start()

    def take(self) -> str:
        try:
            made = self._ready.get(timeout=0 if self._error else SUPPLY_WAIT_S)
        except queue.Empty:
            raise RuntimeError(
                f"no test database within {SUPPLY_WAIT_S:.0f} s from the supply"
            ) from self._error
        if made == FAILED:
            raise RuntimeError("the test database supply failed") from self._error
        self._used.put(None)  # wakes the thread to make the next copy now
        return made

    def give_back(self, name: str) -> None:
        self._used.put(name)

    def close(self) -> None:
        self._stop.set()
        self._used.put(None)  # wakes the thread if it waits for a used copy
        self._thread.join()
        while not self._ready.empty():
            made = self._ready.get_nowait()
            if made != FAILED:
                drop_database(made)
        while not self._used.empty():
            name = self._used.get_nowait()
            if name is not None:
                drop_database(name)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._drop_used()
                if self._ready.qsize() >= SUPPLY_AHEAD:
                    name = self._used.get()  # nothing to make: wait for a take or a copy to drop
                    if name is not None:
                        drop_database(name)
                    continue
                made = create_database_from(self._template)
                self._ready.put(made)
        except psycopg.Error as exc:  # raised in the next test that finds no copy ready
            self._error = exc
            # Copies made before the failure are good; take() raises after them.
            with contextlib.suppress(queue.Full):
                self._ready.put_nowait(FAILED)

    def _drop_used(self) -> None:
        while True:
            try:
                name = self._used.get_nowait()
            except queue.Empty:
                return
            if name is not None:
                drop_database(name)


@pytest.fixture(scope="session")
def database_supply(template_db: str) -> Iterator[DatabaseSupply]:
    supply = DatabaseSupply(template_db)
    yield supply
    supply.close()


@pytest.fixture
def db_url(database_supply: DatabaseSupply) -> Iterator[str]:
    """A freshly migrated database of the test's own."""
    name = database_supply.take()
    yield url_for(name)
    database_supply.give_back(name)


@pytest.fixture
def empty_db_url() -> Iterator[str]:
    """An empty database (no migrations applied)."""
    name = f"hemkoll_test_{SESSION}_{next(_counter)}_empty"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield url_for(name)
    drop_database(name)


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
