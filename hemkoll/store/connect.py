"""Opening PostgreSQL connections the same way everywhere."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
from psycopg.rows import TupleRow

from hemkoll.backoff import Backoff

log = logging.getLogger(__name__)

T = TypeVar("T")

# The connection every store function takes (rows as tuples unless a cursor asks otherwise).
Conn = psycopg.Connection[TupleRow]

# A database that has not answered a connection in this long is away for us: the caller's
# outage path (the backoff below) takes over, instead of a worker's loop or periodic job
# hanging on it (libpq waits for ever without it).
CONNECT_TIMEOUT_S = 10

# Reconnect backoff: start fast (a restart of PostgreSQL takes about a second) and cap at
# 30 s so that an outage of minutes is noticed within half a minute of its end. No give-up
# time: the services wait out any outage.
DATABASE_RECONNECT = Backoff(first_s=0.5, max_s=30.0)


def configure(conn: Conn) -> None:
    """Every hemkoll session reads and writes times in UTC."""
    conn.execute("SET TIME ZONE 'UTC'")


def connect(conninfo: str, *, autocommit: bool = False) -> Conn:
    conn = psycopg.connect(conninfo, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_S)
    configure(conn)
    if not autocommit:
        conn.commit()
    return conn


def connect_with_retry(
    conninfo: str,
    *,
    stopping: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
) -> Conn | None:
    """Connect, retrying with backoff; None if ``stopping()`` became true first."""
    retry = DATABASE_RECONNECT.start()
    while not stopping():
        try:
            return connect(conninfo)
        except psycopg.OperationalError as exc:
            delay = retry.next_delay()
            log.warning("PostgreSQL unavailable (%s); retrying in %.1f s", exc.sqlstate, delay)
            sleep(delay)
    return None


def serve_until_stopped(serve: Callable[[], None], stopping: threading.Event, who: str) -> None:
    """Run ``serve`` (which connects and works until ``stopping``) again after each database
    outage, waiting with backoff; returns once ``stopping`` is set."""
    retry = DATABASE_RECONNECT.start()
    while not stopping.is_set():
        started = time.monotonic()
        try:
            serve()
        except psycopg.OperationalError as exc:
            delay = retry.after_run(time.monotonic() - started)
            log.warning("database unavailable (%s); %s retries in %.1f s", exc.sqlstate, who, delay)
            stopping.wait(delay)


def retry_through_outages(
    attempt: Callable[[], T],
    *,
    drop_connection: Callable[[], None],
    stopping: threading.Event,
    what: str,
) -> T | None:
    """``attempt()`` until it returns, dropping the connection and waiting with backoff after
    each outage (psycopg.OperationalError); None if ``stopping`` is set while the database is
    away. The first attempt is always made, so a stop request still finishes the work in hand.
    Other errors are the caller's."""
    retry = DATABASE_RECONNECT.start()
    while True:
        try:
            return attempt()
        except psycopg.OperationalError as exc:
            delay = retry.next_delay()
            log.warning(
                "database error while %s (%s); retrying in %.1f s", what, exc.sqlstate, delay
            )
            drop_connection()
        if stopping.wait(delay):
            return None
